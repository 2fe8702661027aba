"""``directory.cache_user_apart`` caches a Slack profile in a transaction of its own. On SQLite that second
connection's write waits for the database's write lock: when the caller's own transaction holds it (after a write or
a mere lock read), it would wait the whole busy timeout for its own thread. It skips at once instead (the language is
known in memory; a later fetch stores it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import directory
from storage import register_repo
from storage.db import Database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _expert(database: Database) -> int:
    with database.session() as session:
        expert = register_repo.create_expert(
            session, email="an@gent.be", name="An", organisation="Gent", source="test", now=NOW
        )
        session.flush()
        return expert.id


def _cached(database: Database) -> directory.CachedUser | None:
    with database.session() as session:
        return directory.get_cached_user(session, user_id="U1")


def test_cached_apart_while_the_caller_only_read(database: Database) -> None:
    expert_id = _expert(database)
    with database.session() as session:
        assert register_repo.get_expert(session, expert_id=expert_id) is not None  # a plain read holds nothing
        assert directory.cache_user_apart(session, user_id="U1", locale="en-GB", name="An", now=NOW)
        assert _cached(database) is not None  # committed at once, apart from the caller's unit of work
    cached = _cached(database)
    assert cached is not None and cached.locale == "en-GB"


def test_never_waits_for_the_callers_own_write_lock(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    expert_id = _expert(database)
    tried: list[Any] = []
    real = directory.cache_user

    def cache_user(session: Any, **kwargs: Any) -> None:
        tried.append(kwargs)
        real(session, **kwargs)

    monkeypatch.setattr(directory, "cache_user", cache_user)
    with database.session() as session:
        assert register_repo.get_expert(session, expert_id=expert_id, lock=True) is not None
        cached = directory.cache_user_apart(session, user_id="U1", locale="en-GB", name="An", now=NOW)
    if database.dialect == "sqlite":  # the caller holds the whole database's write lock: skipped, not tried
        assert (cached, tried) == (False, [])
        assert _cached(database) is None
    else:  # PostgreSQL locks the expert's row only: the profile is cached
        assert cached and len(tried) == 1
        assert _cached(database) is not None
