"""What the people asked do: claim, decline, forward, snooze, answer; their availability; volunteering to help."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.actors import NotAuthorized
from bot.i18n import N_, t
from bot.outbox import AskerUpdateKind, CloseReason
from bot.routing import payloads
from bot.routing.chosen import chosen_expert, routing_for
from bot.routing.core import MAX_NOTE, Q, R, RoutingCore, clean, clean_title, slack_id, slack_name, theme_keys
from bot.routing.errors import RoutingInputError, StaleActionError
from bot.routing.guards import require_open_routing
from bot.routing.selection import expert_language
from bot.routing.states import record_event, record_routing_event, transition
from bot.routing.telling import person
from storage import routing_repo as repo
from storage.models import Answer, Availability, EventKind, Expert, Question, Routing, TimerKind, Visibility

log = logging.getLogger(__name__)


class ExpertActions:
    def __init__(self, core: RoutingCore) -> None:
        self.core = core

    def claim(self, session: Session, *, routing_id: int, actor_slack_id: str, now: datetime) -> Routing:
        """Claim ("Ik beantwoord dit"): the expert takes the question; the asker hears who."""
        core = self.core
        routing, question = core.load_for_recipient(session, routing_id, actor_slack_id)
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
            core.notify_asker(session, question, event, AskerUpdateKind.CLAIMED, now, expert=person(routing))
        repo.update_timers_cancelled(session, routing_id=routing.id, now=now, note="claimed")
        remind_at = core.calendar.add_business_days(now, core.policy.remind_after_days)
        core.schedule(session, TimerKind.REMIND, routing, remind_at, now)
        return routing

    def decline(
        self, session: Session, *, routing_id: int, actor_slack_id: str, now: datetime, reason: str = ""
    ) -> Routing:
        """Decline ("Niet mijn domein"): recorded per theme (ranked lower later); a replacement is asked."""
        routing, question = self.core.load_for_recipient(session, routing_id, actor_slack_id)
        was_claimed = routing.status is R.CLAIMED
        reason = clean(reason, MAX_NOTE)
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
            repo.create_declines(
                session, expert_id=routing.expert_id, theme_keys=theme_keys(question), question_id=question.id, now=now
            )
        repo.update_timers_cancelled(session, routing_id=routing.id, now=now, note="declined")
        self.core.release_claim(session, question, was_claimed=was_claimed, actor=actor_slack_id, now=now)
        self.core.refill(session, question, now=now)
        return routing

    def forward(
        self, session: Session, *, routing_id: int, actor_slack_id: str, to_slack_id: str, now: datetime, note: str = ""
    ) -> Routing:
        """Forward ("Stuur door naar…"): a colleague, in the register or not, is asked next. Returns the new routing."""
        to_slack_id = slack_id(to_slack_id)
        if to_slack_id == actor_slack_id:
            raise RoutingInputError("forward_to_self")
        routing, question = self.core.load_for_recipient(session, routing_id, actor_slack_id)
        today = self.core.calendar.local(now).date()
        expert = chosen_expert(session, question, to_slack_id, actor=actor_slack_id, today=today, now=now)
        if routing_for(question, to_slack_id, expert) is not None:
            raise RoutingInputError("already_asked")
        was_claimed = routing.status is R.CLAIMED
        note = clean(note, MAX_NOTE)
        transition(
            session,
            routing,
            R.FORWARDED,
            actor=actor_slack_id,
            now=now,
            note=f"→ {to_slack_id} {note}".strip(),
            values={"responded_at": now, "snoozed_until": None},
        )
        repo.update_timers_cancelled(session, routing_id=routing.id, now=now, note="forwarded")
        self.core.release_claim(session, question, was_claimed=was_claimed, actor=actor_slack_id, now=now)
        forwarder = person(routing)
        lang = expert_language(session, expert, to_slack_id, default=self.core.policy.default_language)
        reason_text = (
            t("routing.why_forwarded_by", lang, name=forwarder.name)
            if forwarder.name
            else t("routing.why_forwarded_anonymous", lang)
        )
        return self.core.create_routing(
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
        core = self.core
        routing, _question = core.load_for_recipient(session, routing_id, actor_slack_id)
        require_open_routing(routing)
        if routing.snoozed_until is not None and routing.snoozed_until > now:
            raise StaleActionError("already_snoozed")
        until = core.calendar.next_business_start(now)
        routing.snoozed_until = until
        routing.updated_at = now
        record_routing_event(
            session, routing, kind=EventKind.SNOOZE, actor=actor_slack_id, now=now, note=until.isoformat()
        )
        repo.update_timers_cancelled(
            session,
            routing_id=routing.id,
            now=now,
            note="snoozed",
            kinds=(TimerKind.REMIND, TimerKind.NEXT_EXPERT, TimerKind.SNOOZE),
        )
        core.schedule(session, TimerKind.SNOOZE, routing, until, now)
        remind_at = core.calendar.add_business_days(until, core.policy.remind_after_days)
        core.schedule(session, TimerKind.REMIND, routing, remind_at, now)
        if routing.status is R.ASKED:
            next_at = core.calendar.add_business_days(until, core.policy.next_expert_after_days)
            core.schedule(session, TimerKind.NEXT_EXPERT, routing, next_at, now)
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
        text = clean(text)
        if not text:
            raise RoutingInputError("empty_answer")
        core = self.core
        routing, question = core.load_for_recipient(session, routing_id, actor_slack_id)
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
        name = (expert.name if expert else None) or answerer_name or slack_name(session, actor_slack_id)
        answer = Answer(
            question_id=question.id,
            expert_id=expert.id if expert else None,
            answered_by_name=clean_title(name, 200),
            answered_by_slack_id=actor_slack_id,
            organisation=expert.organisation if expert else "",
            text=text,
            created_at=now,
        )
        question.answers.append(answer)
        event = transition(session, question, Q.ANSWERED, actor=actor_slack_id, now=now, values={"answered_at": now})
        session.flush()
        core.close_open_routings(session, question, CloseReason.ANSWERED, actor=actor_slack_id, now=now, answer=answer)
        repo.update_timers_cancelled(session, question_id=question.id, now=now, note="answered")
        cause = f"e{event.id}"
        # The answer reaches the asker once: a public question's in its channel thread (where the asker is named;
        # no thread, e.g. a question from a private channel that was not shown there: no channel message at all),
        # with the rating offered to them alone in that thread; any other question's by DM, with the rating.
        # (An answer given before the thread exists is posted there once it does: ``set_question_thread``.)
        in_thread = payloads.answers_in_thread(question)
        if in_thread:  # first: the rating follows the answer
            core.enqueue(
                session,
                payloads.question_answered(question, answer),
                cause=cause,
                now=now,
                question=question,
                channel_id=question.channel_id,
                thread_ts=question.thread_ts,
            )
        if question.asker_slack_id:
            core.enqueue(
                session,
                payloads.answer_to_asker(question, answer, in_thread=in_thread),
                cause=cause,
                now=now,
                question=question,
                recipient_slack_id=question.asker_slack_id,
                channel_id=question.channel_id if in_thread else None,
                thread_ts=question.thread_ts if in_thread else None,
            )
        return answer

    def set_away(self, session: Session, *, slack_user_id: str, until: date, now: datetime) -> Expert:
        """An expert is away until (and including) ``until``: nobody routes questions to them meanwhile."""
        if until < self.core.calendar.local(now).date():
            raise RoutingInputError("away_date_past")
        return self.core.set_availability(session, slack_user_id, Availability.AWAY, until, now)

    def set_available(self, session: Session, *, slack_user_id: str, now: datetime) -> Expert:
        return self.core.set_availability(session, slack_user_id, Availability.AVAILABLE, None, now)

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
        question = self.core.lock_question(session, question_id)
        private_now = bool(question.channel_id and is_private_channel and is_private_channel(question.channel_id))
        if question.visibility is not Visibility.PUBLIC or question.channel_is_private or private_now:
            # never offered to anyone, so only a forged click gets here: refused and logged, nothing changes
            raise NotAuthorized(
                "volunteer for a question that is not public", target=f"question:{question.id}", code="question_closed"
            )
        routing = self.core.ask_by_hand(
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
        _record_volunteer(session, question, routing, slack_id, now)
        return routing


def _record_volunteer(
    session: Session, question: Question, routing: Routing, slack_user_id: str, now: datetime
) -> None:
    record_event(
        session,
        question_id=question.id,
        routing_id=routing.id,
        from_status=question.status.value,
        to_status=question.status.value,
        actor=slack_user_id,
        now=now,
        note="offered to help",
        kind=EventKind.VOLUNTEER,
    )
    log.info(
        "volunteer question=%s user=%s routing=%s status=%s", question.id, slack_user_id, routing.id, question.status
    )
