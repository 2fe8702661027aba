"""A message queued under a dedupe key already used: the same message again (a retried action) is dropped quietly;
a different one would be lost work, so ``enqueue`` says it was not queued and a WARNING names the key and kind."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import outbox
from bot.staff_notices import ChannelCheckFailed
from storage.db import Database
from storage.models import OutboxMessage

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEY = "channel_check_failed:2026-12-01"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wieweet.outbox" and r.levelno == logging.WARNING]


def _count(database: Database) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count(OutboxMessage.id))) or 0)


@pytest.mark.parametrize("flushed", [True, False])
def test_the_same_message_queued_again_is_dropped_quietly(
    database: Database, caplog: pytest.LogCaptureFixture, flushed: bool
) -> None:
    notice = ChannelCheckFailed(day="2026-12-01", attempts=3, error="invalid_auth")
    with database.session() as s:
        assert outbox.enqueue(s, notice, dedupe_key=KEY, now=NOW) is not None
        if flushed:
            s.commit()
        with caplog.at_level(logging.WARNING, logger="wieweet.outbox"):
            assert outbox.enqueue(s, notice, dedupe_key=KEY, now=NOW + timedelta(minutes=1)) is None
    assert _warnings(caplog) == []
    assert _count(database) == 1


@pytest.mark.parametrize("flushed", [True, False])
def test_a_different_message_under_a_used_key_is_not_queued_and_logged(
    database: Database, caplog: pytest.LogCaptureFixture, flushed: bool
) -> None:
    with database.session() as s:
        first = ChannelCheckFailed(day="2026-12-01", attempts=3, error="invalid_auth")
        assert outbox.enqueue(s, first, dedupe_key=KEY, now=NOW) is not None
        if flushed:
            s.commit()
        other = ChannelCheckFailed(day="2026-12-01", attempts=4, error="missing_scope")
        with caplog.at_level(logging.WARNING, logger="wieweet.outbox"):
            assert outbox.enqueue(s, other, dedupe_key=KEY, now=NOW + timedelta(minutes=1)) is None
    assert _warnings(caplog) == [
        f"outbox: not queued, key already used by other content key={KEY} kind=channel_check_failed"
    ]
    assert _count(database) == 1
    with database.session() as s:
        [stored] = s.scalars(select(OutboxMessage)).all()
        assert stored.payload["error"] == "invalid_auth"  # the first one stays
