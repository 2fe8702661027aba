"""The checks a routing action makes before it writes anything: whose the question or request is, and whether it
still takes that action (``bot.routing.errors``: a refused action raises before anything is written)."""

from __future__ import annotations

from bot.routing.errors import NotYours, StaleActionError
from bot.routing.states import QUESTION_ACTIVE, QUESTION_FINAL, ROUTING_OPEN
from storage.models import Question, QuestionStatus, Routing, RoutingStatus

Q = QuestionStatus
R = RoutingStatus


def is_recipient(routing: Routing, slack_user_id: str) -> bool:
    if not slack_user_id:
        return False
    if routing.recipient_slack_id:
        return routing.recipient_slack_id == slack_user_id
    return routing.expert is not None and routing.expert.slack_user_id == slack_user_id


def require_asker(question: Question, actor_slack_id: str) -> None:
    if not actor_slack_id or question.asker_slack_id != actor_slack_id:
        raise NotYours("act on someone else's question", target=f"question:{question.id}", code="not_asker")


def require_active(question: Question) -> None:
    if question.status is Q.ANSWERED:
        raise StaleActionError("already_answered")
    if question.status not in QUESTION_ACTIVE:
        raise StaleActionError("question_closed")


def require_not_closed(question: Question) -> None:
    """Still taking answers: neither answered already nor resolved, closed or cancelled."""
    if question.status is Q.ANSWERED:
        raise StaleActionError("already_answered")
    if question.status in QUESTION_FINAL:
        raise StaleActionError("question_closed")


def require_open_routing(routing: Routing) -> None:
    if routing.status not in ROUTING_OPEN:
        codes = {R.DECLINED: "already_declined", R.FORWARDED: "already_forwarded", R.ANSWERED: "already_answered"}
        raise StaleActionError(codes.get(routing.status, "routing_closed"))
