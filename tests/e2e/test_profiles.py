"""End to end: expert self-service through the real bot and the Slack emulator.

The Home tab (publish, refresh, edit, away, opt out), joining as an expert from a command, consent DMs and their
effect on routing, the re-confirmation cycle with injected time, staff moderation, and forged payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.knowledge import KnowledgeBase
from handlers import ids
from storage.db import Database
from storage.models import AuditLog, Availability, Consent, Expert, Question, RecordStatus, Routing, RoutingStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat, replay
from tests.emulator import SlackEmulator

MONDAY = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
TRIAGE = "C0TRIAGE1"
STAFF = "U0STAFF01"
QUESTION = "Hoe pakken jullie leegstandsheffing op winkelpanden aan?"
DEMO_USERS = [f"U0DEMO{n:03d}" for n in range(1, 121)]

StartBot = Callable[..., BotProcess]


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    path = tmp_path / "now.txt"
    path.write_text(MONDAY.isoformat(), encoding="utf-8")
    return path


@pytest.fixture
def db(demo_db_url: str) -> Iterator[Database]:
    """The bot's database, to arrange the register before the bot starts and to check what it stored."""
    database = Database(demo_db_url)
    with database.session() as session:  # every demo expert freshly confirmed, relative to the injected clock
        for expert in session.scalars(select(Expert)):
            expert.last_confirmed_at = MONDAY - timedelta(days=10)
    yield database
    database.dispose()


@pytest.fixture
def start_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path) -> Iterator[StartBot]:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(NL_USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE", email="griet@gent.be")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, emulator.bot_user_id])
    for user in DEMO_USERS:
        emulator.add_user(user, name=user.lower(), real_name=user, locale="nl-BE")
        emulator.add_member(CHANNEL, user)  # they ask questions there (the bot only posts for members)
    processes: list[BotProcess] = []

    def start(**env: str) -> BotProcess:
        process = BotProcess(
            emulator,
            database_url=demo_db_url,
            mode="socket",
            log_path=tmp_path / f"bot{len(processes)}.log",
            extra_env={
                "WIEWEET_FAKE_NOW_FILE": str(clock_file),
                "WIEWEET_JOB_INTERVAL": "0.5",
                "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
                "WIEWEET_STAFF_USER_IDS": STAFF,
                **env,
            },
        )
        processes.append(process.start())
        return process

    yield start
    for process in processes:
        process.stop()


def expert_of(db: Database, **where: Any) -> Expert:
    with db.session() as session:
        query = select(Expert)
        for column, value in where.items():
            query = query.where(getattr(Expert, column) == value)
        expert = session.scalars(query).first()
        assert expert is not None, where
        session.expunge(expert)
        return expert


def exists(db: Database, slack_user_id: str) -> bool:
    with db.session() as session:
        return session.scalars(select(Expert.id).where(Expert.slack_user_id == slack_user_id)).first() is not None


def top_expert(db: Database, query: str) -> Expert:
    """The expert the matcher ranks first for ``query`` on the demo register (who routing would ask)."""
    knowledge = KnowledgeBase(db)
    knowledge.load()
    hit = knowledge.search(query, now=MONDAY, limit=3).experts[0]
    knowledge.close()
    return expert_of(db, id=hit.doc.id)


def expert_dms(emu: SlackEmulator, since: int = 0) -> list[Any]:
    return [
        c
        for c in emu.calls_to("chat.postMessage", since)
        if ids.ACTION_CLAIM in flat(c.params.get("blocks")) and str(c.params.get("channel", "")).startswith("D")
    ]


def ask(emu: SlackEmulator, user: str, text: str) -> None:
    emu.send_command(user, CHANNEL, text=f"vraag {text}")
    emu.wait_for(lambda: emu.views(user))
    view = emu.views(user)[-1]
    assert emu.submit_view(user, view["id"], {ids.BLOCK_ASK_TEXT: text, ids.BLOCK_ASK_VISIBILITY: "public"}).acked


def dm_channels_asked(emu: SlackEmulator, count: int, since: int = 0) -> set[str]:
    emu.wait_for(lambda: len(expert_dms(emu, since)) >= count, timeout=20)
    return {str(c.params["channel"]) for c in expert_dms(emu, since)}


def home_text(emu: SlackEmulator, user: str) -> str:
    return flat(emu.home_view(user))


def ephemeral_text(emu: SlackEmulator) -> str:
    return flat([p["body"] for p in emu.response_posts])


def refusals(bot: BotProcess) -> list[str]:
    return [line for line in bot.log().splitlines() if "refused ref=" in line]


# --- Home tab -----------------------------------------------------------------------------------------------------


def test_home_tab_is_published_and_opting_out_stops_routing(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    top = top_expert(db, QUESTION)
    user = str(top.slack_user_id)
    start_bot()
    emulator.open_home(user)
    emulator.wait_for(lambda: top.name in home_text(emulator, user))
    assert ids.ACTION_PROFILE_EDIT in home_text(emulator, user)
    assert ids.ACTION_HOME_OPT_OUT in home_text(emulator, user)

    home_id = str((emulator.home_view(user) or {})["id"])
    emulator.click_button(user, ids.ACTION_HOME_OPT_OUT, view=home_id)
    # the Home tab is re-published with the new state, and the register has it
    emulator.wait_for(lambda: ids.ACTION_HOME_AVAILABLE in home_text(emulator, user))
    assert "Wil geen vragen krijgen" in home_text(emulator, user)
    assert expert_of(db, id=top.id).availability is Availability.OPTED_OUT

    ask(emulator, NL_USER, QUESTION)
    asked = dm_channels_asked(emulator, 2)
    assert emulator.dm_channel_with(user) not in asked  # the best match is not asked any more

    # back to available, then away until a date picked on the Home tab
    emulator.click_button(user, ids.ACTION_HOME_AVAILABLE, view=home_id)
    emulator.wait_for(lambda: ids.ACTION_HOME_OPT_OUT in home_text(emulator, user))
    emulator.pick_date(user, ids.ACTION_HOME_AWAY, "2026-12-18", view=home_id)
    emulator.wait_for(lambda: "18 dec 2026" in home_text(emulator, user))
    stored = expert_of(db, id=top.id)
    assert stored.availability is Availability.AWAY and str(stored.away_until) == "2026-12-18"
    # a past date is refused with a message, nothing changes
    emulator.pick_date(user, ids.ACTION_HOME_AWAY, "2026-01-05", view=home_id)
    emulator.wait_for(lambda: any("verleden" in flat(c.params) for c in emulator.calls_to("chat.postMessage")))
    assert str(expert_of(db, id=top.id).away_until) == "2026-12-18"


def test_opting_out_with_a_request_open_moves_it_on_to_someone_else(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    """README: "never shown or asked again". Asked first, then "stop asking me" on the Home tab: their request is
    closed (expired) and the next expert is asked at once; the asker keeps as many experts working on it."""
    start_bot()
    ask(emulator, NL_USER, QUESTION)
    asked = dm_channels_asked(emulator, 2)
    with db.session() as session:
        question = session.scalars(select(Question).order_by(Question.id.desc())).first()
        assert question is not None and question.text == QUESTION
        first = next(r for r in question.routings if r.recipient_slack_id)
        user, expert_id, question_id = str(first.recipient_slack_id), first.expert_id, question.id
    assert emulator.dm_channel_with(user) in asked
    emulator.open_home(user)
    emulator.wait_for(lambda: ids.ACTION_HOME_OPT_OUT in home_text(emulator, user))
    emulator.click_button(user, ids.ACTION_HOME_OPT_OUT, view=str((emulator.home_view(user) or {})["id"]))
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 3, timeout=20)
    assert len(dm_channels_asked(emulator, 3)) == 3  # someone new, not them again
    assert expert_of(db, id=expert_id).availability is Availability.OPTED_OUT
    with db.session() as session:
        routings = session.scalars(select(Routing).where(Routing.question_id == question_id))
        statuses = {r.recipient_slack_id: r.status for r in routings}
    assert statuses[user] is RoutingStatus.EXPIRED
    assert sum(1 for status in statuses.values() if status is RoutingStatus.ASKED) == 2


def test_home_shows_questions_routed_to_you(start_bot: StartBot, emulator: SlackEmulator, db: Database) -> None:
    top = top_expert(db, QUESTION)
    user = str(top.slack_user_id)
    start_bot()
    emulator.open_home(user)
    emulator.wait_for(lambda: "Er werden je nog geen vragen gesteld" in home_text(emulator, user))
    ask(emulator, NL_USER, QUESTION)
    dm_channels_asked(emulator, 2)
    # delivering the DM re-publishes the expert's Home tab with the question on it
    emulator.wait_for(lambda: "leegstandsheffing op winkelpanden" in home_text(emulator, user), timeout=20)
    assert "wacht op jouw antwoord" in home_text(emulator, user)
    # and the asker's Home lists their question
    emulator.open_home(NL_USER)
    emulator.wait_for(lambda: "leegstandsheffing op winkelpanden" in home_text(emulator, NL_USER))


def test_profile_edit_from_home_updates_the_register_and_search(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    expert = expert_of(db, slack_user_id="U0DEMO007")
    bot = start_bot()
    emulator.open_home("U0DEMO007")
    emulator.wait_for(lambda: ids.ACTION_PROFILE_EDIT in home_text(emulator, "U0DEMO007"))
    home_id = str((emulator.home_view("U0DEMO007") or {})["id"])
    emulator.click_button("U0DEMO007", ids.ACTION_PROFILE_EDIT, view=home_id)
    emulator.wait_for(lambda: emulator.views("U0DEMO007"))
    modal = emulator.views("U0DEMO007")[-1]
    assert expert.email in flat(modal)  # pre-filled with the profile

    # a bad e-mail address: the error is shown on the field and nothing is saved
    bad = emulator.submit_view("U0DEMO007", modal["id"], {ids.profile_block("email"): "not-an-address"})
    assert bad.final is not None and bad.final.body is not None
    assert bad.final.body.get("response_action") == "errors"
    assert ids.profile_block("email") in bad.final.body["errors"]
    assert expert_of(db, id=expert.id).email == expert.email

    topics = "leegstandsheffing\nkangoeroewonen in sociale huisvesting"
    ok = emulator.submit_view("U0DEMO007", modal["id"], {ids.profile_block("expertise"): topics})
    assert ok.acked and not (ok.final and ok.final.body and ok.final.body.get("response_action"))
    emulator.wait_for(lambda: "kangoeroewonen" in home_text(emulator, "U0DEMO007"))
    stored = expert_of(db, id=expert.id)
    assert stored.expertise == ["leegstandsheffing", "kangoeroewonen in sociale huisvesting"]
    with db.session() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.entity_key == expert.email)).all()
        assert any(a.action == "update" and "U0DEMO007" in a.actor for a in audit)
    # the matching index follows at once: the new topic finds them
    emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over kangoeroewonen?")
    emulator.wait_for(lambda: expert.name in ephemeral_text(emulator))
    assert not refusals(bot)


def store_long_expertise(db: Database, slack_user_id: str) -> list[str]:
    """Give the expert 80 topics (~3,900 characters, more than a Slack input takes: imported from a file)."""
    topics = [f"onderwerp {n:03d} over ruimtelijke ordening en wonen" for n in range(80)]
    with db.session() as session:
        row = session.scalars(select(Expert).where(Expert.slack_user_id == slack_user_id)).one()
        row.expertise = list(topics)
        session.commit()
    return topics


def test_editing_a_profile_whose_expertise_is_longer_than_the_form_keeps_all_of_it(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    # expertise imported from a file can be longer than Slack's input takes (3,000 characters): before, the form
    # was pre-filled cut and saving it dropped the end
    long_expertise = store_long_expertise(db, "U0DEMO008")
    assert len("; ".join(long_expertise)) > 3000
    bot = start_bot()
    emulator.open_home("U0DEMO008")
    emulator.wait_for(lambda: ids.ACTION_PROFILE_EDIT in home_text(emulator, "U0DEMO008"))
    home_id = str((emulator.home_view("U0DEMO008") or {})["id"])
    emulator.click_button("U0DEMO008", ids.ACTION_PROFILE_EDIT, view=home_id)
    emulator.wait_for(lambda: emulator.views("U0DEMO008"))
    modal = emulator.views("U0DEMO008")[-1]
    # no cut input: the field is left out, with a note saying why, that it stays, and how to change it
    assert ids.profile_input("expertise") not in flat(modal["blocks"])
    assert "langer dan een Slack-formulier toelaat" in flat(modal) and "wieweet import experts" in flat(modal)
    ok = emulator.submit_view("U0DEMO008", modal["id"], {ids.profile_block("city"): "Gent"})
    assert ok.acked and not (ok.final and ok.final.body and ok.final.body.get("response_action"))
    emulator.wait_for(lambda: expert_of(db, slack_user_id="U0DEMO008").city == "Gent")
    assert expert_of(db, slack_user_id="U0DEMO008").expertise == long_expertise  # all of it, in order
    assert not refusals(bot)
    bot.assert_no_slack_calls_in_transactions()


def test_topics_added_by_command_to_a_long_expertise_are_saved_after_it(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    # "/wieweet ik weet iets over ..." on a profile whose expertise is over the form's 3,000 characters: before, the
    # stored expertise and the topics were left out together and kept as stored, so the topics were silently lost
    long_expertise = store_long_expertise(db, "U0DEMO008")
    bot = start_bot()
    emulator.send_command("U0DEMO008", CHANNEL, text="ik weet iets over leegstandsheffing op winkelpanden")
    emulator.wait_for(lambda: emulator.views("U0DEMO008"))
    modal = emulator.views("U0DEMO008")[-1]
    assert ids.profile_input("expertise") not in flat(modal["blocks"])
    assert "Onderwerpen toevoegen kan hieronder" in flat(modal)
    added = next(b for b in modal["blocks"] if b.get("block_id") == ids.BLOCK_PROFILE_ADD_EXPERTISE)
    assert added["element"]["initial_value"] == "leegstandsheffing op winkelpanden"
    typed = "leegstandsheffing op winkelpanden\nOnderwerp 002 over ruimtelijke ordening en wonen\nhuurpremie"
    ok = emulator.submit_view("U0DEMO008", modal["id"], {ids.BLOCK_PROFILE_ADD_EXPERTISE: typed})
    assert ok.acked and not (ok.final and ok.final.body and ok.final.body.get("response_action"))
    emulator.wait_for(lambda: "huurpremie" in expert_of(db, slack_user_id="U0DEMO008").expertise)
    saved = expert_of(db, slack_user_id="U0DEMO008").expertise
    assert saved == [*long_expertise, "leegstandsheffing op winkelpanden", "huurpremie"]  # all kept, each once
    assert not refusals(bot)
    bot.assert_no_slack_calls_in_transactions()


@pytest.mark.postgres_too
def test_join_as_expert_from_the_command(start_bot: StartBot, emulator: SlackEmulator, db: Database) -> None:
    bot = start_bot()
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over buurtbudgetten; burgerbegroting")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    modal = emulator.views(NL_USER)[-1]
    # pre-filled from Slack (name, e-mail) and from the command (topics)
    assert "Griet Verhoeven" in flat(modal) and "griet@gent.be" in flat(modal) and "burgerbegroting" in flat(modal)
    missing = emulator.submit_view(NL_USER, modal["id"], {ids.profile_block("organisation"): ""})
    assert missing.final is not None and missing.final.body is not None
    assert ids.profile_block("organisation") in missing.final.body["errors"]
    with db.session() as session:
        assert session.scalars(select(Expert).where(Expert.slack_user_id == NL_USER)).first() is None
    saved = emulator.submit_view(NL_USER, modal["id"], {ids.profile_block("organisation"): "Stad Gent"})
    emulator.wait_for(lambda: "Je profiel is bewaard" in flat(emulator.ephemerals(NL_USER)))
    emulator.wait_for(lambda: exists(db, NL_USER))  # the notice goes out just before the commit
    replay(emulator, bot, saved)  # the same submission again: one profile, one audit entry, told once
    with db.session() as session:
        assert len(list(session.scalars(select(Expert).where(Expert.slack_user_id == NL_USER)))) == 1
        audit = session.scalars(select(AuditLog).where(AuditLog.entity_type == "expert", AuditLog.actor == NL_USER))
        assert len(list(audit)) == 1
    assert len([e for e in emulator.ephemerals(NL_USER) if "Je profiel is bewaard" in str(e.get("text"))]) == 1
    joined = expert_of(db, slack_user_id=NL_USER)
    assert joined.consent is Consent.CONFIRMED and joined.status is RecordStatus.PUBLISHED
    assert joined.source == "slack" and joined.last_confirmed_at is not None
    emulator.send_command("U0DEMO001", CHANNEL, text="wie weet iets over burgerbegroting?")
    emulator.wait_for(lambda: "Griet Verhoeven" in ephemeral_text(emulator))


def test_join_with_staff_approval_and_forged_approval(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    bot = start_bot(WIEWEET_EXPERT_APPROVAL="true")
    emulator.send_command(NL_USER, CHANNEL, text="i know about participatory budgeting")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    emulator.wait_for(lambda: "keurt het nog goed" in flat(emulator.ephemerals(NL_USER)))
    emulator.wait_for(lambda: exists(db, NL_USER))
    assert expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PENDING
    review = emulator.wait_for_call(
        "chat.postMessage", lambda c: ids.ACTION_PROFILE_APPROVE in flat(c.params.get("blocks")), timeout=20
    )
    assert review.params["channel"] == TRIAGE
    message = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks"))][-1]
    # a pending profile is not searchable yet
    emulator.send_command("U0DEMO001", CHANNEL, text="who knows about participatory budgeting?")
    emulator.wait_for(lambda: len(emulator.response_posts) >= 1)
    assert "Griet Verhoeven" not in ephemeral_text(emulator)

    # someone who is not staff sends the staff-only action (a forged payload): refused, logged, nothing changes
    emulator.add_member(TRIAGE, "U0DEMO002")
    emulator.click_button("U0DEMO002", ids.ACTION_PROFILE_APPROVE, message=message["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: refusals(bot))
    assert "user=U0DEMO002" in refusals(bot)[0]
    assert expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PENDING

    emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=message["ts"], channel=TRIAGE)
    emulator.wait_for_call("chat.update", lambda c: "Goedgekeurd door" in flat(c.params))
    emulator.wait_for(lambda: expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PUBLISHED)
    outcome = emulator.wait_for_call("chat.postMessage", lambda c: "is goedgekeurd" in flat(c.params), timeout=20)
    assert outcome.params["channel"] == emulator.dm_channel_with(NL_USER)
    emulator.send_command("U0DEMO001", CHANNEL, text="who knows about participatory budgeting?")
    emulator.wait_for(lambda: "Griet Verhoeven" in ephemeral_text(emulator))


def test_rejected_profile_is_removed_and_the_person_told_why(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    start_bot(WIEWEET_EXPERT_APPROVAL="true")
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over zwemdiploma's")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_PROFILE_REJECT in flat(c.params.get("blocks")))
    message = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_REJECT in flat(m.get("blocks"))][-1]
    emulator.click_button(STAFF, ids.ACTION_PROFILE_REJECT, message=message["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: emulator.views(STAFF))
    modal = emulator.views(STAFF)[-1]
    empty = emulator.submit_view(STAFF, modal["id"], {ids.BLOCK_PROFILE_REJECT_REASON: "  "})
    assert empty.final is not None and empty.final.body is not None and empty.final.body["response_action"] == "errors"
    emulator.submit_view(STAFF, modal["id"], {ids.BLOCK_PROFILE_REJECT_REASON: "Geen beleidsthema van het netwerk"})
    told = emulator.wait_for_call("chat.postMessage", lambda c: "Geen beleidsthema" in flat(c.params), timeout=20)
    assert told.params["channel"] == emulator.dm_channel_with(NL_USER)
    emulator.wait_for(lambda: not exists(db, NL_USER))


# --- consent ------------------------------------------------------------------------------------------------------


def consent_dm(emu: SlackEmulator, user: str) -> dict[str, Any]:
    channel = emu.dm_channel_with(user)
    emu.wait_for(
        lambda: any(ids.ACTION_CONSENT_CONFIRM in flat(m.get("blocks")) for m in emu.messages(channel)), timeout=20
    )
    return [m for m in emu.messages(channel) if ids.ACTION_CONSENT_CONFIRM in flat(m.get("blocks"))][-1]


def test_imported_expert_is_asked_only_after_confirming(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    top = top_expert(db, QUESTION)
    user = str(top.slack_user_id)
    with db.session() as session:  # as after an import without consent on paper
        stored = session.get(Expert, top.id)
        assert stored is not None
        stored.consent, stored.last_confirmed_at = Consent.PENDING, None
    bot = start_bot()
    message = consent_dm(emulator, user)
    assert "bevestig" in flat(message).lower()

    ask(emulator, NL_USER, QUESTION)
    assert emulator.dm_channel_with(user) not in dm_channels_asked(emulator, 2)

    # another user replays the confirm button with this expert's id: refused and logged, still pending
    emulator.click_button("U0DEMO099", ids.ACTION_CONSENT_CONFIRM, value=str(top.id), message=message["ts"])
    emulator.wait_for(lambda: refusals(bot))
    assert expert_of(db, id=top.id).consent is Consent.PENDING

    channel = emulator.dm_channel_with(user)
    emulator.click_button(user, ids.ACTION_CONSENT_CONFIRM, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: "Bedankt" in flat(c.params))
    emulator.wait_for(lambda: expert_of(db, id=top.id).consent is Consent.CONFIRMED)  # committed after the update
    confirmed = expert_of(db, id=top.id)
    assert confirmed.consent is Consent.CONFIRMED and confirmed.last_confirmed_at is not None

    since = len(emulator.calls)
    ask(emulator, "U0DEMO050", "Wie heeft ervaring met een leegstandsheffing voor winkelpanden in de binnenstad?")
    assert emulator.dm_channel_with(user) in dm_channels_asked(emulator, 2, since)


def test_reconfirmation_cycle_with_injected_time(
    start_bot: StartBot, emulator: SlackEmulator, db: Database, clock_file: Path
) -> None:
    expert = expert_of(db, slack_user_id="U0DEMO010")
    with db.session() as session:  # confirmed a little under six months ago
        stored = session.get(Expert, expert.id)
        assert stored is not None
        stored.last_confirmed_at = MONDAY - timedelta(days=175)
    stale_stamp = expert_of(db, id=expert.id).last_confirmed_at
    start_bot()
    channel = emulator.dm_channel_with("U0DEMO010")
    emulator.send_command(STAFF, CHANNEL, text="beheer")
    emulator.wait_for(lambda: "beheer" in ephemeral_text(emulator).lower() or "Beheer" in ephemeral_text(emulator))
    assert expert.name not in ephemeral_text(emulator)  # not stale yet
    assert not [m for m in emulator.messages(channel) if ids.ACTION_CONSENT_CONFIRM in flat(m.get("blocks"))]

    clock_file.write_text((MONDAY + timedelta(days=14)).isoformat(), encoding="utf-8")  # now 189 days
    message = consent_dm(emulator, "U0DEMO010")
    assert "laatst bevestigd" in flat(message).lower() or "bevestigde je" in flat(message).lower()
    posted = len(emulator.response_posts)
    emulator.send_command(STAFF, CHANNEL, text="beheer")
    emulator.wait_for(lambda: len(emulator.response_posts) > posted)
    assert expert.name in flat(emulator.response_posts[-1]["body"])  # listed for staff as stale

    emulator.click_button("U0DEMO010", ids.ACTION_CONSENT_CONFIRM, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: "Bedankt" in flat(c.params))
    emulator.wait_for(lambda: expert_of(db, id=expert.id).last_confirmed_at != stale_stamp)
    confirmed = expert_of(db, id=expert.id)
    assert confirmed.last_confirmed_at is not None
    assert confirmed.last_confirmed_at.replace(tzinfo=UTC) >= MONDAY + timedelta(days=14)
    # asked once per period: later passes send nothing more
    clock_file.write_text((MONDAY + timedelta(days=20)).isoformat(), encoding="utf-8")
    emulator.send_command(STAFF, CHANNEL, text="help")  # let a few job passes run
    emulator.wait_for(lambda: len(emulator.response_posts) > posted + 1)
    assert len([m for m in emulator.messages(channel) if ids.ACTION_CONSENT_CONFIRM in flat(m.get("blocks"))]) <= 1


# --- staff and forged payloads ------------------------------------------------------------------------------------


def test_staff_edit_and_remove_and_non_staff_refused(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    expert = expert_of(db, slack_user_id="U0DEMO020")
    bot = start_bot()
    # not staff: the overview is refused with a message and a log line
    emulator.send_command(NL_USER, CHANNEL, text="beheer")
    emulator.wait_for(lambda: refusals(bot))
    emulator.wait_for(lambda: "kenniscentrum" in ephemeral_text(emulator).lower())

    # "profiel" opens the user's own profile form
    emulator.send_command("U0DEMO020", CHANNEL, text="profiel")
    emulator.wait_for(lambda: emulator.views("U0DEMO020"))
    assert expert.email in flat(emulator.views("U0DEMO020")[-1])
    # a forged edit button (another expert's id in the value) is refused and logged; no form opens
    emulator.open_home("U0DEMO021")
    emulator.wait_for(lambda: ids.ACTION_PROFILE_EDIT in home_text(emulator, "U0DEMO021"))
    home_id = str((emulator.home_view("U0DEMO021") or {})["id"])
    before = len(refusals(bot))
    emulator.click_button("U0DEMO021", ids.ACTION_PROFILE_EDIT, value=str(expert.id), view=home_id)
    emulator.wait_for(lambda: len(refusals(bot)) > before)
    assert "user=U0DEMO021" in refusals(bot)[-1]
    assert not emulator.views("U0DEMO021")

    emulator.send_command(STAFF, CHANNEL, text=f"beheer {expert.email}")
    emulator.wait_for(lambda: ids.ACTION_EXPERT_REMOVE in flat(emulator.ephemerals(STAFF)))
    card = [e for e in emulator.ephemerals(STAFF) if ids.ACTION_EXPERT_REMOVE in flat(e)][-1]
    assert expert.name in flat(card)
    ts = str(card["message_ts"])
    emulator.click_button(STAFF, ids.ACTION_PROFILE_EDIT, message=ts, channel=CHANNEL)
    emulator.wait_for(lambda: emulator.views(STAFF))
    modal = emulator.views(STAFF)[-1]
    emulator.submit_view(STAFF, modal["id"], {ids.profile_block("role"): "diensthoofd wonen"})
    emulator.wait_for(lambda: expert_of(db, id=expert.id).role == "diensthoofd wonen")
    edited = expert_of(db, id=expert.id)
    assert edited.last_confirmed_at == expert.last_confirmed_at  # staff editing is not the person confirming

    emulator.click_button(STAFF, ids.ACTION_EXPERT_REMOVE, message=ts, channel=CHANNEL)
    emulator.wait_for(lambda: "uit het register verwijderd" in ephemeral_text(emulator))
    emulator.wait_for(lambda: not exists(db, "U0DEMO020"))
    with db.session() as session:
        assert session.get(Expert, expert.id) is None
        actions = [a.action for a in session.scalars(select(AuditLog).where(AuditLog.entity_key == expert.email))]
        assert "update" in actions and "delete" in actions


def test_staff_approve_from_the_overview_updates_the_triage_review(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    start_bot(WIEWEET_EXPERT_APPROVAL="true")
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over buurtbudgetten")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    emulator.wait_for(
        lambda: any(ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks")) for m in emulator.messages(TRIAGE))
    )
    review = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks"))][-1]

    emulator.send_command(STAFF, CHANNEL, text="beheer")
    emulator.wait_for(lambda: ids.ACTION_PROFILE_APPROVE in flat(emulator.ephemerals(STAFF)))
    overview = [e for e in emulator.ephemerals(STAFF) if ids.ACTION_PROFILE_APPROVE in flat(e)][-1]
    # the button in the (ephemeral) overview: Slack cannot update that message, the decision must stand anyway
    emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=str(overview["message_ts"]), channel=CHANNEL)
    emulator.wait_for(lambda: expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PUBLISHED)
    # the review in the triage channel loses its buttons and says who decided
    emulator.wait_for(lambda: "Goedgekeurd door" in flat(emulator.message(TRIAGE, review["ts"])))
    assert ids.ACTION_PROFILE_APPROVE not in flat(emulator.message(TRIAGE, review["ts"]))
    emulator.wait_for_call("chat.postMessage", lambda c: "is goedgekeurd" in flat(c.params), timeout=20)


def test_a_consent_click_claiming_another_message_updates_only_the_consent_dm(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    top = top_expert(db, QUESTION)
    user = str(top.slack_user_id)
    with db.session() as session:
        stored = session.get(Expert, top.id)
        assert stored is not None
        stored.consent, stored.last_confirmed_at = Consent.PENDING, None
    bot = start_bot()
    message = consent_dm(emulator, user)
    # a bot message someone else is reading: the answer to a question in the channel
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    thread_ts = mention.payload["event"]["ts"]
    answer = emulator.wait_for(
        lambda: [m for m in emulator.thread(CHANNEL, thread_ts) if m.get("bot_id") and m["ts"] != thread_ts]
    )[0]
    forged = {**message, "ts": answer["ts"]}  # the expert's own button, in a container naming the channel answer
    emulator.click_button(user, ids.ACTION_CONSENT_CONFIRM, message=forged, channel=CHANNEL)
    emulator.wait_for(lambda: expert_of(db, id=top.id).consent is Consent.CONFIRMED)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == message["ts"])  # the consent DM
    emulator.wait_for(lambda: refusals(bot))
    assert refusals(bot)[-1].endswith(f"target=message:{CHANNEL}/{answer['ts']}")
    assert f"user={user} action=update a message not about expert:{top.id}" in refusals(bot)[-1]
    assert all(c.params.get("ts") != answer["ts"] for c in emulator.calls_to("chat.update"))
    assert emulator.message(CHANNEL, answer["ts"]) == answer


def test_the_staff_view_of_one_expert_escapes_the_name(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    with db.session() as session:
        session.add(
            Expert(
                email="evil@example.be",
                name="<!channel> Ev\u202eil",
                organisation="Stad Gent",
                consent=Consent.CONFIRMED,
                last_confirmed_at=MONDAY,
            )
        )
    start_bot()
    emulator.send_command(STAFF, CHANNEL, text="beheer evil@example.be")
    card = emulator.wait_for(lambda: [p["body"] for p in emulator.response_posts if "Evil" in flat(p)])
    assert str(card[0]["text"]) == "&lt;!channel&gt; Evil"  # escaped once, no reordering control
    assert "<!channel>" not in flat(card)


# --- an e-mail address is an identity claim --------------------------------------------------------------------------


def test_joining_with_an_address_slack_does_not_hold_for_the_account_is_refused(
    start_bot: StartBot, emulator: SlackEmulator, db: Database
) -> None:
    official = expert_of(db, slack_user_id="U0DEMO001").email  # an official of the register
    emulator.add_user("U0SQUAT01", name="squat", real_name="Squat", locale="nl-BE", email="squat@example.org")
    emulator.add_user("U0NOMAIL1", name="nomail", real_name="Nomail", locale="nl-BE")  # users.info: no e-mail
    bot = start_bot()

    def join(user: str, address: str) -> None:
        emulator.send_command(user, CHANNEL, text="ik weet iets over leegstandsheffing")
        emulator.wait_for(lambda: emulator.views(user))
        modal = emulator.views(user)[-1]
        assert ("squat@example.org" in flat(modal)) is (user == "U0SQUAT01")  # pre-filled from Slack
        fields = {ids.profile_block("organisation"): "Stad Gent", ids.profile_block("email"): address}
        assert emulator.submit_view(user, modal["id"], fields).acked
        emulator.wait_for(lambda: not emulator.views(user))

    def told(user: str, text: str) -> str:
        dm = emulator.wait_for_call("chat.postMessage", lambda c: text in flat(c.params), timeout=20)
        assert dm.params["channel"] == emulator.dm_channel_with(user)
        return flat(dm.params)

    # the submission is checked after the modal closed (the inbox): refused, the person told by DM, nothing saved
    join("U0SQUAT01", official)
    assert "Bedoel je squat@example.org?" in told("U0SQUAT01", "Dit is niet het e-mailadres van je Slack-account")
    join("U0NOMAIL1", "x@y.be")
    told("U0NOMAIL1", "Slack geeft wieweet het e-mailadres van je account niet")
    assert not exists(db, "U0SQUAT01") and not exists(db, "U0NOMAIL1")
    assert expert_of(db, email=official).slack_user_id == "U0DEMO001"
    # with the address Slack holds for the account (any case): saved
    join("U0SQUAT01", "Squat@Example.org")
    emulator.wait_for(lambda: exists(db, "U0SQUAT01"))
    assert expert_of(db, slack_user_id="U0SQUAT01").email == "squat@example.org"
    assert not refusals(bot)
    bot.assert_no_slack_calls_in_transactions()
