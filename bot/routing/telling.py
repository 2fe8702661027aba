"""What the routing tells people: the outbox messages to the experts still asked, the asker and staff.

``Telling`` is the part of ``bot.routing.core.RoutingCore`` that queues them (``enqueue``, once per cause and
target: a retried action queues nothing), says what the asker added (``additions``), tells the people still asked
that they are no longer needed (``close_open_routings``) and tells the asker what happened (``notify_asker``) or who
was asked (``tell_asker_asked``, once per person). Inside the caller's session, as the core: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot import outbox
from bot.outbox import AskerUpdateKind, CloseReason, OutboxPayload, Person
from bot.routing import payloads
from bot.routing.keys import routing_key
from bot.routing.states import open_routings, transition
from bot.routing.told import person_key, told_asker_of
from storage import question_repo
from storage.models import (
    Answer,
    EscalationReason,
    EventKind,
    OutboxMessage,
    Question,
    QuestionEvent,
    Routing,
    RoutingStatus,
)

R = RoutingStatus


def person(routing: Routing) -> Person:
    return payloads.person(routing.expert, routing.recipient_slack_id)


class Telling:
    """The messages the routing's steps queue (``bot.routing.core.RoutingCore`` is one)."""

    def additions(self, session: Session, question: Question) -> list[str]:
        """Information the asker added after asking, in order."""
        events = question_repo.list_question_events(session, question_id=question.id)
        return [e.note for e in events if e.kind == EventKind.INFO]

    def close_open_routings(
        self,
        session: Session,
        question: Question,
        why: CloseReason,
        *,
        actor: str,
        now: datetime,
        answer: Answer | None = None,
    ) -> None:
        """Everyone still asked is told they are no longer needed (with the answer when there is one)."""
        additions = self.additions(session, question)
        for routing in open_routings(question):
            event = transition(
                session, routing, R.EXPIRED, actor=actor, now=now, note=why.value, values={"snoozed_until": None}
            )
            session.flush()
            closed = payloads.routing_closed(question, routing, additions, why, answer)
            self.enqueue(session, closed, cause=f"e{event.id}", now=now, routing=routing)

    def notify_asker(
        self,
        session: Session,
        question: Question,
        event: QuestionEvent,
        update: AskerUpdateKind,
        now: datetime,
        *,
        experts: Sequence[Person] = (),
        expert: Person | None = None,
        reason: EscalationReason | None = None,
        note: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Queue an update for the asker, once per ``cause`` (default: the event's; a wider one, like the
        question's, makes an update once whatever events repeat it)."""
        if not question.asker_slack_id:
            return
        self.enqueue(
            session,
            payloads.asker_update(question, update, experts=experts, expert=expert, reason=reason, note=note),
            cause=cause or f"e{event.id}",
            now=now,
            question=question,
            recipient_slack_id=question.asker_slack_id,
        )

    def tell_asker_asked(
        self,
        session: Session,
        question: Question,
        update: AskerUpdateKind,
        routings: Sequence[Routing],
        now: datetime,
        *,
        cause: str,
    ) -> None:
        """Tell the asker who was asked (``ROUTED``, ``ADDED``), once per question and person: someone they were
        told of before (the matcher's choice whom staff assign again, someone asked again after declining) is not
        named again; with nobody new, nothing is sent. Routing actions hold the question's lock, so two replicas
        cannot both find someone untold; the outbox's unique key keeps each message once across retries."""
        told = told_asker_of(session, question.id)
        fresh = [p for p in (person(r) for r in routings) if person_key(p) not in told]
        if fresh and question.asker_slack_id:
            self.enqueue(
                session,
                payloads.asker_update(question, update, experts=fresh),
                cause=cause,
                now=now,
                question=question,
                recipient_slack_id=question.asker_slack_id,
            )

    def enqueue(
        self,
        session: Session,
        payload: OutboxPayload,
        *,
        cause: str,
        now: datetime,
        routing: Routing | None = None,
        question: Question | None = None,
        recipient_slack_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> OutboxMessage | None:
        """Queue ``payload`` once per cause (an event or a timer) and target: a retried action queues nothing."""
        if routing is not None:
            recipient_slack_id = recipient_slack_id or routing.recipient_slack_id
            if recipient_slack_id is None and routing.expert is not None:
                recipient_slack_id = routing.expert.slack_user_id
        question_id = question.id if question is not None else (routing.question_id if routing else None)
        target = recipient_slack_id or channel_id or "staff"
        return outbox.enqueue(
            session,
            payload,
            dedupe_key=routing_key(payload.kind, cause, target),
            now=now,
            recipient_slack_id=recipient_slack_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            question_id=question_id,
            routing_id=routing.id if routing else None,
        )
