"""An expert whom Slack cannot reach: marked away without a date when Slack says they can never get a DM (their
account deactivated, gone, a bot), and available again when Slack says the account is active — each once, audited
with actor ``system``. The marks are read by ``bot.register.marked``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.register.expert_import import expert_audit
from bot.register.marked import get_marked_away_for, get_unreachable_mark
from bot.register.profiles import get_expert
from storage import register_repo as repo
from storage.models import Availability, Expert


def mark_unreachable(session: Session, *, expert_id: int, reason: str, now: datetime) -> Expert | None:
    """Slack says the expert can never get a DM (``reason``: its error — the account deactivated, gone from the
    workspace, a bot): away, without a date, until they (the Home tab) or staff make them available again. Nothing
    of theirs is deleted; the audit log has the change and why (actor ``system``). None, and nothing changed, when
    they were not askable anyway (away without a date, opted out): marked once."""
    expert = get_expert(session, expert_id=expert_id, lock=True)
    if expert.availability is Availability.OPTED_OUT or (
        expert.availability is Availability.AWAY and expert.away_until is None
    ):
        return None
    before = expert_audit(expert)
    expert.availability = Availability.AWAY
    expert.away_until = None
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    repo.create_audit_log(
        session,
        actor=Actor.system().audit_label,
        action="unreachable",
        entity_type="expert",
        entity_key=expert.email,
        before=before,
        after={**expert_audit(expert), "reason": reason[:200]},
        now=now,
    )
    return expert


def clear_unreachable_mark(
    session: Session, *, slack_user_id: str, reasons: Collection[str], now: datetime
) -> Expert | None:
    """Slack says the account is active again: an expert marked away for one of ``reasons`` (and nothing changed
    since) is available again, audited (actor ``system``, action ``reachable``). None, and nothing changed,
    otherwise (away by their own or staff's choice, opted out, never marked): once."""
    found = get_marked_away_for(session, slack_user_id=slack_user_id, reasons=reasons)
    expert = get_expert(session, expert_id=found.id, lock=True) if found is not None else None
    if expert is None or expert.availability is not Availability.AWAY or expert.away_until is not None:
        return None
    mark = get_unreachable_mark(session, expert=expert)
    before = expert_audit(expert)
    expert.availability = Availability.AVAILABLE
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    reason = mark[1] if mark is not None else ""
    repo.create_audit_log(
        session,
        actor=Actor.system().audit_label,
        action="reachable",
        entity_type="expert",
        entity_key=expert.email,
        before=before,
        after={**expert_audit(expert), "reason": f"not {reason}"[:200]},
        now=now,
    )
    return expert
