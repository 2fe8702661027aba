"""Reading routing state for the people involved: their questions, the routings sent to them, where the bot wrote
to them (to update those messages), and what waits for staff. Nothing here writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import staffdm
from bot.errors import NotFoundError
from bot.outbox import ExpertRequest, PayloadError, StaffDM, Triage, read_as, sent_refs
from bot.routing import payloads
from bot.routing.core import Q, RoutingCore
from bot.routing.errors import NotYours
from bot.routing.guards import is_recipient, require_active, require_asker, require_not_closed, require_open_routing
from bot.routing.states import ROUTING_OPEN
from storage import outbox_repo, question_repo
from storage import routing_repo as repo
from storage.models import EscalationReason, OutboxKind, OutboxMessage, Question, Routing


@dataclass(frozen=True, slots=True)
class WaitingQuestion:
    """A question waiting for staff, as a staff overview shows it."""

    question_id: int
    text: str | None  # None: private, anonymous or from a private channel (redacted, as in the triage channel)
    reason: EscalationReason | None
    escalated_at: datetime | None
    triage_error: str | None  # the triage channel never got it (Slack's reason, or no channel configured)


@dataclass(frozen=True, slots=True)
class HeldQuestion:
    """A question held back, as a staff overview shows it."""

    question_id: int
    text: str | None  # None: private, anonymous or from a private channel (redacted, as in the triage channel)
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class StaffQueue:
    """How many questions wait for staff, and the oldest of them."""

    count: int
    questions: tuple[WaitingQuestion, ...] = ()
    # held back while their asker has enough with experts (not staff's yet: escalated after the usual delay)
    held_count: int = 0
    held: tuple[HeldQuestion, ...] = ()


@dataclass(frozen=True, slots=True)
class TriageCopies:
    """A question's posts for staff — its triage channel posts, or each staff member's DM copy of them
    (``bot.staffdm``: the channel never got them) — and the question as the newest showed it: what to update once
    the question no longer waits for staff."""

    question: Triage
    refs: list[dict[str, str]]


# the keys of a question's triage posts (``triage:q…``), and of the undelivered-escalation DMs an older version
# queued when no triage post is left to name (revision 0014_onestaffdm keeps their own key after the prefix)
TRIAGE_COPY_PREFIXES = (f"{OutboxKind.TRIAGE.value}:", "triage_undelivered:")


def _shown(messages: list[OutboxMessage], original: Callable[[OutboxMessage], Any]) -> TriageCopies | None:
    """``messages`` (sent, newest first) with the question as the newest readable one showed it."""
    for message in messages:
        try:
            question = read_as(Triage, original(message))
        except PayloadError:  # a damaged one: the others still say what it showed
            continue
        return TriageCopies(question=question, refs=sent_refs(messages))
    return None


class RoutingQueries:
    def __init__(self, core: RoutingCore) -> None:
        self.core = core

    def get_own_question(self, session: Session, *, question_id: int, asker_slack_id: str) -> Question:
        """The asker's own question, still open (e.g. to add information); refused for anyone else."""
        question = question_repo.get_question(session, question_id=question_id)
        if question is None:
            raise NotFoundError("not_found", f"question {question_id} not found", values={"question": question_id})
        require_asker(question, asker_slack_id)
        require_active(question)
        return question

    def get_routing_for(
        self, session: Session, *, routing_id: int, actor_slack_id: str, actionable: bool = False
    ) -> Routing:
        """The routing ``routing_id`` if it was sent to ``actor_slack_id`` (refused otherwise); ``actionable``: also
        still open on an open question (e.g. before opening the answer or decline form)."""
        routing = repo.get_routing(session, routing_id=routing_id)
        if routing is None:
            raise NotFoundError("not_found", f"routing {routing_id} not found", values={"routing": routing_id})
        if not is_recipient(routing, actor_slack_id):
            raise NotYours("answer a question sent to someone else", target=f"routing:{routing.id}", code="not_yours")
        if actionable:
            require_not_closed(routing.question)
            require_open_routing(routing)
        return routing

    def request_payload(self, session: Session, routing: Routing) -> ExpertRequest:
        """The request DM of ``routing`` as it reads now (to re-render it in a new state)."""
        question = routing.question
        return payloads.expert_request(question, routing, self.core.additions(session, question))

    def request_messages(self, session: Session, routing: Routing) -> list[dict[str, str]]:
        """Where the bot asked ``routing``'s recipient (the request DM, re-sent requests, reminders), newest first:
        the messages to re-render when the routing changes. Only what the outbox itself sent to that recipient
        about that routing, never a message reference from a payload."""
        recipient = routing.recipient_slack_id or (routing.expert.slack_user_id if routing.expert else None)
        if not recipient:
            return []
        sent = outbox_repo.list_sent_outbox_messages(
            session,
            kinds=(OutboxKind.EXPERT_REQUEST, OutboxKind.EXPERT_REMINDER),
            routing_id=routing.id,
            recipient_slack_id=recipient,
        )
        return sent_refs(sent)

    def triage_messages(self, session: Session, *, question_id: int) -> list[dict[str, str]]:
        """Where the question was handed to staff (the triage channel posts), newest first."""
        sent = outbox_repo.list_sent_outbox_messages(session, kinds=(OutboxKind.TRIAGE,), question_id=question_id)
        return sent_refs(sent)

    def triage_copies(self, session: Session, *, question_id: int) -> TriageCopies | None:
        """Where staff were handed the question by DM instead of in the triage channel (the database's record, never
        a payload's), newest first; None when nobody was. Also the copies an older version queued for a triage post
        since deleted (converted by revision 0014 under the key of the post they stood in for:
        ``staff_dm:triage_undelivered:…``)."""
        copies = [
            copy
            for prefix in TRIAGE_COPY_PREFIXES
            for copy in staffdm.staff_copies(session, original_key_prefix=prefix, question_id=question_id)
        ]
        copies.sort(key=lambda copy: copy.id, reverse=True)
        return _shown(copies, lambda copy: read_as(StaffDM, copy.payload).original)

    def triage_posts(self, session: Session, *, question_id: int) -> TriageCopies | None:
        """The question's posts in the triage channel (the database's record), newest first, with the question as
        the newest showed it; None when the channel got none."""
        sent = outbox_repo.list_sent_outbox_messages(session, kinds=(OutboxKind.TRIAGE,), question_id=question_id)
        return _shown(sent, lambda post: post.payload)

    def list_my_questions(self, session: Session, *, asker_slack_id: str, limit: int = 50) -> list[Question]:
        return question_repo.list_questions_by_asker(session, asker_slack_id=asker_slack_id, limit=limit)

    def list_my_routings(
        self, session: Session, *, slack_user_id: str, open_only: bool = True, limit: int = 50
    ) -> list[Routing]:
        statuses = list(ROUTING_OPEN) if open_only else None
        return repo.list_routings_for(session, slack_user_id=slack_user_id, statuses=statuses, limit=limit)

    def list_escalated(self, session: Session, *, limit: int = 100) -> list[Question]:
        """Questions waiting for staff, oldest escalation first. Private content is the caller's to guard."""
        return question_repo.list_questions_by_status(session, status=Q.ESCALATED, limit=limit)

    def waiting_for_staff(self, session: Session, *, limit: int = 10) -> StaffQueue:
        return waiting_for_staff(session, limit=limit)

    def additions(self, session: Session, question: Question) -> list[str]:
        """Information the asker added after asking, in order."""
        return self.core.additions(session, question)


def waiting_for_staff(session: Session, *, limit: int = 10) -> StaffQueue:
    """Questions waiting for staff (escalated), oldest escalation first, with whether the triage channel got them,
    and the questions held back (oldest first) so staff see those too:
    a staff post that failed for good (the bot not in the channel, the channel archived, none configured) must not
    hide a question. Content only when shareable, as in the triage channel. Needs no knowledge base (the CLI)."""
    known = {r.value for r in EscalationReason}
    waiting = []
    for question in question_repo.list_questions_by_status(session, status=Q.ESCALATED, limit=limit):
        posts = outbox_repo.list_outbox_messages(session, question_id=question.id, kind=OutboxKind.TRIAGE)
        last = posts[-1] if posts else None
        failed = last is not None and last.failed_at is not None and last.sent_at is None
        error = (last.last_error or "?") if last is not None and failed else None
        reason = question.escalation_reason
        waiting.append(
            WaitingQuestion(
                question_id=question.id,
                text=question.text if payloads.is_shareable(question) else None,
                reason=EscalationReason(reason) if reason in known else None,
                escalated_at=question.escalated_at,
                triage_error=error,
            )
        )
    count = question_repo.count_questions_by_status(session, status=Q.ESCALATED)
    held = tuple(
        HeldQuestion(question_id=q.id, text=q.text if payloads.is_shareable(q) else None, asked_at=q.created_at)
        for q in question_repo.list_held_questions(session, limit=limit)
    )
    held_count = question_repo.count_questions_by_status(session, status=Q.OPEN)
    return StaffQueue(count=count, questions=tuple(waiting), held_count=held_count, held=held)
