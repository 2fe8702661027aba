"""End to end: a command that opens a modal opens it without waiting for the database.

Slack's trigger id lives 3 s, but the emulator expires triggers only by its test clock (a loaded machine expires
none), so a bot whose ``views.open`` waited for the database would no longer be caught by an expired trigger. Here
another process holds the database's write lock — SQLite's, or on PostgreSQL every table locked against writes, the
inbox too — while the commands arrive: each ``views.open`` must reach Slack before the lock is let go (by order, not
by time), and each request still completes after it.
"""

from __future__ import annotations

import re

import pytest

from handlers import ids
from tests.e2e.chaos import ACK_WAIT, assert_acked_before_slow_work, database_locked
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER
from tests.e2e.harness import BotProcess
from tests.emulator import SlackEmulator

# who types what, and the modal it opens
MODALS = {NL_USER: ("praktijk", ids.VIEW_PRACTICE), EN_USER: ("vraag", ids.VIEW_ASK)}
DONE = re.compile(r"kind=command handler=handle_wieweet_command user=(\w+) .* outcome=(\S+)")


def opened(emulator: SlackEmulator, user: str) -> list[str]:
    return [str(v.get("callback_id")) for v in emulator.views(user)]


@pytest.mark.postgres_too
def test_a_modal_opens_while_the_database_is_locked(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    with database_locked(demo_db_url, inbox=True) as lock:
        emulator.ack_probe = lambda _delivery: lock.held.is_set()
        try:
            sent = {user: emulator.send_command(user, CHANNEL, text=text) for user, (text, _) in MODALS.items()}
        finally:
            emulator.ack_probe = None
        for delivery in sent.values():
            assert_acked_before_slow_work(delivery, slack=False)
        # both modals open while the lock still stands (the block holds it until it ends, so this wait is the
        # check): neither views.open waited for the database
        emulator.wait_for(lambda: all(opened(emulator, user) == [view] for user, (_, view) in MODALS.items()), ACK_WAIT)
        assert [c.ok for c in emulator.calls_to("views.open")] == [True, True]

    # and each request completes (its log line, no error) once the database is free again
    def finished() -> dict[str, str]:
        return {m.group(1): m.group(2) for m in DONE.finditer(bot.log())}

    done = emulator.wait_for(lambda: finished() if set(finished()) == set(MODALS) else None, timeout=ACK_WAIT)
    assert "error" not in done.values(), bot.log()
    bot.assert_no_slack_calls_in_transactions()
