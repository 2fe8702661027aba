"""Collecting a digest's data from the database (SQLite and PostgreSQL), then building it: the rules end to end."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import Block

from digests.collect import collect_digest_data
from digests.model import OTHER_THEME, DigestData, PrivateChannel, SubscriptionView
from digests.schedule import digest_window, history_bounds
from handlers.blocks.digest import build_digest
from storage.db import Database
from storage.models import Availability, Consent, Outcome, QuestionStatus, RecordStatus, Visibility
from tests.digests.conftest import (
    IN_WEEK,
    NOW,
    PERIOD,
    WINDOW_END,
    WINDOW_START,
    add_expert,
    add_gap,
    add_practice,
    add_question,
    blocks_json,
    local,
    seed_themes,
)

VIEW = SubscriptionView(channel_id="C0DIGEST1")


def collect(
    database: Database,
    themes: list[str] | None = None,
    view: SubscriptionView = VIEW,
    private_channel: PrivateChannel | None = None,
) -> DigestData:
    start, end = digest_window(view, PERIOD)
    with database.session() as session:
        return collect_digest_data(
            session,
            themes=themes,
            period_start=start,
            period_end=end,
            now=NOW,
            bounds=history_bounds(view, PERIOD),
            private_channel=private_channel,
        )


def build(data: DigestData, view: SubscriptionView = VIEW) -> list[list[Block]]:
    return build_digest(
        data,
        subscription_view=view,
        period=PERIOD,
        now=NOW,
        lang=view.language,
        permalink=lambda c, ts: f"https://wieweet.slack.com/archives/{c}/p{ts.replace('.', '')}",
    )


def test_window_of_a_monday_nine_oclock_subscription() -> None:
    assert digest_window(VIEW, PERIOD) == (WINDOW_START, WINDOW_END)


def test_privacy_rule_end_to_end(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        answer = [(an, "An Peeters", "U0AN")]
        done = local(2026, 11, 19, 15)
        add_question(s, "PUBLIEK beantwoord", answered_at=done, answers=answer)
        add_question(s, "GEHEIM private", visibility=Visibility.PRIVATE, answered_at=done, answers=answer)
        add_question(s, "GEHEIM anoniem", visibility=Visibility.ANONYMOUS, answered_at=done, answers=answer)
        add_question(s, "GEHEIM privkanaal", channel_is_private=True, answered_at=done, answers=answer)
        # stored as public (before Slack was asked, or the channel turned private since): Slack's answer now counts
        add_question(s, "GEHEIM dm", channel_id="D0DIRECT", answered_at=done, answers=answer)
        add_question(s, "GEHEIM C-privé", channel_id="C0NOWPRIV", answered_at=done, answers=answer)
        add_question(s, "PUBLIEK open")
        add_question(s, "GEHEIM open private", visibility=Visibility.PRIVATE)
        add_question(s, "GEHEIM open anoniem", visibility=Visibility.ANONYMOUS)
        add_question(s, "GEHEIM open privkanaal", channel_is_private=True)
        add_gap(s, "PUBLIEKE lacune")
        add_gap(s, "PUBLIEKE lacune")
        add_gap(s, "GEHEIME lacune privkanaal", channel_is_private=True)
        add_gap(s, "GEHEIME lacune dm", channel_id="D0DIRECT")
        add_gap(s, "GEHEIME lacune C-privé", channel_id="C0NOWPRIV")
    asked: list[str] = []

    def slack_says_private(channel: str) -> bool:  # what ChannelDirectory answers: never from the id's letter
        asked.append(channel)
        return channel in {"D0DIRECT", "C0NOWPRIV"}

    data = collect(database, private_channel=slack_says_private)
    assert "C1PUBLIC01" in asked
    wonen = data.theme("wonen")
    assert wonen is not None
    assert [a.text for a in wonen.answered] == ["PUBLIEK beantwoord"]
    assert [q.text for q in wonen.open_questions] == ["PUBLIEK open"]
    assert [g.query for g in wonen.gaps] == ["PUBLIEKE lacune"]
    # figures count public questions only: 1 answered + 1 open asked this week
    assert (wonen.current.asked, wonen.current.answered) == (2, 1)
    for view in (VIEW, SubscriptionView(channel_id="G0PRIVATE", channel_is_private=True, language="en")):
        text = blocks_json(build(data, view))
        assert "GEHEIM" not in text
        assert "PUBLIEK beantwoord" in text and "PUBLIEK open" in text and "PUBLIEKE lacune" in text


def test_opted_out_and_withdrawn_people_never_mentioned(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        bo = add_expert(s, "Bo Afgemeld", slack="U0BO", availability=Availability.OPTED_OUT)
        cas = add_expert(s, "Cas Ingetrokken", slack="U0CAS", consent=Consent.WITHDRAWN)
        dirk = add_expert(s, "Dirk Nieuw", slack="U0DIRK")
        add_expert(s, "Els Pending", slack="U0ELS", consent=Consent.PENDING)
        add_expert(s, "Fien Kladversie", slack="U0FIEN").status = RecordStatus.PENDING
        done = local(2026, 11, 20, 11)
        add_question(
            s, "Vraag een", answered_at=done, answers=[(an, "An Peeters", "U0AN"), (bo, "Bo Afgemeld", "U0BO")]
        )
        add_question(s, "Vraag twee", answered_at=done, answers=[(cas, "Cas Ingetrokken", "U0CAS")])
        # answered by Slack id only (no expert row linked), but that Slack user opted out in the register
        add_question(s, "Vraag drie", answered_at=done, answers=[(None, "Bo Afgemeld", "U0BO")])
        # a colleague outside the register, named without a Slack id
        add_question(s, "Vraag vier", answered_at=done, answers=[(None, "Gert <Gast>", None)])
        assert dirk.id
    data = collect(database)
    wonen = data.theme("wonen")
    assert wonen is not None
    assert sorted(e.person.name for e in wonen.new_experts) == ["Dirk Nieuw", "Els Pending"]
    hidden = [p for a in wonen.answered for p in a.answerers if p.hidden]
    assert len(hidden) == 3 and all(p.name == "" and p.slack_user_id is None for p in hidden)
    text = blocks_json(build(data))
    for leak in ("U0BO", "Bo Afgemeld", "U0CAS", "Cas Ingetrokken", "Fien"):
        assert leak not in text
    assert "<@U0DIRK>" in text and "<@U0AN>" in text and "*Gert &lt;Gast&gt;*" in text
    assert "beantwoord door <@U0AN> en een collega" in text
    assert "Dank je wel, <@U0AN>, *Gert &lt;Gast&gt;* en 2 collega's" in text


def test_practices_added_or_updated_in_the_window(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Nieuw deze week", url="https://stad.gent/nieuw")
        add_practice(
            s, "Bijgewerkt deze week", created_at=local(2025, 5, 1), updated_at=IN_WEEK, outcome=Outcome.FAILED
        )
        add_practice(s, "Oud", created_at=local(2025, 5, 1))
        add_practice(s, "Vorige week", created_at=WINDOW_START - timedelta(minutes=1))
        add_practice(s, "Precies op het begin", created_at=WINDOW_START, themes=["klimaat"])
        add_practice(s, "Precies op het einde", created_at=WINDOW_END)
        add_practice(s, "Niet gepubliceerd").status = RecordStatus.PENDING
        add_practice(s, "Zonder thema", themes=[])
    data = collect(database)
    wonen, klimaat, other = data.theme("wonen"), data.theme("klimaat"), data.theme(OTHER_THEME)
    assert wonen is not None and klimaat is not None and other is not None
    assert {(p.title, p.is_new) for p in wonen.practices} == {
        ("Nieuw deze week", True),
        ("Bijgewerkt deze week", False),
    }
    assert [p.title for p in klimaat.practices] == ["Precies op het begin"]
    assert [p.title for p in other.practices] == ["Zonder thema"]
    only_wonen = collect(database, themes=["wonen"])
    assert [t.theme.key for t in only_wonen.themes] == ["wonen"]
    text = blocks_json(build(data))
    assert "<https://stad.gent/nieuw|Nieuw deze week>" in text and "mislukt" in text and "Overige" in text


def test_theme_with_nothing_new_is_left_out(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Alleen wonen")
        add_question(
            s, "Oude europa-vraag", themes=["europa"], created_at=local(2026, 9, 1), answered_at=local(2026, 9, 2)
        )
    text = blocks_json(build(collect(database)))
    assert "Wonen en woonbeleid" in text
    for absent in ("Europa en EU-financiering", "Klimaat", "Gebiedsgericht", "Overige"):
        assert absent not in text


def test_figures_median_and_trend(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        answer = [(an, "An Peeters", "U0AN")]
        # this week: answered after 2 h, 4 h and 30 h -> median 4 h; one more asked and still open
        for hours in (2, 4, 30):
            asked = local(2026, 11, 17, 9)
            add_question(
                s, f"Deze week {hours}", created_at=asked, answered_at=asked + timedelta(hours=hours), answers=answer
            )
        add_question(s, "Deze week open")
        # previous week: two asked, answered after 1 h and 3 h -> median 2 h
        for hours in (1, 3):
            asked = local(2026, 11, 10, 14)
            add_question(
                s, f"Vorige week {hours}", created_at=asked, answered_at=asked + timedelta(hours=hours), answers=answer
            )
        # five weeks back: one asked (trend)
        add_question(s, "Lang geleden", created_at=local(2026, 10, 20, 10))
        # private: never counted
        add_question(s, "Privé", visibility=Visibility.PRIVATE, created_at=local(2026, 11, 17, 9))
    wonen = collect(database).theme("wonen")
    assert wonen is not None
    assert len(wonen.weeks) == 8
    assert (wonen.current.asked, wonen.current.answered, wonen.current.median_answer_seconds) == (4, 3, 4 * 3600.0)
    assert (wonen.previous.asked, wonen.previous.answered, wonen.previous.median_answer_seconds) == (2, 2, 2 * 3600.0)
    assert [w.asked for w in wonen.weeks] == [0, 0, 0, 1, 0, 0, 2, 4]
    text = blocks_json(build(collect(database)))
    assert "Vragen gesteld: *4* (vorige week: 2) · beantwoord: *3* (2) · mediane antwoordtijd: *4 u* (2 u)" in text
    assert "laatste 8 weken: ▁▁▁▃▁▁▅█" in text


def test_open_questions_still_looking_for_expertise(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_question(s, "Open", status=QuestionStatus.OPEN)
        add_question(s, "Gerouteerd", status=QuestionStatus.ROUTED, created_at=local(2026, 11, 2))
        add_question(s, "Geëscaleerd", status=QuestionStatus.ESCALATED)
        add_question(s, "Opgenomen", status=QuestionStatus.CLAIMED)
        add_question(s, "Geannuleerd", status=QuestionStatus.CANCELLED)
        add_question(s, "Te oud", status=QuestionStatus.OPEN, created_at=local(2026, 10, 1))
        add_question(s, "Na het venster", status=QuestionStatus.OPEN, created_at=WINDOW_END + timedelta(minutes=1))
    wonen = collect(database).theme("wonen")
    assert wonen is not None
    assert [q.text for q in wonen.open_questions] == ["Gerouteerd", "Open", "Geëscaleerd"]


def test_knowledge_gaps_grouped_by_theme_with_counts(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_gap(s, "leegstand winkelpanden", created_at=local(2026, 11, 17))
        add_gap(s, "Leegstand  Winkelpanden", created_at=local(2026, 11, 19))
        add_gap(s, "leegstand winkelpanden", themes=["wonen", "economie"], created_at=local(2026, 11, 18))
        for _ in range(4):  # one person asking again and again adds one asker
            add_gap(s, "leegstand winkelpanden", asker="U0AGAIN", created_at=local(2026, 11, 18))
        add_gap(s, "EFRO voor kleine steden", themes=["europa", "wonen"])
        add_gap(s, "EFRO voor kleine steden", themes=["europa", "wonen"])
        add_gap(s, "maar één keer gevraagd", themes=["europa"])
        add_gap(s, "iets zonder thema", themes=[])
        add_gap(s, "iets zonder thema", themes=[])
        add_gap(s, "vorige week", created_at=WINDOW_START - timedelta(hours=1))
        add_gap(s, "vorige week", created_at=WINDOW_START - timedelta(hours=1))
    data = collect(database)
    wonen, europa, other = data.theme("wonen"), data.theme("europa"), data.theme(OTHER_THEME)
    assert wonen is not None and europa is not None and other is not None
    assert [(g.query, g.count) for g in wonen.gaps] == [("Leegstand  Winkelpanden", 4), ("EFRO voor kleine steden", 2)]
    assert [(g.query, g.count) for g in europa.gaps] == [("EFRO voor kleine steden", 2)]
    assert (wonen.unquoted_gaps, europa.unquoted_gaps) == (0, 1)  # asked by one person: counted, not quoted
    assert [g.query for g in other.gaps] == ["iets zonder thema"]
    assert collect(database, themes=["wonen"]).theme(OTHER_THEME) is None


def test_knowledge_gaps_show_the_topic_not_the_question(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        for _ in range(2):
            add_gap(s, "Wie weet iets over leegstandsheffing?")
            add_gap(s, "Does anyone know about EU funding for housing?", themes=["europa"])
            add_gap(s, "Quelqu'un a de l'expérience avec la désimperméabilisation ?", themes=["klimaat"])
    data = collect(database)
    shown = {key: [g.query for g in d.gaps] for key in ("wonen", "europa", "klimaat") if (d := data.theme(key))}
    assert shown == {
        "wonen": ["leegstandsheffing"],
        "europa": ["EU funding for housing"],
        "klimaat": ["désimperméabilisation"],
    }


def test_window_is_cut_at_now(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Al gebeurd", created_at=WINDOW_END + timedelta(minutes=2))
        add_practice(s, "Nog niet gebeurd", created_at=NOW + timedelta(hours=1))
    view = VIEW
    start, end = digest_window(view, "2026-W49")
    with database.session() as session:
        data = collect_digest_data(session, themes=None, period_start=start, period_end=end, now=NOW)
    wonen = data.theme("wonen")
    assert wonen is not None
    assert [p.title for p in wonen.practices] == ["Al gebeurd"]


def test_a_new_expert_slack_cannot_reach_is_not_offered_one_away_until_a_date_is(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        gone = add_expert(s, "Gido Gedeactiveerd", slack="U0GIDO", availability=Availability.AWAY)
        gone.away_until = None  # marked away because the account was deactivated (``unreachable.mark_unreachable``)
        back = add_expert(s, "Hanne Verlof", slack="U0HANNE", availability=Availability.AWAY)
        back.away_until = (NOW + timedelta(days=10)).date()
    wonen = collect(database).theme("wonen")
    assert wonen is not None
    assert [e.person.name for e in wonen.new_experts] == ["Hanne Verlof"]
