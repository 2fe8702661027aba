"""What each routing message carries: everything the Slack layer needs to render it, and nothing private.

Every function returns the typed payload of one ``bot.outbox`` kind. Rules enforced here, in one place:

* an anonymous question never carries the asker's name or Slack id, to anyone but the asker;
* a message for a channel never carries the content of a private or anonymous question: ``question_answered``
  (the question's own thread) refuses outright; ``triage`` (the staff channel) redacts those and questions asked
  in a private channel too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

from bot.i18n import DEFAULT_LANGUAGE
from bot.outbox import (
    AnswerToAsker,
    AskerUpdate,
    AskerUpdateKind,
    CloseReason,
    ExpertReminder,
    ExpertRequest,
    Person,
    QuestionAnswered,
    QuestionUpdated,
    RoutingClosed,
    Triage,
)
from storage.models import Answer, EscalationReason, Expert, Question, Routing, RoutingStatus, Visibility


class PrivacyError(AssertionError):
    """A code path tried to put a private question's content in a channel message (a bug, never user input)."""


class _QuestionFields(TypedDict):
    question_id: int
    text: str | None
    context: str | None
    themes: tuple[str, ...]
    theme_labels: dict[str, dict[str, str]]
    desired_by: str | None
    visibility: Visibility
    question_language: str
    asked_at: str | None


class _AskerFields(TypedDict):
    asker_name: str | None
    asker_slack_id: str | None
    anonymous: bool


class _RoutingFields(TypedDict):
    routing_id: int
    routing_status: RoutingStatus
    score: float
    reasons: tuple[str, ...]
    language: str
    volunteered: bool


class _AnswerFields(TypedDict):
    answer_id: int
    answer_text: str
    answered_by: Person
    answered_at: str | None


def _question(question: Question) -> _QuestionFields:
    return {
        "question_id": question.id,
        "text": question.text,
        "context": question.context,
        "themes": tuple(t.key for t in question.themes),
        "theme_labels": {t.key: {"nl": t.label_nl, "en": t.label_en} for t in question.themes},
        "desired_by": question.desired_by.isoformat() if question.desired_by else None,
        "visibility": question.visibility,
        "question_language": question.language,
        "asked_at": question.created_at.isoformat() if question.created_at else None,
    }


def _asker(question: Question) -> _AskerFields:
    if question.visibility is Visibility.ANONYMOUS:
        return {"asker_name": None, "asker_slack_id": None, "anonymous": True}
    return {"asker_name": question.asker_name or None, "asker_slack_id": question.asker_slack_id, "anonymous": False}


def _routing(routing: Routing, *, volunteered: bool | None = None) -> _RoutingFields:
    return {
        "routing_id": routing.id,
        "routing_status": routing.status,
        "score": routing.score,
        "reasons": tuple(routing.reasons),
        "language": routing.language,
        "volunteered": routing.volunteered if volunteered is None else volunteered,
    }


def _answer(answer: Answer) -> _AnswerFields:
    return {
        "answer_id": answer.id,
        "answer_text": answer.text,
        "answered_by": answered_by(answer),
        "answered_at": answer.created_at.isoformat() if answer.created_at else None,
    }


def is_public(question: Question) -> bool:
    """May be answered in its own channel thread (the audience that saw the question)."""
    return question.visibility is Visibility.PUBLIC


def answers_in_thread(question: Question) -> bool:
    """Its answers go to its channel thread: public, and its message in the channel is posted (a thread to answer
    in). Else (not public, no channel message, or not posted yet) the asker gets them by DM."""
    return is_public(question) and bool(question.channel_id and question.thread_ts)


def is_shareable(question: Question) -> bool:
    """May be shown beyond the people involved: public, and not asked in a private channel."""
    return question.visibility is Visibility.PUBLIC and not question.channel_is_private


def person(expert: Expert | None, slack_user_id: str | None, fallback_name: str | None = None) -> Person:
    return Person(
        expert_id=expert.id if expert else None,
        name=(expert.name if expert else fallback_name) or None,
        organisation=expert.organisation if expert else None,
        slack_user_id=slack_user_id,
        in_register=expert is not None,
    )


def answered_by(answer: Answer) -> Person:
    return Person(
        expert_id=answer.expert_id,
        name=answer.answered_by_name or None,
        organisation=answer.organisation or None,
        slack_user_id=answer.answered_by_slack_id,
        in_register=answer.expert_id is not None,
    )


# --- to the people asked -------------------------------------------------------------------------------------------


def expert_request(
    question: Question,
    routing: Routing,
    additions: Sequence[str],
    *,
    resent: bool = False,
    volunteered: bool | None = None,
    forwarded_by: Person | None = None,
    forward_note: str | None = None,
    assigned_by_staff: bool = False,
    staff_note: str | None = None,
    match_score: float | None = None,
    decline_penalty: float | None = None,
) -> ExpertRequest:
    """The question as the people asked to answer it see it (no asker when anonymous)."""
    return ExpertRequest(
        **_question(question),
        **_asker(question),
        additions=tuple(additions),
        **_routing(routing, volunteered=volunteered),
        resent=resent,
        forwarded_by=forwarded_by,
        forward_note=forward_note,
        assigned_by_staff=assigned_by_staff,
        staff_note=staff_note,
        match_score=match_score,
        decline_penalty=decline_penalty,
    )


def expert_reminder(question: Question, routing: Routing, additions: Sequence[str]) -> ExpertReminder:
    return ExpertReminder(
        **_question(question),
        **_asker(question),
        additions=tuple(additions),
        **_routing(routing),
        routing_asked_at=routing.asked_at.isoformat(),
    )


def question_updated(question: Question, routing: Routing, additions: Sequence[str], addition: str) -> QuestionUpdated:
    return QuestionUpdated(
        **_question(question), **_asker(question), additions=tuple(additions), **_routing(routing), addition=addition
    )


def routing_closed(
    question: Question, routing: Routing, additions: Sequence[str], reason: CloseReason, answer: Answer | None
) -> RoutingClosed:
    """No longer needed; who answered, and — for a public question only — the answer itself."""
    return RoutingClosed(
        **_question(question),
        **_asker(question),
        additions=tuple(additions),
        **_routing(routing),
        reason=reason,
        answered_by=answered_by(answer) if answer is not None else None,
        answer_text=answer.text if answer is not None and is_public(question) else None,
    )


# --- to the asker --------------------------------------------------------------------------------------------------


def answer_to_asker(question: Question, answer: Answer, *, in_thread: bool = False) -> AnswerToAsker:
    """The answer, to the asker (their own question in their own words); ``in_thread``: the answer is in the
    question's channel thread, so this only offers the rating there."""
    return AnswerToAsker(
        **_question(question),
        anonymous=question.visibility is Visibility.ANONYMOUS,
        **_answer(answer),
        language=question.language,
        in_thread=in_thread,
    )


def asker_update(
    question: Question,
    update: AskerUpdateKind,
    *,
    experts: Sequence[Person] = (),
    expert: Person | None = None,
    reason: EscalationReason | None = None,
    note: str | None = None,
) -> AskerUpdate:
    return AskerUpdate(
        **_question(question),
        anonymous=question.visibility is Visibility.ANONYMOUS,
        language=question.language,
        update=update,
        experts=tuple(experts),
        expert=expert,
        reason=reason,
        note=note,
    )


# --- to channels ---------------------------------------------------------------------------------------------------


def question_answered(question: Question, answer: Answer, *, earlier: bool = False) -> QuestionAnswered:
    """The answer in the question's channel thread (``earlier``: given before the thread existed). Only ever for
    public questions."""
    if not is_public(question):
        raise PrivacyError(f"question {question.id} is {question.visibility.value}: no channel message")
    return QuestionAnswered(
        **_question(question), **_asker(question), **_answer(answer), language=question.language, earlier=earlier
    )


def triage(
    question: Question, reason: EscalationReason, *, escalated_at: datetime, routing_counts: dict[str, int]
) -> Triage:
    """The question for the staff triage channel: content only when shareable, else redacted."""
    fields, asker, redacted = _for_staff(question)
    return Triage(
        **fields,
        **asker,
        redacted=redacted,
        reason=reason,
        escalated_at=escalated_at.isoformat(),
        routing_counts=routing_counts,
        language=DEFAULT_LANGUAGE,
    )


def _for_staff(question: Question) -> tuple[_QuestionFields, _AskerFields, bool]:
    """What staff may see of a question: its content only when shareable (else no text, no asker: redacted)."""
    fields = _question(question)
    if is_shareable(question):
        return fields, _asker(question), False
    fields["text"] = fields["context"] = None
    return fields, {"asker_name": None, "asker_slack_id": None, "anonymous": True}, True
