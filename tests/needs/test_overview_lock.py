"""The needs overview (`wieweet needs`, Slack "behoeften") places the new questions in a unit of work of its own,
committed before the overview reads: the grouping lock (on SQLite the whole database's write lock) is held for the
grouping only, never while the figures are read and shown (review51 #4), as ``collect_report_to_share`` does for a
report. Checked from another process's engine while the overview reads: the lock is free, the placements visible."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.needs.core import NeedsCore, NeedsState
from bot.needs.periods import parse_period
from storage import needs_repo, register_repo
from storage.db import create_db_engine
from storage.models import NeedItem
from tests.cli import wieweet
from tests.needs.conftest import NOW, STAFF, Network


@pytest.fixture
def while_reading(network: Network, monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int]]:
    """For each time the overview reads every question (``NeedsCore.state``): whether another process may take the
    grouping lock then, and how many placements it sees committed."""
    seen: list[tuple[bool, int]] = []
    state = NeedsCore.state

    def watched(core: NeedsCore, session: Session, *, topic_ids: Collection[int] | None = None) -> NeedsState:
        engine = create_db_engine(network.database.url, pooled=False)
        other = Session(engine)
        try:
            free = needs_repo.claim_needs_lock(other, wait=False)
            seen.append((free, other.scalar(select(func.count()).select_from(NeedItem)) or 0))
            other.rollback()
        finally:
            other.close()
            engine.dispose()
        return state(core, session, topic_ids=topic_ids)

    monkeypatch.setattr(NeedsCore, "state", watched)
    return seen


def test_the_slack_overview_reads_after_the_grouping_committed(
    network: Network, while_reading: list[tuple[bool, int]]
) -> None:
    with network.database.session() as session:
        overview = network.service.overview_after_grouping(
            session, actor=STAFF, period=parse_period("2026-Q4"), now=NOW
        )
    assert overview.topics  # the new questions were placed first
    assert while_reading == [(True, 8)], while_reading


def test_the_cli_overview_reads_after_the_grouping_committed(
    network: Network, while_reading: list[tuple[bool, int]]
) -> None:
    result = wieweet(network.database, "needs", "--period", "2026-Q4", "--now", NOW.isoformat(), "--json")
    assert result.exit_code == 0, result.output
    assert while_reading == [(True, 8)], while_reading


def test_the_overview_of_a_request_that_has_written_skips_the_grouping_on_sqlite(network: Network) -> None:
    """A request that wrote before asking for the overview holds, on SQLite, the database's write lock until it
    commits: the grouping's unit of work of its own cannot take it and is skipped at once (it neither waits nor
    fails), as a report's is; the overview shows what is placed so far. (No Slack request writes before it asks.)
    On PostgreSQL the request's writes hold no grouping lock: the new questions are placed first."""
    with network.database.session() as session:
        register_repo.create_audit_log(
            session, actor="test", action="test", entity_type="test", entity_key="1", before=None, after={}, now=NOW
        )
        session.flush()
        overview = network.service.overview_after_grouping(
            session, actor=STAFF, period=parse_period("2026-Q4"), now=NOW
        )
    sqlite = network.database.dialect == "sqlite"
    assert bool(overview.topics) is not sqlite
    with network.database.session() as session:
        assert session.scalar(select(func.count()).select_from(NeedItem)) == (0 if sqlite else 8)
