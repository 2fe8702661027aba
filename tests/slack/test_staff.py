"""Who counts as staff: configured ids plus the staff user group's members (cached), against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.config import Settings
from handlers.services import StaffDirectory
from tests.emulator import SlackEmulator

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_staff_from_ids_and_usergroup_with_cache() -> None:
    with SlackEmulator() as emu:
        emu.add_user("U0STAFF1")
        emu.add_user("U0STAFF2")
        emu.add_user("U0OTHER1")
        emu.add_usergroup("S0STAFF", "kenniscentrum", ["U0STAFF2"])
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        settings = Settings(staff_user_ids=frozenset({"U0STAFF1"}), staff_usergroup_id="S0STAFF")
        staff = StaffDirectory()
        assert staff.is_staff(settings=settings, client=client, user_id="U0STAFF1", now=NOW)
        assert staff.is_staff(settings=settings, client=client, user_id="U0STAFF2", now=NOW)
        assert not staff.is_staff(settings=settings, client=client, user_id="U0OTHER1", now=NOW)
        assert not staff.is_staff(settings=settings, client=client, user_id=None, now=NOW)
        assert len(emu.calls_to("usergroups.users.list")) == 1  # cached
        staff.is_staff(settings=settings, client=client, user_id="U0OTHER1", now=NOW + timedelta(minutes=6))
        assert len(emu.calls_to("usergroups.users.list")) == 2  # refreshed after the TTL
        no_group = Settings(staff_user_ids=frozenset({"U0STAFF1"}))
        assert not StaffDirectory().is_staff(settings=no_group, client=client, user_id="U0STAFF2", now=NOW)
