"""Who counts as staff: configured ids plus the staff user group's members (cached), against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from handlers.services import SlackUnavailableError, StaffDirectory
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


def test_a_passing_usergroup_failure_is_no_answer_and_a_refusal_still_fails_closed() -> None:
    """Issue 12 review: a rate limit or an error on Slack's side is not "not staff" (run from the inbox, a permanent
    refusal and a DM for a real staff member); it raises, and the request is retried. A real refusal (a scope the
    install lacks) still refuses."""
    with SlackEmulator() as emu:
        emu.add_user("U0STAFF2")
        emu.add_usergroup("S0STAFF", "kenniscentrum", ["U0STAFF2"])
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        settings = Settings(staff_usergroup_id="S0STAFF")
        staff = StaffDirectory()
        emu.fail_next("usergroups.users.list", status=429, retry_after=1)
        with pytest.raises(SlackUnavailableError):
            staff.is_staff(settings=settings, client=client, user_id="U0STAFF2", now=NOW)
        emu.fail_next("usergroups.users.list", error="internal_error")
        with pytest.raises(SlackUnavailableError):
            staff.is_staff(settings=settings, client=client, user_id="U0STAFF2", now=NOW)
        assert staff.is_staff(settings=settings, client=client, user_id="U0STAFF2", now=NOW)  # the retry
        emu.fail_next("usergroups.users.list", error="missing_scope")
        assert not StaffDirectory().is_staff(settings=settings, client=client, user_id="U0STAFF2", now=NOW)
