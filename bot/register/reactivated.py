"""An expert marked away because Slack said their account was gone, whose account Slack now says is active (its
``user_change``, or the job runner asking about a recent mark): available again, and staff told once when that
mark had moved things they saw.

The mark is cleared as ``unreachable.clear_unreachable_mark`` clears it (audited; for the reasons of
``ACCOUNT_GONE_REASONS`` only: never a bot's, an expert's own away or staff's). Staff get one ``ExpertReactivated``
notice (the triage channel, else each staff member by DM) when, since the mark, they were told of it (a request
that did not reach the expert: ``DeliveryFailed`` to staff, keyed by the expert, ``bot.routing.keys``) or the
person's own questions were withdrawn because the account was gone. A mark that moved nothing (no open request, no
question) tells nobody, as its making told nobody. Keyed by the expert and the mark's moment: once per mark, however
many processes or repeated events see the reactivation.

A mark Slack's ``users.info`` never confirmed (``UNCONFIRMED_REASONS``: a DM refused with ``user_not_found`` while
the account is there and active) could come back with every question routed to that expert: marked, staff told,
cleared, staff told, and again. So such a mark cleared automatically within ``REPEAT_WITHIN`` before is kept: the
expert stays away until they (the Home tab) or staff make them available, recorded once in the audit log (action
``KEPT_ACTION``, actor ``system``, with the reason and the earlier clear) and logged as a WARNING; no notice. The
mark then no longer counts as one an active account clears (its latest audit entry is that record), so neither a
``user_change`` nor the job runner asks about it again."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor
from bot.register import unreachable
from bot.register.expert_import import expert_audit
from bot.register.marked import ACCOUNT_GONE_REASONS, KEPT_ACTION, UNCONFIRMED_REASONS, get_unreachable_mark
from bot.routing.keys import marked_away_key_prefix
from bot.routing.payloads import is_shareable
from bot.staff_notices import ExpertReactivated
from storage import outbox_repo, question_repo
from storage import register_repo as repo
from storage.models import Expert, QuestionStatus

log = logging.getLogger(__name__)

REPEAT_WITHIN = timedelta(days=7)  # such a mark cleared automatically within this before is kept
CLEARED_ACTION = "reachable"  # ``unreachable.clear_unreachable_mark``'s audit entry
_AUDIT_LOOKBACK = 50  # the expert's latest audit entries searched for an earlier clear

# the actor of what the system did on nobody's behalf (``bot.routing.core.SYSTEM``): a withdrawal for a gone asker
_SYSTEM = "system"


def make_available_again(session: Session, *, slack_user_id: str, now: datetime) -> Expert | None:
    """Slack says ``slack_user_id``'s account is active: the expert marked away as gone is available again, and
    staff are told when the mark had moved things (see the module docstring). None, and nothing changed, when no
    such mark holds (cleared already, another reason, never marked)."""
    found = repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
    mark = get_unreachable_mark(session, expert=found) if found is not None else None
    if found is not None and mark is not None and mark[1] in ACCOUNT_GONE_REASONS:
        cleared_at = _cleared_before(session, expert=found, reason=mark[1], since=now - REPEAT_WITHIN)
        if cleared_at is not None:
            _keep_mark(session, expert=found, reason=mark[1], cleared_at=cleared_at, now=now)
            return None
    expert = unreachable.clear_unreachable_mark(
        session, slack_user_id=slack_user_id, reasons=ACCOUNT_GONE_REASONS, now=now
    )
    if expert is None or mark is None:
        return expert
    marked_at, reason = _aware(mark[0]), mark[1]
    told = outbox_repo.count_outbox_messages_keyed(session, prefix=marked_away_key_prefix(expert.id), since=marked_at)
    withdrawn, unlisted = _withdrawn_since(session, slack_user_id=slack_user_id, since=marked_at)
    if told or withdrawn or unlisted:
        notice = ExpertReactivated(
            expert_id=expert.id,
            name=expert.name,
            slack_user_id=slack_user_id,
            reason=reason,
            marked_at=marked_at.isoformat(),
            told=bool(told),
            withdrawn=tuple(withdrawn),
            withdrawn_unlisted=unlisted,
        )
        key = f"{notice.kind.value}:x{expert.id}:{marked_at.isoformat()}"
        outbox.enqueue(session, notice, dedupe_key=key, now=now)
    return expert


def _cleared_before(session: Session, *, expert: Expert, reason: str, since: datetime) -> datetime | None:
    """When a mark of ``reason`` of this expert was last cleared automatically from ``since`` on, for a reason in
    ``UNCONFIRMED_REASONS`` only (a deactivation is confirmed by Slack each time: its reactivation always clears)."""
    if reason not in UNCONFIRMED_REASONS:
        return None
    entries = repo.list_audit_log(session, entity_type="expert", entity_key=expert.email, limit=_AUDIT_LOOKBACK)
    for entry in entries:  # newest first
        if _aware(entry.at) < since:
            return None
        if entry.action == CLEARED_ACTION and (entry.after or {}).get("reason") == f"not {reason}":
            return _aware(entry.at)
    return None


def _keep_mark(session: Session, *, expert: Expert, reason: str, cleared_at: datetime, now: datetime) -> None:
    """The mark stays (see the module docstring): audited once, as the system's, and logged."""
    state = expert_audit(expert)
    repo.create_audit_log(
        session,
        actor=Actor.system().audit_label,
        action=KEPT_ACTION,
        entity_type="expert",
        entity_key=expert.email,
        before=state,
        after={**state, "reason": reason[:200], "cleared_before": cleared_at.isoformat()},
        now=now,
    )
    log.warning(
        "expert %s (%s): Slack says the account is active, but it was marked away for %s again after an automatic "
        "clear on %s: the mark is kept (available again only by themselves or staff)",
        expert.id,
        expert.slack_user_id,
        reason,
        cleared_at.isoformat(),
    )


def _withdrawn_since(session: Session, *, slack_user_id: str, since: datetime) -> tuple[list[int], int]:
    """The person's questions withdrawn by the system (their account gone) from ``since`` on: the numbers of those
    staff may see (``is_shareable``, oldest first) and how many others (anonymous, private, a private channel's).
    The notice names the person, so it must not tie them to a question staff may not see the asker of."""
    found = question_repo.list_questions_by_asker(session, asker_slack_id=slack_user_id, limit=1000)
    ids: list[int] = []
    unlisted = 0
    for question in found:
        if question.status is not QuestionStatus.CANCELLED or question.closed_at is None:
            continue
        if _aware(question.closed_at) < since:
            continue
        events = question_repo.list_question_events(session, question_id=question.id)
        if not any(e.to_status == QuestionStatus.CANCELLED.value and e.actor == _SYSTEM for e in events):
            continue
        if is_shareable(question):
            ids.append(question.id)
        else:
            unlisted += 1
    return sorted(ids), unlisted


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
