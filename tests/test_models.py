"""Model constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from storage.db import Database
from storage.models import (
    Consent,
    DigestRun,
    DigestRunStatus,
    Expert,
    Outcome,
    Practice,
    ProcessedEvent,
    Theme,
    expert_themes,
    practice_themes,
)


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


def test_slack_user_id_is_unique_but_may_be_empty_for_many(database: Database) -> None:
    with database.session() as s:
        s.add_all(
            [
                Expert(email="a@x.be", name="A", organisation="X", slack_user_id="U0A"),
                Expert(email="b@x.be", name="B", organisation="X"),
                Expert(email="c@x.be", name="C", organisation="X"),
            ]
        )
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(Expert(email="d@x.be", name="D", organisation="X", slack_user_id="U0A"))


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [("experts", "consent", "maybe"), ("experts", "status", "draft"), ("practices", "outcome", "great")],
)
def test_enum_check_constraints_hold_in_plain_sql(database: Database, table: str, column: str, value: str) -> None:
    with database.session() as s:
        s.add(Expert(email="a@x.be", name="A", organisation="X", consent=Consent.CONFIRMED))
        s.add(Practice(title="T", summary="S", outcome=Outcome.GOOD))
    with pytest.raises(IntegrityError), database.session() as s:
        s.execute(text(f"UPDATE {table} SET {column} = :value"), {"value": value})
    with database.session() as s:  # the valid values are stored as their plain strings
        assert s.execute(text("SELECT consent FROM experts")).scalar_one() == "confirmed"
        assert s.execute(text("SELECT outcome FROM practices")).scalar_one() == "good"


def test_list_fields_round_trip_as_json(database: Database) -> None:
    with database.session() as s:
        s.add(
            Expert(email="a@x.be", name="A", organisation="X", expertise=["financiën", "BBC"], languages=["nl", "fr"])
        )
    with database.session() as s:
        expert = s.scalars(select(Expert)).one()
        assert expert.expertise == ["financiën", "BBC"] and expert.languages == ["nl", "fr"]


def test_theme_links_follow_a_renamed_key(database: Database) -> None:
    with database.session() as s:
        wonen = Theme(key="wonen", label_nl="Wonen", label_en="Housing")
        s.add(Expert(email="a@x.be", name="A", organisation="X", themes=[wonen]))
        s.add(Practice(title="T", summary="S", themes=[wonen]))
    with database.session() as s:
        s.execute(update(Theme).where(Theme.key == "wonen").values(key="woonbeleid"))
    with database.session() as s:
        assert s.execute(select(expert_themes.c.theme_key)).scalars().all() == ["woonbeleid"]
        assert s.execute(select(practice_themes.c.theme_key)).scalars().all() == ["woonbeleid"]
        assert [t.key for t in s.scalars(select(Expert)).one().themes] == ["woonbeleid"]


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
