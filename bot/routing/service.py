"""Question routing, without Slack: ask, route, claim, decline, forward, snooze, answer, escalate.

``RoutingService`` is the one object the CLI, the job runner and the Slack layer call (one per process). It is a
facade: each use case is a method of the actor who performs it, and the service exposes those methods under the
names callers have always used (``service.claim(...)``, ``service.handle_timer``, ...):

* ``bot.routing.asker.AskerActions`` — ask_question, add_information, cancel, resolve, rate; check_may_ask (the
  per-asker rate limit), route_held (questions held back while their asker had enough with experts);
* ``bot.routing.expert.ExpertActions`` — claim, decline, forward, snooze, answer, set_away, set_available, volunteer;
* ``bot.routing.staff.StaffActions`` — staff_assign, staff_close;
* ``bot.routing.reactions.TimerReactions`` — handle_timer (reminders, next expert, snooze, escalation);
  recipient_unreachable, request_undelivered, pick_unreachable (Slack cannot reach someone); expert_stopped (someone
  withdrew or opted out: ``bot.routing.stopped``);
* ``bot.routing.queries.RoutingQueries`` — get_own_question, get_routing_for, request_payload, request_messages,
  triage_messages, triage_copies, triage_posts, list_my_questions, list_my_routings, list_escalated,
  waiting_for_staff, additions.

They share one ``bot.routing.core.RoutingCore`` (the knowledge base, policy and calendar, and the steps every actor
composes: asking experts, escalating, closing routings, telling the asker, timers, the outbox). Composition rather
than one class with mixins: an actor's module sees the core and nothing of the other actors, so a change to what
experts do cannot reach into what staff do by accident.

Every method works inside the caller's session (one transaction; nothing here commits) and takes ``now``. State
changes go through ``bot.routing.states.transition``; notifications are queued with ``bot.outbox`` in the same
transaction (the Slack layer sends them); follow-ups are rows in ``timers`` (``bot.routing.timers`` runs them).
A refused action raises a ``WieweetError`` (``StaleActionError`` for stale or someone else's buttons,
``RoutingInputError`` for input to fix, ``NotFoundError``) before anything is written, so the caller's rollback
leaves everything as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy.orm import Session

from bot.knowledge import KnowledgeBase
from bot.routing.asker import AskerActions
from bot.routing.business_time import BusinessCalendar
from bot.routing.core import RoutingCore
from bot.routing.expert import ExpertActions
from bot.routing.policy import RoutingPolicy
from bot.routing.queries import RoutingQueries
from bot.routing.reactions import TIMER_KINDS, TimerReactions
from bot.routing.staff import StaffActions
from storage.models import TimerKind


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonGone:
    """What ``RoutingService.person_deactivated`` did: the routings moved on, whether the register entry was marked
    away now, the questions withdrawn and, of those, the ones that were with staff."""

    moved: list[int]
    marked: bool
    withdrawn: list[int]
    escalated: list[int]

    @property
    def outcome(self) -> str:
        if not (self.moved or self.marked or self.withdrawn):
            return "noop"
        return f"moved on {len(self.moved)}, marked away {self.marked}, withdrawn {len(self.withdrawn)}" + (
            f" ({len(self.escalated)} escalated)" if self.escalated else ""
        )


class RoutingService:
    """The routing use cases. One per process: it holds the knowledge base, the policy and the calendar."""

    # The timer kinds ``handle_timer`` applies: pass them to ``run_due_timers(kinds=...)``.
    timer_kinds: ClassVar[frozenset[TimerKind]] = TIMER_KINDS

    def __init__(
        self,
        *,
        knowledge: KnowledgeBase,
        policy: RoutingPolicy | None = None,
        calendar: BusinessCalendar | None = None,
    ) -> None:
        self.core = RoutingCore(
            knowledge=knowledge, policy=policy or RoutingPolicy(), calendar=calendar or BusinessCalendar()
        )
        self.asker = AskerActions(self.core)
        self.expert = ExpertActions(self.core)
        self.staff = StaffActions(self.core, route_held=self.asker.route_held)
        self.timers = TimerReactions(self.core)
        self.queries = RoutingQueries(self.core)

        # the asker
        self.ask_question = self.asker.ask_question
        self.add_information = self.asker.add_information
        self.cancel = self.asker.cancel
        self.resolve = self.asker.resolve
        self.rate = self.asker.rate
        self.check_may_ask = self.asker.check_may_ask
        self.set_question_thread = self.asker.set_question_thread
        self.route_held = self.asker.route_held
        self.route_held_each = self.asker.route_held_each
        # the people asked
        self.claim = self.expert.claim
        self.decline = self.expert.decline
        self.forward = self.expert.forward
        self.snooze = self.expert.snooze
        self.answer = self.expert.answer
        self.set_away = self.expert.set_away
        self.set_available = self.expert.set_available
        self.volunteer = self.expert.volunteer
        # staff
        self.staff_assign = self.staff.staff_assign
        self.staff_close = self.staff.staff_close
        # timers
        self.handle_timer = self.timers.handle_timer
        self.recipient_unreachable = self.timers.recipient_unreachable
        self.request_undelivered = self.timers.request_undelivered
        self.pick_unreachable = self.timers.pick_unreachable
        self.expert_gone = self.timers.expert_gone
        self.expert_stopped = self.timers.expert_stopped
        self.asker_gone = self.asker.asker_gone
        # reading
        self.get_own_question = self.queries.get_own_question
        self.get_routing_for = self.queries.get_routing_for
        self.request_payload = self.queries.request_payload
        self.request_messages = self.queries.request_messages
        self.triage_messages = self.queries.triage_messages
        self.triage_copies = self.queries.triage_copies
        self.triage_posts = self.queries.triage_posts
        self.list_my_questions = self.queries.list_my_questions
        self.list_my_routings = self.queries.list_my_routings
        self.list_escalated = self.queries.list_escalated
        self.waiting_for_staff = self.queries.waiting_for_staff
        self.additions = self.queries.additions

    def person_deactivated(self, session: Session, *, slack_user_id: str, reason: str, now: datetime) -> PersonGone:
        """Slack says the account was deactivated — its ``user_change`` event, or a DM Slack refuses with
        ``user_disabled`` (``reason``: ``deleted`` for both, so the audit log reads the same): as an expert, their
        open requests move on and they are marked away (``expert_gone``); as an asker, their questions still looking
        for an answer are withdrawn, escalated ones included (``asker_gone``). In one transaction; nothing the second
        time. The Slack layer then renders the posts that show them again (``handlers.deactivated``)."""
        moved, marked = self.expert_gone(session, slack_user_id=slack_user_id, reason=reason, now=now)
        withdrawn, escalated = self.asker_gone(session, asker_slack_id=slack_user_id, reason=reason, now=now)
        return PersonGone(moved=moved, marked=marked, withdrawn=withdrawn, escalated=escalated)

    @property
    def knowledge(self) -> KnowledgeBase:
        return self.core.knowledge

    @property
    def policy(self) -> RoutingPolicy:
        return self.core.policy

    @property
    def calendar(self) -> BusinessCalendar:
        return self.core.calendar
