"""End to end: question routing through the real bot process, the Slack emulator and the background jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess
from tests.emulator import SlackEmulator

MONDAY = "2026-11-30T09:30:00+01:00"
TRIAGE = "C0TRIAGE1"
STAFF = "U0STAFF01"
QUESTION = "Hoe pakken jullie leegstandsheffing op winkelpanden aan?"


def flat(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    path = tmp_path / "now.txt"
    path.write_text(MONDAY, encoding="utf-8")
    return path


@pytest.fixture
def routing_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path) -> Iterator[BotProcess]:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, emulator.bot_user_id])
    for n in range(1, 121):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    process = BotProcess(
        emulator,
        database_url=demo_db_url,
        mode="socket",
        log_path=tmp_path / "bot.log",
        extra_env={
            "WIEWEET_FAKE_NOW_FILE": str(clock_file),
            "WIEWEET_JOB_INTERVAL": "0.5",
            "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
            "WIEWEET_STAFF_USER_IDS": STAFF,
        },
    )
    process.start()
    yield process
    process.stop()


def expert_dms(emu: SlackEmulator, since: int = 0) -> list[Any]:
    return [
        c
        for c in emu.calls_to("chat.postMessage", since)
        if ids.ACTION_CLAIM in flat(c.params.get("blocks")) and str(c.params.get("channel", "")).startswith("D")
    ]


def ask(emu: SlackEmulator, user: str, text: str, visibility: str = "public") -> None:
    emu.send_command(user, CHANNEL, text=f"vraag {text}")
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


def test_ask_claim_answer_in_thread_and_resolve(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    dms = expert_dms(emulator)
    assert len(dms) == 2
    expert = str(dms[0].params["channel"])
    expert_user = next(u for u in (f"U0DEMO{n:03d}" for n in range(1, 121)) if emulator.dm_channel_with(u) == expert)
    message = dm_of(emulator, dms[0])
    emulator.click_button(expert_user, ids.ACTION_CLAIM, message=message["ts"], channel=expert)
    emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")))
    # a second claim by the same expert is refused with a friendly message, nothing changes
    updated = emulator.message(expert, message["ts"])
    assert updated is not None
    emulator.click_button(expert_user, ids.ACTION_ANSWER, message=message["ts"], channel=expert)
    emulator.wait_for(lambda: emulator.views(expert_user))
    answer_view = emulator.views(expert_user)[-1]
    emulator.submit_view(expert_user, answer_view["id"], {ids.BLOCK_ANSWER_TEXT: "Wij gebruiken een register."})
    posted = emulator.wait_for_call(
        "chat.postMessage",
        lambda c: c.params.get("channel") == CHANNEL and "Wij gebruiken een register" in flat(c.params),
        timeout=20,
    )
    assert posted.params.get("thread_ts")
    to_asker = emulator.wait_for_call(
        "chat.postMessage", lambda c: ids.ACTION_RESOLVE_QUESTION in flat(c.params.get("blocks")), timeout=20
    )
    asker_dm = str(to_asker.params["channel"])
    answer_msg = [m for m in emulator.messages(asker_dm) if ids.ACTION_RESOLVE_QUESTION in flat(m.get("blocks"))][-1]
    emulator.click_button(NL_USER, ids.ACTION_RESOLVE_QUESTION, message=answer_msg["ts"], channel=asker_dm)
    emulator.wait_for(lambda: "opgelost" in flat([p["body"] for p in emulator.response_posts]), timeout=10)
    emulator.click_button(NL_USER, f"{ids.ACTION_RATE_PREFIX}5", message=answer_msg["ts"], channel=asker_dm)
    emulator.wait_for(lambda: "Bedankt voor je score" in flat([p["body"] for p in emulator.response_posts]))


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
    emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_DECLINE_REASON: "Niet mijn thema"})
    emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == message["ts"])
    updated = emulator.message(channel, message["ts"])
    assert updated is not None and ids.ACTION_CLAIM not in flat(updated.get("blocks"))
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 3, timeout=20)


def test_forward_to_a_colleague(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.add_user("U0COLLEG1", name="collega", real_name="Een Collega", locale="nl-BE")
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    user, channel, message = open_requests(emulator)[0]
    emulator.select_user(user, ids.ACTION_FORWARD, "U0COLLEG1", message=message["ts"], channel=channel)
    colleague_dm = emulator.dm_channel_with("U0COLLEG1")
    emulator.wait_for(
        lambda: [m for m in emulator.messages(colleague_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))], timeout=20
    )
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
        emulator.wait_for(lambda: len(expert_dms(emulator)) >= 6, timeout=30)
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
    emulator.wait_for(lambda: "2026-12-15" in flat([p["body"] for p in emulator.response_posts]))


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
    emulator.submit_view(NL_USER, view["id"], {ids.BLOCK_ADD_INFO: "Het gaat om panden in de kernwinkelgebieden."})
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
