"""The restore commands (``queued discard``, ``digest mark-posted``) are meant to run with every replica stopped. When
one is still running, they leave alone what it holds — a message it is posting, a timer it is running, a digest it
is posting (a claim fresher than the stale window) — and say so, instead of ending it under the process' feet and
reporting it done. Every time option of the command line refuses a time outside the usable years in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.outbox import mark_outbox_post_started, mark_outbox_sent
from digests.schedule import due_digests
from storage import digest_repo, outbox_repo, routing_repo
from storage.db import Database
from storage.models import AuditLog, DigestRunStatus, DigestSubscription, OutboxKind, TimerKind
from tests.cli import wieweet, wieweet_in

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # a Tuesday, week 2026-W49
AT_NOW = ("--now", NOW.isoformat())
LIVE = timedelta(minutes=2)  # a claim this old is a running process's (the stale window is 10 minutes)
STALE = timedelta(minutes=11)  # ... and this old a crashed one's


def _messages(db: Database, n: int) -> list[int]:
    ids = []
    with db.session() as session:
        for i in range(n):
            message = outbox_repo.create_outbox_message(
                session,
                kind=OutboxKind.EXPERT_REQUEST,
                dedupe_key=f"live-{i}",
                now=NOW - timedelta(hours=1),
                payload={"text": "x"},
                recipient_slack_id="U0LIEVE01",
            )
            assert message is not None
            session.flush()
            ids.append(message.id)
        session.commit()
    return ids


def _claim_message(db: Database, message_id: int, *, at: datetime, worker: str, post: bool) -> None:
    """``worker`` claims the message at ``at`` (and, with ``post``, starts posting it)."""
    with db.session() as session:
        claimed = outbox_repo.claim_outbox_messages(
            session, now=at, worker_id=worker, limit=1, stale_before=at - timedelta(minutes=10)
        )
        assert claimed == [message_id]
        if post:
            assert mark_outbox_post_started(session, message_id=message_id, worker_id=worker, now=at)
        session.commit()


def _discards(db: Database) -> list[AuditLog]:
    with db.session() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == "discard").order_by(AuditLog.id)))


def test_discard_leaves_a_message_a_running_process_is_posting(database: Database) -> None:
    """Finding: the DM went out, the sender could not record it (its ts lost), and the operator read
    "discarded 1"."""
    (mid,) = _messages(database, 1)
    wall = datetime.now(UTC)  # the discard compares claims with the clock
    _claim_message(database, mid, at=wall - LIVE, worker="replica-1", post=True)

    dry = wieweet(database, "queued", "discard", "--message", str(mid), "--dry-run")  # Dutch by default
    assert dry.exit_code == 1, dry.output  # as the real run: nothing could be discarded
    assert f"een draaiend proces verstuurt ze nu: bericht {mid} (stop eerst" in dry.output
    assert "zou 0 berichten en 0 timers weggooien" in dry.output
    done = wieweet_in(database, "en", "queued", "discard", "--message", str(mid))
    assert done.exit_code == 1, done.output  # nothing could be discarded
    assert f"being sent now by a running process: message {mid}" in done.output
    assert "discarded 0 messages and 0 timers" in done.output
    with database.session() as session:  # Slack took the post: the replica records it
        assert mark_outbox_sent(session, message_id=mid, ts="1.2", channel="D0X", now=wall, worker_id="replica-1")
        session.commit()
        message = outbox_repo.get_outbox_message(session, message_id=mid)
        assert message is not None and message.ended_at is None and message.sent_ts == "1.2"
    (entry,) = _discards(database)
    assert entry.after["messages"] == 0 and entry.after["message_ids"] == []
    assert entry.after["skipped_message_ids"] == [mid]


def test_discard_before_a_time_ends_the_others_and_counts_what_it_ended(database: Database) -> None:
    """A message a live sender claimed (post not started yet), one a crashed sender left started and one never
    claimed: the two not held are ended, and the count and ids printed and audited are those two."""
    live, crashed, idle = _messages(database, 3)
    wall = datetime.now(UTC)
    _claim_message(database, live, at=wall - LIVE, worker="replica-1", post=False)
    _claim_message(database, crashed, at=wall - STALE, worker="replica-0", post=True)

    done = wieweet_in(database, "en", "queued", "discard", "--messages-before", NOW.isoformat(), "--dry-run")
    assert done.exit_code == 0, done.output
    assert f"would discard 2 messages ({crashed}, {idle}) and 0 timers" in done.output
    assert f"being sent now by a running process: message {live}" in done.output

    done = wieweet_in(database, "en", "queued", "discard", "--messages-before", NOW.isoformat())
    assert done.exit_code == 0, done.output
    assert "discarded 2 messages and 0 timers" in done.output
    assert f"being sent now by a running process: message {live}" in done.output
    with database.session() as session:
        ended = {m.id: m.ended_reason for m in outbox_repo.list_outbox_messages(session, ids=[live, crashed, idle])}
    assert ended == {live: None, crashed: "discarded", idle: "discarded"}
    (entry,) = _discards(database)
    assert entry.after["messages"] == 2 and entry.after["message_ids"] == [crashed, idle]
    assert entry.after["skipped_message_ids"] == [live]


def _timer(db: Database, *, claimed: datetime | None) -> int:
    with db.session() as session:
        timer = routing_repo.create_timer(
            session, kind=TimerKind.RECONFIRM, due_at=NOW - timedelta(minutes=5), now=NOW - timedelta(hours=1)
        )
        session.flush()
        if claimed is not None:
            assert routing_repo.claim_due_timers(
                session, now=claimed, worker_id="replica-1", limit=1, stale_before=claimed - timedelta(minutes=10)
            ) == [timer.id]
        session.commit()
        return timer.id


def test_discard_leaves_a_timer_a_running_process_is_running(database: Database) -> None:
    wall = datetime.now(UTC)
    running = _timer(database, claimed=wall - LIVE)
    done = wieweet_in(database, "en", "queued", "discard", "--timer", str(running))
    assert done.exit_code == 1, done.output
    assert f"being sent now by a running process: timer {running}" in done.output
    with database.session() as session:  # the pass finishes it as its own
        assert routing_repo.update_claimed_timer_done(session, timer_id=running, worker_id="replica-1", now=wall)
        session.commit()

    crashed, idle = _timer(database, claimed=wall - STALE), _timer(database, claimed=None)
    done = wieweet_in(database, "en", "queued", "discard", "--timers-before", NOW.isoformat())
    assert done.exit_code == 0, done.output
    assert "discarded 0 messages and 2 timers" in done.output and "running process" not in done.output
    with database.session() as session:
        assert routing_repo.list_pending_timers(session) == []
    assert [e.after["timer_ids"] for e in _discards(database)] == [[], [crashed, idle]]


def _subscribe(db: Database, *channels: tuple[str, int]) -> None:
    with db.session() as session:
        for channel, weekday in channels:
            session.add(DigestSubscription(channel_id=channel, weekday=weekday, hour=8, minute=0, themes=[]))
        session.commit()


def test_mark_posted_leaves_a_digest_a_running_process_is_posting(database: Database) -> None:
    """Finding: the run was set to sent under the replica, which stopped halfway (part of the digest posted)."""
    _subscribe(database, ("C0WONEN01", 1), ("C0EUROPA1", 1))
    with database.session() as session:
        run = digest_repo.claim_digest_run(
            session, channel_id="C0WONEN01", period="2026-W49", worker_id="replica-1", now=NOW - LIVE
        )
        assert run is not None
        run_id = run.id
        session.commit()
    done = wieweet(database, "digest", "mark-posted", "--week", "2026-W49", *AT_NOW)
    assert done.exit_code == 0, done.output
    assert "1 digest van 2026-W49 als gepost gemarkeerd; 0 waren al gepost; 0 nog niet aan de beurt" in done.output
    assert "wordt nu gepost door een lopend proces (daaraan overgelaten): C0WONEN01" in done.output
    with database.session() as session:  # the replica posts its next part and finishes
        assert digest_repo.update_digest_run_parts_sent(
            session, run_id=run_id, worker_id="replica-1", parts_sent=["1.1"]
        )
        assert digest_repo.update_digest_run_finished(
            session, run_id=run_id, worker_id="replica-1", status=DigestRunStatus.SENT, now=NOW
        )
        session.commit()
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "mark_posted")).one()
    assert entry.after == {"channels": 2, "marked": 1, "already_sent": 0, "not_due": 0, "posting": 1}

    done = wieweet_in(database, "en", "digest", "mark-posted", "--week", "2026-W49", "--channel", "C0WONEN01", *AT_NOW)
    assert "marked 0 digests of 2026-W49 as posted; 1 was posted already" in done.output


def test_mark_posted_takes_over_a_crashed_senders_run(database: Database) -> None:
    _subscribe(database, ("C0WONEN01", 1))
    with database.session() as session:
        assert digest_repo.claim_digest_run(
            session, channel_id="C0WONEN01", period="2026-W49", worker_id="replica-0", now=NOW - STALE
        )
        session.commit()
    done = wieweet(database, "digest", "mark-posted", "--week", "2026-W49", "--channel", "C0WONEN01", *AT_NOW)
    assert done.exit_code == 0, done.output
    assert "1 digest van" in done.output and "lopend proces" not in done.output
    with database.session() as session:
        assert due_digests(session, now=NOW) == []


def test_mark_posted_for_one_channel_leaves_a_digest_not_due_yet(database: Database) -> None:
    """Finding: with --channel, Friday's digest was marked on Tuesday, and that week's never went out."""
    _subscribe(database, ("C0FRIDAY1", 4))
    done = wieweet_in(database, "en", "digest", "mark-posted", "--week", "2026-W49", "--channel", "C0FRIDAY1", *AT_NOW)
    assert done.exit_code == 0, done.output
    assert "marked 0 digests of 2026-W49 as posted; 0 were posted already; 1 not due yet" in done.output
    friday = NOW + timedelta(days=3)
    with database.session() as session:
        assert [s.channel_id for s, _ in due_digests(session, now=friday)] == ["C0FRIDAY1"]
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "mark_posted")).one()
    assert entry.after == {"channels": 0, "marked": 0, "already_sent": 0, "not_due": 1, "posting": 0}
    done = wieweet(database, "digest", "mark-posted", "--week", "2026-W48", "--channel", "C0FRIDAY1", *AT_NOW)
    assert "1 digest van 2026-W48 als gepost gemarkeerd" in done.output  # last week's had its time


# Every time option of the command line, each with a hostile time: year 1 and year 9999 with an offset (no UTC
# time exists), and year 1 in UTC (a time, but no window or week before it).
TIME_OPTIONS = [
    ("queued", "list", "--now"),
    ("queued", "discard", "--messages-before"),
    ("queued", "discard", "--timers-before"),
    ("digest", "--dry-run", "--now"),
    ("digest", "mark-posted", "--week", "2026-W49", "--now"),
    ("needs", "--now"),
    ("needs", "proposals", "--now"),
    ("report", "report.xlsx", "--now"),
]
HOSTILE_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00", "0001-01-01T00:05:00+00:00"]


@pytest.mark.parametrize("command", TIME_OPTIONS, ids=" ".join)
def test_far_times_are_one_clear_line_on_every_time_option(
    database: Database, command: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory
) -> None:
    (mid,) = _messages(database, 1)
    folder = tmp_path_factory.mktemp("out")
    option = command[-1]
    for value in HOSTILE_TIMES:
        args = [str(folder / a) if a.endswith(".xlsx") else a for a in command]
        done = wieweet(database, *args, value)
        assert done.exit_code == 2, (value, done.output, repr(done.exception))
        assert not isinstance(done.exception, OverflowError), repr(done.exception)
        said = f"ongeldige {option} {value!r}: het jaar moet tussen 1900 en 8999 liggen"  # WIEWEET_LANGUAGE: nl
        assert said in done.output, done.output
        assert len(done.output.strip().splitlines()) == 1, done.output
    with database.session() as session:
        assert [m.id for m in outbox_repo.list_queued_outbox_messages(session)] == [mid]
        assert session.scalars(select(AuditLog)).all() == []


def test_mark_posted_exits_1_when_all_it_could_mark_is_left_to_a_running_sender(database: Database) -> None:
    """As ``queued discard``: nothing marked because a running process holds it is not a success."""
    _subscribe(database, ("C0WONEN01", 1))
    with database.session() as session:
        assert digest_repo.claim_digest_run(
            session, channel_id="C0WONEN01", period="2026-W49", worker_id="replica-1", now=NOW - LIVE
        )
        session.commit()
    done = wieweet_in(database, "en", "digest", "mark-posted", "--week", "2026-W49", *AT_NOW)
    assert "marked 0 digests" in done.output and "(left alone): C0WONEN01" in done.output, done.output
    assert done.exit_code == 1, done.output
