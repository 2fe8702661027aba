"""Who is asked: filters, organisation spreading, the decline penalty, stored reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select

from bot.knowledge import searchable_start
from bot.matching import MAX_QUERY_CHARS
from bot.matching.documents import ExpertDoc
from bot.matching.results import ExpertHit
from bot.routing import selection as sel
from bot.routing.policy import RoutingPolicy
from storage.models import (
    Availability,
    Consent,
    Expert,
    ExpertDecline,
    Question,
    Routing,
    RoutingStatus,
    SlackUser,
    Theme,
)
from tests.routing.conftest import ASKER, NOW, QUESTION, World, add_expert


def _question(world: World, s, text: str = QUESTION, themes: tuple[str, ...] = ("wonen",)) -> Question:  # type: ignore[no-untyped-def]
    q = Question(text=text, asker_slack_id=ASKER, created_at=NOW, updated_at=NOW)
    q.themes = list(s.scalars(select(Theme).where(Theme.key.in_(themes))))
    s.add(q)
    s.flush()
    return q


def _select(world: World, *, count: int = 10, policy: RoutingPolicy | None = None) -> sel.Selection:
    with world.db.session() as s:
        q = _question(world, s)
        result = sel.select_experts(
            s, knowledge=world.kb, policy=policy or world.policy, question=q, count=count, now=NOW
        )
        s.expunge_all()  # keep the loaded experts readable, then throw the question away
        s.rollback()
    return result


def _names(selection: sel.Selection) -> list[str]:
    return [c.expert.name for c in selection.chosen]


def test_filters(world: World) -> None:
    today = date(2026, 11, 23)
    with world.db.session() as s:
        add_expert(s, "Good", organisation="Stad Gent", expertise=["leegstandsheffing"])
        add_expert(s, "Asker", organisation="Stad Leuven", expertise=["leegstandsheffing"], slack=ASKER)
        add_expert(s, "Away", organisation="Stad Hasselt", expertise=["leegstandsheffing"], away_until=today)
        add_expert(
            s, "Awaynodate", organisation="Stad Genk", expertise=["leegstandsheffing"], availability=Availability.AWAY
        )
        add_expert(
            s,
            "Back",
            organisation="Stad Aalst",
            expertise=["leegstandsheffing"],
            availability=Availability.AWAY,
            away_until=today - timedelta(days=1),
        )
        add_expert(
            s,
            "Optedout",
            organisation="Stad Brugge",
            expertise=["leegstandsheffing"],
            availability=Availability.OPTED_OUT,
        )
        add_expert(s, "Pending", organisation="Stad Mechelen", expertise=["leegstandsheffing"], consent=Consent.PENDING)
        add_expert(
            s, "Withdrawn", organisation="Stad Turnhout", expertise=["leegstandsheffing"], consent=Consent.WITHDRAWN
        )
        add_expert(s, "Noslack", organisation="Stad Roeselare", expertise=["leegstandsheffing"], slack=None)
        full = add_expert(s, "Full", organisation="Stad Oostende", expertise=["leegstandsheffing"], max_open=1)
        other = Question(text="iets anders", created_at=NOW, updated_at=NOW)
        other.routings.append(Routing(expert_id=full.id, status=RoutingStatus.CLAIMED, asked_at=NOW))
        s.add(other)
        add_expert(s, "Weak", organisation="Stad Kortrijk", expertise=["leegstand"], themes=[])
    world.load()
    result = _select(world)
    assert sorted(_names(result)) == ["Back", "Good"]
    with world.db.session() as s:
        by_name = {e.name: e.id for e in s.scalars(select(Expert))}
    skipped = {name: result.skipped.get(eid) for name, eid in by_name.items()}
    assert skipped["Asker"] == sel.SKIP_ASKER
    assert skipped["Away"] == sel.SKIP_AWAY
    assert skipped["Awaynodate"] == sel.SKIP_AWAY
    assert skipped["Optedout"] == sel.SKIP_OPTED_OUT
    assert skipped["Pending"] == sel.SKIP_CONSENT
    assert skipped["Withdrawn"] is None  # never even indexed
    assert skipped["Noslack"] == sel.SKIP_NO_SLACK
    assert skipped["Full"] == sel.SKIP_AT_LIMIT
    assert skipped["Weak"] == sel.SKIP_WEAK
    # pending consent is asked when the policy allows it
    relaxed = _select(world, policy=replace(world.policy, require_confirmed_consent=False))
    assert "Pending" in _names(relaxed)
    assert "Withdrawn" not in _names(relaxed)


def test_weak_matches_and_already_routed_are_skipped(world: World) -> None:
    with world.db.session() as s:
        add_expert(s, "Strong", organisation="Stad Gent", expertise=["leegstandsheffing"])
        add_expert(s, "Again", organisation="Stad Leuven", expertise=["leegstandsheffing"])
        add_expert(s, "Vague", organisation="Stad Kortrijk", expertise=["leegstand"], themes=[])
    world.load()
    with world.db.session() as s:
        q = _question(world, s)
        again = s.scalars(select(Expert).where(Expert.name == "Again")).one()
        q.routings.append(Routing(expert_id=again.id, status=RoutingStatus.DECLINED, asked_at=NOW))
        s.flush()
        result = sel.select_experts(s, knowledge=world.kb, policy=world.policy, question=q, count=5, now=NOW)
        assert _names(result) == ["Strong"]
        assert result.skipped[again.id] == sel.SKIP_ALREADY_ROUTED
        vague = s.scalars(select(Expert).where(Expert.name == "Vague")).one()
        assert result.skipped[vague.id] == sel.SKIP_WEAK


def test_spreads_over_organisations(world: World) -> None:
    with world.db.session() as s:
        # the two Gent experts are added first: on equal scores they would win on id order
        add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"])
        add_expert(s, "Chloe", organisation="stad gent ", expertise=["leegstandsheffing"])
        add_expert(s, "Anouk", organisation="Stad Kortrijk", expertise=["leegstandsheffing"])
    world.load()
    two = _select(world, count=2)
    orgs = [c.expert.organisation.strip().casefold() for c in two.chosen]
    assert len(set(orgs)) == 2, _names(two)
    assert "Anouk" in _names(two)
    # with nobody else left, a second person from the same organisation is fine
    three = _select(world, count=3)
    assert sorted(_names(three)) == ["Anouk", "Bram", "Chloe"]


def _cand(i: int, org: str, score: float) -> sel.Candidate:
    expert = Expert(id=i, email=f"{i}@x", name=f"E{i}", organisation=org)
    hit = ExpertHit(ExpertDoc(id=i, email="", name="", organisation=org), score, ())
    return sel.Candidate(expert, hit, score, score, 1.0, "nl", ())


def test_spread_only_while_the_other_candidate_is_good() -> None:
    ranked = [_cand(1, "A", 0.9), _cand(2, "A", 0.85), _cand(3, "B", 0.6), _cand(4, "C", 0.2)]
    picked = sel.spread_over_organisations(ranked, 2, spread_ratio=0.6)
    assert [c.expert.id for c in picked] == [1, 3]  # 0.6 >= 0.6 * 0.85
    weak_other = [_cand(1, "A", 0.9), _cand(2, "A", 0.85), _cand(4, "C", 0.2)]
    picked = sel.spread_over_organisations(weak_other, 2, spread_ratio=0.6)
    assert [c.expert.id for c in picked] == [1, 2]  # C is not a good candidate
    picked = sel.spread_over_organisations(ranked, 1, spread_ratio=0.6, taken_organisations={"a"})
    assert [c.expert.id for c in picked] == [3]


def test_decline_penalty_ranks_lower_on_shared_themes(world: World) -> None:
    with world.db.session() as s:
        bram = add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"])
        add_expert(s, "Anouk", organisation="Stad Kortrijk", expertise=["leegstandsheffing"], themes=["wonen"])
        bram_id = bram.id
    world.load()
    before = _select(world, count=2)
    assert _names(before)[0] == "Bram"
    assert all(c.penalty == 1.0 for c in before.chosen)

    with world.db.session() as s:  # a decline on another theme, and a very old one on this theme: no effect
        s.add(ExpertDecline(expert_id=bram_id, theme_key="europa", declined_at=NOW - timedelta(days=3)))
        s.add(ExpertDecline(expert_id=bram_id, theme_key="wonen", declined_at=NOW - timedelta(days=800)))
    assert _names(_select(world, count=2))[0] == "Bram"

    with world.db.session() as s:
        s.add(ExpertDecline(expert_id=bram_id, theme_key="wonen", declined_at=NOW - timedelta(days=3)))
    after = _select(world, count=2)
    assert _names(after) == ["Anouk", "Bram"]
    bram_c = next(c for c in after.chosen if c.expert.name == "Bram")
    assert bram_c.penalty == 0.5
    assert bram_c.score == round(bram_c.match_score * 0.5, 4)


def test_decline_through_the_service_records_the_themes(world: World) -> None:
    with world.db.session() as s:
        add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"])
    world.load()
    qid = world.ask(theme_keys=["wonen", "europa"])
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        world.service.decline(s, routing_id=q.routings[0].id, actor_slack_id="UBRAM", reason="geen tijd", now=NOW)
    with world.db.session() as s:
        rows = sorted((d.theme_key, d.question_id) for d in s.scalars(select(ExpertDecline)))
    assert rows == [("europa", qid), ("wonen", qid)]


def test_reasons_are_rendered_in_the_experts_language(world: World) -> None:
    with world.db.session() as s:
        add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"])
        add_expert(
            s,
            "Dries",
            organisation="Stad Antwerpen",
            expertise=["leegstandsheffing"],
            themes=["wonen"],
            languages=["en"],
        )
        add_expert(s, "Sam", organisation="Stad Leuven", expertise=["leegstandsheffing"], themes=["wonen"])
        s.add(SlackUser(slack_user_id="USAM", locale="en-GB", name="Sam", fetched_at=NOW))
    world.load()
    qid = world.service and world.with_policy(initial_experts=3) and world.ask()
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        by_name = {r.expert.name: r for r in q.routings if r.expert}
    assert set(by_name) == {"Bram", "Dries", "Sam"}
    assert by_name["Bram"].language == "nl" and any("thema:" in r for r in by_name["Bram"].reasons)
    assert by_name["Dries"].language == "en" and any("theme:" in r for r in by_name["Dries"].reasons)
    assert by_name["Sam"].language == "en"
    assert all(r.score > 0 for r in by_name.values())


def test_an_expert_with_a_french_slack_locale_is_written_to_in_english_unless_the_register_says_dutch(
    world: World,
) -> None:
    with world.db.session() as s:
        claire = add_expert(s, "Claire", organisation="Stad Brussel", expertise=["x"], languages=["fr"])
        marc = add_expert(s, "Marc", organisation="Stad Gent", expertise=["x"], languages=["nl", "fr"])
        lies = add_expert(s, "Lies", organisation="Stad Gent", expertise=["x"], languages=["nl"])
        for expert, locale in ((claire, "fr-FR"), (marc, "fr-BE"), (lies, "nl-BE")):
            s.add(SlackUser(slack_user_id=expert.slack_user_id, locale=locale, name=expert.name, fetched_at=NOW))
        s.flush()
        assert sel.expert_language(s, claire, claire.slack_user_id, default="nl") == "en"
        assert sel.expert_language(s, marc, marc.slack_user_id, default="nl") == "nl"
        assert sel.expert_language(s, lies, lies.slack_user_id, default="nl") == "nl"
        assert sel.expert_language(s, claire, None, default="nl") == "nl"  # no Slack locale: the default


def test_an_expert_nobody_knows_the_language_of_is_written_to_in_the_networks_language(world: World) -> None:
    """No Slack locale and no Dutch or English register language: the network's language (WIEWEET_LANGUAGE), not
    always Dutch; a register language that is Dutch or English still decides."""
    with world.db.session() as s:
        claire = add_expert(s, "Claire", organisation="Stad Brussel", expertise=["leegstandsheffing"], languages=["fr"])
        lies = add_expert(s, "Lies", organisation="Stad Gent", expertise=["leegstandsheffing"], languages=["nl"])
        s.flush()
        assert sel.expert_language(s, claire, claire.slack_user_id, default="en") == "en"
        assert sel.expert_language(s, claire, claire.slack_user_id, default="nl") == "nl"
        assert sel.expert_language(s, lies, lies.slack_user_id, default="en") == "nl"
    world.load()
    english = _select(world, policy=replace(world.policy, default_language="en"))
    assert {c.expert.name: c.language for c in english.chosen} == {"Claire": "en", "Lies": "nl"}
    dutch = _select(world)
    assert {c.expert.name: c.language for c in dutch.chosen} == {"Claire": "nl", "Lies": "nl"}


def test_unsearchable_text_selects_nobody(world: World) -> None:
    with world.db.session() as s:
        add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"])
    world.load()
    with world.db.session() as s:
        q = _question(world, s, text="wie weet?")
        result = sel.select_experts(s, knowledge=world.kb, policy=world.policy, question=q, count=2, now=NOW)
        s.rollback()
    assert result.chosen == [] and result.gap


def test_a_question_or_context_longer_than_a_search_is_matched_on_its_start(world: World) -> None:
    """The ask modal takes 3,000 characters, a search 1,000: a detailed question, or a short one with a long
    context, still finds its experts instead of going to staff as a knowledge gap."""
    with world.db.session() as s:
        add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"])
    world.load()
    detail = " Wij willen weten hoe andere steden de heffing opbouwen en welke vrijstellingen ze geven." * 20
    with world.db.session() as s:
        long_text = _question(world, s, text=QUESTION + detail)
        short_text = _question(world, s)
        short_text.context = detail.strip()
        assert len(long_text.text) > 1500 and len(short_text.context) > 1500
        found = [
            sel.select_experts(s, knowledge=world.kb, policy=world.policy, question=q, count=2, now=NOW)
            for q in (long_text, short_text)
        ]
        names = [[c.expert.name for c in result.chosen] for result in found]
        s.rollback()
    assert names == [["Bram"], ["Bram"]] and not any(result.gap for result in found)


def test_searchable_start_cuts_before_a_split_word() -> None:
    assert searchable_start("  kort  ") == "kort"
    assert searchable_start("aaaa bbbb cccc", limit=12) == "aaaa bbbb"  # "cccc" would be cut
    assert searchable_start("aaaa bbbb cccc", limit=9) == "aaaa bbbb"  # the cut falls on a space: keep it all
    assert searchable_start("a" * 30, limit=10) == "a" * 10  # one long word: cut inside it
    assert searchable_start("ab " + "c" * 30, limit=10) == "ab ccccccc"  # the last word is most of it: cut inside
    assert len(searchable_start("woord " * 400)) <= MAX_QUERY_CHARS
