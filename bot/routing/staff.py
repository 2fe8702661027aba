"""What knowledge-centre staff do with a question handed to them: ask someone by hand, or close it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.i18n import N_
from bot.outbox import AskerUpdateKind, CloseReason
from bot.privacy import MarkedItems, mark_for_refresh
from bot.routing.core import MAX_NOTE, Q, RoutingCore, clean, staff_actor
from bot.routing.errors import StaleActionError
from bot.routing.guards import require_active
from bot.routing.selection import is_away
from bot.routing.states import QUESTION_FINAL, no_longer_quoted, transition
from storage import question_repo, register_repo
from storage import routing_repo as repo
from storage.models import Question, Routing

# The inbox request a close or an assignment outside Slack (``wieweet question close|assign``) queues with its change
# (``bot.inbox.record_with_change``): the running bot updates the question's posts for staff (the triage post, their
# DM copies) as the triage channel's buttons do (``handlers.staff_posts``). Its payload: ``question_id``, ``action``
# (``STAFF_CLOSED``/``STAFF_ASSIGNED``/``ASKER_DEACTIVATED``), ``by`` (the operator's name, may be empty) and, for an
# assignment, ``assignee`` (a Slack id). A question withdrawn because its asker's account was found deactivated when
# a DM to them was refused (``ASKER_DEACTIVATED``, no ``by``) queues the same request with that change.
STAFF_POSTS_KIND = "staff_posts"
STAFF_CLOSED, STAFF_ASSIGNED, ASKER_DEACTIVATED = "closed", "assigned", "asker_gone"


class StaffActions:
    def __init__(self, core: RoutingCore, *, route_held: Callable[..., list[int]]) -> None:
        self.core = core
        self.route_held = route_held  # ``AskerActions.route_held``: the asker's next held question, at once

    def staff_assign(
        self,
        session: Session,
        *,
        question_id: int,
        to_slack_id: str,
        actor: Actor,
        now: datetime,
        note: str = "",
        assign_away: bool = False,
    ) -> Routing:
        """Staff ask someone by hand (in the register or not) to answer a question waiting for them (escalated; else
        ``StaleActionError``: it was assigned, answered, closed or withdrawn meanwhile). Returns the routing. Staff
        only. Someone away is refused like any pick (``chosen_away``/``chosen_away_until``) unless staff confirmed
        (``assign_away``): then they are asked all the same, and the audit log says so. Someone whose listing was
        never confirmed is refused (``chosen_unconfirmed``) while the routing policy asks only confirmed experts, as
        automatic routing is (``bot.routing.chosen``)."""
        actor.require_staff("assign a question", target=f"question:{question_id}")
        question = self.core.lock_question(session, question_id)
        require_active(question)
        if question.status is not Q.ESCALATED:  # someone took it meanwhile: a stale copy of its triage post
            raise StaleActionError("not_escalated")
        extra = {"assigned_by_staff": True, "staff_note": clean(note, MAX_NOTE) or None}
        by = staff_actor(actor.audit_label)
        routing = self.core.ask_by_hand(
            session,
            question,
            to_slack_id=to_slack_id,
            actor=by,
            note=note,
            extra=extra,
            reason_key=N_("routing.why_assigned"),
            volunteered=False,
            now=now,
            allow_away=assign_away,
        )
        # the register entry the pick was checked against (linked to the routing or not)
        chosen = routing.recipient_slack_id or ""
        expert = register_repo.get_expert_by_slack_id(session, slack_user_id=chosen) if assign_away else None
        today = self.core.calendar.local(now).date()
        if expert is not None and is_away(expert, today):
            away_until = expert.away_until.isoformat() if expert.away_until else None
            register_repo.create_audit_log(
                session,
                actor=by,
                action="assign_away",
                entity_type="question",
                entity_key=str(question.id),
                before=None,
                after={"slack_user_id": routing.recipient_slack_id, "away_until": away_until},
                now=now,
            )
        return routing

    def staff_close(
        self, session: Session, *, question_id: int, actor: Actor, note: str, now: datetime, only_waiting: bool = False
    ) -> Question:
        """Staff close a question by hand, with a note for the asker: one waiting for them (escalated, or answered)
        or one still with experts (routed, claimed, or held back before them), stuck with its asker gone quiet and
        its experts silent. As a withdrawal does, everyone still asked is told it is no longer needed, its timers
        stop, and the asker's next held question goes at once; the asker gets the note. Closed unanswered, it is
        treated as withdrawn in knowledge needs (``states.no_longer_quoted``): the live proposals quoting it are
        recorded for their posts to be rendered again (``mark_for_refresh``), as a withdrawal's are. Closed,
        resolved or withdrawn already: ``StaleActionError``; so is one no longer waiting for staff with
        ``only_waiting`` (the triage post's Close: a stale copy, assigned or claimed meanwhile). Staff only."""
        actor.require_staff("close a question", target=f"question:{question_id}")
        peek = question_repo.get_question(session, question_id=question_id)
        if peek is not None and peek.asker_slack_id:  # the asker's lock before the question's, as route_held
            question_repo.claim_asker_lock(session, asker_slack_id=peek.asker_slack_id)
        question = self.core.lock_question(session, question_id)
        if question.status in QUESTION_FINAL:
            raise StaleActionError("question_closed")
        if only_waiting and question.status not in (Q.ESCALATED, Q.ANSWERED):
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
        if no_longer_quoted(question.status.value, question.answered_at):  # as a withdrawal: counted, not quoted
            mark_for_refresh(session, items=MarkedItems([question.id], []), now=now)
        session.flush()
        if question.asker_slack_id:  # room with the experts again: the asker's next held question goes now
            self.route_held(session, now=now, asker_slack_id=question.asker_slack_id)
        return question
