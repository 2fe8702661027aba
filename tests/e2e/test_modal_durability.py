"""End to end (issue 12): every modal submission is acked while another process holds the database lock (SQLite's
writer lock; on PostgreSQL every table but the inbox locked against writes): the ack never waits for the database,
checked by order (``acks_while_locked``), not by time. Its change is saved once after the lock is released:
replays and double submits change nothing more.

Per family: practice submit and reject, profile and profile reject, digest subscribe, decline, add information,
answer, triage close. A refusal only the database can decide reaches the user by DM with what they typed quoted;
a refusal that needs no database is still shown on the form, which stays open, and claims nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.setting_values import normalise_database_url
from handlers import ids
from storage.models import (
    DigestSubscription,
    EventKind,
    Expert,
    Practice,
    Question,
    QuestionEvent,
    QuestionStatus,
    RecordStatus,
    Routing,
    RoutingStatus,
)
from tests.e2e.chaos import acks_while_locked
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER
from tests.e2e.harness import BotProcess, flat, replay
from tests.emulator import SlackEmulator
from tests.emulator.models import Delivery

MONDAY = "2026-11-30T08:30:00+00:00"
TRIAGE = "C0TRIAGE1"
STAFF = "U0STAFF01"
QUESTION = "Hoe pakken jullie leegstandsheffing op winkelpanden aan?"
NO_MATCH = "Wie kent de beste recepten voor zuurdesembrood met spelt?"
TITLE = "Zwerfkatten steriliseren met vrijwilligers"
SUMMARY = "Vrijwilligers vangen zwerfkatten; de stad betaalt de sterilisatie bij de dierenarts."


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("demo_db_url"))
    return str(request.getfixturevalue("postgres_demo_url"))


@pytest.fixture
def durable_bot(emulator: SlackEmulator, db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    clock = tmp_path / "now.txt"
    clock.write_text(MONDAY, encoding="utf-8")
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(NL_USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE", email="griet@gent.be")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, emulator.bot_user_id])
    for n in range(1, 121):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    process = BotProcess(
        emulator,
        database_url=db_url,
        mode="socket",
        log_path=tmp_path / "bot.log",
        extra_env={
            "WIEWEET_FAKE_NOW_FILE": str(clock),
            "WIEWEET_JOB_INTERVAL": "0.5",
            "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
            "WIEWEET_STAFF_USER_IDS": STAFF,
            "WIEWEET_EXPERT_APPROVAL": "true",
        },
    )
    process.start()
    yield process
    process.stop()


def rows(db_url: str, statement: Any) -> list[Any]:
    engine = create_engine(normalise_database_url(db_url))
    try:
        with Session(engine) as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()


def modal(emu: SlackEmulator, user: str, callback_id: str) -> dict[str, Any]:
    return dict(emu.wait_for(lambda: [v for v in emu.views(user) if v.get("callback_id") == callback_id])[-1])


def form_closed(delivery: Delivery) -> None:
    """Closed (no errors on the form): the submission is recorded."""
    assert delivery.response_action is None


def review_message(emu: SlackEmulator, action: str) -> dict[str, Any]:
    return dict(emu.wait_for(lambda: [m for m in emu.messages(TRIAGE) if action in flat(m.get("blocks"))], 30)[-1])


def test_register_and_digest_submissions_ack_under_a_lock_and_are_saved_once(
    durable_bot: BotProcess, emulator: SlackEmulator, db_url: str
) -> None:
    emulator.send_command(EN_USER, CHANNEL, text="praktijk")
    practice = modal(emulator, EN_USER, ids.VIEW_PRACTICE)
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over buurtbudgetten; burgerbegroting")
    profile = modal(emulator, NL_USER, ids.VIEW_PROFILE)
    emulator.send_command(STAFF, CHANNEL, text="digest")
    digest = modal(emulator, STAFF, ids.VIEW_DIGEST)

    with acks_while_locked(emulator, db_url) as acked_under_the_lock:
        # a refusal that needs no database is still said on the form, which stays open, and claims nothing
        missing = emulator.submit_view(NL_USER, profile["id"], {ids.profile_block("organisation"): ""})
        acked_under_the_lock(missing)
        assert missing.response_action == "errors"
        submitted = emulator.submit_view(
            EN_USER,
            practice["id"],
            {
                ids.practice_block("title"): TITLE,
                ids.practice_block("summary"): SUMMARY,
                ids.practice_block("city"): "Gent",
            },
        )
        joined = emulator.submit_view(NL_USER, profile["id"], {ids.profile_block("organisation"): "Stad Gent"})
        subscribed = emulator.submit_view(STAFF, digest["id"], {})
        for delivery in (submitted, joined, subscribed):
            acked_under_the_lock(delivery)
            form_closed(delivery)

    # saved after the lock, once, with the confirmations users get
    emulator.wait_for(lambda: rows(db_url, select(Practice).where(Practice.title == TITLE)), timeout=30)
    emulator.wait_for(lambda: rows(db_url, select(Expert).where(Expert.slack_user_id == NL_USER)), timeout=30)
    emulator.wait_for(lambda: rows(db_url, select(DigestSubscription)), timeout=30)
    emulator.wait_for(lambda: "Thank you!" in flat(emulator.messages(emulator.dm_channel_with(EN_USER))), timeout=30)
    emulator.wait_for(lambda: "keurt het nog goed" in flat(emulator.ephemerals(NL_USER)), timeout=30)
    for delivery in (submitted, joined, subscribed):
        replay(emulator, durable_bot, delivery)
    assert len(rows(db_url, select(Practice).where(Practice.title == TITLE))) == 1
    assert len(rows(db_url, select(Expert).where(Expert.slack_user_id == NL_USER))) == 1
    assert [s.channel_id for s in rows(db_url, select(DigestSubscription))] == [CHANNEL]

    # staff reject both under a lock
    practice_review = review_message(emulator, ids.ACTION_PRACTICE_APPROVE)
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_REJECT, message=practice_review["ts"], channel=TRIAGE)
    practice_reject = modal(emulator, STAFF, ids.VIEW_PRACTICE_REJECT)
    with acks_while_locked(emulator, db_url) as acked_under_the_lock:
        rejected = emulator.submit_view(STAFF, practice_reject["id"], {ids.BLOCK_PRACTICE_REJECT_REASON: "Dubbel."})
        acked_under_the_lock(rejected)
        form_closed(rejected)
    emulator.wait_for(
        lambda: rows(db_url, select(Practice.status).where(Practice.title == TITLE)) == [RecordStatus.REJECTED], 30
    )
    profile_review = review_message(emulator, ids.ACTION_PROFILE_APPROVE)
    emulator.click_button(STAFF, ids.ACTION_PROFILE_REJECT, message=profile_review["ts"], channel=TRIAGE)
    profile_reject = modal(emulator, STAFF, ids.VIEW_PROFILE_REJECT)
    with acks_while_locked(emulator, db_url) as acked_under_the_lock:
        refused = emulator.submit_view(STAFF, profile_reject["id"], {ids.BLOCK_PROFILE_REJECT_REASON: "Onbekend."})
        acked_under_the_lock(refused)
        form_closed(refused)
    emulator.wait_for(lambda: not rows(db_url, select(Expert).where(Expert.slack_user_id == NL_USER)), timeout=30)
    replay(emulator, durable_bot, rejected)
    replay(emulator, durable_bot, refused)
    durable_bot.assert_no_slack_calls_in_transactions()


def expert_requests(emu: SlackEmulator) -> list[tuple[str, str, dict[str, Any]]]:
    """(expert, DM channel, message) of every DM that offers the claim button."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for n in range(1, 121):
        user = f"U0DEMO{n:03d}"
        channel = emu.dm_channel_with(user)
        for message in emu.messages(channel):
            if ids.ACTION_CLAIM in flat(message.get("blocks")):
                found[message["ts"]] = (user, channel, message)
    return list(found.values())


def two_requests(emu: SlackEmulator) -> list[tuple[str, str, dict[str, Any]]]:
    emu.wait_for(lambda: len(expert_requests(emu)) >= 2, timeout=30)
    return expert_requests(emu)[:2]


def answer_modal(emu: SlackEmulator, user: str, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    """The expert takes the question (the DM then offers "answer") and opens the answer modal."""
    emu.click_button(user, ids.ACTION_CLAIM, message=message["ts"], channel=channel)
    emu.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and ids.ACTION_ANSWER in flat(c.params)
    )
    emu.click_button(user, ids.ACTION_ANSWER, message=message["ts"], channel=channel)
    return modal(emu, user, ids.VIEW_ANSWER)


def ask(emu: SlackEmulator, user: str, text: str) -> None:
    emu.send_command(user, CHANNEL, text=f"vraag {text}")
    view = modal(emu, user, ids.VIEW_ASK)
    assert emu.submit_view(user, view["id"], {ids.BLOCK_ASK_TEXT: text, ids.BLOCK_ASK_VISIBILITY: "public"}).acked


def button_value(body: dict[str, Any], action_id: str) -> str:
    return str(
        next(
            e["value"]
            for b in body.get("blocks") or []
            if b.get("type") == "actions"
            for e in b["elements"]
            if e.get("action_id") == action_id
        )
    )


def test_routing_submissions_ack_under_a_lock_and_are_saved_once(
    durable_bot: BotProcess, emulator: SlackEmulator, db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    ask(emulator, EN_USER, NO_MATCH)
    (u1, c1, m1), (u2, c2, m2) = two_requests(emulator)
    triage = review_message(emulator, ids.ACTION_TRIAGE_CLOSE)
    emulator.click_button(u2, ids.ACTION_DECLINE, message=m2["ts"], channel=c2)
    decline = modal(emulator, u2, ids.VIEW_DECLINE)
    emulator.click_button(STAFF, ids.ACTION_TRIAGE_CLOSE, message=triage["ts"], channel=TRIAGE)
    close = modal(emulator, STAFF, ids.VIEW_TRIAGE_CLOSE)
    emulator.send_command(NL_USER, CHANNEL, text="mijn vragen")
    mine = emulator.wait_for(
        lambda: [p["body"] for p in emulator.response_posts if ids.ACTION_ADD_INFO in flat(p["body"])]
    )[-1]
    emulator.click_button(
        NL_USER, ids.ACTION_ADD_INFO, value=button_value(mine, ids.ACTION_ADD_INFO), channel=CHANNEL, message=mine
    )
    add_info = modal(emulator, NL_USER, ids.VIEW_ADD_INFO)

    with acks_while_locked(emulator, db_url) as acked_under_the_lock:
        empty = emulator.submit_view(NL_USER, add_info["id"], {ids.BLOCK_ADD_INFO: "   "})
        assert empty.response_action == "errors"  # said on the field at once; the corrected one below still counts
        declined = emulator.submit_view(u2, decline["id"], {ids.BLOCK_DECLINE_REASON: "Niet mijn thema"})
        added = emulator.submit_view(NL_USER, add_info["id"], {ids.BLOCK_ADD_INFO: "Het gaat om kernwinkelgebieden."})
        closed = emulator.submit_view(STAFF, close["id"], {ids.BLOCK_TRIAGE_NOTE: "Geen beleidsvraag."})
        for delivery in (declined, added, closed):
            acked_under_the_lock(delivery)
            form_closed(delivery)

    def routing_of(user: str) -> RoutingStatus:
        return rows(db_url, select(Routing.status).where(Routing.recipient_slack_id == user))[-1]  # type: ignore[no-any-return]

    def info_events() -> list[Any]:
        return rows(db_url, select(QuestionEvent).where(QuestionEvent.kind == EventKind.INFO))

    def status_of(text: str) -> QuestionStatus:
        return rows(db_url, select(Question.status).where(Question.text == text))[-1]  # type: ignore[no-any-return]

    emulator.wait_for(lambda: routing_of(u2) is RoutingStatus.DECLINED, timeout=30)
    emulator.wait_for(lambda: len(info_events()) == 1, timeout=30)
    emulator.wait_for(lambda: status_of(NO_MATCH) is QuestionStatus.CLOSED, timeout=30)

    answer = answer_modal(emulator, u1, c1, m1)
    with acks_while_locked(emulator, db_url) as acked_under_the_lock:
        answered = emulator.submit_view(u1, answer["id"], {ids.BLOCK_ANSWER_TEXT: "Wij heffen na twee jaar leegstand."})
        acked_under_the_lock(answered)
        form_closed(answered)
    emulator.wait_for(lambda: status_of(QUESTION) is QuestionStatus.ANSWERED, timeout=30)
    emulator.wait_for(
        lambda: "twee jaar leegstand" in flat([c.params for c in emulator.calls_to("chat.postMessage")]), timeout=30
    )

    for delivery in (declined, added, closed, answered):
        replay(emulator, durable_bot, delivery)
    assert len(info_events()) == 1 and routing_of(u2) is RoutingStatus.DECLINED
    assert routing_of(u1) is RoutingStatus.ANSWERED
    in_channel = [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]
    assert len([c for c in in_channel if "twee jaar leegstand" in flat(c.params)]) == 1  # the answer, posted once
    durable_bot.assert_no_slack_calls_in_transactions()


def test_refusals_after_the_ack_reach_the_user_and_hostile_input_is_refused_on_the_form(
    durable_bot: BotProcess, emulator: SlackEmulator, db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    (u1, c1, m1), (u2, _c2, _m2) = two_requests(emulator)
    view = answer_modal(emulator, u1, c1, m1)

    # huge input: refused on the form before anything is recorded
    recorded = durable_bot.log().count("outcome=recorded")
    huge = emulator.submit_view(u1, view["id"], {ids.BLOCK_ANSWER_TEXT: "x" * 20_000})
    assert huge.response_action == "errors" and ids.BLOCK_ANSWER_TEXT in flat(huge.ack_body)
    assert durable_bot.log().count("outcome=recorded") == recorded

    # the answer form forged to claim u2's routing: recorded, refused by the service, told by DM with the text
    theirs = rows(db_url, select(Routing.id).where(Routing.recipient_slack_id == u2))[-1]
    original = view["private_metadata"]
    emulator.forge_view_metadata(view["id"], json.dumps({**json.loads(original), "routing_id": theirs}))
    forged = emulator.submit_view(u1, view["id"], {ids.BLOCK_ANSWER_TEXT: "Een antwoord op andermans vraag."})
    assert forged.acked
    form_closed(forged)
    emulator.wait_for(lambda: f"user={u1} action=answer a question sent to someone else" in durable_bot.log(), 30)
    u1_dm = emulator.dm_channel_with(u1)
    emulator.wait_for(lambda: "> Een antwoord op andermans vraag." in flat(emulator.messages(u1_dm)), timeout=30)
    assert rows(db_url, select(Question.status).where(Question.text == QUESTION)) != [QuestionStatus.ANSWERED]
    assert rows(db_url, select(Routing.status).where(Routing.id == theirs)) == [RoutingStatus.ASKED]
    replay(emulator, durable_bot, forged)  # the replay is a duplicate: told once
    assert flat(emulator.messages(u1_dm)).count("andermans vraag") == 1
