"""An expert marked away because Slack said their account was gone, whose account Slack now says is active (its
``user_change``, or the job runner asking about a recent mark): available again, and staff told once when that
mark had moved things they saw.

The mark is cleared as ``profiles.clear_unreachable_mark`` clears it (audited; for the reasons of
``ACCOUNT_GONE_REASONS`` only: never a bot's, an expert's own away or staff's). Staff get one ``ExpertReactivated``
notice (the triage channel, else each staff member by DM) when, since the mark, they were told of it (a request
that did not reach the expert: ``DeliveryFailed`` to staff, keyed by the expert) or the person's own questions were
withdrawn because the account was gone. A mark that moved nothing (no open request, no question) tells nobody, as
its making told nobody. Keyed by the expert and the mark's moment: once per mark, however many processes or
repeated events see the reactivation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot import outbox
from bot.outbox import DeliveryFailed
from bot.register import profiles
from bot.register.marked import ACCOUNT_GONE_REASONS, get_unreachable_mark
from bot.staff_notices import ExpertReactivated
from storage import outbox_repo, question_repo
from storage import register_repo as repo
from storage.models import Expert, QuestionStatus

# the actor of what the system did on nobody's behalf (``bot.routing.core.SYSTEM``): a withdrawal for a gone asker
_SYSTEM = "system"


def make_available_again(session: Session, *, slack_user_id: str, now: datetime) -> Expert | None:
    """Slack says ``slack_user_id``'s account is active: the expert marked away as gone is available again, and
    staff are told when the mark had moved things (see the module docstring). None, and nothing changed, when no
    such mark holds (cleared already, another reason, never marked)."""
    found = repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
    mark = get_unreachable_mark(session, expert=found) if found is not None else None
    expert = profiles.clear_unreachable_mark(
        session, slack_user_id=slack_user_id, reasons=ACCOUNT_GONE_REASONS, now=now
    )
    if expert is None or mark is None:
        return expert
    marked_at, reason = _aware(mark[0]), mark[1]
    told = outbox_repo.count_outbox_messages_keyed(
        session, prefix=f"{DeliveryFailed.kind.value}:x{expert.id}-", since=marked_at
    )
    withdrawn = _withdrawn_since(session, slack_user_id=slack_user_id, since=marked_at)
    if told or withdrawn:
        notice = ExpertReactivated(
            expert_id=expert.id,
            name=expert.name,
            slack_user_id=slack_user_id,
            reason=reason,
            marked_at=marked_at.isoformat(),
            told=bool(told),
            withdrawn=tuple(withdrawn),
        )
        key = f"{notice.kind.value}:x{expert.id}:{marked_at.isoformat()}"
        outbox.enqueue(session, notice, dedupe_key=key, now=now)
    return expert


def _withdrawn_since(session: Session, *, slack_user_id: str, since: datetime) -> list[int]:
    """The person's questions withdrawn by the system (their account gone) from ``since`` on, oldest first."""
    found = question_repo.list_questions_by_asker(session, asker_slack_id=slack_user_id, limit=1000)
    ids: list[int] = []
    for question in found:
        if question.status is not QuestionStatus.CANCELLED or question.closed_at is None:
            continue
        if _aware(question.closed_at) < since:
            continue
        events = question_repo.list_question_events(session, question_id=question.id)
        if any(e.to_status == QuestionStatus.CANCELLED.value and e.actor == _SYSTEM for e in events):
            ids.append(question.id)
    return sorted(ids)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
