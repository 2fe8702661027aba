"""One question as an operator sees it (``wieweet question show``): its state, its asker, whom it was asked, what is
still pending for it (timers) and what is queued to go out about it (outbox), without Slack.

What staff may see of a question is the triage channel's rule (``payloads.is_shareable``): a private or anonymous
question, or one asked in a private channel, shows neither its text nor its asker. Needs no knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.errors import NotFoundError
from bot.routing import payloads
from storage import outbox_repo, question_repo, routing_repo
from storage.models import OutboxMessage, Question, Timer


@dataclass(frozen=True, slots=True)
class RequestLine:
    """One person asked: the routing, who (Slack id, register name) and where it stands."""

    routing_id: int
    slack_id: str | None
    name: str | None
    status: str
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class QuestionOverview:
    question: Question
    text: str | None  # None: not shareable (private, anonymous, a private channel's)
    asker: str | None  # the asker's name and Slack id, when shareable
    requests: tuple[RequestLine, ...]
    timers: tuple[Timer, ...]  # pending
    queued: tuple[OutboxMessage, ...]  # not sent, failed or ended


def question_overview(session: Session, *, question_id: int) -> QuestionOverview:
    """The question ``question_id`` (``NotFoundError`` when there is none), as staff may see it."""
    question = question_repo.get_question(session, question_id=question_id)
    if question is None:
        raise NotFoundError("not_found", f"question {question_id} not found", values={"question": question_id})
    shareable = payloads.is_shareable(question)
    asker = None
    if shareable and question.asker_slack_id:
        asker = f"{question.asker_name} ({question.asker_slack_id})" if question.asker_name else question.asker_slack_id
    requests = tuple(
        RequestLine(
            routing_id=r.id,
            slack_id=r.recipient_slack_id or (r.expert.slack_user_id if r.expert is not None else None),
            name=r.expert.name if r.expert is not None else None,
            status=r.status.value,
            asked_at=r.asked_at,
        )
        for r in sorted(question.routings, key=lambda r: r.id)
    )
    timers = tuple(t for t in routing_repo.list_pending_timers(session) if t.question_id == question.id)
    queued = tuple(
        m
        for m in outbox_repo.list_outbox_messages(session, question_id=question.id)
        if m.sent_at is None and m.failed_at is None and m.ended_at is None
    )
    return QuestionOverview(
        question=question,
        text=question.text if shareable else None,
        asker=asker,
        requests=requests,
        timers=timers,
        queued=queued,
    )
