"""Every member's ``user_change`` (a status, a title) is matched before its ack: it must not open a database session
per event. The ids of experts marked away as deactivated are read at most once a minute (this process's own marks
and reactivations show at once), and a database that cannot be read is logged once, not per event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from handlers.marked_away import MarkedAwayCache
from handlers.profile_change import worth_a_look
from tests.clock import Clock


def _change(user_id: str) -> dict[str, Any]:
    return {"event": {"type": "user_change", "user": {"id": user_id, "team_id": "T0HOME001", "profile": {}}}}


def _services(marked: set[str], *, broken: bool = False) -> tuple[SimpleNamespace, list[int], Clock]:
    opened: list[int] = []

    @contextmanager
    def session() -> Iterator[object]:
        opened.append(1)
        if broken:
            raise OSError("the database is down")
        yield object()

    clock = Clock(1000.0)
    cache = MarkedAwayCache(clock=clock, load=lambda session: frozenset(marked))
    return SimpleNamespace(db=SimpleNamespace(session=session), marked_away=cache), opened, clock


def test_profile_changes_read_the_marked_away_ids_once_a_minute() -> None:
    services, opened, clock = _services({"U0GONE001"})
    matches = worth_a_look(services)  # type: ignore[arg-type]
    assert [matches(_change(u)) for u in ("U0CITY001", "U0CITY002", "U0GONE001", "U0CITY001")] == [
        False,
        False,
        True,
        False,
    ]
    assert len(opened) == 1
    services.marked_away.marked("U0CITY002")  # this process marks one away: seen at once
    services.marked_away.cleared("U0GONE001")  # and clears one
    assert (matches(_change("U0CITY002")), matches(_change("U0GONE001"))) == (True, False)
    assert len(opened) == 1
    clock.now += 61
    assert matches(_change("U0GONE001")) is True  # read again after a minute
    assert len(opened) == 2


def test_a_database_that_cannot_be_read_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    services, opened, clock = _services(set(), broken=True)
    matches = worth_a_look(services)  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="handlers"):
        assert not any(matches(_change(f"U0CITY00{n}")) for n in range(1, 6))
        clock.now += 61
        assert not matches(_change("U0CITY001"))
    assert len(opened) == 2  # tried again after a minute, not per event
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].exc_info is None
