"""A user's cached Slack profile is written on a request's way to Slack (the language looked up before a command's
modal opens, whose trigger lives 3 s): while another process holds the database's write lock it gives up after a
moment, on both databases, instead of waiting for the lock (PostgreSQL waited for ever, SQLite for its 20 s busy
timeout). The connection keeps its own busy timeout afterwards."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from bot.directory import cache_user_apart
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from storage.models import SlackUser
from tests.e2e.chaos import database_locked

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_the_profile_cache_does_not_wait_for_a_held_write_lock(database: Database) -> None:
    stored: list[bool] = []
    with database_locked(database.url, inbox=True) as lock, database.session() as session:
        writer = threading.Thread(
            target=lambda: stored.append(
                cache_user_apart(session, user_id="U0LOCKED1", locale="en-GB", name="Sam", now=NOW)
            ),
            daemon=True,
        )
        writer.start()
        writer.join(60)  # a bound for a failure only: the lock stands until the block ends, however long this takes
        assert stored == [False] and lock.held.is_set()  # skipped while the lock still stood: it did not wait for it
    with database.session() as session:
        assert session.scalars(select(SlackUser)).all() == []
        assert cache_user_apart(session, user_id="U0LOCKED1", locale="en-GB", name="Sam", now=NOW)
    with database.session() as session:
        assert [u.locale for u in session.scalars(select(SlackUser))] == ["en-GB"]
        if database.url.startswith("sqlite"):  # the pooled connection's own busy timeout is back
            assert session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
