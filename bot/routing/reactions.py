"""What happens when a routing timer is due: remind the expert, ask the next one, ask again after a snooze,
escalate to staff. ``bot.routing.timers.run_due_timers`` claims the timers; ``handle_timer`` applies one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.outbox import AskerUpdateKind, DeliveryFailed, Person
from bot.register import stop_locks, unreachable
from bot.routing import payloads, stopped
from bot.routing.chosen import routable_expert
from bot.routing.core import STAFF_PREFIX, SYSTEM, Q, R, RoutingCore
from bot.routing.keys import marked_away_cause
from bot.routing.states import QUESTION_ACTIVE, ROUTING_OPEN, record_routing_event, transition
from bot.routing.telling import person
from bot.text import is_slack_user_id
from storage import outbox_repo, question_repo, register_repo
from storage import routing_repo as repo
from storage.models import Consent, EscalationReason, EventKind, Question, Routing, Timer, TimerKind, is_stopped

# The timer kinds ``handle_timer`` applies: pass them to ``run_due_timers(kinds=...)``.
TIMER_KINDS: frozenset[TimerKind] = frozenset(
    {TimerKind.REMIND, TimerKind.NEXT_EXPERT, TimerKind.ESCALATE, TimerKind.SNOOZE}
)


class TimerReactions:
    timer_kinds = TIMER_KINDS

    def __init__(self, core: RoutingCore) -> None:
        self.core = core

    def handle_timer(self, session: Session, timer: Timer, now: datetime) -> str:
        """Apply one due timer; returns what happened ("reminded", "noop: ...", ...). Used by ``run_due_timers``.

        Raises ``ValueError`` for a kind that is not routing's (sweep with ``kinds=TIMER_KINDS``).
        """
        if timer.kind not in TIMER_KINDS:
            raise ValueError(f"not a routing timer: {timer.kind.value}")
        if timer.question_id is None:
            return "noop: no question"
        question = question_repo.get_question(session, question_id=timer.question_id, lock=True)
        if question is None:
            return "noop: question gone"
        if timer.kind is TimerKind.ESCALATE or timer.routing_id is None:  # the question's own timer
            return self._on_question_timer(session, question, timer, now)
        routing = repo.get_routing(session, routing_id=timer.routing_id) if timer.routing_id is not None else None
        refused = _not_for_routing(question, routing)
        if refused is not None or routing is None:
            return refused or "noop: routing gone"
        claimed_by_other = routing.status is R.ASKED and any(r.status is R.CLAIMED for r in question.routings)
        if timer.kind in (TimerKind.REMIND, TimerKind.SNOOZE) and is_stopped(routing.expert):
            return "noop: not to be asked"  # withdrew or opted out (their requests moved on then: ``expert_stopped``)
        if timer.kind is TimerKind.SNOOZE:
            return self._on_snooze(session, question, routing, timer, now, claimed_by_other=claimed_by_other)
        if routing.snoozed_until is not None and routing.snoozed_until > now:
            return "noop: snoozed"
        if timer.kind is TimerKind.REMIND:
            return self._on_remind(session, question, routing, timer, now, claimed_by_other=claimed_by_other)
        return self._on_next_expert(session, question, routing, timer, now)

    def recipient_unreachable(self, session: Session, *, routing_id: int, error: str, now: datetime) -> str:
        """The DM asking someone failed for good (a bot, a deactivated account, someone gone from the workspace:
        Slack's ``cannot_dm_bot``, ``user_disabled``, ``user_not_found``): they will never see the question, so their
        routing is closed and the next expert is asked at once — or the question goes to staff when nobody is left —
        as after a decline, but recorded as no decline (they never saw it). An expert in the register is marked away
        (``unreachable.mark_unreachable``: not picked for the next question, and the next; staff are told, and they or
        staff make them available again); whoever chose them by hand is told. Returns what happened."""
        locked = _locked(session, routing_id)
        if isinstance(locked, str):
            return locked
        question, routing = locked
        marked = self._mark_unreachable(session, question, routing, error=error, now=now)
        settled = _settled(question, routing)
        if settled is not None:  # answered, closed or moved on meanwhile: nobody to replace, nobody to tell
            return settled + (", marked away" if marked else "")
        self._move_on(session, question, routing, note=f"unreachable: {error}"[:200], why="unreachable", now=now)
        self._tell_chooser(session, question, routing, error=error, moved_on=True, now=now)
        return "moved on" + (", marked away" if marked else "")

    def expert_stopped(self, session: Session, *, expert_id: int, now: datetime) -> list[int]:
        """The expert withdrew their listing or opted out of questions (``bot.routing.stopped``; called in that
        transaction, the questions of their requests and then their register row locked): every request still open
        for them moves on as when their DM can never arrive (``recipient_unreachable``: the next expert asked, or
        staff handed the question; staff who chose them by hand told why, an expert who forwarded to them told
        nothing; the asker loses nothing), each routing's move audited in its events, and the request, reminder and
        update DMs still queued for their routings end unsent. Not marked away: they chose this.
        Returns the routings moved on (none when the entry does not say to stop asking them)."""
        expert = stop_locks.lock_expert_to_stop(session, expert_id=expert_id)  # their questions first, then the row
        if expert is None or not is_stopped(expert):
            return []
        why = "withdrawn" if expert.consent is Consent.WITHDRAWN else "opted_out"
        if not expert.slack_user_id:  # nobody to DM: no request of theirs can be open
            return []
        theirs = repo.list_routings_for(
            session, slack_user_id=expert.slack_user_id, statuses=sorted(ROUTING_OPEN), limit=500
        )
        moved: list[int] = []
        for found in sorted(theirs, key=lambda r: r.id):
            locked = _locked(session, found.id)
            if isinstance(locked, str) or _settled(*locked) is not None:
                continue
            question, routing = locked
            self._move_on(session, question, routing, note=f"not to be asked: {why}", why=why, now=now)
            self._tell_chooser(
                session, question, routing, error=stopped.STOPPED_ERROR, moved_on=True, now=now, staff_only=True
            )
            moved.append(routing.id)
        outbox_repo.update_routing_messages_ended(
            session,
            routing_ids=[r.id for r in theirs],
            kinds=stopped.ASKING_KINDS,
            now=now,
            reason=stopped.ENDED_REASON,
        )
        return moved

    def _move_on(
        self, session: Session, question: Question, routing: Routing, *, note: str, why: str, now: datetime
    ) -> None:
        """Close an open routing whose person will not answer (expired, its timers cancelled, a claim released) and
        keep the question asked: the next expert, or staff when nobody is left. Every caller's transaction holds (or
        may hold) an expert row: the person stopping, the one marked away; so the next expert is chosen without
        waiting for a row another transaction is changing (``select_experts(skip_locked=True)``): two people
        stopping at once, each a candidate for the other's question, would otherwise wait for each other."""
        was_claimed = routing.status is R.CLAIMED
        transition(session, routing, R.EXPIRED, actor=SYSTEM, now=now, note=note, values={"snoozed_until": None})
        repo.update_timers_cancelled(session, routing_id=routing.id, now=now, note=why)
        self.core.release_claim(session, question, was_claimed=was_claimed, actor=SYSTEM, now=now)
        self.core.refill(session, question, now=now, skip_locked=True)

    def expert_gone(
        self, session: Session, *, slack_user_id: str, reason: str, now: datetime
    ) -> tuple[list[int], bool]:
        """Slack says this person's account was deactivated (``reason``): every request still open for them moves on
        now, as when their DM fails for good (``recipient_unreachable``: the next expert asked, or staff handed the
        question; whoever chose them told), and their register entry is marked away (``unreachable.mark_unreachable``,
        audited; staff told in triage with the first question that moved on): not picked again, shown as away.
        Returns the routings moved on and whether the entry was marked now (nothing the second time).
        Their questions are locked first, in id order, then their entry (``bot.register.stop_locks``), before any
        request moves on: moving one on reads the question's candidates ``FOR SHARE``, them too perhaps (a request
        naming them only by Slack id), and a share taken before their row was changed would be upgraded, which two
        people gone at once, each a candidate of the other's question, would wait for from each other."""
        entry = register_repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
        if entry is not None:
            stop_locks.lock_expert_to_stop(session, expert_id=entry.id)
        else:
            stop_locks.lock_questions(session, slack_user_id=slack_user_id)
        routings = repo.list_routings_for(
            session, slack_user_id=slack_user_id, statuses=sorted(ROUTING_OPEN), limit=500
        )
        moved = [r.id for r in routings]
        marked = False
        for routing_id in moved:
            marked = (
                self.recipient_unreachable(session, routing_id=routing_id, error=reason, now=now).endswith(
                    "marked away"
                )
                or marked
            )
        expert = register_repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
        if expert is not None and unreachable.mark_unreachable(session, expert_id=expert.id, reason=reason, now=now):
            marked = True
        return moved, marked

    def request_undelivered(self, session: Session, *, routing_id: int, error: str, now: datetime) -> str:
        """The DM asking someone was given up for another reason (a channel Slack will not post in, Slack refusing
        through every attempt): the routing waits for its timers as any unanswered request does, and whoever chose
        the person by hand is told, so they can choose someone else — unless the routing is no longer open or the
        question no longer looks for an answer (answered, closed meanwhile). Returns what happened."""
        locked = _locked(session, routing_id)
        if isinstance(locked, str):
            return locked
        question, routing = locked
        settled = _settled(question, routing)
        if settled is not None:  # answered, closed or moved on meanwhile: choosing someone else would be useless
            return settled
        told = self._tell_chooser(session, question, routing, error=error, moved_on=False, now=now)
        return "told who chose them" if told else "noop: chosen by the matcher"

    def _mark_unreachable(
        self, session: Session, question: Question, routing: Routing, *, error: str, now: datetime
    ) -> bool:
        """An expert in the register whose DM can never arrive: marked away (once), staff told in triage."""
        if routing.expert_id is None:
            return False
        cause = marked_away_cause(routing.expert_id, f"r{routing.id}")
        return self._mark_away(session, question, routing.expert_id, person(routing), error=error, cause=cause, now=now)

    def pick_unreachable(
        self, session: Session, *, question_id: int, slack_user_id: str, error: str, now: datetime
    ) -> bool:
        """Someone chosen by hand (staff assigning, an expert forwarding) whom Slack reports deactivated: the caller
        refuses the choice; an expert in the register is marked away as when a request's DM fails for good (once;
        the audit log has why; staff are told in triage), so the matcher does not pick them either. True: marked."""
        expert = routable_expert(session, slack_user_id)
        question = question_repo.get_question(session, question_id=question_id)
        if expert is None or question is None:
            return False
        chosen = payloads.person(expert, slack_user_id)
        cause = marked_away_cause(expert.id, f"q{question.id}")
        return self._mark_away(session, question, expert.id, chosen, error=error, cause=cause, now=now)

    def _mark_away(
        self,
        session: Session,
        question: Question,
        expert_id: int,
        recipient: Person,
        *,
        error: str,
        cause: str,
        now: datetime,
    ) -> bool:
        expert = unreachable.mark_unreachable(session, expert_id=expert_id, reason=error, now=now)
        if expert is None:
            return False
        notice = DeliveryFailed(
            question_id=question.id, recipient=recipient, error=error, marked_away=True, moved_on=True
        )
        self.core.enqueue(
            session, notice, cause=cause, now=now, question=question, channel_id=self.core.policy.triage_channel_id
        )
        return True

    def _tell_chooser(
        self,
        session: Session,
        question: Question,
        routing: Routing,
        *,
        error: str,
        moved_on: bool,
        now: datetime,
        staff_only: bool = False,
    ) -> bool:
        """Tell whoever asked this person by hand (staff assigning, an expert forwarding) that the request did not
        arrive: once per time they were asked (the routing's last "asked" event is the cause). ``staff_only``: a
        reason only staff may read (a consent decision: withdrew, opted out); a forwarding expert is told nothing, as
        after a decline (the question went on to others by itself)."""
        asked = [
            e
            for e in question_repo.list_question_events(session, question_id=question.id)
            if e.routing_id == routing.id and e.to_status == R.ASKED.value and e.kind == EventKind.STATUS
        ]
        if not asked:
            return False
        actor = asked[-1].actor
        by_staff = actor.startswith(STAFF_PREFIX)
        chooser = actor.removeprefix(STAFF_PREFIX)
        if not is_slack_user_id(chooser) or chooser == routing.recipient_slack_id:  # the matcher, a volunteer, the CLI
            return False
        if staff_only and not by_staff:
            return False
        notice = DeliveryFailed(
            question_id=question.id, recipient=person(routing), error=error, by_staff=by_staff, moved_on=moved_on
        )
        self.core.enqueue(
            session, notice, cause=f"e{asked[-1].id}", now=now, question=question, recipient_slack_id=chooser
        )
        return True

    def _on_remind(
        self,
        session: Session,
        question: Question,
        routing: Routing,
        timer: Timer,
        now: datetime,
        *,
        claimed_by_other: bool,
    ) -> str:
        if claimed_by_other:
            return "noop: claimed by a colleague"
        if routing.reminded_at is not None:
            return "noop: already reminded"
        routing.reminded_at = now
        record_routing_event(session, routing, kind=EventKind.REMINDER, actor=SYSTEM, now=now)
        reminder = payloads.expert_reminder(question, routing, self.core.additions(session, question))
        self.core.enqueue(session, reminder, cause=f"t{timer.id}", now=now, routing=routing)
        return "reminded"

    def _on_next_expert(
        self, session: Session, question: Question, routing: Routing, timer: Timer, now: datetime
    ) -> str:
        """Silent for ``next_expert_after_days``: ask the next expert — one for the question, not one per silent
        expert. The experts asked together go silent together; the first of their timers asks the next expert and
        the others find someone asked after them still within their time. The asker is told who was added."""
        if routing.status is not R.ASKED:
            return "noop: expert responded"
        if question.status is not Q.ROUTED:
            return f"noop: question {question.status.value}"
        if any(r.status in ROUTING_OPEN and r.asked_at > routing.asked_at for r in question.routings):
            return "noop: a later expert is still within their time"
        _, routings = self.core.route(session, question, count=1, now=now)
        if not routings:
            return "noop: nobody else to ask"
        self.core.tell_asker_asked(session, question, AskerUpdateKind.ADDED, routings, now, cause=f"t{timer.id}")
        return f"asked {routings[0].id}"

    def _on_question_timer(self, session: Session, question: Question, timer: Timer, now: datetime) -> str:
        if timer.kind is TimerKind.ESCALATE:
            return self._on_escalate(session, question, timer, now)
        if timer.kind is TimerKind.NEXT_EXPERT:  # nobody was left only for a moment (``RoutingCore.schedule_refill``)
            return self._on_refill(session, question, now)
        return "noop: routing gone"

    def _on_refill(self, session: Session, question: Question, now: datetime) -> str:
        """Nobody was left to ask when a request moved on, only because a candidate's row was being changed then
        (``RoutingCore.schedule_refill``): ask again, now waiting for such a change to commit (this transaction
        holds only the question), and hand the question to staff when nobody is left."""
        if question.status is not Q.ROUTED or any(r.status in ROUTING_OPEN for r in question.routings):
            return f"noop: question {question.status.value}" if question.status is not Q.ROUTED else "noop: asked"
        self.core.refill(session, question, now=now)
        asked = [r.id for r in question.routings if r.status in ROUTING_OPEN]
        return f"asked {asked[0]}" if asked else "escalated: all_declined"

    def _on_snooze(
        self,
        session: Session,
        question: Question,
        routing: Routing,
        timer: Timer,
        now: datetime,
        *,
        claimed_by_other: bool,
    ) -> str:
        routing.snoozed_until = None
        routing.updated_at = now
        if claimed_by_other:
            return "noop: claimed by a colleague"
        request = payloads.expert_request(question, routing, self.core.additions(session, question), resent=True)
        self.core.enqueue(session, request, cause=f"t{timer.id}", now=now, routing=routing)
        return "resent"

    def _on_escalate(self, session: Session, question: Question, timer: Timer, now: datetime) -> str:
        if question.status not in (Q.OPEN, Q.ROUTED, Q.CLAIMED):
            return f"noop: question {question.status.value}"
        if question.routings and min(r.asked_at for r in question.routings) > timer.created_at:
            # set while the question was held, and already running when it went to experts (which cancels it):
            # the experts have their own escalation, from when they were asked
            return "noop: routed after it was held"
        deadline = self.core.calendar.add_business_days(question.created_at, self.core.policy.escalate_after_days)
        if now >= deadline or question.desired_by is None:
            reason = EscalationReason.DEADLINE
        else:
            reason = EscalationReason.DESIRED_DATE
        self.core.escalate(session, question, reason, now=now)
        return f"escalated: {reason.value}"


def _not_for_routing(question: Question, routing: Routing | None) -> str | None:
    """Why a routing's timer no longer applies (None: it does)."""
    if routing is None or routing.question_id != question.id:
        return "noop: routing gone"
    if routing.status not in ROUTING_OPEN:
        return f"noop: routing {routing.status.value}"
    if question.status not in (Q.ROUTED, Q.CLAIMED, Q.ESCALATED):
        return f"noop: question {question.status.value}"
    return None


def _locked(session: Session, routing_id: int) -> tuple[Question, Routing] | str:
    """A routing and its question, the question locked and the routing re-read under that lock (a failed request's
    reactions), or why there is nothing to react to."""
    found = repo.get_routing(session, routing_id=routing_id)
    if found is None:
        return "noop: routing gone"
    question = question_repo.get_question(session, question_id=found.question_id, lock=True)
    routing = repo.get_routing(session, routing_id=routing_id)
    if question is None or routing is None:
        return "noop: question gone"
    return question, routing


def _settled(question: Question, routing: Routing) -> str | None:
    """Why a failed request needs no reaction any more: its routing was answered, declined or closed, or its question
    was answered or closed meanwhile (None: it still waits for its expert)."""
    if routing.status not in ROUTING_OPEN:
        return f"noop: routing {routing.status.value}"
    if question.status not in QUESTION_ACTIVE:
        return f"noop: question {question.status.value}"
    return None
