"""End to end: an error raised before a request was acknowledged (here the inbox cannot record a ``/wieweet``
question: its table is gone) is acknowledged first, and the person is told once, after the ack — never a message
that reaches Slack before the ack, nor a failed request next to it (Slack's own "failed" notice and ours: two).

By order, not time, as ``test_network_check_ack_first``: Slack is held while the request is sent, so an ack that
waited for a message to Slack never comes while it is held (``assert_acked_before_slow_work``). Over Socket Mode the
emulator also notes what reached it before the ack (``SlackEmulator.held_calls``, read the moment the ack arrives);
over HTTP the message sent right after the response may reach the emulator's server before its client has read that
response, so there the held ack is the check."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from handlers import ids
from storage.db import inbox_file
from tests.e2e.chaos import ACK_WAIT, assert_acked_before_slow_work
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat, warm_up
from tests.e2e.test_network_check_ack_first import held_at_ack
from tests.emulator import SlackEmulator

WENT_WRONG = "Er ging iets mis aan mijn kant"  # slack.error, Dutch
SLACK_ACK_WINDOW = 3.0


@contextmanager
def inbox_gone(database_url: str) -> Iterator[None]:
    """The inbox's table renamed under the running bot (SQLite: its own file), so recording a request fails; put
    back when the block ends."""
    path = inbox_file(Path(database_url.split("///", 1)[1]))
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute("ALTER TABLE inbox_requests RENAME TO inbox_requests_away")
    try:
        yield
    finally:
        with sqlite3.connect(path, timeout=30) as conn:
            conn.execute("ALTER TABLE inbox_requests_away RENAME TO inbox_requests")


def test_an_error_before_the_ack_is_acked_first_then_told_once(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    warm_up(emulator, NL_USER)  # Bolt's auth.test and the network check's users.info: before, not this request's
    with inbox_gone(demo_db_url):
        emulator.ack_probe = lambda _delivery: emulator.held_calls
        try:
            with emulator.hold_slack():
                delivery = emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over leegstand?", wait=False)
                delivery.wait(ACK_WAIT + 10)
        finally:
            emulator.ack_probe = None
        assert delivery.acked, f"an error before the ack must still ack (no failed request): {delivery.summary()}"
        assert_acked_before_slow_work(delivery, database=False)
        if bot.mode == "socket":
            assert held_at_ack(delivery) == [], "something reached Slack before the ack"
        told = emulator.wait_for(
            lambda: [e for e in emulator.ephemerals(user=NL_USER) if WENT_WRONG in flat(e)], timeout=30
        )
    found = re.search(r"unhandled error ref=(\w+)", bot.log())
    assert found, bot.log()
    assert len(told) == 1 and found.group(1) in flat(told[0]), told  # once, with the log line's reference


def test_a_modal_submission_that_fails_before_its_ack_shows_the_error_on_the_form(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    question = "Hoe pakken jullie leegstandsheffing aan?"
    emulator.send_command(NL_USER, CHANNEL, text=f"vraag {question}")
    view = emulator.wait_for(lambda: [v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_ASK])[-1]
    emulator.wait_for_call("views.update")  # the command's own last step: the recognised theme pre-selected
    with inbox_gone(demo_db_url):
        emulator.ack_probe = lambda _delivery: emulator.held_calls
        try:
            with emulator.hold_slack():
                values = {ids.BLOCK_ASK_TEXT: question, ids.BLOCK_ASK_VISIBILITY: "public"}
                submitted = emulator.submit_view(NL_USER, view["id"], values, wait=False)
                submitted.wait(ACK_WAIT + 10)
        finally:
            emulator.ack_probe = None
        assert_acked_before_slow_work(submitted, database=False)
        if bot.mode == "socket":
            assert held_at_ack(submitted) == [], submitted.summary()
        # the form stays open with what was typed, the reason (and the log's reference) under its first field
        assert submitted.response_action == "errors", submitted.summary()
        errors = (submitted.ack_body or {}).get("errors") or {}
        assert list(errors) == [ids.BLOCK_ASK_TEXT] and WENT_WRONG in errors[ids.BLOCK_ASK_TEXT], errors
    found = re.search(r"unhandled error ref=(\w+)", bot.log())
    assert found and found.group(1) in errors[ids.BLOCK_ASK_TEXT], bot.log()
    told = [
        m
        for m in [*emulator.ephemerals(user=NL_USER), *emulator.messages(emulator.dm_channel_with(NL_USER))]
        if WENT_WRONG in flat(m)
    ]
    assert told == [], "said on the form: no second message"


@contextmanager
def inbox_locked(database_url: str) -> Iterator[None]:
    """The inbox's SQLite file write-locked by another connection until the block ends: recording a request waits
    out both of its attempts' busy timeouts (about 4.5 s, longer than Slack's and Bolt's 3 s for an ack) and fails."""
    path = inbox_file(Path(database_url.split("///", 1)[1]))
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def slacks_own_window(emulator: SlackEmulator) -> Iterator[None]:
    """The emulator waits for an ack as long as Slack does (3 s), not ``ACK_WAIT``: a late ack is lost, as in Slack.
    Only for a bot that cannot be quick (its inbox record waits out two 2 s busy timeouts), so a slow machine changes
    nothing: the ack comes after the window whatever the speed."""
    emulator.config.ack_timeout = SLACK_ACK_WINDOW
    try:
        yield
    finally:
        emulator.config.ack_timeout = ACK_WAIT


def test_an_error_before_the_ack_that_comes_too_late_for_the_ack_is_still_told_once(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    """A locked inbox fails the ``/wieweet`` question only after Bolt stopped waiting for its ack (it answered by
    itself): the message that would have been the ack is sent at once instead, once."""
    warm_up(emulator, NL_USER)
    with slacks_own_window(emulator), inbox_locked(demo_db_url):
        delivery = emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over leegstand?", wait=False)
        told = emulator.wait_for(
            lambda: [e for e in emulator.ephemerals(user=NL_USER) if WENT_WRONG in flat(e)], timeout=60
        )
        delivery.wait(ACK_WAIT + 10)
        # Bolt tried the next ``/wieweet`` listener meanwhile (the catch-all): it leaves the request alone, so the
        # question is not recorded and answered after the person was told it went wrong
        emulator.wait_for(lambda: "not run twice" in bot.log(), timeout=30)
    found = re.search(r"unhandled error ref=(\w+)", bot.log())
    assert found, bot.log()
    # by Slack's 3 s or not (a command's ack shows as an ephemeral too), the person reads it once, with the reference
    assert len(told) == 1 and found.group(1) in flat(told[0]), (told, delivery.summary())
    assert "handler=handle_wieweet_command" not in bot.log(), bot.log()


def test_a_modal_submission_that_fails_too_late_for_its_ack_is_told_once_by_other_means(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    """A locked inbox fails the ask modal's submission only after Bolt stopped waiting for its ack: the errors
    under its field can no longer be shown, so the person is told once by DM (or ephemeral), with the reference."""
    question = "Hoe pakken jullie leegstandsheffing aan?"
    emulator.send_command(NL_USER, CHANNEL, text=f"vraag {question}")
    view = emulator.wait_for(lambda: [v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_ASK])[-1]
    emulator.wait_for_call("views.update")

    def told() -> list[object]:
        dm = emulator.messages(emulator.dm_channel_with(NL_USER))
        return [m for m in [*emulator.ephemerals(user=NL_USER), *dm] if WENT_WRONG in flat(m)]

    with slacks_own_window(emulator), inbox_locked(demo_db_url):
        values = {ids.BLOCK_ASK_TEXT: question, ids.BLOCK_ASK_VISIBILITY: "public"}
        submitted = emulator.submit_view(NL_USER, view["id"], values, wait=False)
        emulator.wait_for(told, timeout=60)
        submitted.wait(ACK_WAIT + 10)
    found = re.search(r"unhandled error ref=(\w+)", bot.log())
    assert found, bot.log()
    assert len(told()) == 1 and found.group(1) in flat(told()[0]), (told(), submitted.summary())
    assert submitted.response_action != "errors", submitted.summary()  # ... and not on the form as well


def test_a_mention_that_cannot_be_recorded_is_told_once_not_once_per_delivery(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    """Slack delivers a failed event again (three times, each of the message's events): its author is told once."""
    warm_up(emulator, NL_USER)

    def told() -> list[object]:
        return [e for e in emulator.ephemerals(user=NL_USER) if WENT_WRONG in flat(e)]

    def settled() -> bool:  # every failed delivery either told or said it was told already
        failed = len(re.findall(r"unhandled error ref=", bot.log()))
        already = len(re.findall(r"was told already, not again", bot.log()))
        return failed > 0 and len(told()) + already == failed

    with slacks_own_window(emulator), inbox_gone(demo_db_url):
        mention, _message = emulator.send_mention_message(
            NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> wie weet iets over leegstand?"
        )
        assert len(mention.attempts) == 4 and not mention.acked, mention.summary()  # Slack's first and three retries
        emulator.wait_for(settled, timeout=30)
    assert len(told()) == 1, told()
    found = re.search(r"unhandled error ref=(\w+)", bot.log())
    assert found and found.group(1) in flat(told()[0]), bot.log()
