"""``wieweet question close|assign`` queue an inbox request for the running bot (``STAFF_POSTS_KIND``) with their
change, which then updates the question's triage post as the triage channel's buttons do: the outcome shown, the
buttons gone. It stands once the change is committed — also when the command dies right after the commit — and
never otherwise; what is shown is the stored state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.cli import question_cmds
from bot.config import Settings
from bot.outbox import mark_outbox_sent
from bot.routing.staff import STAFF_CLOSED, STAFF_POSTS_KIND
from handlers import ids
from handlers.inbox import InboxWorker
from handlers.services import Services
from handlers.staff_posts import update_after_cli
from storage import inbox_repo, question_repo
from storage.db import Database
from storage.models import EscalationReason, OutboxKind, OutboxMessage, QuestionStatus
from tests.cli import wieweet
from tests.routing.conftest import NOW, World, seed_housing

TRIAGE, POST_TS = "C0TRIAGE1", "1700000100.000100"
LATER = (NOW + timedelta(days=1)).isoformat()


def _posted_escalated(world: World) -> int:
    """An escalated question whose triage post went out."""
    seed_housing(world)
    qid = world.ask()
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.DEADLINE, now=NOW + timedelta(hours=1))
    with world.db.session() as s:
        triage = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.TRIAGE, OutboxMessage.question_id == qid)
        ).one()
        assert mark_outbox_sent(s, message_id=triage.id, ts=POST_TS, channel=TRIAGE, now=NOW + timedelta(hours=1))
    return qid


def _queued(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.inbox_session() as s:
        return [
            (r.request_key, dict(r.payload or {})) for r in inbox_repo.list_inbox_requests(s, kind=STAFF_POSTS_KIND)
        ]


def _services(world: World) -> Services:
    channels = mock.MagicMock()
    channels.is_shared_outside.return_value = False
    return Services(
        settings=Settings(triage_channel_id=TRIAGE, default_language="nl"),
        db=world.db,
        knowledge=world.kb,
        routing=world.service,
        channels=channels,
    )


def _run(world: World, queued: tuple[str, dict[str, Any]]) -> mock.MagicMock:
    key, payload = queued
    job = mock.MagicMock(services=_services(world), payload=payload, key=key)
    update_after_cli(job)
    return job.client  # type: ignore[no-any-return]


def test_a_close_queues_the_post_update_and_the_bot_makes_it_from_the_stored_state(world: World) -> None:
    qid = _posted_escalated(world)
    dry = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "x", "--dry-run", "--now", LATER)
    assert dry.exit_code == 0, dry.output
    assert _queued(world.db) == []  # a dry run queues nothing
    done = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "Beantwoord", "--now", LATER)
    assert done.exit_code == 0, done.output
    assert "in de wachtrij: bijwerken van het bericht in het triagekanaal" in done.output  # WIEWEET_LANGUAGE: nl
    [queued] = _queued(world.db)
    assert queued[1] == {"question_id": qid, "action": STAFF_CLOSED, "by": "anna"}

    client = _run(world, queued)
    [update] = client.chat_update.call_args_list
    assert (update.kwargs["channel"], update.kwargs["ts"]) == (TRIAGE, POST_TS)
    shown = repr(update.kwargs["blocks"]) + update.kwargs["text"]
    assert "anna sloot deze vraag af" in shown and ids.ACTION_TRIAGE_CLOSE not in shown
    assert "Beantwoord" not in shown  # the note is the asker's


def test_without_an_operator_name_the_post_says_staff_did_it_from_the_command_line(world: World) -> None:
    qid = _posted_escalated(world)
    done = wieweet(world.db, "question", "close", str(qid), "--reason", "Beantwoord", "--now", LATER)
    assert done.exit_code == 0, done.output
    [queued] = _queued(world.db)
    [update] = _run(world, queued).chat_update.call_args_list
    assert "Iemand van het kenniscentrum (via de opdrachtregel) sloot deze vraag af" in update.kwargs["text"] + repr(
        update.kwargs["blocks"]
    )


def test_an_assignment_is_shown_while_the_question_is_with_that_expert(world: World) -> None:
    qid = _posted_escalated(world)
    done = wieweet(world.db, "--by", "anna", "question", "assign", str(qid), "--expert", "UEMMA", "--now", LATER)
    assert done.exit_code == 0, done.output
    [queued] = _queued(world.db)
    [update] = _run(world, queued).chat_update.call_args_list
    shown = update.kwargs["text"] + repr(update.kwargs["blocks"])
    assert "anna" in shown and "<@UEMMA>" in shown and ids.ACTION_TRIAGE_CLOSE not in shown


def test_a_queued_assignment_does_not_overwrite_a_later_close(world: World) -> None:
    """The bot was stopped when the command line assigned the question; staff closed it in Slack before the bot ran
    the queued update. The triage post keeps what the close showed: no 'anna asked Emma' on a closed question."""
    qid = _posted_escalated(world)
    done = wieweet(world.db, "--by", "anna", "question", "assign", str(qid), "--expert", "UEMMA", "--now", LATER)
    assert done.exit_code == 0, done.output
    [queued] = _queued(world.db)
    with world.db.session() as s:
        world.service.staff_close(
            s, question_id=qid, actor=Actor.slack("USTAFF01", is_staff=True), note="dup", now=NOW + timedelta(days=2)
        )
    assert not _run(world, queued).chat_update.called


def _killed_after_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command dies right after its transaction committed (a kill, a crash): nothing after the commit runs."""
    committing = question_cmds._settling

    @contextmanager
    def then_killed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with committing(*args, **kwargs) as opened:
            yield opened
        raise RuntimeError("killed right after the commit")

    monkeypatch.setattr(question_cmds, "_settling", then_killed)


def _replica(world: World, name: str) -> InboxWorker:
    return InboxWorker(_services(world), mock.MagicMock(), threads=1, worker_id=f"{name}:1:abc")


def _updates_of_the_triage_post(*workers: InboxWorker) -> int:
    calls = [c for w in workers for c in w.client.chat_update.call_args_list]  # type: ignore[attr-defined]
    return sum((c.kwargs["channel"], c.kwargs["ts"]) == (TRIAGE, POST_TS) for c in calls)


@pytest.mark.parametrize("command", ["close", "assign"])
def test_a_command_killed_right_after_its_commit_still_gets_the_post_updated_once_by_the_next_pass(
    world: World, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The change is committed, the command dies before anything else: the bot's next pass updates the triage
    post all the same (no live buttons on a closed or handed-on question), and two replicas update it once."""
    qid = _posted_escalated(world)
    _killed_after_commit(monkeypatch)
    what = ["--reason", "Beantwoord"] if command == "close" else ["--expert", "UEMMA"]
    killed = wieweet(world.db, "--by", "anna", "question", command, str(qid), *what, "--now", LATER)
    assert isinstance(killed.exception, RuntimeError), killed.output
    with world.db.session() as s:  # the change stands
        expected = QuestionStatus.CLOSED if command == "close" else QuestionStatus.ROUTED
        assert question_repo.get_question(s, question_id=qid).status is expected  # type: ignore[union-attr]

    first, second = _replica(world, "hostA"), _replica(world, "hostB")
    assert first.drain() == 1
    assert second.drain() == 0  # claimed by the other replica
    first.pool.shutdown(wait=True)
    assert second.drain() == 0  # done
    second.pool.shutdown(wait=True)
    assert _updates_of_the_triage_post(first, second) == 1
    [update] = first.client.chat_update.call_args_list  # type: ignore[attr-defined]
    shown = update.kwargs["text"] + repr(update.kwargs["blocks"])
    assert "anna" in shown and ids.ACTION_TRIAGE_CLOSE not in shown


def test_a_command_that_died_before_its_commit_changes_no_post_ever(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request is queued while the change's transaction is open; the command dies before the commit. The
    request does nothing — and still nothing once the question is closed some other way (that close updates the
    posts itself, with its own words)."""
    qid = _posted_escalated(world)
    queue = question_cmds._queue_staff_posts

    def queued_then_killed(*args: Any, **kwargs: Any) -> str:
        queue(*args, **kwargs)
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr(question_cmds, "_queue_staff_posts", queued_then_killed)
    killed = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "x", "--now", LATER)
    assert isinstance(killed.exception, RuntimeError), killed.output
    [queued] = _queued(world.db)
    with world.db.session() as s:
        assert question_repo.get_question(s, question_id=qid).status is QuestionStatus.ESCALATED  # type: ignore[union-attr]
    assert not _run(world, queued).chat_update.called
    with world.db.session() as s:
        world.service.staff_close(
            s, question_id=qid, actor=Actor.slack("USTAFF01", is_staff=True), note="y", now=NOW + timedelta(days=2)
        )
    assert not _run(world, queued).chat_update.called  # run again: the answer holds


def test_a_command_dated_ahead_gets_its_post_updated_now(world: World) -> None:
    """``--now`` dates the change (the question's close), not the post update: that is due at once."""
    qid = _posted_escalated(world)
    ahead = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    done = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "x", "--now", ahead.isoformat())
    assert done.exit_code == 0, done.output
    with world.db.session() as s:
        closed_at = question_repo.get_question(s, question_id=qid).closed_at  # type: ignore[union-attr]
    assert closed_at is not None and closed_at.replace(tzinfo=closed_at.tzinfo or UTC) == ahead
    worker = _replica(world, "hostA")
    assert worker.drain() == 1  # due now, not in 30 days
    worker.pool.shutdown(wait=True)
    assert _updates_of_the_triage_post(worker) == 1
