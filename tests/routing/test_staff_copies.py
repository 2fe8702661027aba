"""Staff posts and their DM copies kept current: what staff were asked to decide and was decided while its post or
copy waited in the outbox ends there, never posted with buttons nobody may use (``bot.staffdm.end_if_decided``).

Through the real routing service, outbox and sender, against the Slack emulator in-process, on SQLite and
PostgreSQL. The Slack user paths (buttons, withdrawing, answering) are in ``tests/e2e/test_staff_told.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.actors import Actor
from bot.config import Settings
from bot.jobs import JobRunner
from bot.outbox import claim_outbox
from bot.staffdm import NO_LONGER_WAITS
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import outbox_repo
from storage.models import OutboxKind, OutboxMessage
from tests.e2e.harness import BOT_TOKEN
from tests.emulator import SlackEmulator
from tests.routing.conftest import ASKER, NOW, World, seed_housing

K = OutboxKind
LATER = NOW + timedelta(minutes=5)
TRIAGE = "C0TRIAGE1"
STAFF = ("U0STAFF01", "U0STAFF02")
STAFF_ACTOR = Actor.slack(STAFF[0], is_staff=True)
BREAD = "Wie kent de beste recepten voor zuurdesembrood met spelt?"  # nobody in the register matches


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(signing_secret="s", bot_token=BOT_TOKEN, app_token="xapp-1")
    emu.start()
    emu.add_user(STAFF[0], name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emu.add_user(STAFF[1], name="staff2", real_name="Kenniscentrum Twee", locale="en-GB")
    emu.add_user(ASKER, name="asker", real_name="Vrager", locale="nl-BE")
    emu.add_user("U0DEMO001", name="demo", real_name="Demo Een", locale="nl-BE")
    yield emu
    emu.stop()


def _sender(world: World, slack: SlackEmulator, *, bot_in_triage: bool) -> OutboxSender:
    slack.add_channel(TRIAGE, name="triage", members=list(STAFF), bot_is_member=bot_in_triage)
    settings = Settings(staff_user_ids=frozenset(STAFF), triage_channel_id=TRIAGE)
    services = Services(settings=settings, db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service)
    return OutboxSender(services, WebClient(token=BOT_TOKEN, base_url=slack.api_url))


def _assign(world: World, qid: int) -> None:
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="U0DEMO001", actor=STAFF_ACTOR, now=LATER)


def _close(world: World, qid: int) -> None:
    with world.db.session() as s:
        world.service.staff_close(s, question_id=qid, actor=STAFF_ACTOR, note="Dubbel.", now=LATER)


def _withdraw(world: World, qid: int) -> None:
    with world.db.session() as s:
        world.service.cancel(s, question_id=qid, actor_slack_id=ASKER, now=LATER)


DECIDED: dict[str, Callable[[World, int], None]] = {"assigned": _assign, "closed": _close, "withdrawn": _withdraw}


def _staff_dms(slack: SlackEmulator, user: str) -> list[object]:
    return list(slack.messages(slack.dm_channel_with(user)))


@pytest.mark.parametrize("decided", sorted(DECIDED))
def test_a_queued_staff_dm_copy_of_a_question_decided_meanwhile_ends_without_being_posted(
    world: World, slack: SlackEmulator, decided: str
) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    sender = _sender(world, slack, bot_in_triage=False)
    for message in claim_outbox(world.db, now=LATER, worker_id="w0"):  # only the triage post is tried now
        if message.kind is K.TRIAGE:
            assert sender.send_one(message) is False
        else:
            sender._failed(message, "later", permanent=False)
    assert len(world.outbox(K.STAFF_DM, question_id=qid)) == 2  # queued for each staff member, not sent yet
    DECIDED[decided](world, qid)
    batch = sender.send_pending(worker_id="w1")
    assert all(_staff_dms(slack, user) == [] for user in STAFF)  # nothing posted with live buttons
    assert (batch.ended, batch.failed, batch.lost) == (2, 0, 0)  # counted as ended, not as failed
    copies = world.outbox(K.STAFF_DM, question_id=qid)
    assert [(c.sent_at, c.ended_reason) for c in copies] == [(None, NO_LONGER_WAITS)] * 2
    assert all(c.ended_at is not None and c.failed_at is None for c in copies)
    with world.db.session() as s:  # never claimed again, by this worker or another
        for copy in copies:
            row = s.get(OutboxMessage, copy.id)
            assert row is not None
            row.next_attempt_at = NOW
    claimed = claim_outbox(world.db, now=LATER + timedelta(hours=1), worker_id="w2")
    assert {c.id for c in copies}.isdisjoint(m.id for m in claimed)
    with world.db.session() as s:  # and purged with the sent ones once old enough (retention)
        outbox_repo.delete_finished_outbox_messages(s, before=LATER + timedelta(days=1))
    assert world.outbox(K.STAFF_DM, question_id=qid) == []


def test_a_queued_triage_post_of_a_question_withdrawn_meanwhile_ends_and_one_still_waiting_is_posted(
    world: World, slack: SlackEmulator
) -> None:
    seed_housing(world)
    withdrawn = world.ask(text=BREAD, theme_keys=[])
    waiting = world.ask(text="Wie kent recepten voor zuurdesembrood met rogge?", theme_keys=[])
    _withdraw(world, withdrawn)
    batch = _sender(world, slack, bot_in_triage=True).send_pending(worker_id="w1")
    assert (batch.ended, batch.failed) == (1, 0) and batch.sent == batch.claimed - 1
    posts = [m for m in slack.messages(TRIAGE) if "zuurdesembrood" in str(m)]
    assert len(posts) == 1 and "rogge" in str(posts[0])
    (ended,) = world.outbox(K.TRIAGE, question_id=withdrawn)
    assert ended.sent_at is None and ended.ended_reason == NO_LONGER_WAITS
    (sent,) = world.outbox(K.TRIAGE, question_id=waiting)
    assert sent.sent_at is not None and sent.ended_at is None
    assert world.outbox(K.STAFF_DM) == []  # ended is not given up: nobody is told by DM instead


def test_the_outbox_job_counts_a_post_ended_unsent_apart_from_failed_ones_and_logs_it(
    world: World, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    seed_housing(world)
    withdrawn = world.ask(text=BREAD, theme_keys=[])
    _withdraw(world, withdrawn)
    sender = _sender(world, slack, bot_in_triage=True)
    jobs = JobRunner(sender.services, routing=world.service, sender=sender, worker_id="w1")
    with caplog.at_level(logging.INFO, logger="wieweet.jobs"):
        result = jobs.send_outbox()
    assert (result.ended, result.failed, result.lost) == (1, 0, 0)
    assert [r.getMessage() for r in caplog.records if r.name == "wieweet.jobs"] == [
        f"outbox claimed={result.sent + 1} sent={result.sent} failed=0 ended=1 lost=0"
    ]
