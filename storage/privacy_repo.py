"""Repository functions for privacy rights: find everything about one person, erase it, purge what expired.

Keyword-only, never commit (the caller's unit of work does). ``bot.privacy`` decides what to do with the rows.
A person's register entry is found with ``register_repo``, their cached Slack profile with ``slack_repo`` and the
messages queued for them with ``outbox_repo``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Text, case, cast, delete, func, or_, select, update
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Session

from storage.addresses import ADDRESS
from storage.models import (
    Answer,
    AuditLog,
    Base,
    DigestSubscription,
    Expert,
    ExpertDecline,
    Feedback,
    InboxRequest,
    KnowledgeGap,
    Practice,
    ProcessedEvent,
    Question,
    QuestionEvent,
    Routing,
    SearchLog,
    SlackUser,
    Timer,
)

_CHUNK = 500  # bound parameters per statement
EXPERT_ENTITY = "expert"  # the audit log's entity type of an expert record (``bot.register``)

# --- who -------------------------------------------------------------------------------------------------------


def list_others_named(session: Session, *, name: str, slack_user_id: str | None, expert_id: int | None) -> list[str]:
    """Other people (experts, cached Slack users) with exactly this name, case-insensitively."""
    folded = name.strip().lower()
    experts = select(Expert.email).where(func.lower(Expert.name) == folded)
    if expert_id is not None:
        experts = experts.where(Expert.id != expert_id)
    users = select(SlackUser.slack_user_id).where(func.lower(SlackUser.name) == folded)
    if slack_user_id:
        users = users.where(SlackUser.slack_user_id != slack_user_id)
    return [*session.scalars(experts), *session.scalars(users)]


# --- what is stored about them ------------------------------------------------------------------------------------


def list_questions_asked(session: Session, *, slack_user_id: str) -> list[Question]:
    return list(session.scalars(select(Question).where(Question.asker_slack_id == slack_user_id).order_by(Question.id)))


def list_answers_given(session: Session, *, slack_user_id: str | None, expert_id: int | None) -> list[Answer]:
    conditions: list[ColumnElement[bool]] = []
    if slack_user_id:
        conditions.append(Answer.answered_by_slack_id == slack_user_id)
    if expert_id is not None:
        conditions.append(Answer.expert_id == expert_id)
    if not conditions:
        return []
    return list(session.scalars(select(Answer).where(or_(*conditions)).order_by(Answer.id)))


def list_routings_to(session: Session, *, slack_user_id: str | None, expert_id: int | None) -> list[Routing]:
    conditions: list[ColumnElement[bool]] = []
    if slack_user_id:
        conditions.append(Routing.recipient_slack_id == slack_user_id)
    if expert_id is not None:
        conditions.append(Routing.expert_id == expert_id)
    if not conditions:
        return []
    return list(session.scalars(select(Routing).where(or_(*conditions)).order_by(Routing.id)))


def _actor_values(slack_user_id: str) -> list[str]:
    """How question events name a person: their Slack id, or ``staff:<id>`` for staff actions."""
    return [slack_user_id, f"staff:{slack_user_id}"]


def list_question_events_by(session: Session, *, slack_user_id: str) -> list[QuestionEvent]:
    query = select(QuestionEvent).where(QuestionEvent.actor.in_(_actor_values(slack_user_id)))
    return list(session.scalars(query.order_by(QuestionEvent.id)))


def list_search_logs(session: Session, *, slack_user_id: str) -> list[SearchLog]:
    query = select(SearchLog).where(SearchLog.user_slack_id == slack_user_id).order_by(SearchLog.id)
    return list(session.scalars(query))


def list_feedback(session: Session, *, slack_user_id: str) -> list[Feedback]:
    return list(session.scalars(select(Feedback).where(Feedback.user_slack_id == slack_user_id).order_by(Feedback.id)))


def list_knowledge_gaps_by_asker(session: Session, *, slack_user_id: str) -> list[KnowledgeGap]:
    query = select(KnowledgeGap).where(KnowledgeGap.asker_slack_id == slack_user_id).order_by(KnowledgeGap.id)
    return list(session.scalars(query))


def list_private_knowledge_gaps(
    session: Session, *, slack_user_id: str | None, queries: Collection[str]
) -> list[KnowledgeGap]:
    """Gaps recorded from private text (``channel_is_private``: a private or anonymous question, a DM, a private
    channel) that this person asked, or that names no asker and whose query is one of ``queries`` (an anonymous
    question's gap names no asker: it is found by its text; another person's gap with the same text stays)."""
    found: dict[int, KnowledgeGap] = {}
    private = select(KnowledgeGap).where(KnowledgeGap.channel_is_private.is_(True))
    if slack_user_id:
        found.update((g.id, g) for g in session.scalars(private.where(KnowledgeGap.asker_slack_id == slack_user_id)))
    texts = sorted(set(queries))
    unnamed = private.where(KnowledgeGap.asker_slack_id.is_(None))  # by text: only a gap naming nobody else
    for i in range(0, len(texts), _CHUNK):
        found.update((g.id, g) for g in session.scalars(unnamed.where(KnowledgeGap.query.in_(texts[i : i + _CHUNK]))))
    return [found[k] for k in sorted(found)]


def delete_knowledge_gap(session: Session, *, gap: KnowledgeGap) -> None:
    """Delete a gap (its need-topic membership goes with it: ON DELETE CASCADE)."""
    session.delete(gap)


def list_digest_subscriptions_by(session: Session, *, slack_user_id: str) -> list[DigestSubscription]:
    query = select(DigestSubscription).where(DigestSubscription.created_by == slack_user_id)
    return list(session.scalars(query.order_by(DigestSubscription.id)))


def list_practices_of(
    session: Session, *, emails: Collection[str], slack_user_id: str | None, expert_id: int | None
) -> list[Practice]:
    """Practices the person is the contact for (by one of their addresses or their profile), or submitted from chat."""
    conditions: list[ColumnElement[bool]] = []
    folded = sorted({e.lower() for e in emails if e})
    if folded:
        conditions.append(func.lower(Practice.contact_email).in_(folded))
    if slack_user_id:
        conditions.append(Practice.submitted_by == slack_user_id)
    if expert_id is not None:
        conditions.append(Practice.contact_expert_id == expert_id)
    if not conditions:
        return []
    return list(session.scalars(select(Practice).where(or_(*conditions)).order_by(Practice.id)))


def list_expert_declines(session: Session, *, expert_id: int) -> list[ExpertDecline]:
    query = select(ExpertDecline).where(ExpertDecline.expert_id == expert_id).order_by(ExpertDecline.id)
    return list(session.scalars(query))


def list_expert_timers(session: Session, *, expert_id: int) -> list[Timer]:
    return list(session.scalars(select(Timer).where(Timer.expert_id == expert_id).order_by(Timer.id)))


def list_audit_entries_about(
    session: Session, *, emails: Collection[str], slack_user_id: str | None, limit: int = 10_000
) -> list[AuditLog]:
    """Audit rows about the person (their expert record, keyed by an e-mail address of theirs; an export of their
    data, keyed by their Slack id) or made by them (their Slack id)."""
    conditions: list[ColumnElement[bool]] = []
    folded = sorted({e.lower() for e in emails if e})
    if folded:
        conditions.append(func.lower(AuditLog.entity_key).in_(folded))
    if slack_user_id:
        conditions.append(AuditLog.actor == slack_user_id)
        conditions.append(AuditLog.entity_key == slack_user_id)
    if not conditions:
        return []
    return list(session.scalars(select(AuditLog).where(or_(*conditions)).order_by(AuditLog.id).limit(limit)))


def list_expert_audit_entries_naming(session: Session, *, value: str) -> list[AuditLog]:
    """Audit rows about an expert record whose snapshot (``before`` or ``after``) may hold this Slack id or e-mail
    address (a superset, any case: the caller reads the snapshots), oldest first. They outlive the record: a removed
    or rejected profile's is the last trace of the person's name and address."""
    needle = value.lower()
    conditions = [
        func.lower(cast(column, Text)).contains(needle, autoescape=True) for column in (AuditLog.before, AuditLog.after)
    ]
    query = select(AuditLog).where(AuditLog.entity_type == EXPERT_ENTITY, or_(*conditions)).order_by(AuditLog.id)
    return list(session.scalars(query))


def list_audit_entries_naming(session: Session, *, slack_user_id: str) -> list[AuditLog]:
    """Audit rows about something else (a question, a topic; not an expert record: ``list_expert_audit_entries_naming``)
    whose ``before`` or ``after`` may name this Slack id — whom staff assigned, who was asked (a superset: the caller
    reads the values), oldest first."""
    conditions = [
        cast(column, Text).contains(slack_user_id, autoescape=True) for column in (AuditLog.before, AuditLog.after)
    ]
    query = select(AuditLog).where(AuditLog.entity_type != EXPERT_ENTITY, or_(*conditions)).order_by(AuditLog.id)
    return list(session.scalars(query))


# --- erasure helpers ---------------------------------------------------------------------------------------------


def update_timers_erased(session: Session, *, routing_ids: Sequence[int], now: datetime) -> int:
    """Pending timers (reminders, snoozes, next expert) of these routings are marked done without running."""
    if not routing_ids:
        return 0
    result = session.execute(
        update(Timer)
        .where(Timer.routing_id.in_(list(routing_ids)), Timer.done_at.is_(None))
        .values(done_at=now, last_error="erased")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_slack_user(session: Session, *, slack_user_id: str) -> int:
    result = session.execute(delete(SlackUser).where(SlackUser.slack_user_id == slack_user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_feedback_of(session: Session, *, slack_user_id: str) -> int:
    result = session.execute(delete(Feedback).where(Feedback.user_slack_id == slack_user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_text_attributes(*, keys: bool = False) -> Iterable[tuple[type[Base], str, bool]]:
    """Every mapped (class, attribute, is_json) that holds text: String, Text or JSON columns (key columns too with
    ``keys``: a cached Slack profile's id, a delivery's key)."""
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if (column.primary_key or column.foreign_keys) and not keys:
                continue
            kind = column.type
            is_json = isinstance(kind, JSON)
            if is_json or (isinstance(kind, String | Text) and not isinstance(kind, SAEnum)):
                yield cls, prop.key, is_json


def list_person_attributes(*, keys: bool = False) -> list[tuple[type[Base], str, bool]]:
    """Where a person's name, e-mail address or Slack id can be stored: every text column (``list_text_attributes``)
    but the audit log's action and entity type (wieweet's own words) and the inbox (its own file on SQLite, reached
    through ``Database.inbox_session``; the caller handles it apart). The one list both the erasure's sweep and a
    reapply after a restore (``list_identities_stored``) go through."""
    return [
        (cls, attribute, is_json)
        for cls, attribute, is_json in list_text_attributes(keys=keys)
        if cls is not InboxRequest and not (cls is AuditLog and attribute in {"action", "entity_type"})
    ]


IDENTITY_BATCH = 2000  # rows ``list_identities_stored`` holds at a time
_SLACK_ID = re.compile(r"(?<![A-Za-z0-9])[UW][A-Z0-9]{2,}(?![A-Za-z0-9])")  # also in ``staff:U…``, ``<@U…>``


def _may_name(value: Any, dialect: str) -> ColumnElement[bool]:
    """Whether a text may hold an address or a Slack id, decided by the database (a superset of what ``ADDRESS`` and
    ``_SLACK_ID`` find: an ``@``, or a U or W and two capitals or digits), so the texts that hold neither — most of
    them — never leave it."""
    shaped = value.op("GLOB")("*[UW][A-Z0-9][A-Z0-9]*") if dialect == "sqlite" else value.op("~")("[UW][A-Z0-9]{2}")
    return or_(value.contains("@"), shaped)


def list_identities_stored(session: Session) -> tuple[set[str], set[str]]:
    """Every e-mail address and everything shaped like a Slack user id in the columns where a person can be named
    (``list_person_attributes``, keys included): ``(emails, slack_user_ids)``, a superset (a word like "UNESCO" is
    in it), to test against the erased identities after a restore. One streamed query per table (its text columns
    together, a batch of rows at a time); the database passes on only the texts that may hold one (``_may_name``)."""
    dialect = session.get_bind().dialect.name
    emails: set[str] = set()
    sids: set[str] = set()
    tables: dict[type[Base], list[Any]] = {}
    for cls, attribute, is_json in list_person_attributes(keys=True):
        column: Any = getattr(cls, attribute)
        tables.setdefault(cls, []).append(cast(column, Text) if is_json else column)
    for columns in tables.values():
        conditions = [_may_name(column, dialect) for column in columns]
        picked = [case((condition, column), else_=None) for column, condition in zip(columns, conditions, strict=True)]
        query = select(*picked).where(or_(*conditions)).execution_options(yield_per=IDENTITY_BATCH)
        for row in session.execute(query):
            for value in row:
                if not value:
                    continue
                if "@" in value:  # as it is in quotes or after a dash ('a@b', -a@b): the rule above
                    emails.update(found for _, found in ADDRESS.findall(value))
                sids.update(_SLACK_ID.findall(value))
    return emails, sids


def list_rows_containing(
    session: Session, *, cls: type[Base], attribute: str, is_json: bool, needles: Sequence[str]
) -> list[Any]:
    """Rows of ``cls`` whose ``attribute`` may contain one of ``needles`` (case-insensitively; a superset)."""
    column: Any = getattr(cls, attribute)
    as_text = cast(column, Text) if is_json else column
    conditions: list[ColumnElement[bool]] = []
    for needle in needles:
        conditions.append(func.lower(as_text).contains(needle.lower(), autoescape=True))
        conditions.append(as_text.contains(needle, autoescape=True))
    return list(session.scalars(select(cls).where(or_(*conditions))))


def get_processed_event_kind(session: Session, *, event_key: str) -> str | None:
    return session.scalar(select(ProcessedEvent.kind).where(ProcessedEvent.event_key == event_key))


# --- retention ---------------------------------------------------------------------------------------------------


def delete_processed_events(session: Session, *, before: datetime, keep_requests: Collection[str]) -> int:
    """Delivery keys and marks received before ``before``, except the marks of the requests in ``keep_requests``
    (``<step>:<request key>``: what a request not finished yet still reads, however long it waited)."""
    old = ProcessedEvent.received_at < before
    if not keep_requests:
        result = session.execute(delete(ProcessedEvent).where(old))
        return int(result.rowcount)  # type: ignore[attr-defined]
    keep = set(keep_requests)
    rows = session.execute(select(ProcessedEvent.id, ProcessedEvent.event_key).where(old)).all()
    gone = [row_id for row_id, key in rows if key.partition(":")[2] not in keep]
    for start in range(0, len(gone), _CHUNK):
        session.execute(delete(ProcessedEvent).where(ProcessedEvent.id.in_(gone[start : start + _CHUNK])))
    return len(gone)


def delete_search_logs_before(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(SearchLog).where(SearchLog.created_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_feedback_before(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(Feedback).where(Feedback.created_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def update_knowledge_gaps_anonymised(session: Session, *, before: datetime) -> int:
    result = session.execute(
        update(KnowledgeGap)
        .where(KnowledgeGap.created_at < before, KnowledgeGap.asker_slack_id.is_not(None))
        .values(asker_slack_id=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_done_timers_before(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(Timer).where(Timer.done_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_slack_users_before(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(SlackUser).where(SlackUser.fetched_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
