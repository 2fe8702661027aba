"""Question routing, without Slack: ask, route, claim, decline, forward, snooze, answer, escalate.

Every method works inside the caller's session (one transaction; nothing here commits) and takes ``now``. State
changes go through ``bot.routing.states.transition``; notifications are written to the outbox in the same
transaction (the Slack layer sends them); follow-ups are rows in ``timers`` (``bot.routing.timers`` runs them).

A refused action raises a ``WieweetError`` (``StaleActionError`` for stale or someone else's buttons,
``RoutingInputError`` for input to fix, ``NotFoundError``) before anything is written, so the caller's rollback
leaves everything as it was.

Actor strings in the event log: the Slack user id, ``"system"`` for timers, ``"staff:<slack id>"`` for staff.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.actors import Actor, NotAuthorized
from bot.errors import NotFoundError
from bot.i18n import DEFAULT_LANGUAGE, N_, normalise_language, t
from bot.knowledge import KnowledgeBase, normalise_gap_query
from bot.register import profiles
from bot.routing import payloads
from bot.routing.business_time import BusinessCalendar
from bot.routing.errors import NotYours, RoutingInputError, StaleActionError
from bot.routing.policy import RoutingPolicy
from bot.routing.selection import Candidate, Selection, expert_language, select_experts
from bot.routing.states import (
    QUESTION_ACTIVE,
    QUESTION_FINAL,
    ROUTING_OPEN,
    record_event,
    transition,
)
from bot.text import strip_bidi, strip_invisible
from storage import routing_repo as repo
from storage.models import (
    Answer,
    Availability,
    Expert,
    KnowledgeGap,
    OutboxKind,
    OutboxMessage,
    Question,
    QuestionEvent,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Timer,
    TimerKind,
    Visibility,
)

log = logging.getLogger(__name__)

Q = QuestionStatus
R = RoutingStatus
SYSTEM = "system"

MAX_TEXT = 8000
MAX_NOTE = 2000

# escalation reasons (Question.escalation_reason)
ESCALATION_NO_MATCH = "no_match"
ESCALATION_NOBODY_AVAILABLE = "nobody_available"
ESCALATION_ALL_DECLINED = "all_declined"
ESCALATION_DEADLINE = "deadline"
ESCALATION_DESIRED_DATE = "desired_date"

# why a routing was closed (routing_closed payload "reason")
CLOSED_ANSWERED = "answered"
CLOSED_CANCELLED = "cancelled"
CLOSED_RESOLVED = "resolved"
CLOSED_BY_STAFF = "closed"


def staff_actor(staff_slack_id: str) -> str:
    return f"staff:{staff_slack_id}"


def _clean(text: str | None, limit: int = MAX_TEXT) -> str:
    """Free text (an answer, a note): trimmed, without bidi reordering controls (``bot.text``)."""
    return strip_bidi(text or "").strip()[:limit]


def _clean_title(text: str | None, limit: int = MAX_TEXT) -> str:
    """A name or a question's text (what lists and digests show as its title): no invisible characters either."""
    return strip_invisible(text or "").strip()[:limit]


def _unique_refs(pairs: Iterable[tuple[str | None, str | None]]) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    for channel, ts in pairs:
        ref = {"channel_id": channel or "", "message_ts": ts or ""}
        if channel and ts and ref not in refs:
            refs.append(ref)
    return refs


_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")


def _slack_id(value: str | None) -> str:
    """A Slack user id to ask (from a user picker: a claim like any other); anything else is input to fix."""
    value = (value or "").strip()
    if not _SLACK_USER_ID.match(value):
        raise RoutingInputError("invalid_slack_id")
    return value


class RoutingService:
    """The routing use cases. One per process: it holds the knowledge base, the policy and the calendar."""

    # The timer kinds ``handle_timer`` applies: pass them to ``run_due_timers(kinds=...)``.
    timer_kinds: frozenset[TimerKind] = frozenset(
        {TimerKind.REMIND, TimerKind.NEXT_EXPERT, TimerKind.ESCALATE, TimerKind.SNOOZE}
    )

    def __init__(
        self,
        *,
        knowledge: KnowledgeBase,
        policy: RoutingPolicy | None = None,
        calendar: BusinessCalendar | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.policy = policy or RoutingPolicy()
        self.calendar = calendar or BusinessCalendar()

    # =========================================================================================== asker

    def ask_question(
        self,
        session: Session,
        *,
        asker_slack_id: str | None,
        asker_name: str = "",
        text: str,
        context: str = "",
        theme_keys: Iterable[str] = (),
        desired_by: date | None = None,
        visibility: Visibility = Visibility.PUBLIC,
        channel_id: str | None = None,
        channel_is_private: bool = False,
        thread_ts: str | None = None,
        language: str = DEFAULT_LANGUAGE,
        now: datetime,
    ) -> Question:
        """Record a question and route it: ask the best experts, or escalate to staff when nobody fits."""
        text = _clean_title(text)
        if not text:
            raise RoutingInputError("empty_question")
        keys = sorted({k.strip() for k in theme_keys if k and k.strip()})
        themes = repo.themes_by_key(session, keys=keys)
        unknown = [k for k in keys if k not in themes]
        if unknown:
            raise RoutingInputError("unknown_theme", f"unknown theme keys: {', '.join(unknown)}")
        today = self.calendar.local(now).date()
        if desired_by is not None and desired_by < today:
            raise RoutingInputError("desired_date_past")
        question = Question(
            asker_slack_id=asker_slack_id,
            asker_name=_clean_title(asker_name, 200),
            text=text,
            context=_clean(context),
            language=normalise_language(language),
            visibility=visibility,
            status=Q.OPEN,
            channel_id=channel_id,
            channel_is_private=channel_is_private,
            thread_ts=thread_ts,
            desired_by=desired_by,
            created_at=now,
            updated_at=now,
            themes=[themes[k] for k in keys],
        )
        session.add(question)
        session.flush()
        record_event(session, question_id=question.id, to_status=Q.OPEN.value, actor=asker_slack_id or SYSTEM, now=now)

        selection, routings = self._route(session, question, count=self.policy.initial_experts, now=now)
        if routings:
            event = transition(session, question, Q.ROUTED, actor=SYSTEM, now=now, note=f"{len(routings)} asked")
            self._notify_asker(session, question, event, "routed", now, experts=[self._person(r) for r in routings])
            self._schedule_escalation(session, question, now=now)
        elif selection.gap:  # nobody in the register knows: a knowledge gap
            self._record_gap(session, question, selection, now=now)
            self._escalate(session, question, ESCALATION_NO_MATCH, now=now)
        else:  # people match, but none can be asked now (away, at their limit, no consent, ...)
            self._escalate(session, question, ESCALATION_NOBODY_AVAILABLE, now=now)
        return question

    def add_information(
        self, session: Session, *, question_id: int, actor_slack_id: str, text: str, now: datetime
    ) -> QuestionEvent:
        """The asker adds information; everyone still asked gets it."""
        text = _clean(text)
        if not text:
            raise RoutingInputError("empty_information")
        question = self._lock_question(session, question_id)
        self._require_asker(question, actor_slack_id)
        self._require_active(question)
        event = record_event(
            session,
            question_id=question.id,
            from_status=question.status.value,
            to_status=question.status.value,
            actor=actor_slack_id,
            now=now,
            note=text,
            kind="info",
        )
        session.flush()
        additions = self.additions(session, question)
        for routing in repo.open_routings(question):
            self._enqueue(
                session,
                OutboxKind.QUESTION_UPDATED,
                cause=f"e{event.id}",
                now=now,
                routing=routing,
                payload={
                    **payloads.expert_question(question, additions),
                    **payloads.routing_fields(routing),
                    "addition": text,
                },
            )
        return event

    def cancel(
        self, session: Session, *, question_id: int, actor_slack_id: str, now: datetime, note: str = ""
    ) -> Question:
        """The asker withdraws the question; everyone still asked is told."""
        return self._close_by_asker(session, question_id, Q.CANCELLED, CLOSED_CANCELLED, actor_slack_id, now, note)

    def resolve(
        self, session: Session, *, question_id: int, actor_slack_id: str, now: datetime, note: str = ""
    ) -> Question:
        """The asker marks the question resolved (answered here, or found elsewhere)."""
        return self._close_by_asker(session, question_id, Q.RESOLVED, CLOSED_RESOLVED, actor_slack_id, now, note)

    def _close_by_asker(
        self, session: Session, question_id: int, status: Q, reason: str, actor: str, now: datetime, note: str
    ) -> Question:
        question = self._lock_question(session, question_id)
        self._require_asker(question, actor)
        transition(
            session, question, status, actor=actor, now=now, note=_clean(note, MAX_NOTE), values={"closed_at": now}
        )
        self._close_open_routings(session, question, reason, actor=actor, now=now)
        repo.cancel_timers(session, question_id=question.id, now=now, note=f"question {status.value}")
        return question

    def rate(self, session: Session, *, question_id: int, actor_slack_id: str, stars: int, now: datetime) -> Question:
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise RoutingInputError("invalid_rating")
        question = self._lock_question(session, question_id)
        self._require_asker(question, actor_slack_id)
        if not question.answers or question.status not in (Q.ANSWERED, Q.RESOLVED, Q.CLOSED):
            raise StaleActionError("not_answered")
        question.rating = stars
        question.rated_at = now
        question.updated_at = now
        record_event(
            session,
            question_id=question.id,
            from_status=question.status.value,
            to_status=question.status.value,
            actor=actor_slack_id,
            now=now,
            note=str(stars),
            kind="rating",
        )
        return question

    # ========================================================================================== expert

    def claim(self, session: Session, *, routing_id: int, actor_slack_id: str, now: datetime) -> Routing:
        """Claim ("Ik beantwoord dit"): the expert takes the question; the asker hears who."""
        routing, question = self._load_for_recipient(session, routing_id, actor_slack_id)
        if routing.status is R.ASKED and any(r.status is R.CLAIMED for r in question.routings if r.id != routing.id):
            raise StaleActionError("claimed_by_other")
        transition(
            session,
            routing,
            R.CLAIMED,
            actor=actor_slack_id,
            now=now,
            values={"responded_at": now, "snoozed_until": None, "reminded_at": None},
        )
        if question.status in (Q.ROUTED, Q.ESCALATED):
            event = transition(session, question, Q.CLAIMED, actor=actor_slack_id, now=now)
            session.flush()
            self._notify_asker(session, question, event, "claimed", now, expert=self._person(routing))
        repo.cancel_timers(session, routing_id=routing.id, now=now, note="claimed")
        self._schedule(
            session, TimerKind.REMIND, routing, self.calendar.add_business_days(now, self.policy.remind_after_days), now
        )
        return routing

    def decline(
        self, session: Session, *, routing_id: int, actor_slack_id: str, now: datetime, reason: str = ""
    ) -> Routing:
        """Decline ("Niet mijn domein"): recorded per theme (ranked lower later); a replacement is asked."""
        routing, question = self._load_for_recipient(session, routing_id, actor_slack_id)
        was_claimed = routing.status is R.CLAIMED
        reason = _clean(reason, MAX_NOTE)
        transition(
            session,
            routing,
            R.DECLINED,
            actor=actor_slack_id,
            now=now,
            note=reason,
            values={"responded_at": now, "decline_reason": reason, "snoozed_until": None},
        )
        if routing.expert_id is not None:
            repo.add_declines(
                session,
                expert_id=routing.expert_id,
                theme_keys=self._theme_keys(question),
                question_id=question.id,
                now=now,
            )
        repo.cancel_timers(session, routing_id=routing.id, now=now, note="declined")
        if was_claimed and question.status is Q.CLAIMED:
            transition(session, question, Q.ROUTED, actor=actor_slack_id, now=now, note="claim released")
        self._refill(session, question, now=now)
        return routing

    def forward(
        self, session: Session, *, routing_id: int, actor_slack_id: str, to_slack_id: str, now: datetime, note: str = ""
    ) -> Routing:
        """Forward ("Stuur door naar…"): a colleague, in the register or not, is asked next. Returns the new routing."""
        to_slack_id = _slack_id(to_slack_id)
        if to_slack_id == actor_slack_id:
            raise RoutingInputError("forward_to_self")
        routing, question = self._load_for_recipient(session, routing_id, actor_slack_id)
        if question.asker_slack_id and to_slack_id == question.asker_slack_id:
            raise RoutingInputError("forward_to_asker")
        expert = repo.routable_expert_by_slack_id(session, slack_user_id=to_slack_id)
        if self._routing_for(question, to_slack_id, expert) is not None:
            raise RoutingInputError("already_asked")
        was_claimed = routing.status is R.CLAIMED
        note = _clean(note, MAX_NOTE)
        transition(
            session,
            routing,
            R.FORWARDED,
            actor=actor_slack_id,
            now=now,
            note=f"→ {to_slack_id} {note}".strip(),
            values={"responded_at": now, "snoozed_until": None},
        )
        repo.cancel_timers(session, routing_id=routing.id, now=now, note="forwarded")
        if was_claimed and question.status is Q.CLAIMED:
            transition(session, question, Q.ROUTED, actor=actor_slack_id, now=now, note="claim released")
        forwarder = self._person(routing)
        lang = expert_language(session, expert, to_slack_id)
        reason_text = (
            t("routing.why_forwarded_by", lang, name=forwarder["name"])
            if forwarder["name"]
            else t("routing.why_forwarded_anonymous", lang)
        )
        return self._create_routing(
            session,
            question,
            expert=expert,
            recipient_slack_id=to_slack_id,
            score=0.0,
            reasons=[reason_text],
            language=lang,
            actor=actor_slack_id,
            now=now,
            suggested_by_expert_id=routing.expert_id,
            forwarded_from=routing,
            extra={"forwarded_by": forwarder, "forward_note": note or None},
        )

    def snooze(self, session: Session, *, routing_id: int, actor_slack_id: str, now: datetime) -> datetime:
        """Snooze ("Later"): ask again at the start of the next business day. Returns when."""
        routing, question = self._load_for_recipient(session, routing_id, actor_slack_id)
        self._require_open_routing(routing)
        if routing.snoozed_until is not None and routing.snoozed_until > now:
            raise StaleActionError("already_snoozed")
        until = self.calendar.next_business_start(now)
        routing.snoozed_until = until
        routing.updated_at = now
        record_event(
            session,
            question_id=question.id,
            routing_id=routing.id,
            from_status=routing.status.value,
            to_status=routing.status.value,
            actor=actor_slack_id,
            now=now,
            note=until.isoformat(),
            kind="snooze",
        )
        repo.cancel_timers(
            session,
            routing_id=routing.id,
            now=now,
            note="snoozed",
            kinds=(TimerKind.REMIND, TimerKind.NEXT_EXPERT, TimerKind.SNOOZE),
        )
        self._schedule(session, TimerKind.SNOOZE, routing, until, now)
        self._schedule(
            session,
            TimerKind.REMIND,
            routing,
            self.calendar.add_business_days(until, self.policy.remind_after_days),
            now,
        )
        if routing.status is R.ASKED:
            self._schedule(
                session,
                TimerKind.NEXT_EXPERT,
                routing,
                self.calendar.add_business_days(until, self.policy.next_expert_after_days),
                now,
            )
        return until

    def answer(
        self,
        session: Session,
        *,
        routing_id: int,
        actor_slack_id: str,
        text: str,
        now: datetime,
        answerer_name: str | None = None,
    ) -> Answer:
        """The expert answers: the answer is attached, the question is answered, every other routing closes."""
        text = _clean(text)
        if not text:
            raise RoutingInputError("empty_answer")
        routing, question = self._load_for_recipient(session, routing_id, actor_slack_id)
        if routing.volunteered and routing.status is R.ASKED and any(r.status is R.CLAIMED for r in question.routings):
            raise StaleActionError("claimed_by_other")  # a volunteer helps; the expert who took the question keeps it
        transition(
            session,
            routing,
            R.ANSWERED,
            actor=actor_slack_id,
            now=now,
            values={"responded_at": now, "snoozed_until": None},
        )
        expert = routing.expert
        name = (
            (expert.name if expert else None) or answerer_name or repo.slack_name(session, slack_user_id=actor_slack_id)
        )
        answer = Answer(
            question_id=question.id,
            expert_id=expert.id if expert else None,
            answered_by_name=_clean_title(name, 200),
            answered_by_slack_id=actor_slack_id,
            organisation=expert.organisation if expert else "",
            text=text,
            created_at=now,
        )
        question.answers.append(answer)
        event = transition(session, question, Q.ANSWERED, actor=actor_slack_id, now=now, values={"answered_at": now})
        session.flush()
        self._close_open_routings(session, question, CLOSED_ANSWERED, actor=actor_slack_id, now=now, answer=answer)
        repo.cancel_timers(session, question_id=question.id, now=now, note="answered")
        answer_payload = payloads.answer_fields(answer)
        if question.asker_slack_id:
            self._enqueue(
                session,
                OutboxKind.ANSWER_TO_ASKER,
                cause=f"e{event.id}",
                now=now,
                question=question,
                recipient_slack_id=question.asker_slack_id,
                payload={**payloads.asker_question(question), **answer_payload, "language": question.language},
            )
        if payloads.is_public(question) and question.channel_id:
            self._enqueue(
                session,
                OutboxKind.QUESTION_ANSWERED,
                cause=f"e{event.id}",
                now=now,
                question=question,
                channel_id=question.channel_id,
                thread_ts=question.thread_ts,
                payload={**payloads.channel_question(question), **answer_payload, "language": question.language},
            )
        return answer

    def set_away(self, session: Session, *, slack_user_id: str, until: date, now: datetime) -> Expert:
        """An expert is away until (and including) ``until``: nobody routes questions to them meanwhile."""
        if until < self.calendar.local(now).date():
            raise RoutingInputError("away_date_past")
        return self._set_availability(session, slack_user_id, Availability.AWAY, until, now)

    def set_available(self, session: Session, *, slack_user_id: str, now: datetime) -> Expert:
        return self._set_availability(session, slack_user_id, Availability.AVAILABLE, None, now)

    # =========================================================================================== staff

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
        """Staff ask someone by hand (in the register or not). Returns the routing. Staff only."""
        actor.require_staff("assign a question", target=f"question:{question_id}")
        question = self._lock_question(session, question_id)
        extra = {"assigned_by_staff": True, "staff_note": _clean(note, MAX_NOTE) or None}
        return self._ask_by_hand(
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

    def volunteer(
        self,
        session: Session,
        *,
        question_id: int,
        slack_id: str,
        now: datetime,
        is_private_channel: Callable[[str], bool] | None = None,
    ) -> Routing:
        """Someone offers to help with an open public question (the digest's "Ik kan helpen" button).

        The volunteer is *added* as a helper: they get the question by DM like an asked expert, but nothing is taken
        from anyone — the question's status stays (an escalated question stays with staff, a claimed one with the
        expert who holds it: the helper cannot claim or answer it while they do), no timer of the question changes,
        and no replacement expert is pulled in when the helper stays silent. Only public questions from public
        channels (``is_private_channel``: Slack's current answer, when the caller has it) that are still open; a
        click on anything else can only be forged and is refused. Recorded as a question event and logged.
        """
        question = self._lock_question(session, question_id)
        private_now = bool(question.channel_id and is_private_channel and is_private_channel(question.channel_id))
        if question.visibility is not Visibility.PUBLIC or question.channel_is_private or private_now:
            # never offered to anyone, so only a forged click gets here: refused and logged, nothing changes
            raise NotAuthorized(
                "volunteer for a question that is not public", target=f"question:{question.id}", code="question_closed"
            )
        routing = self._ask_by_hand(
            session,
            question,
            to_slack_id=slack_id,
            actor=slack_id,
            note="",
            extra={"volunteered": True},
            reason_key=N_("routing.why_volunteered"),
            volunteered=True,
            now=now,
        )
        record_event(
            session,
            question_id=question.id,
            routing_id=routing.id,
            from_status=question.status.value,
            to_status=question.status.value,
            actor=slack_id,
            now=now,
            note="offered to help",
            kind="volunteer",
        )
        log.info(
            "volunteer question=%s user=%s routing=%s status=%s", question.id, slack_id, routing.id, question.status
        )
        return routing

    def _ask_by_hand(
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
    ) -> Routing:
        to_slack_id = _slack_id(to_slack_id)
        self._require_active(question)
        if question.asker_slack_id and to_slack_id == question.asker_slack_id:
            raise RoutingInputError("forward_to_asker")
        expert = repo.routable_expert_by_slack_id(session, slack_user_id=to_slack_id)
        existing = self._routing_for(question, to_slack_id, expert)
        lang = expert_language(session, expert, to_slack_id)
        if existing is not None:
            if existing.status in ROUTING_OPEN:
                raise RoutingInputError("already_asked")
            event = transition(
                session,
                existing,
                R.ASKED,
                actor=actor,
                now=now,
                note=_clean(note, MAX_NOTE),
                values={
                    "asked_at": now,
                    "responded_at": None,
                    "reminded_at": None,
                    "snoozed_until": None,
                    "language": lang,
                },
            )
            session.flush()
            self._after_routing_created(
                session, question, existing, cause=f"e{event.id}", now=now, extra=extra, replaceable=not volunteered
            )
            routing = existing
        else:
            routing = self._create_routing(
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
                event = transition(session, question, Q.ROUTED, actor=actor, now=now, note=f"volunteer {to_slack_id}")
                session.flush()
                self._notify_asker(session, question, event, "routed", now, experts=[self._person(routing)])
            return routing
        if question.status in (Q.ESCALATED, Q.OPEN):
            event = transition(session, question, Q.ROUTED, actor=actor, now=now, note=f"assigned {to_slack_id}")
            session.flush()
            self._notify_asker(session, question, event, "routed", now, experts=[self._person(routing)])
        repo.cancel_timers(session, question_id=question.id, now=now, kinds=(TimerKind.ESCALATE,), note="reassigned")
        self._schedule_escalation(session, question, now=now, from_assignment=True)
        return routing

    def staff_close(self, session: Session, *, question_id: int, actor: Actor, note: str, now: datetime) -> Question:
        """Staff close an escalated (or answered) question by hand, with a note for the asker. Staff only."""
        actor.require_staff("close a question", target=f"question:{question_id}")
        question = self._lock_question(session, question_id)
        if question.status in QUESTION_FINAL:
            raise StaleActionError("question_closed")
        if question.status not in (Q.ESCALATED, Q.ANSWERED):
            raise StaleActionError("not_escalated")
        by = staff_actor(actor.audit_label)
        note = _clean(note, MAX_NOTE)
        event = transition(
            session, question, Q.CLOSED, actor=by, now=now, note=note, values={"closed_at": now, "staff_note": note}
        )
        session.flush()
        self._close_open_routings(session, question, CLOSED_BY_STAFF, actor=by, now=now)
        repo.cancel_timers(session, question_id=question.id, now=now, note="closed by staff")
        self._notify_asker(session, question, event, "closed", now, note=note or None)
        return question

    # ========================================================================================= listing

    def get_own_question(self, session: Session, *, question_id: int, asker_slack_id: str) -> Question:
        """The asker's own question, still open (e.g. to add information); refused for anyone else."""
        question = session.get(Question, question_id)
        if question is None:
            raise NotFoundError("not_found", f"question {question_id} not found")
        self._require_asker(question, asker_slack_id)
        self._require_active(question)
        return question

    def get_routing_for(
        self, session: Session, *, routing_id: int, actor_slack_id: str, actionable: bool = False
    ) -> Routing:
        """The routing ``routing_id`` if it was sent to ``actor_slack_id`` (refused otherwise); ``actionable``: also
        still open on an open question (e.g. before opening the answer or decline form)."""
        routing = repo.get_routing(session, routing_id=routing_id)
        if routing is None:
            raise NotFoundError("not_found", f"routing {routing_id} not found")
        if not self._is_recipient(routing, actor_slack_id):
            raise NotYours("answer a question sent to someone else", target=f"routing:{routing.id}", code="not_yours")
        if actionable:
            question = routing.question
            if question.status is Q.ANSWERED:
                raise StaleActionError("already_answered")
            if question.status in QUESTION_FINAL:
                raise StaleActionError("question_closed")
            self._require_open_routing(routing)
        return routing

    def request_messages(self, session: Session, routing: Routing) -> list[dict[str, str]]:
        """Where the bot asked ``routing``'s recipient (the request DM, re-sent requests, reminders), newest first:
        the messages to re-render when the routing changes. Only what the outbox itself sent to that recipient
        about that routing, never a message reference from a payload."""
        recipient = routing.recipient_slack_id or (routing.expert.slack_user_id if routing.expert else None)
        if not recipient:
            return []
        sent = repo.list_sent_outbox(
            session,
            kinds=(OutboxKind.EXPERT_REQUEST, OutboxKind.EXPERT_REMINDER),
            routing_id=routing.id,
            recipient_slack_id=recipient,
        )
        return _unique_refs((m.sent_channel_id, m.sent_ts) for m in sent)

    def triage_messages(self, session: Session, *, question_id: int) -> list[dict[str, str]]:
        """Where the question was handed to staff (the triage channel posts), newest first."""
        sent = repo.list_sent_outbox(session, kinds=(OutboxKind.TRIAGE,), question_id=question_id)
        return _unique_refs((m.sent_channel_id, m.sent_ts) for m in sent)

    def list_my_questions(self, session: Session, *, asker_slack_id: str, limit: int = 50) -> list[Question]:
        return repo.list_questions_by_asker(session, asker_slack_id=asker_slack_id, limit=limit)

    def list_my_routings(
        self, session: Session, *, slack_user_id: str, open_only: bool = True, limit: int = 50
    ) -> list[Routing]:
        statuses = list(ROUTING_OPEN) if open_only else None
        return repo.list_routings_for(session, slack_user_id=slack_user_id, statuses=statuses, limit=limit)

    def list_escalated(self, session: Session, *, limit: int = 100) -> list[Question]:
        """Questions waiting for staff, oldest escalation first. Private content is the caller's to guard."""
        return repo.list_questions_by_status(session, status=Q.ESCALATED, limit=limit)

    def additions(self, session: Session, question: Question) -> list[str]:
        """Information the asker added after asking, in order."""
        return [e.note for e in repo.question_events(session, question_id=question.id) if e.kind == "info"]

    # ========================================================================================== timers

    def handle_timer(self, session: Session, timer: Timer, now: datetime) -> str:
        """Apply one due timer; returns what happened ("reminded", "noop: ...", ...). Used by ``run_due_timers``.

        Raises ``ValueError`` for a kind that is not routing's (sweep with ``kinds=self.timer_kinds``).
        """
        if timer.kind not in self.timer_kinds:
            raise ValueError(f"not a routing timer: {timer.kind.value}")
        if timer.question_id is None:
            return "noop: no question"
        question = repo.lock_question(session, question_id=timer.question_id)
        if question is None:
            return "noop: question gone"
        if timer.kind is TimerKind.ESCALATE:
            return self._on_escalate(session, question, now)
        routing = repo.get_routing(session, routing_id=timer.routing_id) if timer.routing_id is not None else None
        if routing is None or routing.question_id != question.id:
            return "noop: routing gone"
        if routing.status not in ROUTING_OPEN:
            return f"noop: routing {routing.status.value}"
        if question.status not in (Q.ROUTED, Q.CLAIMED, Q.ESCALATED):
            return f"noop: question {question.status.value}"
        claimed_by_other = routing.status is R.ASKED and any(r.status is R.CLAIMED for r in question.routings)
        if timer.kind is TimerKind.SNOOZE:
            return self._on_snooze(
                session, question=question, routing=routing, timer=timer, now=now, claimed_by_other=claimed_by_other
            )
        if routing.snoozed_until is not None and routing.snoozed_until > now:
            return "noop: snoozed"
        if timer.kind is TimerKind.REMIND:
            return self._on_remind(
                session, question=question, routing=routing, timer=timer, now=now, claimed_by_other=claimed_by_other
            )
        if timer.kind is TimerKind.NEXT_EXPERT:
            return self._on_next_expert(session, question, routing, now)
        raise AssertionError(timer.kind)  # pragma: no cover - all routing kinds are handled above

    def _on_remind(
        self,
        session: Session,
        *,
        question: Question,
        routing: Routing,
        timer: Timer,
        now: datetime,
        claimed_by_other: bool,
    ) -> str:
        if claimed_by_other:
            return "noop: claimed by a colleague"
        if routing.reminded_at is not None:
            return "noop: already reminded"
        routing.reminded_at = now
        record_event(
            session,
            question_id=question.id,
            routing_id=routing.id,
            from_status=routing.status.value,
            to_status=routing.status.value,
            actor=SYSTEM,
            now=now,
            kind="reminder",
        )
        self._enqueue(
            session,
            OutboxKind.EXPERT_REMINDER,
            cause=f"t{timer.id}",
            now=now,
            routing=routing,
            payload={
                **payloads.expert_question(question, self.additions(session, question)),
                **payloads.routing_fields(routing),
                "routing_asked_at": routing.asked_at.isoformat(),
            },
        )
        return "reminded"

    def _on_next_expert(self, session: Session, question: Question, routing: Routing, now: datetime) -> str:
        if routing.status is not R.ASKED:
            return "noop: expert responded"
        if question.status is not Q.ROUTED:
            return f"noop: question {question.status.value}"
        _, routings = self._route(session, question, count=1, now=now)
        if not routings:
            return "noop: nobody else to ask"
        return f"asked {routings[0].id}"

    def _on_snooze(
        self,
        session: Session,
        *,
        question: Question,
        routing: Routing,
        timer: Timer,
        now: datetime,
        claimed_by_other: bool,
    ) -> str:
        routing.snoozed_until = None
        routing.updated_at = now
        if claimed_by_other:
            return "noop: claimed by a colleague"
        self._enqueue(
            session,
            OutboxKind.EXPERT_REQUEST,
            cause=f"t{timer.id}",
            now=now,
            routing=routing,
            payload={
                **payloads.expert_question(question, self.additions(session, question)),
                **payloads.routing_fields(routing),
                "resent": True,
            },
        )
        return "resent"

    def _on_escalate(self, session: Session, question: Question, now: datetime) -> str:
        if question.status not in (Q.OPEN, Q.ROUTED, Q.CLAIMED):
            return f"noop: question {question.status.value}"
        deadline = self.calendar.add_business_days(question.created_at, self.policy.escalate_after_days)
        reason = ESCALATION_DEADLINE if now >= deadline or question.desired_by is None else ESCALATION_DESIRED_DATE
        self._escalate(session, question, reason, now=now)
        return f"escalated: {reason}"

    # ========================================================================================= helpers

    def _lock_question(self, session: Session, question_id: int) -> Question:
        question = repo.lock_question(session, question_id=question_id)
        if question is None:
            raise NotFoundError("not_found", f"question {question_id} not found")
        return question

    def _load_for_recipient(self, session: Session, routing_id: int, actor_slack_id: str) -> tuple[Routing, Question]:
        """Lock the routing's question, then check that ``actor`` is the one asked and the question still open."""
        routing = repo.get_routing(session, routing_id=routing_id)
        if routing is None:
            raise NotFoundError("not_found", f"routing {routing_id} not found")
        question = self._lock_question(session, routing.question_id)
        routing = repo.get_routing(session, routing_id=routing_id) or routing  # re-read under the lock
        if not self._is_recipient(routing, actor_slack_id):
            raise NotYours("answer a question sent to someone else", target=f"routing:{routing.id}", code="not_yours")
        if question.status is Q.ANSWERED:
            raise StaleActionError("already_answered")
        if question.status in QUESTION_FINAL:
            raise StaleActionError("question_closed")
        return routing, question

    @staticmethod
    def _is_recipient(routing: Routing, slack_user_id: str) -> bool:
        if not slack_user_id:
            return False
        if routing.recipient_slack_id:
            return routing.recipient_slack_id == slack_user_id
        return routing.expert is not None and routing.expert.slack_user_id == slack_user_id

    @staticmethod
    def _require_asker(question: Question, actor_slack_id: str) -> None:
        if not actor_slack_id or question.asker_slack_id != actor_slack_id:
            raise NotYours("act on someone else's question", target=f"question:{question.id}", code="not_asker")

    @staticmethod
    def _require_active(question: Question) -> None:
        if question.status is Q.ANSWERED:
            raise StaleActionError("already_answered")
        if question.status not in QUESTION_ACTIVE:
            raise StaleActionError("question_closed")

    @staticmethod
    def _require_open_routing(routing: Routing) -> None:
        if routing.status not in ROUTING_OPEN:
            codes = {R.DECLINED: "already_declined", R.FORWARDED: "already_forwarded", R.ANSWERED: "already_answered"}
            raise StaleActionError(codes.get(routing.status, "routing_closed"))

    @staticmethod
    def _routing_for(question: Question, slack_user_id: str, expert: Expert | None) -> Routing | None:
        for routing in question.routings:
            if routing.recipient_slack_id == slack_user_id:
                return routing
            if expert is not None and routing.expert_id == expert.id:
                return routing
        return None

    @staticmethod
    def _theme_keys(question: Question) -> list[str]:
        return [t.key for t in question.themes]

    def _person(self, routing: Routing) -> dict[str, Any]:
        return payloads.person(routing.expert, routing.recipient_slack_id)

    def _route(
        self, session: Session, question: Question, *, count: int, now: datetime
    ) -> tuple[Selection, list[Routing]]:
        """Ask up to ``count`` more experts (never beyond ``max_experts_per_question`` in total)."""
        room = self.policy.max_experts_per_question - len(question.routings)
        selection = select_experts(
            session,
            knowledge=self.knowledge,
            policy=self.policy,
            question=question,
            count=max(0, min(count, room)),
            now=now,
            additions=self.additions(session, question) if question.id is not None else (),
        )
        routings = [self._routing_from_candidate(session, question, c, now=now) for c in selection.chosen]
        return selection, routings

    def _routing_from_candidate(
        self, session: Session, question: Question, candidate: Candidate, *, now: datetime
    ) -> Routing:
        return self._create_routing(
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

    def _create_routing(
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
        session.flush()
        self._after_routing_created(
            session, question, routing, cause=f"e{event.id}", now=now, extra=extra, replaceable=replaceable
        )
        return routing

    def _after_routing_created(
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
        self._enqueue(
            session,
            OutboxKind.EXPERT_REQUEST,
            cause=cause,
            now=now,
            routing=routing,
            payload={
                **payloads.expert_question(question, self.additions(session, question)),
                **payloads.routing_fields(routing),
                "resent": False,
                **(extra or {}),
            },
        )
        self._schedule(
            session, TimerKind.REMIND, routing, self.calendar.add_business_days(now, self.policy.remind_after_days), now
        )
        if not replaceable:
            return
        self._schedule(
            session,
            TimerKind.NEXT_EXPERT,
            routing,
            self.calendar.add_business_days(now, self.policy.next_expert_after_days),
            now,
        )

    def _schedule(self, session: Session, kind: TimerKind, routing: Routing, due_at: datetime, now: datetime) -> Timer:
        return repo.schedule_timer(
            session,
            kind=kind,
            due_at=due_at,
            now=now,
            question_id=routing.question_id,
            routing_id=routing.id,
            expert_id=routing.expert_id,
        )

    def _schedule_escalation(
        self, session: Session, question: Question, *, now: datetime, from_assignment: bool = False
    ) -> Timer:
        """Escalate after ``escalate_after_days`` business days or at the desired date, whichever comes first.

        The desired date counts from the opening of office hours on that day; when that has passed already (the
        answer is wanted today), escalation is due at once.
        """
        due = self.calendar.add_business_days(now, self.policy.escalate_after_days)
        if question.desired_by is not None:
            wanted = max(self.calendar.opening(question.desired_by), now)
            if not (from_assignment and wanted <= now):
                due = min(due, wanted)
        return repo.schedule_timer(session, kind=TimerKind.ESCALATE, due_at=due, now=now, question_id=question.id)

    def _refill(self, session: Session, question: Question, *, now: datetime) -> None:
        """After a decline: keep ``initial_experts`` asked; escalate when nobody is left."""
        if question.status is not Q.ROUTED:
            return
        still_open = repo.open_routings(question)
        if any(r.status is R.CLAIMED for r in still_open):
            return
        needed = self.policy.initial_experts - len(still_open)
        if needed > 0:
            self._route(session, question, count=needed, now=now)
        if not repo.open_routings(question):
            self._escalate(session, question, ESCALATION_ALL_DECLINED, now=now)

    def _escalate(self, session: Session, question: Question, reason: str, *, now: datetime) -> None:
        if question.status is Q.ESCALATED:
            return
        event = transition(
            session,
            question,
            Q.ESCALATED,
            actor=SYSTEM,
            now=now,
            note=reason,
            values={"escalated_at": now, "escalation_reason": reason},
        )
        session.flush()
        repo.cancel_timers(session, question_id=question.id, now=now, kinds=(TimerKind.ESCALATE,), note="escalated")
        counts: dict[str, int] = {}
        for routing in question.routings:
            counts[routing.status.value] = counts.get(routing.status.value, 0) + 1
        self._enqueue(
            session,
            OutboxKind.TRIAGE,
            cause=f"e{event.id}",
            now=now,
            question=question,
            channel_id=self.policy.triage_channel_id,
            payload={
                **payloads.staff_question(question),
                "reason": reason,
                "escalated_at": now.isoformat(),
                "routing_counts": counts,
                "language": DEFAULT_LANGUAGE,
            },
        )
        self._notify_asker(session, question, event, "escalated", now, reason=reason)

    def _close_open_routings(
        self, session: Session, question: Question, why: str, *, actor: str, now: datetime, answer: Answer | None = None
    ) -> None:
        additions = self.additions(session, question)
        for routing in repo.open_routings(question):
            event = transition(
                session, routing, R.EXPIRED, actor=actor, now=now, note=why, values={"snoozed_until": None}
            )
            session.flush()
            payload = {
                **payloads.expert_question(question, additions),
                **payloads.routing_fields(routing),
                "reason": why,
            }
            if answer is not None:
                payload["answered_by"] = payloads.answer_fields(answer)["answered_by"]
                if payloads.is_public(question):
                    payload["answer_text"] = answer.text
            self._enqueue(
                session, OutboxKind.ROUTING_CLOSED, cause=f"e{event.id}", now=now, routing=routing, payload=payload
            )

    def _notify_asker(
        self, session: Session, question: Question, event: QuestionEvent, update: str, now: datetime, **details: Any
    ) -> None:
        if not question.asker_slack_id:
            return
        self._enqueue(
            session,
            OutboxKind.ASKER_UPDATE,
            cause=f"e{event.id}",
            now=now,
            question=question,
            recipient_slack_id=question.asker_slack_id,
            payload={**payloads.asker_question(question), "update": update, "language": question.language, **details},
        )

    def _enqueue(
        self,
        session: Session,
        kind: OutboxKind,
        *,
        cause: str,
        now: datetime,
        payload: dict[str, Any],
        routing: Routing | None = None,
        question: Question | None = None,
        recipient_slack_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> OutboxMessage | None:
        if routing is not None:
            recipient_slack_id = recipient_slack_id or routing.recipient_slack_id
            if recipient_slack_id is None and routing.expert is not None:
                recipient_slack_id = routing.expert.slack_user_id
            payload.setdefault("language", routing.language)
        question_id = question.id if question is not None else (routing.question_id if routing else None)
        target = recipient_slack_id or channel_id or "staff"
        return repo.enqueue_outbox(
            session,
            kind=kind,
            dedupe_key=f"{kind.value}:{cause}:{target}",
            now=now,
            payload=payload,
            recipient_slack_id=recipient_slack_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            question_id=question_id,
            routing_id=routing.id if routing else None,
        )

    def _record_gap(self, session: Session, question: Question, selection: Selection, *, now: datetime) -> None:
        """Nobody fits: the knowledge centre wants to know (a knowledge gap, private text flagged as such)."""
        result = selection.result
        private = question.channel_is_private or question.visibility is not Visibility.PUBLIC
        session.add(
            KnowledgeGap(
                query=question.text[:2000],
                normalized=normalise_gap_query(result) if result is not None else question.text.casefold()[:500],
                themes=self._theme_keys(question) or (list(result.themes) if result is not None else []),
                asker_slack_id=None if question.visibility is Visibility.ANONYMOUS else question.asker_slack_id,
                channel_id=question.channel_id,
                channel_is_private=private,
                source="routing",
                created_at=now,
            )
        )

    def _set_availability(
        self, session: Session, slack_user_id: str, availability: Availability, until: date | None, now: datetime
    ) -> Expert:
        expert = repo.expert_by_slack_id(session, slack_user_id=slack_user_id)
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
