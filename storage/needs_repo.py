"""Repository functions for knowledge needs: the questions and gaps to group and their topics (what they read of
experts, answers, practices and searches: ``needs_people_repo``; proposed work sessions: ``proposal_repo``).

Keyword-only, never commit. ``claim_needs_lock`` serialises grouping runs across processes (a unique item id would
make a concurrent duplicate fail, never double).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import BigInteger, String, Table, cast, delete, func, insert, or_, select, text, type_coerce, update
from sqlalchemy.orm import Session

from storage import write_lock
from storage.models import (
    AuditLog,
    Embedding,
    KnowledgeGap,
    NeedFit,
    NeedItem,
    NeedProposal,
    NeedTopic,
    ProposalStatus,
    Question,
    gap_key,
    question_themes,
)

_NEEDS_LOCK = 0x6E656564  # "need": advisory lock key of a grouping run
NEED_ITEMS: Table = NeedItem.__table__  # type: ignore[assignment]  # a mapped class's table
_CHUNK = 500  # ids bound in one IN list
_Id = TypeVar("_Id", int, str)


def _chunks(ids: Iterable[_Id]) -> Iterator[list[_Id]]:
    """These ids sorted, without repeats, ``_CHUNK`` at a time (one IN list each)."""
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


class NeedSource(NamedTuple):
    """A question or knowledge gap as grouping and the figures see it (no ORM object: 50,000 of them load fast)."""

    key: str  # "q:<id>" or "g:<id>"
    text: str
    created_at: datetime
    asker_slack_id: str | None
    visibility: str  # public | private | anonymous (a gap: public)
    channel_id: str | None
    channel_is_private: bool
    answered_at: datetime | None
    status: str  # a question's status; "gap" for a gap
    themes: tuple[str, ...]
    wording: str = ""  # a gap's ``gap_key``: the same asker asking it again is one need (the digest's rule)


def claim_needs_lock(session: Session, *, wait: bool = True) -> bool:
    """Hold the grouping lock until the transaction ends: PostgreSQL's advisory lock; on SQLite the database's write
    lock (``storage.write_lock``: the grouping's reads run before its first write, which pysqlite runs outside any
    transaction; every other writer waits meanwhile). ``wait=False``: return False at once when another transaction
    holds it."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        connection, table = session.connection(), NeedTopic.metadata.tables[NeedTopic.__tablename__]
        if wait:
            write_lock.hold_write_lock(connection, table=table)
            return True
        return write_lock.try_write_lock(connection, table=table)
    if dialect != "postgresql":
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NEEDS_LOCK})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _NEEDS_LOCK}))


def list_unplaced_need_texts(session: Session) -> list[str]:
    """The texts of the questions and gaps not in a topic yet, oldest first."""
    placed_q = select(NeedItem.id).where(NeedItem.question_id == Question.id).exists()
    placed_g = select(NeedItem.id).where(NeedItem.gap_id == KnowledgeGap.id).exists()
    questions = session.execute(
        select(Question.created_at, Question.id, Question.text).where(~placed_q).order_by(Question.created_at)
    )
    gaps = session.execute(
        select(KnowledgeGap.created_at, KnowledgeGap.id, KnowledgeGap.query)
        .where(~placed_g)
        .order_by(KnowledgeGap.created_at)
    )
    rows = sorted([(c, f"q:{i}", t) for c, i, t in questions] + [(c, f"g:{i}", t) for c, i, t in gaps])
    return [t for _, _, t in rows]


def count_unlabelled_need_topics(session: Session, *, limit: int = 1) -> int:
    """Topics not labelled yet (new, or the label was dropped: ``label_item`` is empty), counted up
    to ``limit`` (1: is there any)."""
    ids = select(NeedTopic.id).where(NeedTopic.label_item == "").limit(limit).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def count_need_sources(session: Session) -> int:
    """Every question and knowledge gap (what ``list_need_sources`` would list), counted."""
    questions = session.scalar(select(func.count()).select_from(Question)) or 0
    gaps = session.scalar(select(func.count()).select_from(KnowledgeGap)) or 0
    return int(questions) + int(gaps)


def delete_question_embeddings(session: Session, *, hashes: Collection[str], suffix: str = "#question") -> int:
    """Delete the stored question vectors (every model id ending in ``suffix``) of these text hashes."""
    if not hashes:
        return 0
    gone = 0
    for chunk in _chunks(hashes):
        result = session.execute(
            delete(Embedding).where(Embedding.model.endswith(suffix), Embedding.content_hash.in_(chunk))
        )
        gone += int(getattr(result, "rowcount", 0) or 0)
    return gone


def list_need_sources(
    session: Session,
    *,
    since: datetime | None = None,
    keys: Collection[str] | None = None,
    placed: bool | None = None,
    topic_ids: Collection[int] | None = None,
) -> list[NeedSource]:
    """Every question and knowledge gap (asked at or after ``since``; only these item keys, else only the members
    of these topics, else only those in a topic when ``placed`` is True, only those not in one when False), oldest
    first."""
    if keys is not None:
        return [s for s in _sources_of(session, keys) if since is None or s.created_at >= since]
    questions, gaps, theme_rows = _source_queries()
    if since is not None:
        questions = questions.where(Question.created_at >= since)
        gaps = gaps.where(KnowledgeGap.created_at >= since)
    if topic_ids is not None:  # joined on need_items, 500 topics at a time
        out = []
        for ids in _chunks(topic_ids):
            chunk = NeedItem.topic_id.in_(ids)
            in_q = select(NeedItem.id).where(NeedItem.question_id == Question.id, chunk).exists()
            in_g = select(NeedItem.id).where(NeedItem.gap_id == KnowledgeGap.id, chunk).exists()
            in_t = select(NeedItem.id).where(NeedItem.question_id == question_themes.c.question_id, chunk).exists()
            out += _sources(session, questions.where(in_q), gaps.where(in_g), theme_rows.where(in_t))
        out.sort(key=lambda s: (s.created_at, s.key))
        return out
    if placed is not None:  # one query each with an (anti-)join on need_items, not the ids read first
        in_q = select(NeedItem.id).where(NeedItem.question_id == Question.id).exists()
        in_g = select(NeedItem.id).where(NeedItem.gap_id == KnowledgeGap.id).exists()
        in_t = select(NeedItem.id).where(NeedItem.question_id == question_themes.c.question_id).exists()
        if placed:
            questions, gaps, theme_rows = questions.where(in_q), gaps.where(in_g), theme_rows.where(in_t)
        else:
            questions, gaps, theme_rows = questions.where(~in_q), gaps.where(~in_g), theme_rows.where(~in_t)
    return _sources(session, questions, gaps, theme_rows)


def _source_queries() -> tuple[Any, Any, Any]:
    """The selects of ``NeedSource`` rows: questions, gaps, and the questions' themes. A question's visibility and
    status are read as the strings stored (``enum_column`` stores the values), not made into enumeration members
    only to take their values again (50,000 rows: about 0.1-0.2 s less)."""
    questions = select(
        Question.id,
        Question.text,
        Question.created_at,
        Question.asker_slack_id,
        type_coerce(Question.visibility, String),
        Question.channel_id,
        Question.channel_is_private,
        Question.answered_at,
        type_coerce(Question.status, String),
    )
    gaps = select(
        KnowledgeGap.id,
        KnowledgeGap.query,
        KnowledgeGap.created_at,
        KnowledgeGap.asker_slack_id,
        KnowledgeGap.channel_id,
        KnowledgeGap.channel_is_private,
        KnowledgeGap.themes,
        KnowledgeGap.normalized,
    )
    theme_rows = select(question_themes.c.question_id, question_themes.c.theme_key).order_by(
        question_themes.c.question_id, question_themes.c.theme_key
    )
    return questions, gaps, theme_rows


def _sources_of(session: Session, keys: Collection[str]) -> list[NeedSource]:
    """The ``NeedSource`` rows of these item keys (read by id, 500 at a time), oldest first."""
    questions, gaps, theme_rows = _source_queries()
    question_ids = sorted({int(k[2:]) for k in keys if k.startswith("q:")})
    gap_ids = sorted({int(k[2:]) for k in keys if k.startswith("g:")})
    out: list[NeedSource] = []
    for i in range(0, max(len(question_ids), len(gap_ids)), 500):
        q_ids, g_ids = question_ids[i : i + 500], gap_ids[i : i + 500]
        out += _sources(
            session,
            questions.where(Question.id.in_(q_ids)),
            gaps.where(KnowledgeGap.id.in_(g_ids)),
            theme_rows.where(question_themes.c.question_id.in_(q_ids)),
        )
    out.sort(key=lambda s: (s.created_at, s.key))
    return out


def list_unplaced_need_sources(session: Session) -> list[NeedSource]:
    """The questions and gaps not in a topic yet, oldest first (what a grouping run places)."""
    return list_need_sources(session, placed=False)


def _sources(session: Session, questions: Any, gaps: Any, theme_rows: Any) -> list[NeedSource]:
    themes: dict[int, list[str]] = {}
    for question_id, key in session.execute(theme_rows):
        themes.setdefault(question_id, []).append(key)
    out = [
        NeedSource(
            f"q:{qid}",
            qtext,
            created,
            asker,
            visibility,
            channel,
            bool(private),
            answered,
            status,
            tuple(themes.get(qid, ())),
        )
        for qid, qtext, created, asker, visibility, channel, private, answered, status in session.execute(questions)
    ]
    out.extend(  # a gap's wording: its ``gap_key``; a gap without a word is no need (not counted anywhere)
        NeedSource(f"g:{gid}", text, at, asker, "public", channel, bool(private), None, "gap", tuple(ks or ()), key)
        for gid, text, at, asker, channel, private, ks, w in session.execute(gaps)
        for key in (gap_key(w, text),)
        if key is not None
    )
    out.sort(key=lambda s: (s.created_at, s.key))
    return out


def _item_key(question_id: int | None, gap_id: int | None) -> str:
    return f"q:{question_id}" if question_id is not None else f"g:{gap_id}"


def list_need_assignments(session: Session, *, topic_ids: Collection[int] | None = None) -> dict[str, int]:
    """Item key -> topic id of every placed question and gap (only those in these topics)."""
    query = select(NeedItem.question_id, NeedItem.gap_id, NeedItem.topic_id)
    if topic_ids is None:
        return {_item_key(q, g): topic for q, g, topic in session.execute(query)}
    out: dict[str, int] = {}
    for ids in _chunks(topic_ids):
        rows = session.execute(query.where(NeedItem.topic_id.in_(ids)))
        out.update((_item_key(q, g), topic) for q, g, topic in rows)
    return out


def list_need_window_rows(
    session: Session, *, since: datetime, before: datetime, skip_statuses: Sequence[ProposalStatus]
) -> list[tuple[int, datetime, str | None, str]]:
    """(topic id, asked at, asker's Slack id, visibility) of the placed questions and gaps asked at or
    after ``since`` and before ``before``, leaving out the topics with a proposal in ``skip_statuses`` (the live
    ones): what proposing counts, without the texts."""
    proposed = select(NeedProposal.topic_id).where(NeedProposal.status.in_(list(skip_statuses)))
    questions = (
        select(
            NeedItem.topic_id,
            Question.created_at,
            Question.asker_slack_id,
            type_coerce(Question.visibility, String),
        )
        .join(Question, Question.id == NeedItem.question_id)
        .where(Question.created_at >= since, Question.created_at < before, NeedItem.topic_id.not_in(proposed))
    )
    gaps = (
        select(NeedItem.topic_id, KnowledgeGap.created_at, KnowledgeGap.asker_slack_id)
        .join(KnowledgeGap, KnowledgeGap.id == NeedItem.gap_id)
        .where(KnowledgeGap.created_at >= since, KnowledgeGap.created_at < before, NeedItem.topic_id.not_in(proposed))
    )
    rows = [(t, at, asker, visibility) for t, at, asker, visibility in session.execute(questions)]
    rows.extend((t, at, asker, "public") for t, at, asker in session.execute(gaps))  # a gap's source reads public
    return rows


def list_need_item_rows(session: Session) -> list[tuple[int, str, int]]:
    """(need item id, item key, topic id) of every placed question and gap, in item id order."""
    rows = session.execute(select(NeedItem.id, NeedItem.question_id, NeedItem.gap_id, NeedItem.topic_id))
    return sorted((item_id, _item_key(q, g), topic) for item_id, q, g, topic in rows)


def list_need_item_rows_after(session: Session, *, after_id: int) -> list[tuple[int, str, int, int, int]]:
    """(need item id, item key, topic id, question id or 0, gap id or 0) of the items placed after ``after_id``, in
    item id order (what another process placed since; their extent adds up as in ``get_need_items_extent``)."""
    rows = session.execute(
        select(NeedItem.id, NeedItem.question_id, NeedItem.gap_id, NeedItem.topic_id).where(NeedItem.id > after_id)
    )
    return sorted((item_id, _item_key(q, g), topic, q or 0, g or 0) for item_id, q, g, topic in rows)


def get_need_items_extent(session: Session) -> tuple[int, ...]:
    """(how many items are placed, the last need item id, then sums of their ids by topic and of their question
    and gap ids): any change but one's own placements shows in it — moves too, and an id SQLite reuses after a
    delete for another question."""
    wide = cast(NeedItem.id, BigInteger)
    row = session.execute(
        select(
            func.count(NeedItem.id),
            func.max(NeedItem.id),
            func.sum(wide * NeedItem.topic_id),
            func.sum(cast(NeedItem.question_id, BigInteger)),
            func.sum(cast(NeedItem.gap_id, BigInteger)),
        )
    ).one()
    return tuple(int(x or 0) for x in row)


def get_last_need_fit(session: Session) -> NeedFit | None:
    return session.scalars(select(NeedFit).order_by(NeedFit.id.desc()).limit(1)).first()


def create_need_fit(session: Session, *, last_item_id: int, items: int, now: datetime) -> NeedFit:
    fit = NeedFit(last_item_id=last_item_id, items=items, created_at=now)
    session.add(fit)
    session.flush()
    return fit


def create_need_fit_generation(session: Session, *, now: datetime) -> NeedFit | None:
    """Record the last refit again (same statistics, a new id) so every process drops the state it kept and
    rebuilds it from the database (an erasure that redacted texts); None when nothing was ever fitted."""
    last = get_last_need_fit(session)
    if last is None:
        return None
    return create_need_fit(session, last_item_id=last.last_item_id, items=last.items, now=now)


def list_unlabelled_need_topics(session: Session) -> list[NeedTopic]:
    """Topics without a label (new, none of their members shareable yet, or the label dropped by an erasure)."""
    return list(session.scalars(select(NeedTopic).where(NeedTopic.label == "").order_by(NeedTopic.id)))


def list_need_topics(session: Session, *, ids: Collection[int] | None = None) -> list[NeedTopic]:
    """Every topic (only these ids, read 500 at a time), by id."""
    query = select(NeedTopic).order_by(NeedTopic.id)
    if ids is None:
        return list(session.scalars(query))
    out: list[NeedTopic] = []
    for chunk in _chunks(ids):  # sorted chunks, each read by id: the whole stays ordered by id
        out += session.scalars(query.where(NeedTopic.id.in_(chunk)))
    return out


def get_need_topic(session: Session, *, topic_id: int) -> NeedTopic | None:
    return session.get(NeedTopic, topic_id)


def get_last_need_topic_id(session: Session) -> int:
    return int(session.scalar(select(func.max(NeedTopic.id))) or 0)


def get_next_need_topic_id(session: Session) -> int:
    """The id the next new topic gets, not taking it: past the highest and past the last id given, which deleted
    topics (and, on PostgreSQL, rolled-back inserts) leave ahead: the id sequence's last value on PostgreSQL
    (``pg_sequences``), ``sqlite_sequence`` on SQLite (the table never gives an id twice: ``NEVER_REUSED_IDS``)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        used = session.scalar(
            text("SELECT pg_sequence_last_value(pg_get_serial_sequence('need_topics', 'id')::regclass)")
        )
    else:
        used = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'need_topics'"))
    return max(get_last_need_topic_id(session), int(used or 0)) + 1


def create_need_topic(session: Session, *, label: str, label_item: str, now: datetime) -> NeedTopic:
    topic = NeedTopic(label=label[:200], label_item=label_item, created_at=now, updated_at=now)
    session.add(topic)
    session.flush()
    return topic


def create_need_items(session: Session, *, rows: Sequence[dict[str, Any]]) -> int:
    """Insert placed items in bulk: dicts with topic_id, question_id or gap_id, asked_at, similarity, assigned_at.
    A Core insert of the table (one executemany), not the ORM's bulk path: 50,000 rows in about half the time."""
    if rows:
        session.execute(insert(NEED_ITEMS), list(rows))
    return len(rows)


def list_movable_need_topic_ids(session: Session, *, created_since: datetime, max_items: int) -> list[int]:
    """Topics a needs pass may still join to another (``bot.needs.grouping``, ``movable``): made since
    ``created_since``, of at most ``max_items`` questions and gaps, never proposed for a work session and never
    acted on by staff (no ``need_topic`` entry in the audit log, e.g. recruiting)."""
    young = select(NeedTopic.id).where(
        NeedTopic.created_at >= created_since,
        ~select(NeedProposal.id).where(NeedProposal.topic_id == NeedTopic.id).exists(),
    )
    small = (
        select(NeedItem.topic_id)
        .where(NeedItem.topic_id.in_(young))
        .group_by(NeedItem.topic_id)
        .having(func.count(NeedItem.id) <= max_items)
    )
    ids = set(session.scalars(small))
    if not ids:
        return []
    acted: set[str] = set()
    for keys in _chunks(str(i) for i in ids):  # only the candidates' entries, not every need_topic entry
        audit = select(AuditLog.entity_key).where(AuditLog.entity_type == "need_topic", AuditLog.entity_key.in_(keys))
        acted.update(session.scalars(audit))
    return sorted(ids - {int(k) for k in acted})


def update_need_item_topics(session: Session, *, moves: Sequence[tuple[str, int, float]]) -> int:
    """Move placed items (key like ``q:12``, new topic id, similarity to it) to another topic."""
    for key, topic_id, similarity in moves:
        kind, ident = key.split(":", 1)
        column = NeedItem.question_id if kind == "q" else NeedItem.gap_id
        session.execute(update(NeedItem).where(column == int(ident)).values(topic_id=topic_id, similarity=similarity))
    return len(moves)


def list_topic_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(NeedItem.topic_id, func.count()).group_by(NeedItem.topic_id))
    return {topic: int(n) for topic, n in rows}


def delete_empty_need_topics(session: Session) -> int:
    """Topics whose every question and gap was deleted (e.g. by an erasure) and that no proposal refers to."""
    empty = select(NeedTopic.id).where(
        ~select(NeedItem.id).where(NeedItem.topic_id == NeedTopic.id).exists(),
        ~select(NeedProposal.id).where(NeedProposal.topic_id == NeedTopic.id).exists(),
    )
    ids = list(session.scalars(empty))
    for topic_id in ids:
        topic = session.get(NeedTopic, topic_id)
        if topic is not None:
            session.delete(topic)
    return len(ids)


class LabelItem(NamedTuple):
    """What decides whether a topic's label may still be shown: the state of the item it was made from (no text)."""

    topic_id: int
    key: str  # "q:<id>" or "g:<id>"
    visibility: str  # as ``NeedSource``'s
    channel_id: str | None
    channel_is_private: bool
    answered_at: datetime | None
    status: str  # a question's status; "gap" for a gap


def list_need_label_items(session: Session) -> list[LabelItem]:
    """The item each labelled topic with members took its label from, in topic id order (an item deleted since: left
    out). Read without texts, 500 at a time: a grouping run reads it each time (``bot.needs.topics``)."""
    has_items = select(NeedItem.id).where(NeedItem.topic_id == NeedTopic.id).exists()
    labelled = select(NeedTopic.id, NeedTopic.label_item).where(NeedTopic.label != "", has_items)
    by_key: dict[str, list[int]] = {}
    for topic_id, key in session.execute(labelled.order_by(NeedTopic.id)):
        if key[:2] in {"q:", "g:"} and key[2:].isdigit():
            by_key.setdefault(key, []).append(topic_id)
    found: list[LabelItem] = []
    for chunk in _chunks(int(k[2:]) for k in by_key if k.startswith("q:")):
        questions = select(
            Question.id,
            type_coerce(Question.visibility, String),
            Question.channel_id,
            Question.channel_is_private,
            Question.answered_at,
            type_coerce(Question.status, String),
        ).where(Question.id.in_(chunk))
        for qid, visibility, channel, private, answered, status in session.execute(questions):
            state = (visibility, channel, bool(private), answered, status)
            found += [LabelItem(t, f"q:{qid}", *state) for t in by_key[f"q:{qid}"]]
    for chunk in _chunks(int(k[2:]) for k in by_key if k.startswith("g:")):
        gaps = select(KnowledgeGap.id, KnowledgeGap.channel_id, KnowledgeGap.channel_is_private)
        for gid, channel, private in session.execute(gaps.where(KnowledgeGap.id.in_(chunk))):
            found += [
                LabelItem(t, f"g:{gid}", "public", channel, bool(private), None, "gap") for t in by_key[f"g:{gid}"]
            ]
    return sorted(found)


def list_need_topics_labelled_from(session: Session, *, item_keys: Collection[str]) -> list[NeedTopic]:
    if not item_keys:
        return []
    return list(session.scalars(select(NeedTopic).where(NeedTopic.label_item.in_(sorted(item_keys)))))


def list_need_topic_ids_of_items(
    session: Session, *, question_ids: Collection[int] = (), gap_ids: Collection[int] = ()
) -> set[int]:
    conditions = []
    if question_ids:
        conditions.append(NeedItem.question_id.in_(sorted(question_ids)))
    if gap_ids:
        conditions.append(NeedItem.gap_id.in_(sorted(gap_ids)))
    if not conditions:
        return set()
    return set(session.scalars(select(NeedItem.topic_id).where(or_(*conditions))))


def list_need_items_of(
    session: Session, *, question_ids: Collection[int], gap_ids: Collection[int]
) -> list[tuple[NeedItem, NeedTopic]]:
    """The topic placements of these questions and gaps (a person's, for the privacy export), oldest first."""
    if not question_ids and not gap_ids:
        return []
    query = (
        select(NeedItem, NeedTopic)
        .join(NeedTopic, NeedTopic.id == NeedItem.topic_id)
        .where(or_(NeedItem.question_id.in_(list(question_ids)), NeedItem.gap_id.in_(list(gap_ids))))
        .order_by(NeedItem.asked_at, NeedItem.id)
    )
    return [(item, topic) for item, topic in session.execute(query).all()]
