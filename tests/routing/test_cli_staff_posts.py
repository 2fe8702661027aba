"""``wieweet question close|assign`` queue an inbox request for the running bot (``STAFF_POSTS_KIND``), which then
updates the question's triage post as the triage channel's buttons do: the outcome shown, the buttons gone. What
is shown is the stored state: a request whose change is not (or not yet) stored changes no post."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.actors import Actor
from bot.cli import main
from bot.config import Settings
from bot.outbox import mark_outbox_sent
from bot.routing.staff import STAFF_CLOSED, STAFF_POSTS_KIND
from handlers import ids
from handlers.services import Services
from handlers.staff_posts import update_after_cli
from storage import inbox_repo
from storage.db import Database
from storage.models import EscalationReason, OutboxKind, OutboxMessage
from tests.routing.conftest import NOW, World, seed_housing, seed_themes

TRIAGE, POST_TS = "C0TRIAGE1", "1700000100.000100"
LATER = (NOW + timedelta(days=1)).isoformat()


def wieweet(db: Database, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", db.url, *args])


@pytest.fixture
def world(database: Database) -> Iterator[World]:
    w = World(database)
    with database.session() as s:
        seed_themes(s)
    yield w
    w.kb.close()


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


def _queued(db: Database) -> list[dict[str, Any]]:
    with db.inbox_session() as s:
        return [dict(r.payload or {}) for r in inbox_repo.list_inbox_requests(s, kind=STAFF_POSTS_KIND)]


def _run(world: World, payload: dict[str, Any]) -> mock.MagicMock:
    channels = mock.MagicMock()
    channels.is_shared_outside.return_value = False
    services = Services(
        settings=Settings(triage_channel_id=TRIAGE, default_language="nl"),
        db=world.db,
        knowledge=world.kb,
        routing=world.service,
        channels=channels,
    )
    job = mock.MagicMock(services=services, payload=payload, key="staff_posts:test")
    update_after_cli(job)
    return job.client  # type: ignore[no-any-return]


def test_a_close_queues_the_post_update_and_the_bot_makes_it_from_the_stored_state(world: World) -> None:
    qid = _posted_escalated(world)
    ahead = {"question_id": qid, "action": STAFF_CLOSED, "by": "anna"}
    assert not _run(world, ahead).chat_update.called  # not closed (yet): the post stays as it is

    dry = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "x", "--dry-run", "--now", LATER)
    assert dry.exit_code == 0, dry.output
    assert _queued(world.db) == []  # a dry run queues nothing
    done = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "Beantwoord", "--now", LATER)
    assert done.exit_code == 0, done.output
    assert "queued: update of the triage post" in done.output
    [payload] = _queued(world.db)
    assert payload == ahead

    client = _run(world, payload)
    [update] = client.chat_update.call_args_list
    assert (update.kwargs["channel"], update.kwargs["ts"]) == (TRIAGE, POST_TS)
    shown = repr(update.kwargs["blocks"]) + update.kwargs["text"]
    assert "anna sloot deze vraag af" in shown and ids.ACTION_TRIAGE_CLOSE not in shown
    assert "Beantwoord" not in shown  # the note is the asker's


def test_without_an_operator_name_the_post_says_staff_did_it_from_the_command_line(world: World) -> None:
    qid = _posted_escalated(world)
    done = wieweet(world.db, "question", "close", str(qid), "--reason", "Beantwoord", "--now", LATER)
    assert done.exit_code == 0, done.output
    [payload] = _queued(world.db)
    [update] = _run(world, payload).chat_update.call_args_list
    assert "Iemand van het kenniscentrum (via de opdrachtregel) sloot deze vraag af" in update.kwargs["text"] + repr(
        update.kwargs["blocks"]
    )


def test_an_assignment_is_shown_while_the_question_is_with_that_expert(world: World) -> None:
    qid = _posted_escalated(world)
    done = wieweet(world.db, "--by", "anna", "question", "assign", str(qid), "--expert", "UEMMA", "--now", LATER)
    assert done.exit_code == 0, done.output
    [payload] = _queued(world.db)
    [update] = _run(world, payload).chat_update.call_args_list
    shown = update.kwargs["text"] + repr(update.kwargs["blocks"])
    assert "anna" in shown and "<@UEMMA>" in shown and ids.ACTION_TRIAGE_CLOSE not in shown


def test_a_queued_assignment_does_not_overwrite_a_later_close(world: World) -> None:
    """The bot was stopped when the command line assigned the question; staff closed it in Slack before the bot ran
    the queued update. The triage post keeps what the close showed: no 'anna asked Emma' on a closed question."""
    qid = _posted_escalated(world)
    done = wieweet(world.db, "--by", "anna", "question", "assign", str(qid), "--expert", "UEMMA", "--now", LATER)
    assert done.exit_code == 0, done.output
    [payload] = _queued(world.db)
    with world.db.session() as s:
        world.service.staff_close(
            s, question_id=qid, actor=Actor.slack("USTAFF01", is_staff=True), note="dup", now=NOW + timedelta(days=2)
        )
    assert not _run(world, payload).chat_update.called


def test_the_post_update_is_recorded_at_the_commands_moment(world: World) -> None:
    """``--now`` is the moment of the whole command, the queued post update included (time is the caller's)."""
    qid = _posted_escalated(world)
    done = wieweet(world.db, "--by", "anna", "question", "close", str(qid), "--reason", "x", "--now", LATER)
    assert done.exit_code == 0, done.output
    with world.db.inbox_session() as s:
        [request] = inbox_repo.list_inbox_requests(s, kind=STAFF_POSTS_KIND)
        recorded = request.received_at if request.received_at.tzinfo else request.received_at.replace(tzinfo=UTC)
    assert recorded == datetime.fromisoformat(LATER)
