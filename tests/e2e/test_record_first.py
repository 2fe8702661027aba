"""Every request wieweet handles through the inbox is recorded there *before* Slack gets its ack.

The emulator looks at the bot's inbox the moment each ack arrives (``SlackEmulator.ack_probe``). To make the order
observable, the test holds the inbox's write lock for a moment while the request comes in: a bot that records first
acks only once the lock is released and the row is written; a bot that acked first has answered Slack while its row
could not be written yet, and a kill -9 at that moment would lose the request. Slack is held meanwhile
(``SlackEmulator.hold_slack``): the ack must come before any Slack call is answered — by order, not by Slack's 3 s,
which is a speed target for bench/ (a loaded machine would fail a timed check for nothing).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select

from handlers import ids
from storage.db import inbox_file
from storage.models import Feedback
from tests.e2e.chaos import ACK_WAIT, acks_while_locked, assert_acked_before_slow_work
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER
from tests.e2e.harness import BotProcess, replay, warm_up
from tests.emulator import SlackEmulator
from tests.emulator.models import Delivery

HOLD_SECONDS = 1.0  # the inbox's busy timeout is 2 s: the held record waits, then goes through


def inbox_path(bot: BotProcess) -> Path:
    return inbox_file(Path(bot.database_url.removeprefix("sqlite:///")))


def inbox_keys(path: Path) -> set[str]:
    conn = sqlite3.connect(path, timeout=5)  # WAL: a reader is not blocked by the held write lock
    try:
        return {str(key) for (key,) in conn.execute("SELECT request_key FROM inbox_requests")}
    finally:
        conn.close()


@contextmanager
def inbox_held(path: Path) -> Iterator[None]:
    """Hold the inbox's write lock (as another writer would) for ``HOLD_SECONDS`` after the block's start."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    release = threading.Timer(HOLD_SECONDS, conn.rollback)
    release.start()
    try:
        yield
    finally:
        release.join()
        conn.close()


def sent_with_inbox_held(bot: BotProcess, emulator: SlackEmulator, send: Callable[[], Delivery]) -> Delivery:
    warm_up(emulator, NL_USER, EN_USER)
    path = inbox_path(bot)
    emulator.ack_probe = lambda _delivery: inbox_keys(path)
    try:
        with emulator.hold_slack():
            with inbox_held(path):
                delivery = send()
            delivery.wait(ACK_WAIT + 10)
    finally:
        emulator.ack_probe = None
    assert_acked_before_slow_work(delivery, database=False)  # before any Slack call of its work was answered
    return delivery


def keys_at_ack(delivery: Delivery) -> set[str]:
    final = delivery.final
    assert final is not None and isinstance(final.at_ack, set)
    return final.at_ack


def test_mentions_and_dms_are_recorded_before_their_ack(bot: BotProcess, emulator: SlackEmulator) -> None:
    text = f"<@{emulator.bot_user_id}> wie weet iets over leegstand?"
    mention = sent_with_inbox_held(bot, emulator, lambda: emulator.send_app_mention(NL_USER, CHANNEL, text))
    ts = mention.payload["event"]["ts"]
    assert f"msg:{CHANNEL}:{ts}" in keys_at_ack(mention)

    dm = sent_with_inbox_held(
        bot, emulator, lambda: emulator.send_message(NL_USER, None, "wie weet iets over EU-geld?")
    )
    event = dm.payload["event"]
    assert f"msg:{event['channel']}:{event['ts']}" in keys_at_ack(dm)


def test_a_command_question_is_recorded_before_its_ack(bot: BotProcess, emulator: SlackEmulator) -> None:
    command = sent_with_inbox_held(
        bot, emulator, lambda: emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over leegstandsheffing?")
    )
    assert f"cmd:{command.payload['trigger_id']}" in keys_at_ack(command)
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]], timeout=20)


def test_the_who_knows_shortcut_is_recorded_before_its_ack(bot: BotProcess, emulator: SlackEmulator) -> None:
    message = emulator.add_message(NL_USER, CHANNEL, "Hoe pakken jullie leegstand aan?")
    shortcut = sent_with_inbox_held(
        bot,
        emulator,
        lambda: emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_WHO_KNOWS, str(message["ts"])),
    )
    assert f"shortcut:{shortcut.payload['trigger_id']}" in keys_at_ack(shortcut)


def test_a_subcommand_that_opens_a_modal_still_acks_at_once(bot: BotProcess, emulator: SlackEmulator) -> None:
    """``/wieweet praktijk`` only opens a modal (its trigger lives 3 s): acked first, recorded nowhere. Acked while
    the database and its inbox are write-locked and Slack is held: it waited for none of them."""
    warm_up(emulator, NL_USER)
    path = inbox_path(bot)
    before = inbox_keys(path)
    with acks_while_locked(emulator, bot.database_url, inbox=True) as acked_under_the_lock:
        acked_under_the_lock(emulator.send_command(NL_USER, CHANNEL, text="praktijk"))
    emulator.wait_for(lambda: emulator.calls_to("views.open"), timeout=20)
    assert inbox_keys(path) == before


def test_a_click_that_changes_something_is_recorded_before_its_ack(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    """A 👍 on an answer (it stores a vote) is recorded before its ack, run once from the record (a replay of the
    click changes nothing), and a forged search id in it is refused from the record, the clicker told."""
    emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over leegstandsheffing?")
    body = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]], timeout=20)[0]
    value = next(e["value"] for b in body["body"]["blocks"] if b["type"] == "actions" for e in b["elements"])
    engine = create_engine(demo_db_url)

    def votes() -> list[tuple[int, str | None]]:
        with engine.connect() as conn:
            return [(v, u) for v, u in conn.execute(select(Feedback.vote, Feedback.user_slack_id))]

    def click() -> Delivery:
        return emulator.click_button(
            NL_USER, ids.ACTION_FEEDBACK_UP, value=value, channel=CHANNEL, message=body["body"]
        )

    up = sent_with_inbox_held(bot, emulator, click)
    assert f"action:{up.payload['trigger_id']}" in keys_at_ack(up)
    emulator.wait_for(lambda: votes() == [(1, NL_USER)], timeout=20)
    thanks = "Bedankt voor je feedback"
    emulator.wait_for(lambda: any(thanks in str(p["body"]) for p in emulator.response_posts), timeout=20)
    replay(emulator, bot, up)
    assert votes() == [(1, NL_USER)]
    assert sum(thanks in str(p["body"]) for p in emulator.response_posts) == 1
    # someone else's search (another id than the answer shown): refused from the record, nothing stored, told
    before = len(emulator.response_posts)
    forged = emulator.click_button(
        EN_USER, ids.ACTION_FEEDBACK_UP, value=value, channel=CHANNEL, message=body["body"], wait=True
    )
    assert forged.acked
    emulator.wait_for(lambda: len(emulator.response_posts) > before, timeout=20)
    assert votes() == [(1, NL_USER)]
    engine.dispose()


def test_a_subcommand_that_changes_something_is_recorded_before_its_ack(
    bot: BotProcess, emulator: SlackEmulator
) -> None:
    """``/wieweet digest uit`` changes a subscription: recorded before its ack, run from the record, answered once
    through its response_url (a replay of it says nothing more)."""
    command = sent_with_inbox_held(bot, emulator, lambda: emulator.send_command(NL_USER, CHANNEL, text="digest uit"))
    assert f"command:{command.payload['trigger_id']}" in keys_at_ack(command)
    said = "Dit kanaal heeft geen weekoverzicht."
    emulator.wait_for(lambda: any(said in str(p["body"]) for p in emulator.response_posts), timeout=20)
    replay(emulator, bot, command)
    assert sum(said in str(p["body"]) for p in emulator.response_posts) == 1
