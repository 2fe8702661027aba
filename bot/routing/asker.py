"""What the person who asked does: ask, add information, withdraw, mark resolved, rate the answer."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.errors import Count
from bot.i18n import DEFAULT_LANGUAGE, normalise_language
from bot.outbox import AskerUpdateKind, CloseReason
from bot.privacy import MarkedItems, mark_for_refresh
from bot.routing import payloads
from bot.routing.core import MAX_NOTE, SYSTEM, Q, RoutingCore, clean, clean_title
from bot.routing.errors import RoutingInputError, StaleActionError
from bot.routing.guards import require_active, require_asker
from bot.routing.selection import record_gap
from bot.routing.states import open_routings, record_event, transition
from storage import question_repo, register_repo
from storage import routing_repo as repo
from storage.models import EscalationReason, EventKind, Question, QuestionEvent, TimerKind, Visibility

log = logging.getLogger(__name__)

HELD_PAGE = 100  # held questions read at a time (``question_repo.list_held_questions``' default limit)


class AskerActions:
    def __init__(self, core: RoutingCore) -> None:
        self.core = core

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
        asker_is_staff: bool = False,
        now: datetime,
    ) -> Question:
        """Record a question and route it: ask the best experts, or escalate to staff when nobody fits.

        One member cannot use up the experts: past ``policy.max_questions_per_hour`` new questions in the last hour
        the question is refused (``RoutingInputError`` "too_many_questions", nothing written), and while the asker
        has ``policy.max_open_per_asker`` questions with experts a new one is kept, asked of nobody yet, and the
        asker told so (``route_held`` routes it when one of theirs leaves the experts). Staff are not limited.
        """
        text = clean_title(text)
        if not text:
            raise RoutingInputError("empty_question")
        keys = sorted({k.strip() for k in theme_keys if k and k.strip()})
        themes = register_repo.get_themes_by_keys(session, keys=keys)
        unknown = [k for k in keys if k not in themes]
        if unknown:
            raise RoutingInputError("unknown_theme", f"unknown theme keys: {', '.join(unknown)}")
        today = self.core.calendar.local(now).date()
        if desired_by is not None and desired_by < today:
            raise RoutingInputError("desired_date_past")
        if not asker_is_staff and asker_slack_id:
            # one decision per asker at a time: the count and the new question are one step (another process
            # asking for the same person waits here, then counts this question too)
            question_repo.claim_asker_lock(session, asker_slack_id=asker_slack_id)
            self.check_may_ask(session, asker_slack_id=asker_slack_id, now=now)
        question = Question(
            asker_slack_id=asker_slack_id,
            asker_name=clean_title(asker_name, 200),
            text=text,
            context=clean(context),
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
        question_repo.create_question(session, question=question)
        record_event(session, question_id=question.id, to_status=Q.OPEN.value, actor=asker_slack_id or SYSTEM, now=now)
        if not asker_is_staff and self._at_cap(session, asker_slack_id):
            event = record_event(
                session,
                question_id=question.id,
                from_status=Q.OPEN.value,
                to_status=Q.OPEN.value,
                actor=SYSTEM,
                now=now,
                note=f"held: {self.core.policy.max_open_per_asker} questions of the asker with experts",
                kind=EventKind.HELD,
            )
            self.core.notify_asker(session, question, event, AskerUpdateKind.HELD, now, cause=f"q{question.id}:held")
            # held too long, it goes to staff as one nobody answered (the timer is cancelled when it is routed)
            self.core.schedule_escalation(session, question, now=now)
            return question
        self._route(session, question, now=now)
        return question

    def set_question_thread(self, session: Session, *, question_id: int, thread_ts: str, now: datetime) -> None:
        """The question's message in its channel was posted (after it was recorded): answers go to its thread.

        An answer given meanwhile went to the asker by DM (with the rating); that stays, and the answer is now
        posted in the thread as well, saying it was given earlier — for a public question only, as any answer
        there. Once: under the question's lock the thread is set by the first caller only (a retried post or
        another process finds it set and queues nothing), and the outbox's key is the answer's."""
        question = self.core.lock_question(session, question_id)
        if question.thread_ts is not None:
            return
        question.thread_ts = thread_ts
        if not payloads.answers_in_thread(question) or question.status is Q.CANCELLED:
            return  # not public (never in a channel); withdrawn: its words are not shown anywhere new
        for answer in question.answers:
            if answer.posted_ts is None:
                self.core.enqueue(
                    session,
                    payloads.question_answered(question, answer, earlier=True),
                    cause=f"a{answer.id}",
                    now=now,
                    question=question,
                    channel_id=question.channel_id,
                    thread_ts=thread_ts,
                )

    def check_may_ask(self, session: Session, *, asker_slack_id: str | None, now: datetime) -> None:
        """Refuse a new question from someone who asked ``policy.max_questions_per_hour`` in the last hour (before
        anything is written or posted). ``ask_question`` decides with it under the asker's lock; the ask form calls
        it first, to refuse on the form itself."""
        limit = self.core.policy.max_questions_per_hour
        if not asker_slack_id or limit <= 0:
            return
        asked = question_repo.count_questions_asked_since(
            session, asker_slack_id=asker_slack_id, since=now - timedelta(hours=1)
        )
        if asked >= limit:
            error = RoutingInputError("too_many_questions", f"{asked} questions in the last hour (limit {limit})")
            error.values = {"limit": Count(limit)}
            raise error

    def _at_cap(self, session: Session, asker_slack_id: str | None) -> bool:
        cap = self.core.policy.max_open_per_asker
        if not asker_slack_id or cap <= 0:
            return False
        return question_repo.count_questions_with_experts(session, asker_slack_id=asker_slack_id) >= cap

    def route_held(self, session: Session, *, now: datetime, asker_slack_id: str | None = None) -> list[int]:
        """Route the questions held back (oldest first) whose asker has room with the experts again, in
        ``session``'s transaction: the asker's own close routes their next one at once (``asker_slack_id``, whose
        lock it holds already). The job runner uses ``route_held_each``. Returns the ids of the questions routed."""
        return self.route_held_each(lambda: nullcontext(session), now=now, asker_slack_id=asker_slack_id)

    def route_held_each(
        self,
        units: Callable[[], AbstractContextManager[Session]],
        *,
        now: datetime,
        asker_slack_id: str | None = None,
    ) -> list[int]:
        """Route the questions held back (oldest first) whose asker has room with the experts again; only one
        person's with ``asker_slack_id``. ``units`` opens a unit of work: the job runner gives each held question a
        transaction of its own, so an asker's lock is held for that question only (never while others are routed:
        their new questions and withdraw/resolve buttons would wait). Returns the ids of the questions routed
        (asked of experts, or escalated when nobody fits).

        Only questions whose asker is below the cap are read (each asker's oldest, page by page, again while
        that routes some), so askers at their cap with many held questions keep nobody else's waiting. Each
        question is routed in a savepoint: one that fails is logged with a reference and stays held for the
        next pass, and the others go on."""
        if asker_slack_id is None:
            with units() as session:
                self._schedule_missing_escalations(session)
        routed: list[int] = []
        failed: set[int] = set()
        cap = self.core.policy.max_open_per_asker
        while True:
            routed_now = 0
            after: tuple[datetime, int] | None = None
            while True:
                with units() as session:
                    page = [
                        (held.id, held.asker_slack_id, held.created_at)
                        for held in question_repo.list_held_questions(
                            session,
                            asker_slack_id=asker_slack_id,
                            below_cap=cap,
                            oldest_per_asker=True,
                            exclude_ids=failed,
                            after=after,
                            limit=HELD_PAGE,
                        )
                    ]
                for question_id, asker, _ in page:
                    outcome = self._route_held_unit(units, question_id, asker, now=now)
                    if outcome is None:
                        failed.add(question_id)
                    elif outcome:
                        routed.append(question_id)
                        routed_now += 1
                if len(page) < HELD_PAGE:
                    break
                after = (page[-1][2], page[-1][0])
            if not routed_now:  # an asker with room for more got their next oldest in this round: once more
                return routed

    def _schedule_missing_escalations(self, session: Session) -> None:
        """Held questions kept without an escalation timer (held before they got one) get it, counted from when
        they were asked: one held longer than the escalation delay is due at once (a page a pass)."""
        for held in question_repo.list_held_questions(session, without_escalation=True, limit=HELD_PAGE):
            self.core.schedule_escalation(session, held, now=held.created_at)

    def _route_held_unit(
        self,
        units: Callable[[], AbstractContextManager[Session]],
        question_id: int,
        asker: str | None,
        *,
        now: datetime,
    ) -> bool | None:
        """``_route_held_one`` in a unit of work of its own; a failure to commit counts as failed (logged)."""
        try:
            with units() as session:
                return self._route_held_one(session, question_id, asker, now=now)
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("held question %s not routed ref=%s (stays held for the next pass)", question_id, ref)
            return None

    def _route_held_one(self, session: Session, question_id: int, asker: str | None, *, now: datetime) -> bool | None:
        """Route one held question in its own savepoint: True routed, False not (no room, moved on meanwhile),
        None failed (logged with a reference; rolled back to the savepoint, it stays held)."""
        try:
            with session.begin_nested():
                if asker:  # the cap is counted again under the asker's lock: another process may have routed one
                    question_repo.claim_asker_lock(session, asker_slack_id=asker)
                    if self._at_cap(session, asker):
                        return False
                question = self.core.lock_question(session, question_id)
                if question.status is not Q.OPEN:  # routed, cancelled or resolved meanwhile (another process)
                    return False
                # the experts get their own business days from now: the escalation set while it was held goes
                repo.update_timers_cancelled(
                    session, question_id=question.id, now=now, kinds=(TimerKind.ESCALATE,), note="routed"
                )
                self._route(session, question, now=now)
                session.flush()
                return True
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("held question %s not routed ref=%s (stays held for the next pass)", question_id, ref)
            return None

    def _route(self, session: Session, question: Question, *, now: datetime) -> None:
        core = self.core
        selection, routings = core.route(session, question, count=core.policy.initial_experts, now=now)
        if not question.themes and selection.result is not None:
            # No theme chosen: the matcher's best theme, so lists and digests file it there rather than "other".
            best = selection.result.best_theme()
            found = register_repo.get_themes_by_keys(session, keys=[best]) if best else {}
            if best in found:
                question.themes.append(found[best])
        if routings:
            event = transition(session, question, Q.ROUTED, actor=SYSTEM, now=now, note=f"{len(routings)} asked")
            core.tell_asker_asked(session, question, AskerUpdateKind.ROUTED, routings, now, cause=f"e{event.id}")
            core.schedule_escalation(session, question, now=now)
        elif selection.gap:  # nobody in the register knows: a knowledge gap
            record_gap(session, question, selection, now=now)
            core.escalate(session, question, EscalationReason.NO_MATCH, now=now)
        else:  # people match, but none can be asked now (away, at their limit, no consent, ...)
            core.escalate(session, question, EscalationReason.NOBODY_AVAILABLE, now=now)

    def add_information(
        self, session: Session, *, question_id: int, actor_slack_id: str, text: str, now: datetime
    ) -> QuestionEvent:
        """The asker adds information; everyone still asked gets it."""
        text = clean(text)
        if not text:
            raise RoutingInputError("empty_information")
        question = self.core.lock_question(session, question_id)
        require_asker(question, actor_slack_id)
        require_active(question)
        event = record_event(
            session,
            question_id=question.id,
            from_status=question.status.value,
            to_status=question.status.value,
            actor=actor_slack_id,
            now=now,
            note=text,
            kind=EventKind.INFO,
        )
        session.flush()
        additions = self.core.additions(session, question)
        for routing in open_routings(question):
            update = payloads.question_updated(question, routing, additions, text)
            self.core.enqueue(session, update, cause=f"e{event.id}", now=now, routing=routing)
        return event

    def cancel(
        self, session: Session, *, question_id: int, actor_slack_id: str, now: datetime, note: str = ""
    ) -> Question:
        """The asker withdraws the question; everyone still asked is told."""
        return self._close(session, question_id, Q.CANCELLED, CloseReason.CANCELLED, actor_slack_id, now, note)

    def resolve(
        self, session: Session, *, question_id: int, actor_slack_id: str, now: datetime, note: str = ""
    ) -> Question:
        """The asker marks the question resolved (answered here, or found elsewhere)."""
        return self._close(session, question_id, Q.RESOLVED, CloseReason.RESOLVED, actor_slack_id, now, note)

    def _close(
        self, session: Session, question_id: int, status: Q, reason: CloseReason, actor: str, now: datetime, note: str
    ) -> Question:
        peek = question_repo.get_question(session, question_id=question_id)
        if peek is not None and peek.asker_slack_id:  # the asker's lock before the question's, as route_held
            question_repo.claim_asker_lock(session, asker_slack_id=peek.asker_slack_id)
        question = self.core.lock_question(session, question_id)
        require_asker(question, actor)
        transition(
            session, question, status, actor=actor, now=now, note=clean(note, MAX_NOTE), values={"closed_at": now}
        )
        self.core.close_open_routings(session, question, reason, actor=actor, now=now)
        repo.update_timers_cancelled(session, question_id=question.id, now=now, note=f"question {status.value}")
        if status is Q.CANCELLED:  # withdrawn: its words are not quoted through the gap routing recorded either
            question_repo.update_question_gaps_private(session, question_id=question.id)
        session.flush()
        if question.asker_slack_id:  # room with the experts again: the asker's next held question goes now
            self.route_held(session, now=now, asker_slack_id=question.asker_slack_id)
        return question

    def asker_gone(
        self, session: Session, *, asker_slack_id: str, reason: str, now: datetime
    ) -> tuple[list[int], list[int]]:
        """The asker's Slack account was deactivated (``reason``: why we know): nobody could ever give them an answer,
        so each of their questions still looking for one (open, routed, claimed, or escalated to staff) is withdrawn
        on their behalf (``cancelled``, actor ``system``, the reason in the event's note), everyone still asked is
        told it is no longer needed, and its timers stop; the live needs proposals quoting one are recorded for their
        posts to be rendered again (``mark_for_refresh``, as the asker's own withdrawal does). An escalated question
        is withdrawn the same way: its posts for staff say why (the Slack layer updates them). Nothing is sent to the
        asker. Returns the ids withdrawn and, of those, the escalated ones (none the second time: idempotent)."""
        question_repo.claim_asker_lock(session, asker_slack_id=asker_slack_id)  # before the questions', as route_held
        looking = (Q.OPEN, Q.ROUTED, Q.CLAIMED, Q.ESCALATED)
        withdrawn: list[int] = []
        escalated: list[int] = []
        for found in question_repo.list_questions_by_asker(session, asker_slack_id=asker_slack_id, limit=1000):
            if found.status not in looking:
                continue
            question = self.core.lock_question(session, found.id)
            if question.status not in looking:
                continue
            if question.status is Q.ESCALATED:
                escalated.append(question.id)
            note = clean(f"asker gone: {reason}", MAX_NOTE)
            transition(session, question, Q.CANCELLED, actor=SYSTEM, now=now, note=note, values={"closed_at": now})
            self.core.close_open_routings(session, question, CloseReason.ASKER_GONE, actor=SYSTEM, now=now)
            repo.update_timers_cancelled(session, question_id=question.id, now=now, note="asker gone")
            question_repo.update_question_gaps_private(session, question_id=question.id)  # as a withdrawal
            withdrawn.append(question.id)
        session.flush()
        if withdrawn:  # counted, no longer quoted, in the proposals' posts (rendered at once, and by the job runner)
            mark_for_refresh(session, items=MarkedItems(withdrawn, []), now=now)
        return withdrawn, escalated

    def rate(self, session: Session, *, question_id: int, actor_slack_id: str, stars: int, now: datetime) -> Question:
        """The asker rates the answer, 1 to 5 stars (again: the last rating counts)."""
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise RoutingInputError("invalid_rating")
        question = self.core.lock_question(session, question_id)
        require_asker(question, actor_slack_id)
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
            kind=EventKind.RATING,
        )
        return question
