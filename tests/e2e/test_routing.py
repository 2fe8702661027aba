"""End to end: question routing through the real bot process, the Slack emulator and the background jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.matching.loader import answer_doc
from handlers import ids
from storage.models import AuditLog, Expert, OutboxKind, OutboxMessage, Question, QuestionStatus, RoutingStatus
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER, OUTSIDER, PRIVATE_C
from tests.e2e.harness import BotProcess, flat, replay
from tests.e2e.staffing import STAFF, TRIAGE, run_routing_bot
from tests.emulator import SlackEmulator

QUESTION = "Hoe pakken jullie leegstandsheffing op winkelpanden aan?"


@pytest.fixture
def staff_bot(emulator: SlackEmulator, any_db_url: str, tmp_path: Path, clock_file: Path) -> Iterator[BotProcess]:
    """``routing_bot`` on either database."""
    yield from run_routing_bot(emulator, any_db_url, tmp_path, clock_file)


def expert_dms(emu: SlackEmulator, since: int = 0) -> list[Any]:
    return [
        c
        for c in emu.calls_to("chat.postMessage", since)
        if ids.ACTION_CLAIM in flat(c.params.get("blocks")) and str(c.params.get("channel", "")).startswith("D")
    ]


def ask(emu: SlackEmulator, user: str, text: str, visibility: str = "public", channel: str = CHANNEL) -> None:
    emu.send_command(user, channel, text=f"vraag {text}")
    emu.wait_for(lambda: emu.views(user))
    view = emu.views(user)[-1]
    delivery = emu.submit_view(
        user,
        view["id"],
        {ids.BLOCK_ASK_TEXT: text, ids.BLOCK_ASK_VISIBILITY: visibility},
    )
    assert delivery.acked


def dm_of(emu: SlackEmulator, call: Any) -> dict[str, Any]:
    channel = str(call.params["channel"])
    messages = [m for m in emu.messages(channel) if ids.ACTION_CLAIM in flat(m.get("blocks"))]
    return messages[-1]


def test_ask_claim_answer_in_thread_and_resolve(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    dms = expert_dms(emulator)
    assert len(dms) == 2
    expert = str(dms[0].params["channel"])
    expert_user = next(u for u in (f"U0DEMO{n:03d}" for n in range(1, 121)) if emulator.dm_channel_with(u) == expert)
    message = dm_of(emulator, dms[0])
    claim = emulator.click_button(expert_user, ids.ACTION_CLAIM, message=message["ts"], channel=expert)
    emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")))
    replay(emulator, routing_bot, claim)  # the same click again: no "already taken" to the expert
    assert "al opgenomen" not in flat([p["body"] for p in emulator.response_posts])
    # a second claim by the same expert is refused with a friendly message, nothing changes
    updated = emulator.message(expert, message["ts"])
    assert updated is not None
    emulator.click_button(expert_user, ids.ACTION_ANSWER, message=message["ts"], channel=expert)
    emulator.wait_for(lambda: emulator.views(expert_user))
    answer_view = emulator.views(expert_user)[-1]
    answered = emulator.submit_view(
        expert_user, answer_view["id"], {ids.BLOCK_ANSWER_TEXT: "Wij gebruiken een register."}
    )
    posted = emulator.wait_for_call(
        "chat.postMessage",
        lambda c: c.params.get("channel") == CHANNEL and "Wij gebruiken een register" in flat(c.params),
        timeout=20,
    )
    replay(emulator, routing_bot, answered)  # the answer submitted again: one answer, posted once
    assert len(questions(demo_db_url)[-1].answers) == 1
    thread_ts = posted.params.get("thread_ts")
    assert thread_ts and f"<@{NL_USER}>" in flat(posted.params)  # the asker is named where the answer is
    # the answer reaches the asker once: in the thread, with the rating shown to them alone under it
    rating = emulator.wait_for(
        lambda: [e for e in emulator.ephemerals(NL_USER, CHANNEL) if ids.ACTION_RESOLVE_QUESTION in flat(e)],
        timeout=20,
    )[-1]
    assert rating["thread_ts"] == thread_ts and "Wij gebruiken een register" not in flat(rating)
    assert "mijn vragen" in flat(rating)  # where the rating stays once the ephemeral message is gone
    time.sleep(1.5)  # a few more outbox runs: no DM with the answer, no second post of it
    posts = emulator.calls_to("chat.postMessage")
    assert len([c for c in posts if c.params.get("channel") == CHANNEL and "Wij gebruiken een" in flat(c.params)]) == 1
    asker_dm = emulator.dm_channel_with(NL_USER)
    assert not [m for m in emulator.messages(asker_dm) if "Wij gebruiken een register" in flat(m)]
    assert not [m for m in emulator.messages(asker_dm) if ids.ACTION_RESOLVE_QUESTION in flat(m.get("blocks"))]
    # a forged click: someone else in the channel presses the asker's rating -> refused, nothing recorded
    emulator.click_button(EN_USER, f"{ids.ACTION_RATE_PREFIX}1", message=rating["message_ts"], channel=CHANNEL)
    emulator.wait_for(lambda: [x for x in refusals(routing_bot) if "target=question:" in x], timeout=10)
    assert questions(demo_db_url)[-1].rating is None
    emulator.click_button(NL_USER, ids.ACTION_RESOLVE_QUESTION, message=rating["message_ts"], channel=CHANNEL)
    emulator.wait_for(lambda: "opgelost" in flat([p["body"] for p in emulator.response_posts]), timeout=10)
    emulator.click_button(NL_USER, f"{ids.ACTION_RATE_PREFIX}5", message=rating["message_ts"], channel=CHANNEL)
    emulator.wait_for(lambda: "Bedankt voor je score" in flat([p["body"] for p in emulator.response_posts]))
    assert questions(demo_db_url)[-1].rating == 5


def test_anonymous_question_never_shows_the_asker_to_experts(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION, visibility="anonymous")
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    emulator.wait_for_call("chat.postMessage", lambda c: "gesteld aan" in flat(c.params), timeout=20)
    asker_dm = emulator.dm_channel_with(NL_USER)
    for call in emulator.calls:
        if call.method in {"chat.postMessage", "chat.update"} and call.params.get("channel") != asker_dm:
            rendered = flat(call.params)
            assert NL_USER not in rendered and "Griet Verhoeven" not in rendered
    assert emulator.messages(CHANNEL) == []  # nothing in any channel


def test_no_match_goes_to_triage(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, "Wie kent de beste recepten voor zuurdesembrood met spelt?")
    triage = emulator.wait_for_call(
        "chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")), timeout=20
    )
    assert triage.params["channel"] == TRIAGE
    assert expert_dms(emulator) == []


def start_bot(emu: SlackEmulator, db_url: str, log: Path, clock: Path, mode: str = "socket") -> BotProcess:
    env = {
        "WIEWEET_FAKE_NOW_FILE": str(clock),
        "WIEWEET_JOB_INTERVAL": "0.5",
        "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
        "WIEWEET_STAFF_USER_IDS": STAFF,
    }
    return BotProcess(emu, database_url=db_url, mode=mode, log_path=log, extra_env=env).start()


def demo_user_of(emu: SlackEmulator, dm_channel: str) -> str:
    return next(u for u in (f"U0DEMO{n:03d}" for n in range(1, 121)) if emu.dm_channel_with(u) == dm_channel)


def open_requests(emu: SlackEmulator) -> list[tuple[str, str, dict[str, Any]]]:
    """(expert, dm channel, message) for every DM that still offers the claim button."""
    found = []
    for call in expert_dms(emu):
        channel = str(call.params["channel"])
        for message in emu.messages(channel):
            if ids.ACTION_CLAIM in flat(message.get("blocks")):
                found.append((demo_user_of(emu, channel), channel, message))
    unique = {(c, m["ts"]): (u, c, m) for u, c, m in found}
    return list(unique.values())


def test_decline_asks_someone_else(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    emulator.click_button(user, ids.ACTION_DECLINE, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(user))
    declined = emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_DECLINE_REASON: "Niet mijn thema"})
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == message["ts"])
    updated = emulator.message(channel, message["ts"])
    assert updated is not None and ids.ACTION_CLAIM not in flat(updated.get("blocks"))
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 3, timeout=20)
    replay(emulator, routing_bot, declined)  # submitted again: no error, and still one next expert
    time.sleep(1.5)  # a few more outbox runs
    assert len(expert_dms(emulator)) == 3 and not emulator.response_posts


def test_forward_to_a_colleague(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.add_user("U0COLLEG1", name="collega", real_name="Een Collega", locale="nl-BE")
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    forward = emulator.select_user(user, ids.ACTION_FORWARD, "U0COLLEG1", message=message["ts"], channel=channel)
    colleague_dm = emulator.dm_channel_with("U0COLLEG1")
    emulator.wait_for(
        lambda: [m for m in emulator.messages(colleague_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))], timeout=20
    )
    replay(emulator, routing_bot, forward)  # the same pick again: the colleague is asked once, nobody told "no"
    time.sleep(1.5)
    assert len([m for m in emulator.messages(colleague_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))]) == 1
    assert not emulator.response_posts
    updated = emulator.message(channel, message["ts"])
    assert updated is not None and ids.ACTION_CLAIM not in flat(updated.get("blocks"))


def test_snooze_resends_next_business_day(routing_bot: BotProcess, emulator: SlackEmulator, clock_file: Path) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    emulator.click_button(user, ids.ACTION_SNOOZE, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == message["ts"])
    before = len(emulator.messages(channel))
    clock_file.write_text("2026-12-01T09:05:00+01:00", encoding="utf-8")
    emulator.wait_for(lambda: len(emulator.messages(channel)) > before, timeout=20)
    assert ids.ACTION_CLAIM in flat(emulator.messages(channel)[-1].get("blocks"))


def test_second_claim_gets_a_message_and_changes_nothing(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    (u1, c1, m1), (u2, c2, m2) = open_requests(emulator)[:2]
    emulator.click_button(u1, ids.ACTION_CLAIM, message=m1["ts"], channel=c1)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == m1["ts"])
    emulator.click_button(u1, ids.ACTION_CLAIM, message=m1, channel=c1)  # double click on the old message
    emulator.click_button(u2, ids.ACTION_CLAIM, message=m2["ts"], channel=c2)  # a colleague claimed first
    emulator.wait_for(lambda: len(emulator.response_posts) >= 2, timeout=10)
    texts = flat([p["body"] for p in emulator.response_posts])
    assert "al opgenomen" in texts
    assert ids.ACTION_CLAIM in flat(emulator.message(c2, m2["ts"]))  # unchanged


def test_private_question_posts_nothing_in_channels(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION, visibility="private")
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    emulator.click_button(user, ids.ACTION_CLAIM, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == message["ts"])
    emulator.click_button(user, ids.ACTION_ANSWER, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(user))
    emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_ANSWER_TEXT: "Geheim antwoord"})
    emulator.wait_for_call("chat.postMessage", lambda c: "Geheim antwoord" in flat(c.params), timeout=20)
    for call in emulator.calls_to("chat.postMessage"):
        assert str(call.params.get("channel", "")).startswith("D"), call.params


def test_all_decline_goes_to_triage_and_only_staff_may_act(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    declined: set[tuple[str, str]] = set()
    for _ in range(8):
        if [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == TRIAGE]:
            break
        for user, channel, message in open_requests(emulator):
            if (channel, message["ts"]) in declined:
                continue
            declined.add((channel, message["ts"]))
            emulator.click_button(user, ids.ACTION_DECLINE, message=message["ts"], channel=channel)
            emulator.wait_for(lambda u=user: emulator.views(u))
            emulator.submit_view(user, emulator.views(user)[-1]["id"], {})
            emulator.wait_for_call("chat.update", lambda c, ts=message["ts"]: c.params.get("ts") == ts)
        time.sleep(1.5)
    triage = emulator.wait_for_call("chat.postMessage", lambda c: c.params.get("channel") == TRIAGE, timeout=20)
    assert "alle experts wezen af" in flat(triage.params)
    msg = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_CLOSE in flat(m.get("blocks"))][-1]
    emulator.click_button(NL_USER, ids.ACTION_TRIAGE_CLOSE, message=msg["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: "kenniscentrum kunnen dit" in flat([p["body"] for p in emulator.response_posts]))
    assert "refused ref=" in routing_bot.log() and f"user={NL_USER} action=close a question" in routing_bot.log()
    assert emulator.views(NL_USER) == [] or all(
        v.get("callback_id") != ids.VIEW_TRIAGE_CLOSE for v in emulator.views(NL_USER)
    )
    emulator.click_button(STAFF, ids.ACTION_TRIAGE_CLOSE, message=msg["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: emulator.views(STAFF))
    emulator.submit_view(STAFF, emulator.views(STAFF)[-1]["id"], {ids.BLOCK_TRIAGE_NOTE: "Zie intranet"})
    emulator.wait_for_call("chat.postMessage", lambda c: "Zie intranet" in flat(c.params), timeout=20)


def reminders(emu: SlackEmulator) -> list[Any]:
    return [c for c in emu.calls_to("chat.postMessage") if "Herinnering" in flat(c.params)]


def test_reminder_after_two_business_days_survives_a_restart(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    for n in range(1, 121):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    first = start_bot(emulator, demo_db_url, tmp_path / "bot1.log", clock_file)
    try:
        ask(emulator, NL_USER, QUESTION)
        emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    finally:
        first.stop()
    clock_file.write_text("2026-12-02T12:00:00+01:00", encoding="utf-8")  # Wednesday: 2 business days later
    second = start_bot(emulator, demo_db_url, tmp_path / "bot2.log", clock_file)
    try:
        emulator.wait_for(lambda: len(reminders(emulator)) >= 2, timeout=20)
        time.sleep(2.5)  # several more job runs: no second reminder
        assert len(reminders(emulator)) == 2
        assert len({c.params["channel"] for c in reminders(emulator)}) == 2
    finally:
        second.stop()


def test_two_processes_on_one_postgres_do_not_double_dm(
    emulator: SlackEmulator, postgres_demo_url: str, tmp_path: Path, clock_file: Path
) -> None:
    for n in range(1, 121):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    one = start_bot(emulator, postgres_demo_url, tmp_path / "one.log", clock_file)
    two = start_bot(emulator, postgres_demo_url, tmp_path / "two.log", clock_file)
    try:
        for n in range(3):
            ask(emulator, NL_USER, f"{QUESTION} ({n})")
        # each question: the inbox worker, then the outbox, in either process (slow when the machine is loaded)
        emulator.wait_for(lambda: len(expert_dms(emulator)) >= 6, timeout=90)
        time.sleep(3)  # both processes run their jobs several times meanwhile
        dms = expert_dms(emulator)
        assert len(dms) == 6
        confirmations = [
            c for c in emulator.calls_to("chat.postMessage") if "Je vraag is gesteld aan" in flat(c.params)
        ]
        assert len(confirmations) == 3
    finally:
        one.stop()
        two.stop()


def test_http_mode_ask_and_claim(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path) -> None:
    for n in range(1, 121):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    process = start_bot(emulator, demo_db_url, tmp_path / "http.log", clock_file, mode="http")
    try:
        ask(emulator, NL_USER, QUESTION)
        emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
        user, channel, message = open_requests(emulator)[0]
        emulator.click_button(user, ids.ACTION_CLAIM, message=message["ts"], channel=channel)
        emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")))
        emulator.wait_for_call("chat.postMessage", lambda c: "neemt je vraag op" in flat(c.params), timeout=20)
    finally:
        process.stop()


def test_entry_points_my_questions_rating_and_away(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    # the "who knows" answer offers to ask its experts: the modal opens pre-filled, with a recognised theme
    emulator.send_command(NL_USER, CHANNEL, text=QUESTION)
    answer = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])[0]
    assert ids.ACTION_ASK_EXPERTS in flat(answer["body"]["blocks"])
    emulator.wait_for(lambda: emulator.ephemerals(NL_USER))
    ephemeral = emulator.ephemerals(NL_USER)[-1]
    emulator.click_button(NL_USER, ids.ACTION_ASK_EXPERTS, message=ephemeral["message_ts"], channel=CHANNEL)
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.wait_for_call("views.update", lambda c: True)
    modal = emulator.views(NL_USER)[-1]
    assert "leegstandsheffing" in flat(modal["blocks"]) and "initial_option" in flat(modal["blocks"])
    # an empty question is refused on the field, the modal stays open
    delivery = emulator.submit_view(NL_USER, modal["id"], {ids.BLOCK_ASK_TEXT: " "})
    assert delivery.response_action == "errors" or "errors" in flat(delivery.ack_body)
    emulator.close_view(NL_USER, modal["id"])
    # the message shortcut opens the same modal with the message's text
    posted = emulator.add_message(NL_USER, CHANNEL, "Wie kent iets van pop-upwinkels in lege panden?")
    emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_ASK_EXPERT, str(posted["ts"]))
    emulator.wait_for(lambda: any("pop-upwinkels" in flat(v) for v in emulator.views(NL_USER)))
    # my questions, and "away until"
    emulator.send_command(NL_USER, CHANNEL, text="mijn vragen")
    emulator.wait_for(lambda: "Mijn vragen" in flat([p["body"] for p in emulator.response_posts]))
    emulator.send_command("U0DEMO001", CHANNEL, text="afwezig tot 2026-12-15")
    emulator.wait_for(lambda: "15 dec 2026" in flat([p["body"] for p in emulator.response_posts]))


def test_asker_adds_information_and_the_experts_get_it(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION)
    requests = emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2 and expert_dms(emulator))
    experts_dm_channels = {str(c.params["channel"]) for c in requests}
    emulator.send_command(NL_USER, CHANNEL, text="mijn vragen")
    body = emulator.wait_for(
        lambda: [p["body"] for p in emulator.response_posts if ids.ACTION_ADD_INFO in flat(p["body"])]
    )[0]
    value = next(
        e["value"]
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.ACTION_ADD_INFO
    )
    emulator.click_button(NL_USER, ids.ACTION_ADD_INFO, value=value, channel=CHANNEL, message=body)
    emulator.wait_for(lambda: any(v.get("callback_id") == ids.VIEW_ADD_INFO for v in emulator.views(NL_USER)))
    view = next(v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_ADD_INFO)
    refused = emulator.submit_view(NL_USER, view["id"], {ids.BLOCK_ADD_INFO: "   "})
    assert refused.response_action == "errors"  # empty: shown on the field, nothing sent
    view = next(v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_ADD_INFO)
    added = emulator.submit_view(
        NL_USER, view["id"], {ids.BLOCK_ADD_INFO: "Het gaat om panden in de kernwinkelgebieden."}
    )
    replay(emulator, routing_bot, added)  # submitted again: each expert gets the addition once (checked below)
    updates = emulator.wait_for(
        lambda: (
            [
                c
                for c in emulator.calls_to("chat.postMessage")
                if str(c.params.get("channel")) in experts_dm_channels and "kernwinkelgebieden" in flat(c.params)
            ]
            if len([c for c in emulator.calls_to("chat.postMessage") if "kernwinkelgebieden" in flat(c.params)]) >= 2
            else None
        )
    )
    assert {str(c.params["channel"]) for c in updates} == experts_dm_channels
    time.sleep(1.5)  # a few more outbox runs
    assert len([c for c in emulator.calls_to("chat.postMessage") if "kernwinkelgebieden" in flat(c.params)]) == 2


# --- trust at the Slack boundary (issue 11) ---------------------------------------------------------------------------


def questions(db_url: str) -> list[Question]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Question).order_by(Question.id)))
        for row in rows:
            _ = row.routings, row.answers, row.themes
        session.expunge_all()
    engine.dispose()
    return rows


def refusals(bot: BotProcess) -> list[str]:
    return [line for line in bot.log().splitlines() if "refused ref=" in line]


def test_a_public_question_from_a_private_c_channel_stays_private(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION, channel=PRIVATE_C)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    question = questions(demo_db_url)[-1]
    assert (question.channel_id, question.channel_is_private) == (PRIVATE_C, True)
    user, channel, message = open_requests(emulator)[0]
    emulator.click_button(user, ids.ACTION_CLAIM, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == message["ts"])
    emulator.click_button(user, ids.ACTION_ANSWER, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(user))
    answer = "Wij heffen op leegstaande winkelpanden via het kernwinkelreglement."
    emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_ANSWER_TEXT: answer})
    emulator.wait_for(lambda: questions(demo_db_url)[-1].status is QuestionStatus.ANSWERED, timeout=20)
    emulator.wait_for_call("chat.postMessage", lambda c: answer in flat(c.params), timeout=20)  # to the asker
    # nothing in the channel, and the answer is not knowledge for everyone's "who knows"
    assert emulator.messages(PRIVATE_C) == []
    assert all(c.params.get("channel") != PRIVATE_C for c in emulator.calls_to("chat.postMessage"))
    assert answer_doc(questions(demo_db_url)[-1], by_slack={}) is None
    emulator.send_command(EN_USER, CHANNEL, text=QUESTION)
    shown = emulator.wait_for(
        lambda: [p for p in emulator.response_posts if p["user"] == EN_USER and "blocks" in p["body"]]
    )
    assert "kernwinkelreglement" not in flat(shown)


def test_forged_containers_and_modal_metadata_never_update_someone_elses_message(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    posted = emulator.wait_for(lambda: emulator.messages(CHANNEL))[0]  # the bot's message with the question
    (u1, _c1, m1), (u2, c2, m2) = open_requests(emulator)[:2]
    # u1 claims from their own DM, but the click claims to come from the channel message: only u1's DM changes
    forged = {**m1, "ts": posted["ts"]}
    emulator.click_button(u1, ids.ACTION_CLAIM, message=forged, channel=CHANNEL)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == m1["ts"])
    emulator.wait_for(
        lambda: any("action=update a message not about routing:" in line for line in refusals(routing_bot))
    )
    line = next(x for x in refusals(routing_bot) if "update a message" in x)
    assert f"user={u1} " in line and line.endswith(f"target=message:{CHANNEL}/{posted['ts']}")
    assert all(c.params.get("ts") != posted["ts"] for c in emulator.calls_to("chat.update"))
    assert emulator.message(CHANNEL, posted["ts"]) == posted

    # u2 opens the decline form of their own routing, then submits it forged for u1's routing and the channel message
    emulator.click_button(u2, ids.ACTION_DECLINE, message=m2["ts"], channel=c2)
    view = emulator.wait_for(lambda: emulator.views(u2))[-1]
    theirs = next(r for r in questions(demo_db_url)[-1].routings if r.recipient_slack_id == u1)
    forged_metadata = json.dumps({"routing_id": theirs.id, "channel_id": CHANNEL, "message_ts": posted["ts"]})
    emulator.forge_view_metadata(view["id"], forged_metadata)
    before = len(refusals(routing_bot))
    delivery = emulator.submit_view(u2, view["id"], {ids.BLOCK_DECLINE_REASON: "niet van mij"})
    assert delivery.acked and delivery.response_action is None  # recorded; only the database can refuse it
    emulator.wait_for(lambda: len(refusals(routing_bot)) > before)
    # told by DM, with what they typed quoted: nothing typed is lost
    emulator.wait_for(lambda: "> niet van mij" in flat(emulator.messages(emulator.dm_channel_with(u2))))
    assert (
        f"user={u2} action=answer a question sent to someone else target=routing:{theirs.id}"
        in refusals(routing_bot)[-1]
    )
    statuses = {r.recipient_slack_id: r.status for r in questions(demo_db_url)[-1].routings}
    assert statuses[u1] is RoutingStatus.CLAIMED and statuses[u2] is RoutingStatus.ASKED
    assert all(c.params.get("ts") != posted["ts"] for c in emulator.calls_to("chat.update"))

    # malformed metadata: refused on the form (before the ack), logged, nothing changes
    emulator.click_button(u2, ids.ACTION_DECLINE, message=m2["ts"], channel=c2)
    view = emulator.wait_for(lambda: [v for v in emulator.views(u2) if v["id"] != view["id"]])[-1]
    emulator.forge_view_metadata(view["id"], "{not json")
    assert emulator.submit_view(u2, view["id"], {}).response_action == "errors"
    emulator.wait_for(lambda: "action=send a malformed modal metadata" in routing_bot.log())
    assert {r.recipient_slack_id: r.status for r in questions(demo_db_url)[-1].routings} == statuses


def test_forged_routing_ids_in_buttons_are_refused(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    (u1, c1, m1), (u2, _c2, _m2) = open_requests(emulator)[:2]
    theirs = next(r for r in questions(demo_db_url)[-1].routings if r.recipient_slack_id == u2)
    # value and block id say u2's routing; u1 clicks it from their DM: refused (not theirs) for every button
    block = f"{ids.BLOCK_ROUTING_ACTIONS}:{theirs.id}"
    for action in (ids.ACTION_CLAIM, ids.ACTION_SNOOZE, ids.ACTION_DECLINE):
        emulator.click_button(u1, action, value=str(theirs.id), block_id=block, message=m1["ts"], channel=c1)
    emulator.wait_for(lambda: len([x for x in refusals(routing_bot) if f"target=routing:{theirs.id}" in x]) >= 3)
    # a forward picked in someone else's routing: refused before Slack is asked about the one picked
    emulator.select_user(u1, ids.ACTION_FORWARD, "U0PROBE01", block_id=block, message=m1["ts"], channel=c1)
    emulator.wait_for(lambda: len([x for x in refusals(routing_bot) if f"target=routing:{theirs.id}" in x]) >= 4)
    assert not [c for c in emulator.calls if c.method == "users.info" and c.params.get("user") == "U0PROBE01"]
    # value and block id disagree, or are nonsense: refused as malformed
    emulator.click_button(u1, ids.ACTION_CLAIM, value=str(theirs.id + 1), block_id=block, message=m1["ts"], channel=c1)
    emulator.click_button(u1, ids.ACTION_CLAIM, value="99999999999", block_id="x", message=m1["ts"], channel=c1)
    emulator.wait_for(lambda: routing_bot.log().count("action=send a malformed routing id") >= 2)
    assert {
        r.recipient_slack_id: r.status for r in questions(demo_db_url)[-1].routings if r.recipient_slack_id in (u1, u2)
    } == {
        u1: RoutingStatus.ASKED,
        u2: RoutingStatus.ASKED,
    }
    assert not emulator.views(u1)  # no decline form for someone else's routing
    # an unknown routing: a friendly message, not a refusal, no traceback
    emulator.click_button(u1, ids.ACTION_CLAIM, value="999999", block_id="x", message=m1["ts"], channel=c1)
    emulator.wait_for(lambda: "bestaat niet" in flat([p["body"] for p in emulator.response_posts]))
    assert "Traceback" not in routing_bot.log()


def test_notifications_show_mentions_not_escaped_markup(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION)
    update = emulator.wait_for_call("chat.postMessage", lambda c: "gesteld aan" in flat(c.params), timeout=20)
    text = str(update.params["text"])
    assert "<@U0DEMO" in text and "&lt;@" not in text and "&amp;" not in text


def test_silent_experts_get_one_next_expert_the_asker_hears_who_and_why_it_went_to_staff(
    routing_bot: BotProcess, emulator: SlackEmulator, clock_file: Path
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    first_two = {str(c.params["channel"]) for c in expert_dms(emulator)}
    asker_dm = emulator.dm_channel_with(NL_USER)
    emulator.wait_for(lambda: any("gesteld aan" in flat(m) for m in emulator.messages(asker_dm)), timeout=20)

    def asked() -> set[str]:  # the experts' DMs with a request (reminders go to the same DMs)
        return {str(c.params["channel"]) for c in expert_dms(emulator)}

    # Thursday: both experts silent for three business days -> the next expert, one in all
    clock_file.write_text("2026-12-03T09:35:00+01:00", encoding="utf-8")
    added = emulator.wait_for(
        lambda: [m for m in emulator.messages(asker_dm) if "nu ook gesteld aan" in flat(m)], timeout=20
    )
    emulator.wait_for(lambda: len(asked()) >= 3, timeout=20)
    time.sleep(2.5)  # several more job runs: still one next expert, one message to the asker
    assert len(asked()) == 3
    (newcomer_dm,) = asked() - first_two
    newcomer = next(u for u in (f"U0DEMO{n:03d}" for n in range(1, 121)) if emulator.dm_channel_with(u) == newcomer_dm)
    assert len([m for m in emulator.messages(asker_dm) if "nu ook gesteld aan" in flat(m)]) == 1
    assert f"<@{newcomer}>" in flat(added[0])  # named (Slack shows the mention as their name)
    # Monday: five business days, nobody answered -> staff; the asker is told so, not "right away"
    clock_file.write_text("2026-12-07T09:35:00+01:00", encoding="utf-8")
    escalated = emulator.wait_for(
        lambda: [m for m in emulator.messages(asker_dm) if "neemt ze nu zelf op" in flat(m)], timeout=20
    )
    assert "werkdagen" in flat(escalated[0]) and "meteen" not in flat(emulator.messages(asker_dm))


def test_the_answer_goes_by_dm_when_the_thread_cannot_show_the_asker_the_rating(
    routing_bot: BotProcess, emulator: SlackEmulator
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    emulator.click_button(user, ids.ACTION_CLAIM, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")))
    emulator.click_button(user, ids.ACTION_ANSWER, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(user))
    # the asker left the channel meanwhile: Slack refuses to show them an ephemeral message there
    emulator.fail_next("chat.postEphemeral", error="user_not_in_channel", times=5)
    emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_ANSWER_TEXT: "Wij gebruiken een register."})
    asker_dm = emulator.dm_channel_with(NL_USER)
    dm = emulator.wait_for(
        lambda: [m for m in emulator.messages(asker_dm) if ids.ACTION_RESOLVE_QUESTION in flat(m.get("blocks"))],
        timeout=20,
    )[-1]
    assert "Wij gebruiken een register" in flat(dm)  # the answer itself, not a pointer to a thread they cannot see
    assert not [e for e in emulator.ephemerals(NL_USER) if ids.ACTION_RESOLVE_QUESTION in flat(e)]
    emulator.click_button(NL_USER, f"{ids.ACTION_RATE_PREFIX}4", message=dm["ts"], channel=asker_dm)
    emulator.wait_for(lambda: "Bedankt voor je score" in flat([p["body"] for p in emulator.response_posts]))


def test_a_question_without_a_chosen_theme_is_filed_under_the_matchers_best_theme(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    asked = "Wie kent iets van deelauto's?"  # no theme word in it; the experts it matches work on public space
    ask(emulator, NL_USER, asked)  # the modal's theme left empty
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    assert [t.key for t in questions(demo_db_url)[-1].themes] == ["publieke-ruimte"]
    digest = CliRunner().invoke(
        main,
        ["--database", demo_db_url, "digest", "--dry-run", "--week", "2026-W50", "--now=2026-12-07T10:00:00+01:00"],
    )
    assert digest.exit_code == 0, digest.output
    section = digest.stdout.split("Publieke ruimte en mobiliteit\n", 1)[1].split("─" * 60, 1)[0]
    assert "deelauto's" in section  # under its theme in the digest, not under "Overige"
    assert "Overige" not in digest.stdout


def test_a_replayed_or_double_clicked_submission_makes_one_question(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    text = "Hoe pakken jullie leegstandsheffing op winkelpanden aan? (één keer)"
    emulator.send_command(NL_USER, CHANNEL, text="vraag")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    view = emulator.views(NL_USER)[-1]
    first = emulator.submit_view(NL_USER, view["id"], {ids.BLOCK_ASK_TEXT: text}, wait=False)
    double_click = emulator.redeliver(first, wait=False)  # the same submission twice in flight
    first.wait(10)
    double_click.wait(10)
    assert first.acked and double_click.acked
    emulator.wait_for(lambda: [q for q in questions(demo_db_url) if q.text == text], timeout=20)
    replay = emulator.redeliver(first)  # and once more, after it was handled
    assert replay.acked
    time.sleep(2.0)  # a second question would have been made by now
    assert len([q for q in questions(demo_db_url) if q.text == text]) == 1
    assert "duplicate" in routing_bot.log()


def test_a_retried_question_command_is_answered_once(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    command = emulator.send_command(NL_USER, CHANNEL, text=QUESTION)
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]], timeout=20)
    retried = emulator.redeliver(command)  # Slack sending the same command (same trigger) again
    assert retried.acked
    time.sleep(2.0)
    answers = [p for p in emulator.response_posts if "blocks" in p["body"]]
    assert len(answers) == 1


def test_a_public_question_from_a_channel_one_is_not_in_is_refused_by_a_clear_dm(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    # The modal is acked at once (nothing slow before the ack); membership is checked afterwards, from Slack's data,
    # so the refusal comes as a DM that says why, what to do, and quotes the question so nothing is lost.
    text = "Wie kent een goede aanpak voor leegstand boven winkels?"
    ask(emulator, OUTSIDER, text, visibility="public", channel=CHANNEL)
    dm = emulator.dm_channel_with(OUTSIDER)
    told = emulator.wait_for(lambda: [m for m in emulator.messages(dm) if "niet gesteld" in str(m.get("text"))])
    assert len(told) == 1
    said = str(told[0]["text"])
    assert f"geen lid van <#{CHANNEL}>" in said and "*Privé*" in said  # why, and what to do instead
    assert f"> {text}" in said  # the question itself, to ask again
    assert "Er ging iets mis" not in said and "eigen gegevens" not in said
    assert not [q for q in questions(demo_db_url) if q.text == text]
    assert not [m for m in emulator.messages(CHANNEL) if text in flat(m)]  # nothing shown in the channel
    assert "action=ask a question in a channel one is not in" in routing_bot.log()  # logged as a refusal
    time.sleep(1.5)  # the inbox worker does not retry a refusal: told once
    assert len([m for m in emulator.messages(dm) if "niet gesteld" in str(m.get("text"))]) == 1


# --- an attacker's pass: staff-only menus, someone else's question, stale clicks, hostile text ---------------------


def test_an_attackers_pass_over_triage_and_the_askers_buttons(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    hostile = (
        "Wie kent de beste recepten voor zuurdesembrood met spelt? <!channel> <@U0DEMO001> <https://evil.example|x>"
    )
    ask(emulator, NL_USER, hostile)  # nobody knows: it goes to staff
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")))
    triage = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))][-1]
    question = next(q for q in questions(demo_db_url) if "zuurdesembrood" in q.text)
    # the asker's markup is shown, never acted on: no broadcast, no mention, no link, wherever the bot wrote
    written = flat([c.params for c in emulator.calls if c.method.startswith("chat.")] + emulator.response_posts)
    assert "zuurdesembrood" in written
    for forbidden in ("<!channel>", "<@U0DEMO001>", "<https://evil.example"):
        assert forbidden not in written

    def refused(action: str, user: str) -> bool:
        return any(f"user={user} action={action}" in line for line in refusals(routing_bot))

    # not staff: the assign menu is refused and logged, nobody is asked
    emulator.select_user(EN_USER, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO001", message=triage["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: refused("assign a question", EN_USER))
    # staff assigning the asker their own question: told, nobody is asked
    told = len(emulator.response_posts)
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, NL_USER, message=triage["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: len(emulator.response_posts) > told)
    assert not next(q for q in questions(demo_db_url) if q.id == question.id).routings

    # someone else presses the asker's buttons (the question id in the value and block id): refused, nothing changes
    emulator.send_command(NL_USER, CHANNEL, text="mijn vragen")
    mine = emulator.wait_for(
        lambda: [e for e in emulator.ephemerals(NL_USER) if ids.ACTION_CANCEL_QUESTION in flat(e.get("blocks"))]
    )[-1]
    stolen = {**mine, "ts": mine["message_ts"]}
    for action in (ids.ACTION_CANCEL_QUESTION, ids.ACTION_RESOLVE_QUESTION):
        emulator.click_button(EN_USER, action, value=str(question.id), message=stolen, channel=CHANNEL)
    emulator.click_button(EN_USER, ids.ACTION_ADD_INFO, value=str(question.id), message=stolen, channel=CHANNEL)
    emulator.wait_for(lambda: len([x for x in refusals(routing_bot) if f"target=question:{question.id}" in x]) >= 4)
    assert not [v for v in emulator.views(EN_USER) if v.get("callback_id") == ids.VIEW_ADD_INFO]
    assert next(q for q in questions(demo_db_url) if q.id == question.id).status is QuestionStatus.ESCALATED

    # the asker cancels; the staff's menu afterwards (a stale click) asks nobody
    emulator.click_button(NL_USER, ids.ACTION_CANCEL_QUESTION, value=str(question.id), message=stolen, channel=CHANNEL)
    emulator.wait_for(
        lambda: next(q for q in questions(demo_db_url) if q.id == question.id).status is QuestionStatus.CANCELLED
    )
    told = len(emulator.response_posts)
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO002", message=triage, channel=TRIAGE)
    emulator.wait_for(lambda: len(emulator.response_posts) > told)
    assert not next(q for q in questions(demo_db_url) if q.id == question.id).routings
    assert expert_dms(emulator) == []  # nobody was ever sent the question
    assert "Traceback" not in routing_bot.log()


def test_a_long_detailed_question_still_reaches_the_experts(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    """The ask modal takes up to 3,000 characters; the search takes 1,000. A detailed question (or one with a long
    context) is matched on its start, not sent to staff as if nobody knew; the modal opened with a long text says
    nothing about a search the asker never made."""
    detail = (
        " We hebben veel leegstaande winkelpanden in de kern en willen weten hoe andere steden de heffing opbouwen,"
        " welke vrijstellingen ze geven en hoe ze de inventaris bijhouden."
    )
    long_question = QUESTION + detail * 9  # about 1,500 characters
    assert 1200 < len(long_question) <= 3000
    emulator.send_command(NL_USER, CHANNEL, text=f"vraag {long_question}")
    view = emulator.wait_for(lambda: emulator.views(NL_USER))[-1]
    time.sleep(1.0)  # the theme pre-selection runs after the modal opened
    said = [p["body"] for p in emulator.response_posts if p["user"] == NL_USER]
    assert not said, said  # no error, no "too long"
    emulator.submit_view(NL_USER, view["id"], {ids.BLOCK_ASK_TEXT: long_question, ids.BLOCK_ASK_VISIBILITY: "public"})
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    assert not [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == TRIAGE]
    assert "Traceback" not in routing_bot.log()


# --- a person chooses someone who can never get a DM: a bot, a deactivated account ------------------------------

BOT_PICK, GONE_PICK = "U0OTHRBOT", "U0GONEUSR"
TOLD_BOT = "Dat is een bot"
TOLD_GONE = "geen actief Slack-account meer"


def told(emu: SlackEmulator, text: str) -> bool:
    return text in flat([p["body"] for p in emu.response_posts])


def test_forwarding_or_assigning_to_a_bot_or_a_deactivated_account_is_refused_and_nothing_is_lost(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    emulator.add_user(BOT_PICK, name="otherbot", real_name="Een Andere Bot", is_bot=True)
    emulator.add_user(GONE_PICK, name="vertrokken", real_name="Vertrokken Collega", locale="nl-BE", deleted=True)
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    question = next(q for q in questions(demo_db_url) if q.text == QUESTION)
    before = {(r.recipient_slack_id, r.status) for r in question.routings}
    # the expert forwards to a bot, then to a deactivated colleague: told each time, their request stays theirs
    emulator.select_user(user, ids.ACTION_FORWARD, BOT_PICK, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: told(emulator, TOLD_BOT))
    emulator.select_user(user, ids.ACTION_FORWARD, GONE_PICK, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: told(emulator, TOLD_GONE))
    after = next(q for q in questions(demo_db_url) if q.id == question.id)
    assert {(r.recipient_slack_id, r.status) for r in after.routings} == before
    updated = emulator.message(channel, message["ts"])
    assert updated is not None and ids.ACTION_CLAIM in flat(updated.get("blocks"))  # still theirs to answer
    # the real colleague afterwards: asked as before
    emulator.add_user("U0COLLEG1", name="collega", real_name="Een Collega", locale="nl-BE")
    emulator.select_user(user, ids.ACTION_FORWARD, "U0COLLEG1", message=message["ts"], channel=channel)
    colleague_dm = emulator.dm_channel_with("U0COLLEG1")
    emulator.wait_for(
        lambda: [m for m in emulator.messages(colleague_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))], timeout=20
    )

    # staff assigning an escalated question to a bot or a deactivated account: told, nobody asked
    ask(emulator, NL_USER, "Wie kent de beste recepten voor zuurdesembrood met spelt?")
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")))
    triage = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))][-1]
    bread = next(q for q in questions(demo_db_url) if "zuurdesembrood" in q.text)
    shown = len(emulator.response_posts)
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, BOT_PICK, message=triage["ts"], channel=TRIAGE)
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, GONE_PICK, message=triage["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: len(emulator.response_posts) >= shown + 2)
    assert told(emulator, TOLD_BOT) and told(emulator, TOLD_GONE)
    still = next(q for q in questions(demo_db_url) if q.id == bread.id)
    assert not still.routings and still.status is QuestionStatus.ESCALATED
    assert not [c for c in emulator.calls_to("conversations.open") if c.params.get("users") in (BOT_PICK, GONE_PICK)]
    assert "Traceback" not in routing_bot.log()
    routing_bot.assert_no_slack_calls_in_transactions()


def test_experts_the_matcher_chose_who_cannot_get_a_dm_are_replaced_at_once_then_staff_get_it(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    # every expert in the register has left (their Slack accounts deactivated), staff have not updated it yet
    for n in range(1, 121):
        user = f"U0DEMO{n:03d}"
        emulator.add_user(user, name=user.lower(), real_name=f"Vertrokken {n}", locale="nl-BE", deleted=True)
    ask(emulator, NL_USER, QUESTION)

    def question() -> Question | None:
        return next((q for q in questions(demo_db_url) if q.text == QUESTION), None)

    # each DM fails for good (user_disabled): the next expert is asked at once, and when the question may be sent to
    # nobody more it goes to staff — no timer has to run out (the fake clock does not move)
    emulator.wait_for(lambda: (q := question()) is not None and q.status is QuestionStatus.ESCALATED, timeout=30)
    escalated = question()
    assert escalated is not None and len(escalated.routings) > 2  # more than the first two were tried
    assert {r.status for r in escalated.routings} == {RoutingStatus.EXPIRED}
    triage = emulator.wait_for_call(
        "chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks"))
    )
    assert "waren niet bereikbaar" in flat(triage.params)  # staff are not told they all declined
    assert expert_dms(emulator) == []
    assert "Traceback" not in routing_bot.log()
    routing_bot.assert_no_slack_calls_in_transactions()
    # they are marked away in the register, staff are told once each in triage, and the next question asks none
    # of them (before: each new question tried the same departed experts again)
    marked = [m for m in emulator.messages(TRIAGE) if "staan nu als afwezig" in flat(m)]
    assert len(marked) == len(escalated.routings)
    opened = len(emulator.calls_to("conversations.open"))
    ask(emulator, EN_USER, "Welke stad heeft ervaring met een leegstandsheffing op woningen?")
    emulator.wait_for(lambda: len([q for q in questions(demo_db_url) if q.asker_slack_id == EN_USER]) == 1)
    second = next(q for q in questions(demo_db_url) if q.asker_slack_id == EN_USER)
    assert second.status is QuestionStatus.ESCALATED and second.routings == []
    time.sleep(1.5)  # a few more outbox runs
    assert not [c for c in emulator.calls_to("conversations.open")[opened:] if "U0DEMO" in str(c.params)]


def asker_dms(emu: SlackEmulator, user: str) -> list[str]:
    return [flat(m) for m in emu.messages(emu.dm_channel_with(user))]


def test_staff_are_told_when_their_assignment_does_not_arrive_and_the_asker_hears_escalated_once(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    leaving = "U0LEAVING"
    emulator.add_user(leaving, name="vertrekt", real_name="Vertrekkende Collega", locale="nl-BE")
    ask(emulator, NL_USER, "Wie kent de beste recepten voor zuurdesembrood met spelt?")  # nobody matches
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")))
    emulator.wait_for(lambda: any("kenniscentrum" in m for m in asker_dms(emulator, NL_USER)), timeout=20)
    triage = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))][-1]
    # Slack still knows the person when staff choose them (users.info), but the DM fails: they left meanwhile
    emulator.fail_next("conversations.open", error="user_disabled")
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, leaving, message=triage["ts"], channel=TRIAGE)
    staff_dm = emulator.dm_channel_with(STAFF)
    emulator.wait_for(lambda: any("niet aangekomen" in flat(m) for m in emulator.messages(staff_dm)), timeout=20)
    told = [flat(m) for m in emulator.messages(staff_dm) if "niet aangekomen" in flat(m)]
    assert len(told) == 1 and f"<@{leaving}>" in told[0] and "gedeactiveerd" in told[0]
    # nobody else matches: it is back with staff (a second triage message; the first says whom staff asked, its
    # buttons gone), the asker is not told so again
    emulator.wait_for(
        lambda: [
            m
            for m in emulator.messages(TRIAGE)
            if ids.ACTION_TRIAGE_CLOSE in flat(m.get("blocks")) and m["ts"] != triage["ts"]
        ],
        timeout=20,
    )
    first = next(m for m in emulator.messages(TRIAGE) if m["ts"] == triage["ts"])
    assert f"<@{leaving}>" in flat(first) and ids.ACTION_TRIAGE_CLOSE not in flat(first.get("blocks"))
    time.sleep(1.5)  # a few more outbox runs
    assert len([m for m in asker_dms(emulator, NL_USER) if "kenniscentrum" in m]) == 1
    assert "Traceback" not in routing_bot.log()
    routing_bot.assert_no_slack_calls_in_transactions()


BREAD = "Wie kent de beste recepten voor zuurdesembrood met spelt?"  # nobody in the register matches


def test_an_escalation_the_triage_channel_never_got_waits_on_the_staff_home_tab_and_in_the_cli(
    staff_bot: BotProcess, emulator: SlackEmulator, any_db_url: str
) -> None:
    # the bot was removed from the triage channel: the staff message cannot be posted there (not_in_channel)
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF], bot_is_member=False)
    ask(emulator, NL_USER, BREAD)
    emulator.wait_for(lambda: any("kenniscentrum" in m for m in asker_dms(emulator, NL_USER)), timeout=20)
    emulator.wait_for(lambda: any(_failed_triage(any_db_url)), timeout=20)
    assert emulator.messages(TRIAGE) == []
    bread = next(q for q in questions(any_db_url) if q.text == BREAD)
    # staff see it waiting on their Home tab, with how many wait and that the triage channel did not get it
    emulator.open_home(STAFF)
    home = flat(emulator.wait_for(lambda: emulator.home_view(STAFF)))
    assert "Bij het kenniscentrum (1)" in home and "zuurdesembrood" in home and f"#{bread.id}" in home
    assert "niet in het triagekanaal" in home and "not_in_channel" in home
    # others do not
    emulator.open_home(EN_USER)
    assert "zuurdesembrood" not in flat(emulator.wait_for(lambda: emulator.home_view(EN_USER)))
    # and on the command line
    listed = CliRunner().invoke(main, ["--database", any_db_url, "escalated"])
    assert listed.exit_code == 0, listed.output
    assert f"#{bread.id}" in listed.output and "not_in_channel" in listed.output and "zuurdesembrood" in listed.output
    assert "Traceback" not in staff_bot.log()


def _failed_triage(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.TRIAGE)).all()
            return [m.last_error for m in rows if m.failed_at is not None]
    finally:
        engine.dispose()


def test_staff_assigning_the_same_person_again_after_a_re_escalation_tells_the_asker_once(
    staff_bot: BotProcess, emulator: SlackEmulator, any_db_url: str
) -> None:
    baker = "U0BAKER01"
    emulator.add_user(baker, name="bakker", real_name="Bakker Jansen", locale="nl-BE")
    ask(emulator, NL_USER, BREAD)
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")))
    triage = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))][-1]
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, baker, message=triage["ts"], channel=TRIAGE)
    routed = f"gesteld aan <@{baker}>"
    emulator.wait_for(lambda: any(routed in m for m in asker_dms(emulator, NL_USER)), timeout=20)
    # the baker declines; nobody else fits: back to staff (a second triage message)
    channel = emulator.dm_channel_with(baker)
    request = emulator.wait_for(
        lambda: [m for m in emulator.messages(channel) if ids.ACTION_DECLINE in flat(m.get("blocks"))], timeout=20
    )[-1]
    emulator.click_button(baker, ids.ACTION_DECLINE, message=request["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(baker))
    emulator.submit_view(baker, emulator.views(baker)[-1]["id"], {ids.BLOCK_DECLINE_REASON: "Geen tijd"})

    def triage_posts() -> list[Any]:
        return [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))]

    emulator.wait_for(lambda: [m for m in triage_posts() if m["ts"] != triage["ts"]], timeout=20)  # the first: done
    # staff ask the baker again (they have time now): asked again, the asker not told a second time
    asked = len([m for m in emulator.messages(channel) if ids.ACTION_CLAIM in flat(m.get("blocks"))])
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, baker, message=triage_posts()[-1]["ts"], channel=TRIAGE)
    emulator.wait_for(
        lambda: len([m for m in emulator.messages(channel) if ids.ACTION_CLAIM in flat(m.get("blocks"))]) > asked,
        timeout=20,
    )
    time.sleep(1.5)  # a few more outbox runs
    assert len([m for m in asker_dms(emulator, NL_USER) if routed in m]) == 1
    assert "Traceback" not in staff_bot.log()
    staff_bot.assert_no_slack_calls_in_transactions()


def test_staff_picking_a_register_expert_whose_account_is_deleted_marks_them_away_once(
    staff_bot: BotProcess, emulator: SlackEmulator, any_db_url: str
) -> None:
    ask(emulator, NL_USER, BREAD)
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")))
    triage = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))][-1]
    gone = "U0DEMO007"  # an expert in the register who has left: Slack says the account is deleted
    emulator.add_user(gone, name="demo7", real_name="Demo 7", locale="nl-BE", deleted=True)
    shown = len(emulator.response_posts)
    for _ in range(2):  # picked twice: refused twice, marked and staff told once
        emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, gone, message=triage["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: len(emulator.response_posts) >= shown + 2, timeout=20)
    assert told(emulator, TOLD_GONE)
    emulator.wait_for(lambda: [m for m in emulator.messages(TRIAGE) if "staan nu als afwezig" in flat(m)], timeout=20)
    time.sleep(1.5)  # a few more outbox runs
    notices = [flat(m) for m in emulator.messages(TRIAGE) if "staan nu als afwezig" in flat(m)]
    assert len(notices) == 1 and f"<@{gone}>" in notices[0] and "gedeactiveerd" in notices[0]
    # away in the register (not asked by the matcher either), with Slack's reason in the audit log, once
    assert _marks(any_db_url, gone) == [("away", "deleted")]
    still = next(q for q in questions(any_db_url) if q.text == BREAD)
    assert not still.routings and still.status is QuestionStatus.ESCALATED
    assert "Traceback" not in staff_bot.log()
    staff_bot.assert_no_slack_calls_in_transactions()


def _marks(db_url: str, slack_id: str) -> list[tuple[str, str]]:
    """The expert's availability with each "unreachable" audit entry's reason."""
    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            expert = s.scalars(select(Expert).where(Expert.slack_user_id == slack_id)).one()
            audit = s.scalars(
                select(AuditLog).where(AuditLog.action == "unreachable", AuditLog.entity_key == expert.email)
            ).all()
            return [(expert.availability.value, str((a.after or {}).get("reason"))) for a in audit]
    finally:
        engine.dispose()
