"""Guard: every outbox message aimed at the triage channel has the staff DM fallback, and no other does.

One sample payload per outbox kind (a kind added later without one fails here: decide whether it goes to the triage
channel). Queued with no recipient, a kind is posted in the triage channel exactly when ``bot.staffdm`` counts it as
a staff post; and every such post given up reaches each staff member once by DM with the same buttons, whatever its
kind. The sender runs in-process against the Slack emulator, on SQLite and PostgreSQL (the ``database`` fixture).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.outbox import (
    AnswerToAsker,
    AskerUpdate,
    AskerUpdateKind,
    CloseReason,
    ConsentRequest,
    ConsentRequestKind,
    DeliveryFailed,
    ExpertiseRequest,
    ExpertReminder,
    ExpertRequest,
    NeedsProposal,
    OutboxPayload,
    Person,
    QuestionAnswered,
    QuestionUpdated,
    RoutingClosed,
    StaffDM,
    SubmissionOutcome,
    SubmissionOutcomeKind,
    Triage,
    payload_json,
)
from bot.register import profiles, submissions
from bot.routing import RoutingService
from bot.staff_notices import ChannelCheckFailed, DigestStopped, ExpertReactivated
from bot.staffdm import STAFF_KINDS, aimed_at_triage, tell_staff
from handlers.outbox import OutboxSender, render_payload
from handlers.services import Services
from storage import needs_repo, proposal_repo
from storage.db import Database
from storage.models import EscalationReason, OutboxKind, OutboxMessage, QuestionStatus, RecordStatus
from tests.e2e.harness import BOT_TOKEN, flat
from tests.emulator import SlackEmulator
from tests.factories import add_expert, add_practice, add_question

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
TRIAGE = "C0TRIAGE1"
STAFF = "U0STAFF01"
STAFF2 = "U0STAFF02"
MARK = "Guardmark"  # in every sample: finds each kind's messages


def samples(session: Session) -> dict[OutboxKind, OutboxPayload]:
    """One payload per outbox kind, about records that exist and wait (a review pending, a question escalated)."""
    question = add_question(session, f"{MARK} vraag", created_at=NOW, asker="U0ASKER01", themes=(), channel_id=None)
    question.status, question.escalated_at = QuestionStatus.ESCALATED, NOW
    question.escalation_reason = EscalationReason.NO_MATCH.value
    expert = add_expert(session, f"{MARK} Profiel", created_at=NOW, slack="U0EXPERT1")
    expert.status = RecordStatus.PENDING
    practice = add_practice(session, f"{MARK} praktijk", created_at=NOW, themes=())
    practice.status, practice.submitted_by = RecordStatus.PENDING, "U0ASKER01"
    topic = needs_repo.create_need_topic(session, label=f"{MARK} thema", label_item="thema", now=NOW)
    proposal = proposal_repo.claim_need_proposal(
        session,
        topic_id=topic.id,
        window_start=NOW,
        window_end=NOW,
        organisations=3,
        questions=4,
        worker_id="w",
        now=NOW,
    )
    assert proposal is not None
    session.flush()
    q = {"question_id": question.id, "text": f"{MARK} vraag"}
    review = submissions.practice_payload(practice)
    return {
        OutboxKind.EXPERT_REQUEST: ExpertRequest(**q, routing_id=1),
        OutboxKind.EXPERT_REMINDER: ExpertReminder(**q, routing_id=1),
        OutboxKind.ROUTING_CLOSED: RoutingClosed(**q, routing_id=1, reason=CloseReason.CANCELLED),
        OutboxKind.QUESTION_UPDATED: QuestionUpdated(**q, routing_id=1, addition=MARK),
        OutboxKind.ANSWER_TO_ASKER: AnswerToAsker(**q, answer_text=MARK),
        OutboxKind.QUESTION_ANSWERED: QuestionAnswered(**q, answer_text=MARK),
        OutboxKind.ASKER_UPDATE: AskerUpdate(**q, update=AskerUpdateKind.ESCALATED),
        OutboxKind.TRIAGE: Triage(**q, reason=EscalationReason.NO_MATCH, escalated_at=NOW.isoformat()),
        OutboxKind.CONSENT_REQUEST: ConsentRequest(expert_id=expert.id, name=MARK, request=ConsentRequestKind.INITIAL),
        OutboxKind.PRACTICE_REVIEW: review,
        OutboxKind.PROFILE_REVIEW: profiles.profile_payload(expert),
        OutboxKind.SUBMISSION_OUTCOME: SubmissionOutcome(outcome=SubmissionOutcomeKind.PRACTICE_APPROVED, title=MARK),
        OutboxKind.NEEDS_PROPOSAL: NeedsProposal(
            proposal={"id": proposal.id, "label": f"{MARK} thema", "status": "open", "questions": 4, "organisations": 3}
        ),
        OutboxKind.EXPERTISE_REQUEST: ExpertiseRequest(topic_id=topic.id, label=f"{MARK} thema"),  # as the topic shows
        OutboxKind.DELIVERY_FAILED: DeliveryFailed(
            question_id=question.id, recipient=Person(name=f"{MARK} Afwezig"), error="user_not_found", marked_away=True
        ),
        OutboxKind.STAFF_DM: StaffDM(
            original_kind=OutboxKind.PRACTICE_REVIEW, original=payload_json(review), triage_channel_id=TRIAGE
        ),
        OutboxKind.DIGEST_STOPPED: DigestStopped(channel_id="C0DIGEST01", reason="is_archived"),
        OutboxKind.CHANNEL_CHECK_FAILED: ChannelCheckFailed(day="2026-12-01", attempts=3, error=MARK),
        OutboxKind.EXPERT_REACTIVATED: ExpertReactivated(
            expert_id=expert.id, name=f"{MARK} Terug", reason="deleted", marked_at=NOW.isoformat(), told=True
        ),
    }


@pytest.fixture
def sender(database: Database, emulator: SlackEmulator) -> Iterator[OutboxSender]:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(STAFF2, name="staff2", real_name="Kenniscentrum Twee", locale="en-GB")
    settings = Settings(staff_user_ids=frozenset({STAFF, STAFF2}), triage_channel_id=TRIAGE)
    knowledge = KnowledgeBase(database)
    services = Services(
        settings=settings,
        db=database,
        knowledge=knowledge,
        clock=lambda: NOW,
        routing=RoutingService(knowledge=knowledge),
    )
    yield OutboxSender(services, WebClient(token=BOT_TOKEN, base_url=emulator.api_url))


def queue(
    database: Database, kinds: set[OutboxKind] | None = None, *, channel: str | None = None
) -> dict[OutboxKind, OutboxPayload]:
    """Every sample (or those of ``kinds``) queued as a message with no recipient, and no channel or ``channel``."""
    with database.session() as session:
        payloads = samples(session)
        for kind, payload in payloads.items():
            if kinds is None or kind in kinds:
                question_id = getattr(payload, "question_id", None)
                key = f"guard:{kind.value}:{channel}"
                outbox.enqueue(session, payload, dedupe_key=key, now=NOW, question_id=question_id, channel_id=channel)
    return payloads


def action_ids(blocks: object) -> set[str]:
    return set(re.findall(r"'action_id': '([^']+)'", str(blocks)))


@pytest.mark.parametrize("by_name", [False, True], ids=["no-channel", "triage-by-name"])
def test_a_kind_goes_to_the_triage_channel_exactly_when_the_fallback_covers_it(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, by_name: bool
) -> None:
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, STAFF2, emulator.bot_user_id])
    queue(database, channel=TRIAGE if by_name else None)
    sender.send_pending(worker_id="w1")
    posted = {str(m.get("metadata", {}).get("event_payload", {}).get("request")) for m in emulator.messages(TRIAGE)}
    with database.session() as session:
        messages = list(session.scalars(select(OutboxMessage)))
        assert {m.kind for m in messages} == set(OutboxKind)  # a sample for every kind (add one for a new kind)
        for message in messages:
            in_triage = f"outbox:{message.id}" in posted
            assert in_triage is aimed_at_triage(message, triage_channel_id=TRIAGE), message.kind
            if not by_name:  # with no channel named, only the staff kinds go there
                assert in_triage is (message.kind in STAFF_KINDS), message.kind


def test_every_staff_post_given_up_reaches_each_staff_member_once_with_its_buttons(
    database: Database, emulator: SlackEmulator, sender: OutboxSender
) -> None:
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, STAFF2], bot_is_member=False)
    payloads = queue(database, set(STAFF_KINDS))
    for _ in range(3):  # the posts fail for good; the DMs go out on the next pass
        sender.send_pending(worker_id="w1")
    assert emulator.messages(TRIAGE) == []
    for user, lang in ((STAFF, "nl"), (STAFF2, "en")):
        dms = emulator.messages(emulator.dm_channel_with(user))
        assert len(dms) == len(STAFF_KINDS)  # one per post, nothing else
        for kind in STAFF_KINDS:
            channel = [b.to_dict() for b in render_payload(payloads[kind], lang).blocks]
            head = flat(channel[0])[:40]
            (dm,) = [m for m in dms if head in flat(m.get("blocks"))]
            assert action_ids(dm.get("blocks")) == action_ids(channel), kind
            assert f"<#{TRIAGE}>" in flat(dm), kind
    # the same failure noticed again (another replica, a restart): nobody is told twice
    with database.session() as session:
        given_up = [m for m in session.scalars(select(OutboxMessage)) if aimed_at_triage(m)]
        assert len(given_up) == len(STAFF_KINDS) and all(m.failed_at is not None for m in given_up)
        for message in given_up:
            again = tell_staff(
                session, message_id=message.id, staff=[STAFF, STAFF2], channel_id=TRIAGE, error="x", now=NOW
            )
            assert again == "staff told: 0 of 2", message.kind


def test_a_staff_dm_that_fails_too_is_logged_once_and_never_copied_again(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, caplog: pytest.LogCaptureFixture
) -> None:
    # no triage channel in the workspace at all (channel_not_found); one staff member's account is deactivated
    emulator.add_user(STAFF2, name="staff2", real_name="Vertrokken", locale="en-GB", deleted=True)
    queue(database, {OutboxKind.PRACTICE_REVIEW})
    with caplog.at_level(logging.WARNING, logger="wieweet.outbox"):
        for _ in range(4):
            sender.send_pending(worker_id="w1")
    assert caplog.text.count("could not be told either") == 1
    with database.session() as session:
        kinds = sorted(m.kind.value for m in session.scalars(select(OutboxMessage)))
    assert kinds == ["practice_review", "staff_dm", "staff_dm"]  # no copy of a copy
    (dm,) = emulator.messages(emulator.dm_channel_with(STAFF))
    assert "bestaat niet" in flat(dm) and f"{MARK} praktijk" in flat(dm)
