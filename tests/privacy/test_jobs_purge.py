"""The daily retention purge in ``wieweet run``'s background jobs: time injected, once per day over processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.config import Settings
from bot.inbox import change_committed, once, record_with_change
from bot.jobs import JobRunner
from bot.knowledge import KnowledgeBase
from bot.routing import RoutingService
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.db import Database
from storage.models import AuditLog, InboxRequest, ProcessedEvent, SlackUser
from tests.cli import wieweet
from tests.clock import Clock

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def runner(database: Database, clock: Clock[datetime]) -> JobRunner:
    kb = KnowledgeBase(database)
    services = Services(settings=Settings(), db=database, knowledge=kb, clock=clock)
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
    return JobRunner(
        services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client), worker_id="test"
    )


def test_purge_runs_once_a_day_across_processes(database: Database) -> None:
    with database.session() as s:
        s.add(ProcessedEvent(event_key="old", kind="event", received_at=NOW - timedelta(days=31)))
        s.add(ProcessedEvent(event_key="new", kind="event", received_at=NOW - timedelta(days=1)))
        s.add(SlackUser(slack_user_id="U0OLD0001", name="Oud", fetched_at=NOW - timedelta(days=91)))
    clock = Clock(NOW)
    first, second = runner(database, clock), runner(database, clock)
    counts = first.purge_expired_data()
    assert counts is not None and counts["request_events"] == 1 and counts["slack_users"] == 1
    assert first.purge_expired_data() is None  # this process: already done today
    assert second.purge_expired_data() is None  # another process: the day is claimed in the database
    with database.session() as s:
        keys = set(s.scalars(select(ProcessedEvent.event_key)))
        assert keys == {"new", f"retention_purge:{NOW.date().isoformat()}"}
    clock.now = NOW + timedelta(days=30, hours=1)
    counts = second.purge_expired_data()
    assert counts is not None and counts["request_events"] == 2  # "new" and yesterday's claim: 31 days old
    first.run_pass()  # the regular pass includes it (already done today: nothing happens, nothing fails)


def _purges(database: Database) -> list[AuditLog]:
    with database.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == "purge").order_by(AuditLog.id)))


def test_the_daily_purge_is_audited_as_the_system_with_its_counts_only_when_something_went(database: Database) -> None:
    clock = Clock(NOW)
    jobs = runner(database, clock)
    counts = jobs.purge_expired_data()
    assert counts is not None and not any(counts.values())
    assert _purges(database) == []  # nothing went: nothing to audit
    with database.session() as s:
        s.add(SlackUser(slack_user_id="U0OLD0001", name="Oud", fetched_at=NOW - timedelta(days=91)))
    clock.now = NOW + timedelta(days=1)
    counts = jobs.purge_expired_data()
    assert counts is not None and counts["slack_users"] == 1
    (entry,) = _purges(database)
    assert (entry.actor, entry.entity_type, entry.entity_key) == ("system", "retention", "expired")
    assert entry.before is None and entry.after == {k: v for k, v in counts.items() if k != "inbox_requests"}


def test_the_inbox_is_purged_only_after_the_days_purge_committed_with_an_audit_entry_of_its_own(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox may be a file of its own: its deletions are committed apart. They come after the day's purge is
    committed, so a purge whose transaction fails (here: its audit entry) never leaves inbox deletions that no audit
    entry counts."""
    clock = Clock(NOW)
    jobs = runner(database, clock)
    with database.session() as s:
        s.add(SlackUser(slack_user_id="U0OLD0001", name="Oud", fetched_at=NOW - timedelta(days=91)))
    with database.inbox_session() as s:
        s.add(InboxRequest(request_key="msg:C1:1.0", kind="mention", received_at=NOW - timedelta(days=40), done_at=NOW))

    def failing_audit(*_: object, **__: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("bot.jobs.record_purge", failing_audit)
    with pytest.raises(RuntimeError):
        jobs.purge_expired_data()
    with database.inbox_session() as s:
        assert len(list(s.scalars(select(InboxRequest)))) == 1  # untouched: the day's purge was rolled back
    monkeypatch.undo()
    counts = jobs.purge_expired_data()
    assert counts is not None and counts["slack_users"] == 1 and counts["inbox_requests"] == 1
    day, inbox = _purges(database)
    assert day.after is not None and day.after["slack_users"] == 1 and "inbox_requests" not in day.after
    assert inbox.actor == "system" and inbox.after == {"inbox_requests": 1}
    with database.inbox_session() as s:
        assert list(s.scalars(select(InboxRequest))) == []


def _queued_with_change(database: Database, key: str, *, at: datetime) -> None:
    """A command's change, committed at ``at`` with the request it queued for the running bot (and the mark of a
    step an earlier attempt of that request made)."""
    with database.session() as s:
        s.add(AuditLog(actor="cli:test", action="close", entity_type="question", entity_key=key, at=at))
        record_with_change(s, database, request_key=key, kind="test", payload={}, now=at)
        assert once(s, step="asked", request_key=key, now=at, make=lambda: 7) == 7


def _worker_sees(database: Database, key: str, *, now: datetime) -> tuple[bool, int | None]:
    """What the request's worker reads: whether the change committed, and what the earlier attempt made."""
    with database.session() as s:
        made = once(s, step="asked", request_key=key, now=now, make=lambda: 8)
        return change_committed(s, request_key=key, now=now), made


def test_the_marks_of_a_request_still_waiting_after_40_days_survive_the_daily_purge(database: Database) -> None:
    """The bot was stopped for 40 days: a request queued with a committed change is still pending. The purge keeps
    its marks (30 days is for finished requests' marks and delivery keys), so it still runs, once."""
    _queued_with_change(database, "cli:waiting", at=NOW - timedelta(days=40))
    _queued_with_change(database, "cli:handled", at=NOW - timedelta(days=40))
    with database.inbox_session() as s:
        handled = s.scalars(select(InboxRequest).where(InboxRequest.request_key == "cli:handled")).one()
        handled.done_at = NOW - timedelta(days=39)
    counts = runner(database, Clock(NOW)).purge_expired_data()
    assert counts is not None and counts["request_events"] == 2  # the handled request's marks
    with database.session() as s:
        keys = set(s.scalars(select(ProcessedEvent.event_key).where(ProcessedEvent.event_key.contains("cli:"))))
    assert keys == {"change:cli:waiting", "asked:cli:waiting"}
    assert _worker_sees(database, "cli:waiting", now=NOW) == (True, 7)  # honoured: committed, not made again


def test_the_purge_command_keeps_the_marks_of_a_request_still_waiting(database: Database) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    _queued_with_change(database, "cli:waiting", at=old)
    done = wieweet(database, "privacy", "purge")
    assert done.exit_code == 0, done.output
    assert "opgeruimd request_events: 0" in done.output
    assert _worker_sees(database, "cli:waiting", now=datetime.now(UTC)) == (True, 7)
