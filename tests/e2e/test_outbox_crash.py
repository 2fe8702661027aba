"""The outbox across a crash: killed between "posted to Slack" and "marked sent", the next sender finds the post (its
marker) and marks it sent instead of sending the DM again; killed just before the post, it posts once. On SQLite
and PostgreSQL (the ``database`` fixture), against the Slack emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.outbox import AnswerToAsker, SubmissionOutcome, SubmissionOutcomeKind, claim_outbox, enqueue
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.db import Database
from storage.models import OutboxMessage
from tests.clock import Clock
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BOT_TOKEN
from tests.emulator import SlackEmulator

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
TITLE = "Zwerfkatten steriliseren met vrijwilligers"


class Killed(BaseException):
    """kill -9 at this point: nothing after it runs (not even the failure bookkeeping)."""


@pytest.fixture
def clock() -> Clock[datetime]:
    return Clock(NOW)


@pytest.fixture
def sender(database: Database, emulator: SlackEmulator, clock: Clock[datetime]) -> Iterator[OutboxSender]:
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database), clock=clock)
    yield OutboxSender(services, WebClient(token=BOT_TOKEN, base_url=emulator.api_url))


def queue_outcome(database: Database) -> int:
    with database.session() as session:
        message = enqueue(
            session,
            SubmissionOutcome(outcome=SubmissionOutcomeKind.PRACTICE_APPROVED, title=TITLE),
            dedupe_key="practice:1:approved",
            now=NOW,
            recipient_slack_id=NL_USER,
        )
        assert message is not None
        session.flush()
        return message.id


def dms_about(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(emulator.dm_channel_with(NL_USER)) if TITLE in str(m.get("text"))]


def stored(database: Database, message_id: int) -> OutboxMessage:
    with database.session() as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        session.expunge(message)
        return message


def restart(sender: OutboxSender, clock: Clock[datetime]) -> OutboxSender:
    """Another process, once the dead one's claim is stale."""
    clock.now = NOW + timedelta(minutes=11)
    return OutboxSender(sender.services, sender.client)


def test_killed_after_the_post_the_dm_is_not_sent_again(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    message_id = queue_outcome(database)
    with mock.patch("handlers.outbox.mark_outbox_sent", side_effect=Killed), pytest.raises(Killed):
        sender.send_pending(worker_id="host:1")
    assert len(dms_about(emulator)) == 1  # it went out; "sent" was never recorded
    assert stored(database, message_id).sent_at is None

    result = restart(sender, clock).send_pending(worker_id="host:2")
    assert (result.claimed, result.sent, result.failed) == (1, 1, 0)
    assert len(dms_about(emulator)) == 1  # found by its marker, not posted again
    message = stored(database, message_id)
    assert message.sent_at is not None and message.sent_ts == dms_about(emulator)[0]["ts"]
    assert claim_outbox(database, now=clock.now + timedelta(minutes=30), worker_id="host:3") == []


def test_killed_just_before_the_post_the_dm_is_sent_once(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    message_id = queue_outcome(database)
    with mock.patch.object(sender.client, "chat_postMessage", side_effect=Killed), pytest.raises(Killed):
        sender.send_pending(worker_id="host:1")
    assert dms_about(emulator) == [] and stored(database, message_id).post_started_at is not None

    result = restart(sender, clock).send_pending(worker_id="host:2")
    assert (result.claimed, result.sent) == (1, 1)
    assert len(dms_about(emulator)) == 1  # looked for, not found, posted: never lost
    assert stored(database, message_id).sent_ts == dms_about(emulator)[0]["ts"]


def manifest_bot_scopes() -> list[str]:
    """The bot scopes ``manifest.yml`` asks for (the list under ``oauth_config.scopes.bot``)."""
    lines = (Path(__file__).resolve().parents[2] / "manifest.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("    bot:") + 1
    scopes = []
    for line in lines[start:]:
        if not line.startswith("      - "):
            break
        scopes.append(line.removeprefix("      - ").split("#", 1)[0].strip())
    return scopes


def queue_in_channel(database: Database) -> int:
    with database.session() as session:
        message = enqueue(
            session,
            SubmissionOutcome(outcome=SubmissionOutcomeKind.PRACTICE_APPROVED, title=TITLE),
            dedupe_key="practice:1:approved:channel",
            now=NOW,
            channel_id=CHANNEL,
        )
        assert message is not None
        session.flush()
        return message.id


def posts_in_channel(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(CHANNEL) if TITLE in str(m.get("text"))]


def test_with_the_manifest_scopes_a_channel_post_is_found_after_a_crash(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    assert {"channels:history", "groups:history", "im:history"} <= set(manifest_bot_scopes())
    emulator.set_bot_scopes(manifest_bot_scopes())
    message_id = queue_in_channel(database)
    with mock.patch("handlers.outbox.mark_outbox_sent", side_effect=Killed), pytest.raises(Killed):
        sender.send_pending(worker_id="host:1")
    result = restart(sender, clock).send_pending(worker_id="host:2")
    assert (result.claimed, result.sent, result.failed) == (1, 1, 0)
    assert len(posts_in_channel(emulator)) == 1  # the channel was read for the marker: not posted again
    assert stored(database, message_id).sent_ts == posts_in_channel(emulator)[0]["ts"]


def test_when_slack_will_not_let_it_look_the_message_is_posted_not_lost(
    database: Database,
    emulator: SlackEmulator,
    sender: OutboxSender,
    clock: Clock[datetime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An install made before the history scopes were in the manifest: the look-up answers missing_scope.
    emulator.set_bot_scopes([s for s in manifest_bot_scopes() if s not in {"channels:history", "groups:history"}])
    message_id = queue_in_channel(database)
    with mock.patch.object(sender.client, "chat_postMessage", side_effect=Killed), pytest.raises(Killed):
        sender.send_pending(worker_id="host:1")
    assert stored(database, message_id).post_started_at is not None

    with caplog.at_level("WARNING", logger="wieweet.inbox"):
        result = restart(sender, clock).send_pending(worker_id="host:2")
    assert (result.claimed, result.sent, result.failed) == (1, 1, 0)
    assert len(posts_in_channel(emulator)) == 1  # posted: a possible duplicate beats a lost message
    assert any("missing_scope" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("taken_over", ["sent", "claimed"])
def test_a_worker_whose_claim_went_stale_does_not_post(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime], taken_over: str
) -> None:
    message_id = queue_outcome(database)
    [slow] = claim_outbox(database, now=NOW, worker_id="host:1")  # a slow batch: its claim goes stale
    other = restart(sender, clock)
    if taken_over == "sent":
        result = other.send_pending(worker_id="host:2")
        assert (result.claimed, result.sent) == (1, 1)
    else:
        assert [m.id for m in claim_outbox(database, now=clock.now, worker_id="host:2")] == [message_id]
    posted = len(dms_about(emulator))

    assert sender.send_one(slow) is False  # host:1 gets to its message at last: no longer its to post
    assert len(dms_about(emulator)) == posted == (1 if taken_over == "sent" else 0)
    message = stored(database, message_id)
    assert message.attempts == 0 and message.failed_at is None  # nor is its failure recorded on host:2's message
    if taken_over == "claimed":
        assert message.claimed_by == "host:2"


def test_starting_the_post_refreshes_the_claim(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    message_id = queue_outcome(database)
    [claimed] = claim_outbox(database, now=NOW, worker_id="host:1")
    clock.now = NOW + timedelta(minutes=9)  # a long batch, still within the claim
    with mock.patch("handlers.outbox.mark_outbox_sent", side_effect=Killed), pytest.raises(Killed):
        sender.send_one(claimed)
    message = stored(database, message_id)
    assert message.claimed_by == "host:1" and message.claimed_at == clock.now.replace(tzinfo=message.claimed_at.tzinfo)
    # 11 minutes after the claim but 2 after the post started: not stale, not taken over
    assert claim_outbox(database, now=NOW + timedelta(minutes=11), worker_id="host:2") == []


@pytest.mark.parametrize("where", ["long thread", "busy channel"])
def test_the_marker_is_found_in_a_long_thread_or_a_busy_channel(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime], where: str
) -> None:
    client = sender.client
    thread_ts = None
    if where == "long thread":  # 250 replies before the post: more than one page read from the thread's start
        thread_ts = str(client.chat_postMessage(channel=CHANNEL, text="Wie weet iets over zwerfkatten?")["ts"])
        for n in range(250):
            client.chat_postMessage(channel=CHANNEL, thread_ts=thread_ts, text=f"reactie {n}")
    with database.session() as session:
        message = enqueue(
            session,
            SubmissionOutcome(outcome=SubmissionOutcomeKind.PRACTICE_APPROVED, title=TITLE),
            dedupe_key="practice:1:approved:busy",
            now=NOW,
            channel_id=CHANNEL,
            thread_ts=thread_ts,
        )
        assert message is not None
        session.flush()
        message_id = message.id
    with mock.patch("handlers.outbox.mark_outbox_sent", side_effect=Killed), pytest.raises(Killed):
        sender.send_pending(worker_id="host:1")
    if where == "busy channel":  # 250 messages after the post: more than one page read from the newest
        for n in range(250):
            client.chat_postMessage(channel=CHANNEL, text=f"bericht {n}")

    result = restart(sender, clock).send_pending(worker_id="host:2")
    assert (result.claimed, result.sent, result.failed) == (1, 1, 0)
    assert len(posts_in_channel(emulator)) == 1  # found by its marker, not posted again
    assert stored(database, message_id).sent_ts == posts_in_channel(emulator)[0]["ts"]


# --- everything a sender does to a message is under its claim (a stalled sender taken over marks nothing) ---------


def take_over(database: Database, clock: Clock[datetime], message_id: int) -> None:
    """host:2 claims the message once host:1's claim is stale (host:1 stalled: a slow Slack, a paused VM)."""
    clock.now = NOW + timedelta(minutes=11)
    assert [m.id for m in claim_outbox(database, now=clock.now, worker_id="host:2")] == [message_id]


def test_a_sender_taken_over_during_its_post_does_not_mark_it_sent(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    message_id = queue_outcome(database)
    [slow] = claim_outbox(database, now=NOW, worker_id="host:1")
    real_post = sender.client.chat_postMessage

    def post_then_stall(**kwargs: Any) -> Any:
        response = real_post(**kwargs)
        take_over(database, clock, message_id)  # host:1 stalls after Slack answered; host:2 takes the message
        return response

    with mock.patch.object(sender.client, "chat_postMessage", side_effect=post_then_stall):
        sender.send_one(slow)
    message = stored(database, message_id)
    assert message.sent_at is None and message.claimed_by == "host:2"  # host:2's claim is left alone

    [taken] = claim_outbox(database, now=clock.now + timedelta(minutes=11), worker_id="host:3")  # host:2 died too
    assert sender.send_one(taken) is True
    assert len(dms_about(emulator)) == 1  # host:3 found host:1's post by its marker: one DM
    assert stored(database, message_id).sent_ts == dms_about(emulator)[0]["ts"]


def test_a_sender_taken_over_during_its_post_does_not_record_a_failure_on_the_new_claim(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    message_id = queue_outcome(database)
    [slow] = claim_outbox(database, now=NOW, worker_id="host:1")
    real_post = sender.client.chat_postMessage
    emulator.fail_next("chat.postMessage", status=503)

    def stall_then_fail(**kwargs: Any) -> Any:
        take_over(database, clock, message_id)  # the post hangs until host:1's claim is stale, then fails
        return real_post(**kwargs)

    with mock.patch.object(sender.client, "chat_postMessage", side_effect=stall_then_fail):
        assert sender.send_one(slow) is False
    message = stored(database, message_id)
    # host:2 holds the claim: not released (a third sender would post it while host:2 does), no attempt counted
    assert message.claimed_by == "host:2" and message.attempts == 0 and message.last_error == ""


def queue_rating(database: Database, client: WebClient) -> int:
    thread_ts = str(client.chat_postMessage(channel=CHANNEL, text="Wie weet iets over zwerfkatten?")["ts"])
    with database.session() as session:
        message = enqueue(
            session,
            AnswerToAsker(question_id=1, text="Zwerfkatten?", answer_text=TITLE, in_thread=True, language="nl"),
            dedupe_key="answer:1:asker",
            now=NOW,
            recipient_slack_id=NL_USER,
            channel_id=CHANNEL,
            thread_ts=thread_ts,
        )
        assert message is not None
        session.flush()
        return message.id


def test_a_sender_taken_over_does_not_show_the_in_thread_rating(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime]
) -> None:
    message_id = queue_rating(database, sender.client)
    [slow] = claim_outbox(database, now=NOW, worker_id="host:1")
    take_over(database, clock, message_id)

    assert sender.send_one(slow) is False  # not its message any more: nothing shown (host:2 shows it)
    assert emulator.ephemerals(user=NL_USER) == []
    assert stored(database, message_id).claimed_by == "host:2"

    [mine] = claim_outbox(database, now=clock.now + timedelta(minutes=11), worker_id="host:2")
    assert sender.send_one(mine) is True
    assert len(emulator.ephemerals(user=NL_USER, channel=CHANNEL)) == 1
    assert stored(database, message_id).sent_at is not None
