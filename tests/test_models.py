"""Model constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from storage.db import Database
from storage.models import DigestRun, DigestRunStatus, Expert, Practice, ProcessedEvent, Theme


def test_expert_email_is_unique(database: Database) -> None:
    with database.session() as s:
        s.add(Expert(email="a@x.be", name="A", organisation="X"))
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(Expert(email="a@x.be", name="B", organisation="Y"))


def test_practice_key_is_title_and_city(database: Database) -> None:
    with database.session() as s:
        s.add_all([Practice(title="T", city="Gent", summary="s"), Practice(title="T", city="Aalst", summary="s")])
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(Practice(title="T", city="Gent", summary="again"))


def test_enum_columns_refuse_unknown_values(database: Database) -> None:
    with pytest.raises((IntegrityError, StatementError)), database.session() as s:
        s.add(Expert(email="a@x.be", name="A", organisation="X"))
        s.flush()
        s.execute(text("UPDATE experts SET availability = 'holiday'"))


def test_datetimes_come_back_aware_utc(database: Database) -> None:
    brussels = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 29, 3, 30, tzinfo=brussels)
    with database.session() as s:
        s.add(Expert(email="a@x.be", name="A", organisation="X", last_confirmed_at=moment))
    with database.session() as s:
        value = s.scalars(select(Expert.last_confirmed_at)).one()
    assert value == moment and value is not None and value.tzinfo is UTC


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(StatementError), database.session() as s:
        s.add(Expert(email="a@x.be", name="A", organisation="X", last_confirmed_at=datetime(2026, 1, 1)))
        s.flush()


def test_theme_links_cascade_on_delete(database: Database) -> None:
    with database.session() as s:
        theme = Theme(key="wonen", label_nl="Wonen", label_en="Housing")
        s.add(Expert(email="a@x.be", name="A", organisation="X", themes=[theme]))
    with database.session() as s:
        s.delete(s.get(Theme, "wonen"))
    with database.session() as s:
        assert s.scalars(select(Expert)).one().themes == []


def test_digest_run_unique_per_channel_and_week(database: Database) -> None:
    with database.session() as s:
        s.add(DigestRun(channel_id="C1", period="2026-W48", status=DigestRunStatus.CLAIMED))
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(DigestRun(channel_id="C1", period="2026-W48", status=DigestRunStatus.CLAIMED))


def test_processed_event_key_is_unique(database: Database) -> None:
    with database.session() as s:
        s.add(ProcessedEvent(event_key="msg:C1:1.0"))
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(ProcessedEvent(event_key="msg:C1:1.0"))
