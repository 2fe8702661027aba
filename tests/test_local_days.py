"""Days people read are the network's local days (``Settings.timezone``), not UTC's: a moment just after local
midnight is of the new day. Pacific/Auckland (UTC+13 in December) tells that apart from both UTC and the default
zone (Brussels): 11:30 UTC on 30 November is 00:30 on 1 December there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.demo import load_demo
from bot.register import consent, profiles
from handlers.blocks.profile import profile_card
from handlers.privacy import command_export
from storage import register_repo
from storage.db import Database
from storage.models import Availability, Expert, OutboxKind, OutboxMessage
from tests.routing.conftest import add_expert, seed_themes

ZONE = "Pacific/Auckland"
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 30, 11, 30, tzinfo=UTC)  # 1 December, 00:30 in Auckland
LOCAL_DAY = "2026-12-01"
A_YEAR_BEFORE = datetime(2025, 11, 30, 11, 30, tzinfo=UTC)  # 1 December 2025, 00:30 in Auckland


@pytest.fixture
def expert(database: Database) -> Iterator[int]:
    with database.session() as s:
        seed_themes(s)
        found = add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"])
        found.last_confirmed_at = A_YEAR_BEFORE  # due for re-confirmation
        expert_id = found.id
    yield expert_id


def test_the_profile_card_shows_the_local_day_of_the_last_confirmation(database: Database, expert: int) -> None:
    with database.session() as s:
        found = s.get(Expert, expert)
        assert found is not None
        found.last_confirmed_at = JUST_AFTER_MIDNIGHT
        card = profile_card(found, "en", stale=False, tz=ZoneInfo(ZONE))
        payload = profiles.profile_payload(found, tz=ZoneInfo(ZONE))
    assert card.last_confirmed == LOCAL_DAY and payload.last_confirmed == LOCAL_DAY


def test_the_consent_request_names_the_local_day_of_the_last_confirmation(database: Database, expert: int) -> None:
    with database.session() as s:
        now = JUST_AFTER_MIDNIGHT + timedelta(days=1)
        queued = consent.request_confirmations(s, now=now, reconfirm_days=365, tz=ZoneInfo(ZONE))
    assert queued == 1
    with database.session() as s:
        message = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CONSENT_REQUEST)).one()
        assert message.payload["last_confirmed"] == "2025-12-01"


def test_the_audit_log_shows_the_networks_local_time(database: Database) -> None:
    with database.session() as s:
        register_repo.create_audit_log(
            s, actor="cli:test", action="close", entity_type="question", entity_key="7", before=None, after=None,
            now=JUST_AFTER_MIDNIGHT,
        )  # fmt: skip
    done = CliRunner().invoke(main, ["--database", database.url, "audit"], env={"WIEWEET_TIMEZONE": ZONE})
    assert done.exit_code == 0, done.output
    assert "2026-12-01 00:30:00" in done.output


def test_a_personal_data_export_is_named_after_the_local_day() -> None:
    turn = mock.MagicMock()
    turn.user_id, turn.now = "U0ASKER01", JUST_AFTER_MIDNIGHT
    turn.services.settings.timezone = ZONE
    turn.client.conversations_open.return_value = {"channel": {"id": "D0ASKER01"}}
    with mock.patch("handlers.privacy.export_personal_data", return_value={}):
        command_export(turn)
    assert turn.client.files_upload_v2.call_args.kwargs["filename"] == f"wieweet-{LOCAL_DAY}.json"


def test_the_demos_away_experts_return_on_days_counted_from_the_local_day(database: Database) -> None:
    """``wieweet demo`` run just after local midnight: the away experts' return days count from the new local day
    (as ``Expert.away_until``, a local day, is read), not from UTC's day before."""
    with database.session() as s:
        load_demo(s, now=JUST_AFTER_MIDNIGHT, zone=ZoneInfo(ZONE))
    with database.session() as s:
        experts = register_repo.list_experts(s)
        starts = {
            e.away_until - timedelta(days=10 + n % 20)
            for n, e in enumerate(experts)
            if e.availability is Availability.AWAY and e.away_until is not None
        }
    assert starts == {date(2026, 12, 1)}


def test_the_demo_command_loads_the_demo_in_the_networks_zone(database: Database) -> None:
    with mock.patch("bot.cli.demo_cmds.load_demo", wraps=load_demo) as loading:
        done = CliRunner().invoke(
            main, ["--database", database.url, "demo", "--no-console"], env={"WIEWEET_TIMEZONE": ZONE}
        )
    assert done.exit_code == 0, done.output
    assert loading.call_args.kwargs["zone"] == ZoneInfo(ZONE)
