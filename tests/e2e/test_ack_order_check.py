"""The e2e tests' ack check (``tests.e2e.chaos.acks_while_locked``) fails a listener that acks after its work.

The emulator waits long for an ack (a loaded machine never turns a slow ack into a missing one), so the check is by
order: while the block holds the database's write lock and Slack's answers, an ack that waits for either never comes.
Shown here with a small Bolt app whose listeners ack before their work, or deliberately after it. A delivery sent
without waiting is checked once the block let both go: an ack withheld until then comes, and what the emulator saw
at that ack (the lock let go, Slack answering) fails the check.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack
from slack_sdk import WebClient

from tests.e2e.chaos import acks_while_locked
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.emulator import SlackEmulator
from tests.emulator_selftest.harness import bolt_socket, make_app


def write(path: Path, text: str) -> None:
    conn = sqlite3.connect(path, timeout=120)  # waits for the held lock, as the bot's database work would
    try:
        with conn:
            conn.execute("INSERT INTO done (what) VALUES (?)", (text,))
    finally:
        conn.close()


def test_the_check_fails_a_listener_that_acks_after_its_work(emulator: SlackEmulator, tmp_path: Path) -> None:
    path = tmp_path / "work.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE done (what TEXT)")
    app = make_app(emulator)

    @app.command("/wieweet")
    def command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        text = body["text"]
        if text in ("warm", "early"):  # as the bot: the ack first, then the work
            ack()
            client.chat_postMessage(channel=CHANNEL, text=text)
            write(path, text)
        elif text == "late-db":  # the database first
            write(path, text)
            ack()
        elif text == "late-slack":  # a Slack call first
            client.chat_postMessage(channel=CHANNEL, text=text)
            ack()

    with bolt_socket(app, emulator):
        emulator.send_command(NL_USER, CHANNEL, text="warm")  # Bolt's auth.test of its first request, done
        emulator.wait_for(lambda: emulator.messages(CHANNEL))
        with acks_while_locked(emulator, f"sqlite:///{path}") as acked_under_the_lock:
            acked_under_the_lock(emulator.send_command(NL_USER, CHANNEL, text="early"))
            # a late ack cannot come while the block holds: the emulator's window only bounds how long that is seen
            emulator.config.ack_timeout = 1.0
            for late in ("late-db", "late-slack"):
                with pytest.raises(AssertionError, match="not acked while the bot's slow work was held"):
                    acked_under_the_lock(emulator.send_command(NL_USER, CHANNEL, text=late))
        # let go, every listener finishes its work
        emulator.wait_for(lambda: len(emulator.messages(CHANNEL)) == 3, timeout=30)
        assert sorted(m["text"] for m in emulator.messages(CHANNEL)) == ["early", "late-slack", "warm"]


@pytest.mark.parametrize(("late", "said"), [("late-db", "database lock"), ("late-slack", "")])
def test_the_check_fails_an_ack_withheld_until_the_block_let_go(
    emulator: SlackEmulator, tmp_path: Path, late: str, said: str
) -> None:
    """The ack comes, but only once the lock (or Slack) is let go: acked, yet not while the slow work was held."""
    path = tmp_path / "work.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE done (what TEXT)")
    app = make_app(emulator)

    @app.command("/wieweet")
    def command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        text = body["text"]
        if text == "late-db":
            write(path, text)
        elif text == "late-slack":
            client.chat_postMessage(channel=CHANNEL, text=text)
        ack()

    with bolt_socket(app, emulator):
        emulator.send_command(NL_USER, CHANNEL, text="warm")
        with (
            pytest.raises(AssertionError, match=f"acked only after .*{said}") as failed,
            acks_while_locked(emulator, f"sqlite:///{path}") as acked_under_the_lock,
        ):
            withheld = emulator.send_command(NL_USER, CHANNEL, text=late, wait=False)
            acked_under_the_lock(withheld)
        assert withheld.acked, failed.value  # it was acked: what failed is when
