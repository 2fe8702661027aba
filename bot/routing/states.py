"""The question and routing state machines: one table each, one function that performs any transition.

``transition`` checks the table, changes the status with a compare-and-set UPDATE (so two processes acting on the
same stale state cannot both win), writes a ``QuestionEvent`` (from, to, actor, note, at) and raises
``StaleActionError`` — with a code the UI can explain — for anything the table does not allow. It changes nothing
when it raises.

Question: open → routed → claimed → answered → resolved / closed, plus cancelled and escalated.
Routing:  asked → claimed / declined / forwarded / expired / answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.routing.errors import StaleActionError
from storage import question_repo
from storage.models import Question, QuestionEvent, QuestionStatus, Routing, RoutingStatus

Q = QuestionStatus
R = RoutingStatus

QUESTION_TRANSITIONS: Mapping[QuestionStatus, frozenset[QuestionStatus]] = {
    # staff may close any question still looking for an answer (held back, or still with experts)
    Q.OPEN: frozenset({Q.ROUTED, Q.ESCALATED, Q.CANCELLED, Q.RESOLVED, Q.CLOSED}),
    Q.ROUTED: frozenset({Q.CLAIMED, Q.ANSWERED, Q.ESCALATED, Q.CANCELLED, Q.RESOLVED, Q.CLOSED}),
    # back to routed when the expert who claimed it declines or forwards after all
    Q.CLAIMED: frozenset({Q.ROUTED, Q.ANSWERED, Q.ESCALATED, Q.CANCELLED, Q.RESOLVED, Q.CLOSED}),
    # staff assign someone (routed), close it; experts still asked may claim or answer
    Q.ESCALATED: frozenset({Q.ROUTED, Q.CLAIMED, Q.ANSWERED, Q.CLOSED, Q.CANCELLED, Q.RESOLVED}),
    Q.ANSWERED: frozenset({Q.RESOLVED, Q.CLOSED}),
    Q.RESOLVED: frozenset(),
    Q.CLOSED: frozenset(),
    Q.CANCELLED: frozenset(),
}

ROUTING_TRANSITIONS: Mapping[RoutingStatus, frozenset[RoutingStatus]] = {
    R.ASKED: frozenset({R.CLAIMED, R.DECLINED, R.FORWARDED, R.EXPIRED, R.ANSWERED}),
    R.CLAIMED: frozenset({R.ANSWERED, R.DECLINED, R.FORWARDED, R.EXPIRED}),
    # staff may ask someone again who declined or was closed earlier
    R.DECLINED: frozenset({R.ASKED}),
    R.EXPIRED: frozenset({R.ASKED}),
    R.FORWARDED: frozenset({R.ASKED}),
    R.ANSWERED: frozenset(),
}

# Questions in these states take no more routing actions (claims, answers, declines...).
QUESTION_FINAL = frozenset({Q.RESOLVED, Q.CLOSED, Q.CANCELLED})
# Questions that are still looking for an answer.
QUESTION_ACTIVE = frozenset({Q.OPEN, Q.ROUTED, Q.CLAIMED, Q.ESCALATED})
# Routings still waiting for their expert.
ROUTING_OPEN = frozenset({R.ASKED, R.CLAIMED})


def open_routings(question: Question) -> list[Routing]:
    """The question's routings still waiting for an answer (asked or claimed)."""
    return [r for r in question.routings if r.status in ROUTING_OPEN]


def no_longer_quoted(status: str, answered_at: datetime | None) -> bool:
    """Whether a question's words are no longer quoted in knowledge needs (topics, labels, proposals) though it is
    still counted there: withdrawn by its asker, or closed by staff before anyone answered it in wieweet. Staff
    close an unanswered question when it turned out not to be needed (a duplicate, asked by mistake, not for this
    network) as often as when it was settled elsewhere (by phone), and the record cannot tell which: so it is
    treated as a withdrawal, its asker's words not quoted on staff's word. One closed after an answer (``answered_at``
    set: closed as answered) was a need met, and is quoted as a resolved question is. ``status`` as stored."""
    if status == Q.CANCELLED.value:
        return True
    return status == Q.CLOSED.value and answered_at is None


_ROUTING_REFUSALS: Mapping[RoutingStatus, str] = {
    R.CLAIMED: "already_claimed",
    R.DECLINED: "already_declined",
    R.FORWARDED: "already_forwarded",
    R.ANSWERED: "already_answered",
    R.EXPIRED: "routing_closed",
}

_QUESTION_REFUSALS: Mapping[QuestionStatus, str] = {
    Q.ANSWERED: "already_answered",
    Q.RESOLVED: "question_closed",
    Q.CLOSED: "question_closed",
    Q.CANCELLED: "question_closed",
    Q.CLAIMED: "claimed_by_other",
}

_T = TypeVar("_T", Question, Routing)


def can_transition(obj: Question | Routing, to: QuestionStatus | RoutingStatus) -> bool:
    if isinstance(obj, Question):
        return to in QUESTION_TRANSITIONS[obj.status]
    return to in ROUTING_TRANSITIONS[obj.status]


def refusal_code(obj: Question | Routing, to: QuestionStatus | RoutingStatus) -> str:
    """The error code for a transition the table does not allow (a stale or repeated click)."""
    if isinstance(obj, Question):
        return _QUESTION_REFUSALS.get(obj.status, "invalid_transition")
    if obj.status is R.CLAIMED and to is R.CLAIMED:
        return "already_claimed"
    return _ROUTING_REFUSALS.get(obj.status, "invalid_transition")


def record_event(
    session: Session,
    *,
    question_id: int,
    routing_id: int | None = None,
    from_status: str = "",
    to_status: str,
    actor: str,
    now: datetime,
    note: str = "",
    kind: str = "status",
) -> QuestionEvent:
    # flushed: the event id names the outbox messages it causes (their dedupe keys)
    return question_repo.create_question_event(
        session,
        question_id=question_id,
        routing_id=routing_id,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        note=note,
        kind=kind,
        now=now,
    )


def record_routing_event(
    session: Session, routing: Routing, *, kind: str, actor: str, now: datetime, note: str = ""
) -> QuestionEvent:
    """An event on ``routing`` that leaves its status as it is (a snooze, a reminder)."""
    unchanged = routing.status.value
    return record_event(
        session, question_id=routing.question_id, routing_id=routing.id, kind=kind, note=note,
        from_status=unchanged, to_status=unchanged, actor=actor, now=now,
    )  # fmt: skip


def transition(
    session: Session,
    obj: _T,
    to: QuestionStatus | RoutingStatus,
    *,
    actor: str,
    now: datetime,
    note: str = "",
    values: Mapping[str, Any] | None = None,
) -> QuestionEvent:
    """Move ``obj`` (a Question or a Routing) to ``to``; write the event; refuse what the table does not allow.

    ``values`` are further columns set in the same UPDATE (``responded_at``, ``answered_at``, ...).
    """
    table: Mapping[Any, frozenset[Any]] = QUESTION_TRANSITIONS if isinstance(obj, Question) else ROUTING_TRANSITIONS
    frm = obj.status
    if to not in table[frm]:
        raise StaleActionError(refusal_code(obj, to), f"{type(obj).__name__} {obj.id}: {frm.value} → {to.value}")
    if obj.id is None:
        session.flush()
    changes: dict[str, Any] = {"status": to, "updated_at": now, **(values or {})}
    if not question_repo.update_status(session, record=obj, expected=frm, values=changes):
        # someone else changed it since we read it
        raise StaleActionError("concurrent_change", f"{type(obj).__name__} {obj.id} changed concurrently")
    for key, value in changes.items():
        set_committed_value(obj, key, value)
    if isinstance(obj, Question):
        question_id, routing_id = obj.id, None
    else:
        question_id, routing_id = obj.question_id, obj.id
    return record_event(
        session,
        question_id=question_id,
        routing_id=routing_id,
        from_status=frm.value,
        to_status=to.value,
        actor=actor,
        now=now,
        note=note,
    )
