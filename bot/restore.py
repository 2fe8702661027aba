"""After a restore: what the restored database would send or do once wieweet starts, and settling it first.

The restored database is the state at the backup's time. Outbox messages queued then are sent at the next start,
also those that went out since; timers pending then run when due. wieweet cannot tell which of them Slack has seen
already; the operator can (the Slack channels, the people asked). ``list_queued`` shows them — kind, recipient,
question, times; never a message's text — and ``discard_queued`` ends the chosen ones (by id, creation time or due
time) without sending or running them: messages are ended unsent (``ended_reason`` ``discarded``), timers completed
with a note. It is meant to run with every replica stopped; one that still runs is not raced: what it holds (a claim
fresher than the stale window: a message it may be posting, a timer it is running) is left to it and named, and the
counts are what was really ended. A timer may be the last thing that moves an open question on (its answer came
after the backup, so the restored copy still has it open): discarding that one is refused unless forced. Audited
(actor, counts, ids, cut-off times). Staff only (the command line). Nothing here commits.

This week's digests are ``digests.restored``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.errors import NotFoundError, WieweetError
from bot.privacy.audit import record_counts
from bot.retry import RetryPolicy
from storage import outbox_repo, question_repo, routing_repo
from storage.enums import QUEUED_ENTITY, QuestionStatus, TimerKind
from storage.models import OutboxMessage, Question, Timer

DISCARDED = "discarded"
DISCARD_ACTION = "discard"
# A claim younger than this is a running process's (the outbox sender and the timer pass take over older ones).
LIVE_CLAIM = RetryPolicy().stale_claim_after


# A question in one of these is still waiting for someone: its timers (a reminder, the next expert, the hand-over
# to staff) are what moves it on. Answered, closed, cancelled and escalated (with staff) questions are not.
OPEN_QUESTION = (QuestionStatus.OPEN, QuestionStatus.ROUTED, QuestionStatus.CLAIMED)
TIMER_EFFECT = {
    TimerKind.REMIND: "reminder",
    TimerKind.NEXT_EXPERT: "next expert",
    TimerKind.ESCALATE: "hand-over to staff",
    TimerKind.SNOOZE: "snoozed request sent again",
    TimerKind.RECONFIRM: "profile reconfirmation",
}


@dataclass(frozen=True)
class Queued:
    messages: list[OutboxMessage]
    timers: list[Timer]
    question_status: dict[int, QuestionStatus]  # of the timers' questions
    questions: dict[int, Question]  # the messages' and timers' questions (whom a message goes to may be unnamed)


def list_queued(session: Session) -> Queued:
    """Outbox messages not sent, failed or ended (oldest first) and timers not done (by due time), with the status
    of each timer's question."""
    timers = routing_repo.list_pending_timers(session)
    messages = outbox_repo.list_queued_outbox_messages(session)
    ids = {m.question_id for m in messages if m.question_id is not None}
    ids |= {t.question_id for t in timers if t.question_id is not None}
    questions = {q.id: q for q in question_repo.list_questions_in_id_order(session, question_ids=ids)}
    return Queued(
        messages=messages,
        timers=timers,
        question_status={t.question_id: questions[t.question_id].status for t in timers if t.question_id in questions},
        questions=questions,
    )


def _statuses(session: Session, question_ids: Collection[int]) -> dict[int, QuestionStatus]:
    questions = (question_repo.get_question(session, question_id=qid) for qid in sorted(question_ids))
    return {q.id: q.status for q in questions if q is not None}


class NotQueued(WieweetError):
    """A message or timer id given to discard that is not queued any more (sent, ended or run already)."""

    code = "not_queued"
    refusal = True


class OpenQuestionTimers(WieweetError):
    """Discarding would leave a question that is still open with no timer to move it on (refused without force)."""

    code = "open_question_timers"
    refusal = True

    def __init__(self, message: str | None = None, *, stranded: Sequence[Stranded] = ()) -> None:
        super().__init__(message=message, values={"questions": ", ".join(str(s.question_id) for s in stranded)})
        self.stranded = stranded  # the command line says each in the operator's language


@dataclass(frozen=True)
class Stranded:
    """A question still open whose last pending timers are discarded: what will no longer happen for it."""

    question_id: int
    status: QuestionStatus
    kinds: tuple[TimerKind, ...]

    def describe(self) -> str:
        effects = ", ".join(dict.fromkeys(TIMER_EFFECT[kind] for kind in self.kinds))
        return (
            f"question {self.question_id} is still {self.status.value} and would have no timer left: "
            f"no more {effects} for it"
        )


@dataclass(frozen=True)
class Discarded:
    message_ids: list[int]
    timer_ids: list[int]
    stranded: list[Stranded]
    dry_run: bool
    # held by a running process (a fresh claim): left alone
    skipped_message_ids: list[int] = field(default_factory=list)
    skipped_timer_ids: list[int] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.message_ids)

    @property
    def timers(self) -> int:
        return len(self.timer_ids)


def discard_queued(
    session: Session,
    *,
    actor: Actor,
    now: datetime,
    message_ids: Collection[int] = (),
    timer_ids: Collection[int] = (),
    messages_before: datetime | None = None,
    timers_before: datetime | None = None,
    messages_due_before: datetime | None = None,
    timers_due_before: datetime | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> Discarded:
    """End the chosen queued messages and complete the chosen timers without sending or running them: by id, all
    created before a time (``*_before``), and all due before a time (``*_due_before``: a message's next attempt, a
    timer's due time — "every reminder that was due during the outage"). An id that does not exist
    (``NotFoundError``) or is not queued any more (``NotQueued``) refuses the whole discard, and so does a question
    still open left with no pending timer (``OpenQuestionTimers``), unless ``force``. What a running process holds
    (claimed since ``now - LIVE_CLAIM``) is skipped (``skipped_*``), also when it claims it meanwhile: the ids and
    counts are those the update ended.
    ``dry_run``: what would be discarded, nothing changed or audited. Audited with the counts, the ids, the skipped
    ids and the cut-off times."""
    queued = outbox_repo.list_queued_outbox_messages(session)
    pending = routing_repo.list_pending_timers(session)
    missing_messages = sorted(set(message_ids) - {m.id for m in queued})
    missing_timers = sorted(set(timer_ids) - {t.id for t in pending})
    unknown = [
        f"message {i}" for i in missing_messages if outbox_repo.get_outbox_message(session, message_id=i) is None
    ]
    unknown += [f"timer {i}" for i in missing_timers if routing_repo.get_timer(session, timer_id=i) is None]
    if unknown:  # a mistyped id: the command line's mistake, said first
        raise NotFoundError(
            "unknown_queued",
            f"no such {', '.join(unknown)}; nothing discarded",
            values=_ids(
                [i for i in missing_messages if outbox_repo.get_outbox_message(session, message_id=i) is None],
                [i for i in missing_timers if routing_repo.get_timer(session, timer_id=i) is None],
            ),
        )
    if missing_messages or missing_timers:
        named = [f"message {i}" for i in missing_messages] + [f"timer {i}" for i in missing_timers]
        raise NotQueued(
            message=f"not queued (sent, ended or run already): {', '.join(named)}; nothing discarded",
            values=_ids(missing_messages, missing_timers),
        )
    live_since = now - LIVE_CLAIM
    messages = [
        m
        for m in queued
        if m.id in message_ids
        or _before(m.created_at, messages_before)
        or _before(m.next_attempt_at, messages_due_before)
    ]
    timers = [
        t
        for t in pending
        if t.id in timer_ids or _before(t.created_at, timers_before) or _before(t.due_at, timers_due_before)
    ]
    held_messages = sorted(m.id for m in messages if _held(m, live_since))
    held_timers = sorted(t.id for t in timers if _held(t, live_since))
    timers = [t for t in timers if t.id not in held_timers]
    stranded = _stranded(session, pending=pending, chosen=timers)
    if stranded and not force and not dry_run:
        raise OpenQuestionTimers(
            "; ".join(s.describe() for s in stranded) + " (give --force to discard anyway); nothing discarded",
            stranded=stranded,
        )
    message_plan = sorted(m.id for m in messages if m.id not in held_messages)
    timer_plan = sorted(t.id for t in timers)
    if dry_run:
        return Discarded(
            message_ids=message_plan,
            timer_ids=timer_plan,
            stranded=stranded,
            dry_run=True,
            skipped_message_ids=held_messages,
            skipped_timer_ids=held_timers,
        )
    ended = outbox_repo.update_outbox_messages_discarded(
        session, now=now, reason=DISCARDED, live_since=live_since, ids=message_plan
    )
    done = routing_repo.update_timers_discarded(session, now=now, note=DISCARDED, live_since=live_since, ids=timer_plan)
    result = Discarded(  # what the updates changed; a row claimed since the read above is skipped too
        message_ids=ended,
        timer_ids=done,
        stranded=stranded,
        dry_run=False,
        skipped_message_ids=sorted({*held_messages, *message_plan} - set(ended)),
        skipped_timer_ids=sorted({*held_timers, *timer_plan} - set(done)),
    )
    record_counts(
        session,
        actor=actor,
        action=DISCARD_ACTION,
        entity_type=QUEUED_ENTITY,
        key="restore",
        after={
            "messages": result.messages,
            "timers": result.timers,
            "message_ids": result.message_ids,
            "timer_ids": result.timer_ids,
            "skipped_message_ids": result.skipped_message_ids,
            "skipped_timer_ids": result.skipped_timer_ids,
            "messages_before": messages_before.isoformat() if messages_before is not None else None,
            "timers_before": timers_before.isoformat() if timers_before is not None else None,
            "messages_due_before": _iso(messages_due_before),
            "timers_due_before": _iso(timers_due_before),
            "open_questions_left": [s.question_id for s in stranded],
        },
        now=now,
    )
    return result


def _ids(message_ids: Collection[int], timer_ids: Collection[int]) -> dict[str, object]:
    """The values of a refusal naming messages and timers (the operator's text: ``bot.error_texts``)."""
    return {"messages": ", ".join(map(str, message_ids)) or "—", "timers": ", ".join(map(str, timer_ids)) or "—"}


def _before(moment: datetime, cut_off: datetime | None) -> bool:
    return cut_off is not None and moment < cut_off


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _held(row: OutboxMessage | Timer, live_since: datetime) -> bool:
    """Claimed since ``live_since``: a running process is posting the message or running the timer."""
    return row.claimed_by is not None and row.claimed_at is not None and row.claimed_at >= live_since


def _stranded(session: Session, *, pending: list[Timer], chosen: list[Timer]) -> list[Stranded]:
    """The questions still open all of whose pending timers are among ``chosen``."""
    chosen_ids = {t.id for t in chosen}
    kept = {t.question_id for t in pending if t.id not in chosen_ids}
    hit = sorted({t.question_id for t in chosen if t.question_id is not None} - kept)
    statuses = _statuses(session, hit)
    return [
        Stranded(
            question_id=qid,
            status=statuses[qid],
            kinds=tuple(t.kind for t in chosen if t.question_id == qid),
        )
        for qid in hit
        if statuses.get(qid) in OPEN_QUESTION
    ]
