"""End to end: a digest channel archived, or the bot removed from it, stops its subscription and staff are told
once by DM (the triage channel here cannot take it) — found when the weekly digest is refused, or at once when
Slack sends ``channel_archive``, or ``channel_left`` / ``group_left`` (the bot removed; ``member_left_channel`` of
it). It is not tried again the next week."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.cli import main
from storage.models import DigestSubscription
from tests.e2e.conftest import CHANNEL, NL_USER, PRIVATE_C
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_digests import next_monday_ten
from tests.e2e.test_staff_dm import STAFF, STAFF2, TRIAGE
from tests.emulator import SlackEmulator


def subscribe(db_url: str, channel: str = CHANNEL) -> None:
    result = CliRunner().invoke(main, ["--database", db_url, "digest", "subscribe", "--channel", channel])
    assert result.exit_code == 0, result.output


def active(db_url: str, channel: str = CHANNEL) -> bool:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            sub = session.scalars(select(DigestSubscription).where(DigestSubscription.channel_id == channel)).one()
            return sub.active
    finally:
        engine.dispose()


def start(emulator: SlackEmulator, db_url: str, log: Path, clock: Path) -> BotProcess:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(STAFF2, name="staff2", real_name="Kenniscentrum Twee", locale="en-GB")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, STAFF2], bot_is_member=False)
    env = {
        "WIEWEET_FAKE_NOW_FILE": str(clock),
        "WIEWEET_JOB_INTERVAL": "0.5",
        "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
        "WIEWEET_STAFF_USER_IDS": f"{STAFF},{STAFF2}",
    }
    return BotProcess(emulator, database_url=db_url, mode="socket", log_path=log, extra_env=env).start()


def stopped_dms(emulator: SlackEmulator, user: str) -> list[dict[str, Any]]:
    words = "is gestopt" if user == STAFF else "is stopped"
    return [m for m in emulator.messages(emulator.dm_channel_with(user)) if words in flat(m.get("blocks"))]


def told_each_staff_member_once(emulator: SlackEmulator) -> bool:
    return all(len(stopped_dms(emulator, user)) == 1 for user in (STAFF, STAFF2))


@pytest.mark.postgres_too
def test_an_archived_digest_channel_is_stopped_when_its_digest_is_refused_and_not_tried_next_week(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    subscribe(demo_db_url)
    emulator.archive_channel(CHANNEL)  # no event reached the bot
    clock = tmp_path / "now.txt"
    clock.write_text((next_monday_ten() - timedelta(days=2)).isoformat(), encoding="utf-8")
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock)
    try:
        clock.write_text(next_monday_ten().isoformat(), encoding="utf-8")
        emulator.wait_for(lambda: told_each_staff_member_once(emulator), timeout=30)
        assert active(demo_db_url) is False
        dm = flat(stopped_dms(emulator, STAFF)[0].get("blocks"))
        assert f"<#{CHANNEL}>" in dm and "gearchiveerd" in dm and "opnieuw" in dm
        assert "archived" in flat(stopped_dms(emulator, STAFF2)[0].get("blocks"))
        tries = len([c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL])
        clock.write_text((next_monday_ten() + timedelta(days=7)).isoformat(), encoding="utf-8")  # a week later
        time.sleep(2.0)  # four job intervals of 0.5 s; there is no event to wait for when nothing may happen
    finally:
        bot.stop()
    assert len([c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]) == tries
    assert told_each_staff_member_once(emulator)


def test_the_archive_event_and_the_bot_removed_stop_the_digest_at_once_and_staff_are_told_once(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    subscribe(demo_db_url)
    other = "C0DIGEST2"
    emulator.add_channel(other, name="digest-two", members=[NL_USER])
    subscribe(demo_db_url, other)
    clock = tmp_path / "now.txt"
    clock.write_text((next_monday_ten() - timedelta(days=2)).isoformat(), encoding="utf-8")  # no digest due
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock)
    try:
        emulator.send_channel_archived(CHANNEL, NL_USER, event_id="Ev0ARCHIVE1")
        emulator.wait_for(lambda: told_each_staff_member_once(emulator), timeout=30)
        assert active(demo_db_url) is False
        emulator.send_channel_archived(CHANNEL, NL_USER, event_id="Ev0ARCHIVE1")  # Slack's retry
        emulator.send_channel_archived(CHANNEL, NL_USER)  # and a new event for the same channel
        emulator.send_member_left(other, NL_USER)  # someone else left: nothing changes
        emulator.wait_for(lambda: bot.log().count("handler=handle_channel_gone") >= 3, timeout=30)
        assert active(demo_db_url, other) is True
        emulator.send_member_left(other, emulator.bot_user_id)  # the bot was removed
        emulator.wait_for(lambda: not active(demo_db_url, other), timeout=30)
        emulator.wait_for(lambda: all(len(stopped_dms(emulator, user)) == 2 for user in (STAFF, STAFF2)), timeout=30)
        assert "verwijderd" in flat(stopped_dms(emulator, STAFF)[1].get("blocks"))
    finally:
        bot.stop()
    assert all(len(stopped_dms(emulator, user)) == 2 for user in (STAFF, STAFF2))


def test_the_bot_removed_from_a_public_and_a_private_channel_stops_their_digests_at_once(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    subscribe(demo_db_url)
    subscribe(demo_db_url, PRIVATE_C)
    clock = tmp_path / "now.txt"
    clock.write_text((next_monday_ten() - timedelta(days=2)).isoformat(), encoding="utf-8")  # no digest due
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock)
    try:
        removed = emulator.send_bot_removed(CHANNEL, NL_USER)  # Slack tells the bot: channel_left
        assert removed.acked
        emulator.wait_for(lambda: not active(demo_db_url), timeout=30)
        emulator.wait_for(lambda: told_each_staff_member_once(emulator), timeout=30)
        assert "verwijderd" in flat(stopped_dms(emulator, STAFF)[0].get("blocks"))
        emulator.send_bot_removed(PRIVATE_C, NL_USER)  # group_left
        emulator.wait_for(lambda: not active(demo_db_url, PRIVATE_C), timeout=30)
        emulator.wait_for(lambda: all(len(stopped_dms(emulator, user)) == 2 for user in (STAFF, STAFF2)), timeout=30)
    finally:
        bot.stop()
