"""Migrations: upgrade from empty creates the models' schema exactly; down and up again works."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database, current_revision, downgrade, head_revision, upgrade
from storage.models import Base


def test_upgrade_from_empty_matches_models(database: Database) -> None:
    with database.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations drifted apart: {diff}"


def test_downgrade_to_base_and_up_again(database: Database) -> None:
    downgrade(database.engine, "base")
    with database.engine.connect() as conn:
        assert current_revision(conn) is None
        assert "experts" not in inspect(conn).get_table_names()
    upgrade(database.engine)
    with database.engine.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_second_open_does_not_migrate_again(database: Database) -> None:
    again = Database(database.url)
    with again.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    again.dispose()
