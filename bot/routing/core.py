"""What every routing actor shares: the knowledge base, the policy and the calendar, and the steps they compose.

``RoutingCore`` asks experts (``route``, ``create_routing``), hands questions to staff (``escalate``) and schedules
timers; what it tells people — closing the routings still open, telling the asker, queueing outbox messages — it
has from ``bot.routing.telling.Telling``. The actors —
``bot.routing.asker``, ``expert``, ``staff``, ``reactions`` (timers) and ``queries`` — each hold the one core of the
process; ``bot.routing.service.RoutingService`` puts them behind one API.

Everything works inside the caller's session (one transaction; nothing here commits) and takes ``now``. A refused
action raises before anything is written (the checks: ``bot.routing.guards``; the errors: ``bot.routing.errors``).

Actor strings in the event log: the Slack user id, ``"system"`` for timers, ``"staff:<slack id>"`` for staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.errors import NotFoundError
from bot.i18n import t
from bot.knowledge import KnowledgeBase
from bot.outbox import AskerUpdateKind
from bot.register import profiles
from bot.routing import payloads
from bot.routing.business_time import BusinessCalendar
from bot.routing.chosen import chosen_expert, routing_for
from bot.routing.errors import NotYours, RoutingInputError
from bot.routing.guards import is_recipient, require_active, require_not_closed
from bot.routing.policy import RoutingPolicy
from bot.routing.selection import SKIP_BEING_CHANGED, Candidate, Selection, expert_language, select_experts
from bot.routing.states import ROUTING_OPEN, open_routings, record_event, transition
from bot.routing.telling import Telling
from bot.text import is_slack_user_id, strip_bidi, strip_invisible
from storage import question_repo, register_repo, slack_repo
from storage import routing_repo as repo
from storage.models import (
    Availability,
    EscalationReason,
    Expert,
    Question,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Timer,
    TimerKind,
)

Q = QuestionStatus
R = RoutingStatus
SYSTEM = "system"

MAX_TEXT = 8000
MAX_NOTE = 2000


STAFF_PREFIX = "staff:"


def staff_actor(staff_slack_id: str) -> str:
    return f"{STAFF_PREFIX}{staff_slack_id}"


def clean(text: str | None, limit: int = MAX_TEXT) -> str:
    """Free text (an answer, a note): trimmed, without bidi reordering controls (``bot.text``)."""
    return strip_bidi(text or "").strip()[:limit]


def clean_title(text: str | None, limit: int = MAX_TEXT) -> str:
    """A name or a question's text (what lists and digests show as its title): no invisible characters either."""
    return strip_invisible(text or "").strip()[:limit]


def slack_id(value: str | None) -> str:
    """A Slack user id to ask (from a user picker: a claim like any other); anything else is input to fix."""
    value = (value or "").strip()
    if not is_slack_user_id(value):
        raise RoutingInputError("invalid_slack_id")
    return value


def theme_keys(question: Question) -> list[str]:
    return [th.key for th in question.themes]


def slack_name(session: Session, slack_user_id: str) -> str | None:
    user = slack_repo.get_slack_user(session, slack_user_id=slack_user_id)
    return user.name if user is not None and user.name else None


class RoutingCore(Telling):
    """The process's routing state (knowledge base, policy, calendar) and the steps the actors share."""

    def __init__(self, *, knowledge: KnowledgeBase, policy: RoutingPolicy, calendar: BusinessCalendar) -> None:
        self.knowledge = knowledge
        self.policy = policy
        self.calendar = calendar

    # --- loading under the question's lock ---------------------------------------------------------------------

    def lock_question(self, session: Session, question_id: int) -> Question:
        question = question_repo.get_question(session, question_id=question_id, lock=True)
        if question is None:
            raise NotFoundError("not_found", f"question {question_id} not found", values={"question": question_id})
        return question

    def load_for_recipient(self, session: Session, routing_id: int, actor_slack_id: str) -> tuple[Routing, Question]:
        """Lock the routing's question, then check that ``actor`` is the one asked and the question still open."""
        routing = repo.get_routing(session, routing_id=routing_id)
        if routing is None:
            raise NotFoundError("not_found", f"routing {routing_id} not found", values={"routing": routing_id})
        question = self.lock_question(session, routing.question_id)
        routing = repo.get_routing(session, routing_id=routing_id) or routing  # re-read under the lock
        if not is_recipient(routing, actor_slack_id):
            raise NotYours("answer a question sent to someone else", target=f"routing:{routing.id}", code="not_yours")
        require_not_closed(question)
        return routing, question

    # --- asking experts ----------------------------------------------------------------------------------------

    def route(
        self, session: Session, question: Question, *, count: int, now: datetime, skip_locked: bool = False
    ) -> tuple[Selection, list[Routing]]:
        """Ask up to ``count`` more experts (never beyond ``max_experts_per_question`` in total); ``skip_locked``:
        the transaction holds an expert row already (``select_experts``)."""
        room = self.policy.max_experts_per_question - len(question.routings)
        selection = select_experts(
            session,
            knowledge=self.knowledge,
            policy=self.policy,
            question=question,
            count=max(0, min(count, room)),
            now=now,
            additions=self.additions(session, question) if question.id is not None else (),
            skip_locked=skip_locked,
        )
        routings = [self._routing_from_candidate(session, question, c, now=now) for c in selection.chosen]
        return selection, routings

    def _routing_from_candidate(
        self, session: Session, question: Question, candidate: Candidate, *, now: datetime
    ) -> Routing:
        return self.create_routing(
            session,
            question,
            expert=candidate.expert,
            recipient_slack_id=candidate.expert.slack_user_id,
            score=candidate.score,
            reasons=list(candidate.reasons),
            language=candidate.language,
            actor=SYSTEM,
            now=now,
            extra={"match_score": candidate.match_score, "decline_penalty": candidate.penalty},
        )

    def create_routing(
        self,
        session: Session,
        question: Question,
        *,
        expert: Expert | None,
        recipient_slack_id: str | None,
        score: float,
        reasons: Sequence[str],
        language: str,
        actor: str,
        now: datetime,
        suggested_by_expert_id: int | None = None,
        forwarded_from: Routing | None = None,
        extra: dict[str, Any] | None = None,
        replaceable: bool = True,
    ) -> Routing:
        """A new routing asking ``expert`` (or a Slack user outside the register); ``extra``: what the request DM
        says besides the question (``payloads.expert_request``'s keywords)."""
        routing = Routing(
            expert_id=expert.id if expert else None,
            expert=expert,
            recipient_slack_id=recipient_slack_id,
            status=R.ASKED,
            score=round(score, 4),
            reasons=list(reasons),
            language=language,
            suggested_by_expert_id=suggested_by_expert_id,
            forwarded_from_id=forwarded_from.id if forwarded_from else None,
            asked_at=now,
            updated_at=now,
        )
        question.routings.append(routing)
        session.flush()
        event = record_event(
            session, question_id=question.id, routing_id=routing.id, to_status=R.ASKED.value, actor=actor, now=now
        )
        self.after_routing_created(
            session, question, routing, cause=f"e{event.id}", now=now, extra=extra, replaceable=replaceable
        )
        return routing

    def after_routing_created(
        self,
        session: Session,
        question: Question,
        routing: Routing,
        *,
        cause: str,
        now: datetime,
        extra: dict[str, Any] | None,
        replaceable: bool = True,
    ) -> None:
        """Ask the recipient (DM), remind them later and — unless the routing is not ``replaceable`` (a volunteer)
        — ask the next expert when they stay silent."""
        request = payloads.expert_request(question, routing, self.additions(session, question), **(extra or {}))
        self.enqueue(session, request, cause=cause, now=now, routing=routing)
        remind_at = self.calendar.add_business_days(now, self.policy.remind_after_days)
        self.schedule(session, TimerKind.REMIND, routing, remind_at, now)
        if not replaceable:
            return
        next_at = self.calendar.add_business_days(now, self.policy.next_expert_after_days)
        self.schedule(session, TimerKind.NEXT_EXPERT, routing, next_at, now)

    def ask_by_hand(
        self,
        session: Session,
        question: Question,
        *,
        to_slack_id: str,
        actor: str,
        note: str,
        extra: dict[str, Any],
        reason_key: str,
        volunteered: bool,
        now: datetime,
        allow_away: bool = False,
    ) -> Routing:
        """Ask someone chosen by a person (staff assigning, someone volunteering), in the register or not; someone
        asked before (who declined, forwarded or was closed) is asked again on the same routing. ``allow_away``:
        staff confirmed they want someone away; staff are held to the policy's consent rule, someone volunteering
        is not (``bot.routing.chosen``)."""
        to_slack_id = slack_id(to_slack_id)
        require_active(question)
        today = self.calendar.local(now).date()
        expert = chosen_expert(
            session,
            question,
            to_slack_id,
            actor=actor,
            today=today,
            now=now,
            volunteered=volunteered,
            allow_away=allow_away,
            require_consent=self.policy.require_confirmed_consent,  # staff choose by the routing's rule
        )
        existing = routing_for(question, to_slack_id, expert)
        lang = expert_language(session, expert, to_slack_id, default=self.policy.default_language)
        if existing is not None:
            routing = self._ask_again(
                session,
                question,
                existing,
                actor=actor,
                note=note,
                lang=lang,
                extra=extra,
                volunteered=volunteered,
                now=now,
            )
        else:
            routing = self.create_routing(
                session,
                question,
                expert=expert,
                recipient_slack_id=to_slack_id,
                score=0.0,
                reasons=[t(reason_key, lang)],
                language=lang,
                actor=actor,
                now=now,
                extra=extra,
                replaceable=not volunteered,
            )
        if volunteered:
            routing.volunteered = True
            if question.status is Q.OPEN:  # nobody was asked yet: it is routed now; nothing else changes
                self._routed_by_hand(session, question, routing, actor=actor, note=f"volunteer {to_slack_id}", now=now)
            return routing
        if question.status in (Q.ESCALATED, Q.OPEN):
            self._routed_by_hand(session, question, routing, actor=actor, note=f"assigned {to_slack_id}", now=now)
        repo.update_timers_cancelled(
            session, question_id=question.id, now=now, kinds=(TimerKind.ESCALATE,), note="reassigned"
        )
        self.schedule_escalation(session, question, now=now, from_assignment=True)
        return routing

    def _ask_again(
        self,
        session: Session,
        question: Question,
        routing: Routing,
        *,
        actor: str,
        note: str,
        lang: str,
        extra: dict[str, Any],
        volunteered: bool,
        now: datetime,
    ) -> Routing:
        if routing.status in ROUTING_OPEN:
            raise RoutingInputError("already_asked")
        values = {"asked_at": now, "responded_at": None, "reminded_at": None, "snoozed_until": None, "language": lang}
        event = transition(session, routing, R.ASKED, actor=actor, now=now, note=clean(note, MAX_NOTE), values=values)
        session.flush()
        self.after_routing_created(
            session, question, routing, cause=f"e{event.id}", now=now, extra=extra, replaceable=not volunteered
        )
        return routing

    def _routed_by_hand(
        self, session: Session, question: Question, routing: Routing, *, actor: str, note: str, now: datetime
    ) -> None:
        transition(session, question, Q.ROUTED, actor=actor, now=now, note=note)
        session.flush()
        cause = f"q{question.id}-r{routing.id}"
        self.tell_asker_asked(session, question, AskerUpdateKind.ROUTED, [routing], now, cause=cause)

    def refill(self, session: Session, question: Question, *, now: datetime, skip_locked: bool = False) -> None:
        """After a decline: keep ``initial_experts`` asked; escalate when nobody is left. ``skip_locked``: the
        transaction holds an expert row already (``select_experts``); when nobody is left only because a candidate's
        row was being changed at that moment, the question is not handed to staff but asked again shortly, in a
        transaction of its own that waits for the change (``schedule_refill``)."""
        if question.status is not Q.ROUTED:
            return
        still_open = open_routings(question)
        if any(r.status is R.CLAIMED for r in still_open):
            return
        needed = self.policy.initial_experts - len(still_open)
        selection = (
            self.route(session, question, count=needed, now=now, skip_locked=skip_locked)[0] if needed > 0 else None
        )
        if open_routings(question):
            return
        if selection is not None and SKIP_BEING_CHANGED in selection.skipped.values():
            self.schedule_refill(session, question, now=now)
        else:
            self.escalate(session, question, EscalationReason.ALL_DECLINED, now=now)

    def release_claim(
        self, session: Session, question: Question, *, was_claimed: bool, actor: str, now: datetime
    ) -> None:
        """The expert who held the question let go of it (declined or forwarded): it is routed again."""
        if was_claimed and question.status is Q.CLAIMED:
            transition(session, question, Q.ROUTED, actor=actor, now=now, note="claim released")

    # --- timers ------------------------------------------------------------------------------------------------

    def schedule(self, session: Session, kind: TimerKind, routing: Routing, due_at: datetime, now: datetime) -> Timer:
        return repo.create_timer(
            session,
            kind=kind,
            due_at=due_at,
            now=now,
            question_id=routing.question_id,
            routing_id=routing.id,
            expert_id=routing.expert_id,
        )

    def schedule_refill(self, session: Session, question: Question, *, now: datetime) -> Timer:
        """Ask the next expert at the next timer pass: a ``NEXT_EXPERT`` timer of the question without a routing
        (``TimerReactions.handle_timer``: ``refill`` again, waiting for a row being changed; staff when nobody is
        left). Its escalation timer still runs meanwhile."""
        return repo.create_timer(session, kind=TimerKind.NEXT_EXPERT, due_at=now, now=now, question_id=question.id)

    def schedule_escalation(
        self, session: Session, question: Question, *, now: datetime, from_assignment: bool = False
    ) -> Timer:
        """Escalate after ``escalate_after_days`` business days or at the desired date, whichever comes first.

        The desired date counts from the opening of office hours on that day (on the next business day when nobody
        works on it); when that has passed already (the answer is wanted today), escalation is due at once.
        """
        due = self.calendar.add_business_days(now, self.policy.escalate_after_days)
        if question.desired_by is not None:
            wanted = max(self.calendar.first_opening_from(question.desired_by), now)
            if not (from_assignment and wanted <= now):
                due = min(due, wanted)
        return repo.create_timer(session, kind=TimerKind.ESCALATE, due_at=due, now=now, question_id=question.id)

    # --- staff (the asker and the people still asked: ``Telling``) ---------------------------------------------

    def escalate(self, session: Session, question: Question, reason: EscalationReason, *, now: datetime) -> None:
        """Hand the question to staff (the triage channel) and tell the asker."""
        if question.status is Q.ESCALATED:
            return
        event = transition(
            session,
            question,
            Q.ESCALATED,
            actor=SYSTEM,
            now=now,
            note=reason.value,
            values={"escalated_at": now, "escalation_reason": reason.value},
        )
        session.flush()
        repo.update_timers_cancelled(
            session, question_id=question.id, now=now, kinds=(TimerKind.ESCALATE,), note="escalated"
        )
        counts: dict[str, int] = {}
        for routing in question.routings:
            counts[routing.status.value] = counts.get(routing.status.value, 0) + 1
        self.enqueue(
            session,
            payloads.triage(question, reason, escalated_at=now, routing_counts=counts),
            cause=f"e{event.id}",
            now=now,
            question=question,
            channel_id=self.policy.triage_channel_id,
        )
        # Staff hear of every escalation (each gives them something to do); the asker once per question: after
        # staff assigned someone who declined or stayed silent, "staff take it up" would only say it again. The
        # outbox's unique key makes it once across replicas and restarts too.
        self.notify_asker(
            session, question, event, AskerUpdateKind.ESCALATED, now, reason=reason, cause=f"q{question.id}"
        )

    # --- the registers -----------------------------------------------------------------------------------------

    def set_availability(
        self, session: Session, slack_user_id: str, availability: Availability, until: date | None, now: datetime
    ) -> Expert:
        expert = register_repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
        if expert is None:
            raise RoutingInputError("not_in_register")
        return profiles.set_availability(
            session,
            actor=Actor.slack(slack_user_id, is_staff=False),
            expert_id=expert.id,
            availability=availability,
            until=until,
            today=self.calendar.local(now).date(),
            now=now,
        )
