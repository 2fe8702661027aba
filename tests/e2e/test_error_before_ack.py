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
