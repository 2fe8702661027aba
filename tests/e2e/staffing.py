"""Setup shared by the end-to-end tests with staff: the staff member and the triage channel, the demo experts' Slack
users, and a bot (Socket Mode) with that channel and staff member set, its jobs every half second."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import BotProcess
from tests.emulator import SlackEmulator

TRIAGE = "C0TRIAGE1"
STAFF = "U0STAFF01"
MONDAY = "2026-11-30T09:30:00+01:00"  # the injected clock's start (``clock_file``)
DEMO_EXPERTS = 120  # the demo register's experts have Slack ids U0DEMO001 …


def add_staff(emulator: SlackEmulator) -> None:
    """The staff member (Dutch) and the triage channel, with the bot in it."""
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, emulator.bot_user_id])


def add_demo_users(emulator: SlackEmulator) -> None:
    """The demo register's experts as Slack users, so that routing can reach them."""
    for n in range(1, DEMO_EXPERTS + 1):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")


def staff_bot(
    emulator: SlackEmulator, db_url: str, tmp_path: Path, *, clock_file: Path | None = None, **env: str
) -> BotProcess:
    """The bot with the triage channel and staff member set (not started); ``clock_file``: the injected clock."""
    extra = {"WIEWEET_JOB_INTERVAL": "0.5", "WIEWEET_TRIAGE_CHANNEL": TRIAGE, "WIEWEET_STAFF_USER_IDS": STAFF}
    if clock_file is not None:
        extra["WIEWEET_FAKE_NOW_FILE"] = str(clock_file)
    return BotProcess(
        emulator, database_url=db_url, mode="socket", log_path=tmp_path / "bot.log", extra_env={**extra, **env}
    )


def run_routing_bot(
    emulator: SlackEmulator, db_url: str, tmp_path: Path, clock_file: Path, **env: str
) -> Iterator[BotProcess]:
    """For a fixture: staff, the triage channel and the demo experts in Slack; the bot running until the test ends."""
    add_staff(emulator)
    add_demo_users(emulator)
    process = staff_bot(emulator, db_url, tmp_path, clock_file=clock_file, **env)
    process.start()
    yield process
    process.stop()
