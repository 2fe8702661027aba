"""What knowledge-centre staff do with a question handed to them: ask someone by hand, or close it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.i18n import N_
from bot.outbox import AskerUpdateKind, CloseReason
from bot.routing.core import MAX_NOTE, Q, RoutingCore, clean, require_active, staff_actor
from bot.routing.errors import StaleActionError
from bot.routing.states import QUESTION_FINAL, transition
from storage import routing_repo as repo
from storage.models import Question, Routing


class StaffActions:
    def __init__(self, core: RoutingCore) -> None:
        self.core = core

    def staff_assign(
        self,
        session: Session,
        *,
        question_id: int,
        to_slack_id: str,
        actor: Actor,
        now: datetime,
        note: str = "",
    ) -> Routing:
        """Staff ask someone by hand (in the register or not) to answer a question waiting for them (escalated; else
        ``StaleActionError``: it was assigned, answered, closed or withdrawn meanwhile). Returns the routing. Staff
        only."""
        actor.require_staff("assign a question", target=f"question:{question_id}")
        question = self.core.lock_question(session, question_id)
        require_active(question)
        if question.status is not Q.ESCALATED:  # someone took it meanwhile: a stale copy of its triage post
            raise StaleActionError("not_escalated")
        extra = {"assigned_by_staff": True, "staff_note": clean(note, MAX_NOTE) or None}
        return self.core.ask_by_hand(
            session,
            question,
            to_slack_id=to_slack_id,
            actor=staff_actor(actor.audit_label),
            note=note,
            extra=extra,
            reason_key=N_("routing.why_assigned"),
            volunteered=False,
            now=now,
        )

    def staff_close(self, session: Session, *, question_id: int, actor: Actor, note: str, now: datetime) -> Question:
        """Staff close an escalated (or answered) question by hand, with a note for the asker. Staff only."""
        actor.require_staff("close a question", target=f"question:{question_id}")
        question = self.core.lock_question(session, question_id)
        if question.status in QUESTION_FINAL:
            raise StaleActionError("question_closed")
        if question.status not in (Q.ESCALATED, Q.ANSWERED):
            raise StaleActionError("not_escalated")
        by = staff_actor(actor.audit_label)
        note = clean(note, MAX_NOTE)
        event = transition(
            session, question, Q.CLOSED, actor=by, now=now, note=note, values={"closed_at": now, "staff_note": note}
        )
        session.flush()
        self.core.close_open_routings(session, question, CloseReason.CLOSED, actor=by, now=now)
        repo.update_timers_cancelled(session, question_id=question.id, now=now, note="closed by staff")
        self.core.notify_asker(session, question, event, AskerUpdateKind.CLOSED, now, note=note or None)
        return question
