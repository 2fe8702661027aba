"""Repository functions for the registers: experts, practices, themes and the audit log.

Keyword-only arguments; they flush when a caller needs ids but never commit (the caller's ``db.session()`` block
does). Orders are made in Python where text is compared, so SQLite and PostgreSQL (whose collations differ) give
the same order and the same case-insensitive matches.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from storage.models import AuditLog, Availability, Consent, Expert, Practice, RecordStatus, Theme


def _stamp(record: Expert | Practice | Theme, now: datetime) -> None:
    """Set ``updated_at`` to ``now`` even when equal to the old value (else the column's onupdate would win)."""
    record.updated_at = now
    flag_modified(record, "updated_at")


# --- experts -----------------------------------------------------------------------------------------------------


def get_expert(session: Session, *, expert_id: int, lock: bool = False) -> Expert | None:
    """One expert; ``lock`` re-reads it and holds its row until commit (two staff deciding at once: the second
    sees the first's decision)."""
    return session.get(Expert, expert_id, with_for_update=lock or None, populate_existing=lock)


def get_expert_by_email(session: Session, *, email: str) -> Expert | None:
    """The expert with this e-mail address, in any case (stored lower-case; an older row in another case is
    found too)."""
    wanted = email.strip().lower()
    exact = session.scalars(select(Expert).where(Expert.email == wanted)).first()
    if exact is not None or not wanted:
        return exact
    return session.scalars(select(Expert).where(func.lower(Expert.email) == wanted)).first()


def get_expert_by_slack_id(session: Session, *, slack_user_id: str) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.slack_user_id == slack_user_id).limit(1)).first()


def get_experts_by_ids(
    session: Session, *, expert_ids: Collection[int], share: bool = False, skip_locked: bool = False
) -> dict[int, Expert]:
    """The experts with these ids, by id (ids not found are left out). ``share`` re-reads them and holds them against
    a change until commit, so that a withdrawal (which changes the row) waits for the reader or is seen by it:
    PostgreSQL ``FOR SHARE`` on their rows (waiting for a change in progress to commit); SQLite: the database's write
    lock, taken before the read (``storage.write_lock``), as SQLite lets one writer at a time. With ``skip_locked`` (and
    ``share``) PostgreSQL leaves out, without waiting, the rows another transaction is changing at this moment
    (``SKIP LOCKED``); SQLite waits for its write lock as without it."""
    if not expert_ids:
        return {}
    query = select(Expert).where(Expert.id.in_(sorted(expert_ids))).order_by(Expert.id)
    if share:
        query = query.with_for_update(read=True, skip_locked=skip_locked).execution_options(populate_existing=True)
    return {e.id: e for e in session.scalars(query)}


def list_experts(
    session: Session,
    *,
    theme: str | None = None,
    city: str | None = None,
    statuses: Sequence[RecordStatus] | None = None,
) -> list[Expert]:
    """Experts ordered by email; ``theme`` is a theme key, ``city`` is compared case-insensitively."""
    query = select(Expert)
    if theme is not None:
        query = query.where(Expert.themes.any(Theme.key == theme))
    if statuses is not None:
        query = query.where(Expert.status.in_(list(statuses)))
    experts = list(session.scalars(query))
    if city is not None:
        wanted = city.strip().casefold()
        experts = [e for e in experts if e.city.casefold() == wanted]
    experts.sort(key=lambda e: e.email)
    return experts


def create_expert(
    session: Session,
    *,
    email: str,
    name: str,
    organisation: str,
    source: str,
    now: datetime,
    consent: Consent = Consent.PENDING,
) -> Expert:
    expert = Expert(
        email=email.strip().lower(),
        name=name,
        organisation=organisation,
        consent=consent,
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(expert)
    return expert


def update_expert(session: Session, *, expert: Expert, values: dict[str, Any], now: datetime) -> Expert:
    """Set register fields (``themes`` as a list of ``Theme``) and stamp ``updated_at``. The email is the key."""
    for name, value in values.items():
        if name == "email":
            raise ValueError("the email is an expert's key; it is not changed by update_expert")
        setattr(expert, name, value)
    _stamp(expert, now)
    return expert


def delete_expert(session: Session, *, expert: Expert) -> None:
    """Remove an expert (their routings and answers stay, unlinked); flushed."""
    session.delete(expert)
    session.flush()


def _is_stale(*, now: datetime, reconfirm_days: int) -> ColumnElement[bool]:
    """A published profile not confirmed by the person, or last confirmed more than ``reconfirm_days`` ago (as
    ``bot.matching.documents.is_stale_profile``)."""
    cutoff = now - timedelta(days=reconfirm_days)
    return (Expert.status == RecordStatus.PUBLISHED) & or_(
        Expert.consent == Consent.PENDING,
        (Expert.consent == Consent.CONFIRMED) & (Expert.last_confirmed_at < cutoff),
    )


def list_stale_experts(session: Session, *, now: datetime, reconfirm_days: int, limit: int = 200) -> list[Expert]:
    """Stale published profiles: oldest confirmation first (never-confirmed ones first of all), then by e-mail."""
    query = (
        select(Expert)
        .where(_is_stale(now=now, reconfirm_days=reconfirm_days))
        .order_by(Expert.last_confirmed_at.is_not(None), Expert.last_confirmed_at, Expert.email)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_stale_experts(session: Session, *, now: datetime, reconfirm_days: int) -> int:
    return session.scalar(select(func.count()).where(_is_stale(now=now, reconfirm_days=reconfirm_days))) or 0


def list_experts_by_status(session: Session, *, status: RecordStatus, limit: int = 100) -> list[Expert]:
    """Experts in one state (e.g. profiles waiting for approval), oldest first."""
    query = select(Expert).where(Expert.status == status).order_by(Expert.created_at).limit(limit)
    return list(session.scalars(query))


def count_experts(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Expert)) or 0


def count_experts_by_status(session: Session, *, status: RecordStatus) -> int:
    return session.scalar(select(func.count()).where(Expert.status == status)) or 0


def list_experts_to_reconfirm(session: Session, *, now: datetime, reconfirm_days: int, limit: int) -> list[Expert]:
    """Published experts with a Slack id who need a confirm-your-listing DM, locked (``SKIP LOCKED``: a concurrent
    pass takes others): pending ones never asked, and confirmed ones whose last confirmation is older than
    ``reconfirm_days`` and who were not asked since. By id."""
    cutoff = now - timedelta(days=reconfirm_days)
    never_asked = Expert.consent_requested_at.is_(None)
    query = (
        select(Expert)
        .where(
            Expert.slack_user_id.is_not(None),
            Expert.status == RecordStatus.PUBLISHED,
            or_(
                (Expert.consent == Consent.PENDING) & never_asked,
                (Expert.consent == Consent.CONFIRMED)
                & (Expert.last_confirmed_at < cutoff)
                & (never_asked | (Expert.consent_requested_at <= Expert.last_confirmed_at)),
            ),
        )
        .order_by(Expert.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


# --- practices ---------------------------------------------------------------------------------------------------


def _practice_order(practice: Practice) -> tuple[str, str, str, str]:
    return (practice.city.casefold(), practice.title.casefold(), practice.city, practice.title)


def list_practices(
    session: Session,
    *,
    theme: str | None = None,
    city: str | None = None,
    statuses: Sequence[RecordStatus] | None = None,
) -> list[Practice]:
    """Practices ordered by (city, title) case-insensitively; ``statuses`` None means every status."""
    query = select(Practice)
    if theme is not None:
        query = query.where(Practice.themes.any(Theme.key == theme))
    if statuses is not None:
        query = query.where(Practice.status.in_(list(statuses)))
    practices = list(session.scalars(query))
    if city is not None:
        wanted = city.strip().casefold()
        practices = [p for p in practices if p.city.casefold() == wanted]
    practices.sort(key=_practice_order)
    return practices


def count_practices(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Practice)) or 0


def get_practice(session: Session, *, practice_id: int, lock: bool = False) -> Practice | None:
    """One practice; ``lock`` holds its row until commit (two staff deciding at once: the second sees the first)."""
    return session.get(Practice, practice_id, with_for_update=lock or None, populate_existing=lock)


def get_practice_by_key(session: Session, *, title: str, city: str) -> Practice | None:
    """The practice with this (title, city), compared case-insensitively."""
    exact = session.scalars(select(Practice).where(Practice.title == title, Practice.city == city)).first()
    if exact is not None:
        return exact
    wanted = (title.casefold(), city.casefold())
    candidates = session.scalars(select(Practice).where(func.length(Practice.title) == len(title)))
    return next((p for p in candidates if (p.title.casefold(), p.city.casefold()) == wanted), None)


def create_practice(
    session: Session,
    *,
    title: str,
    city: str,
    summary: str,
    now: datetime,
    submitted_by: str | None = None,
    status: RecordStatus | None = None,
) -> Practice:
    """A new practice (from a file, or ``submitted_by`` someone in chat; ``status`` None: the column's default)."""
    practice = Practice(title=title, city=city, summary=summary, created_at=now, updated_at=now)
    if submitted_by is not None:
        practice.submitted_by = submitted_by
    if status is not None:
        practice.status = status
    session.add(practice)
    return practice


def update_practice(session: Session, *, practice: Practice, values: dict[str, Any], now: datetime) -> Practice:
    """Set fields (``themes`` as a list of ``Theme``, ``contact_expert`` as an ``Expert`` or None); stamp the time."""
    for name, value in values.items():
        setattr(practice, name, value)
    _stamp(practice, now)
    return practice


def list_practices_for_expert(session: Session, *, expert_id: int) -> list[Practice]:
    practices = list(session.scalars(select(Practice).where(Practice.contact_expert_id == expert_id)))
    practices.sort(key=_practice_order)
    return practices


def list_practices_by_status(session: Session, *, status: RecordStatus, limit: int = 100) -> list[Practice]:
    """Practices in one moderation state, oldest submission first."""
    query = select(Practice).where(Practice.status == status).order_by(Practice.created_at, Practice.id).limit(limit)
    return list(session.scalars(query))


def delete_practice(session: Session, *, practice: Practice) -> None:
    """Remove a practice from the register; flushed."""
    session.delete(practice)
    session.flush()


# --- themes ------------------------------------------------------------------------------------------------------


def list_themes(session: Session, *, keys: Collection[str] | None = None) -> list[Theme]:
    """The vocabulary (or the themes with ``keys``) in its order: by position, then key."""
    query = select(Theme).order_by(Theme.position, Theme.key)
    if keys is not None:
        query = query.where(Theme.key.in_(list(keys)))
    return list(session.scalars(query))


def count_themes(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Theme)) or 0


def get_themes_by_keys(session: Session, *, keys: Sequence[str]) -> dict[str, Theme]:
    """The themes with these keys, by key in the order given (unknown keys are left out)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    found = {t.key: t for t in session.scalars(select(Theme).where(Theme.key.in_(wanted)))}
    return {k: found[k] for k in keys if k in found}


def create_theme(
    session: Session,
    *,
    key: str,
    label_nl: str,
    label_en: str,
    synonyms: list[str],
    position: int,
    now: datetime,
) -> Theme:
    theme = Theme(
        key=key,
        label_nl=label_nl,
        label_en=label_en,
        synonyms=synonyms,
        position=position,
        created_at=now,
        updated_at=now,
    )
    session.add(theme)
    return theme


def update_theme(
    session: Session, *, key: str, label_nl: str, label_en: str, synonyms: list[str], now: datetime
) -> Theme:
    theme = session.get(Theme, key)
    if theme is None:
        raise LookupError(f"no theme {key!r}")
    theme.label_nl = label_nl
    theme.label_en = label_en
    theme.synonyms = synonyms
    _stamp(theme, now)
    return theme


# --- audit log ---------------------------------------------------------------------------------------------------


def create_audit_log(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> AuditLog:
    entry = AuditLog(
        at=now,
        actor=actor[:200],
        action=action,
        entity_type=entity_type,
        entity_key=entity_key[:400],
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def list_audit_log(
    session: Session, *, entity_type: str | None = None, entity_key: str | None = None, limit: int = 100
) -> list[AuditLog]:
    """Newest first; ``entity_type`` and ``entity_key`` filter when given (an empty type: every type)."""
    query = select(AuditLog)
    if entity_type:
        query = query.where(AuditLog.entity_type == entity_type)
    if entity_key is not None:
        query = query.where(AuditLog.entity_key == entity_key)
    return list(session.scalars(query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))


def list_audit_entity_types(session: Session) -> list[str]:
    """The kinds of record the audit log holds entries for, sorted."""
    return sorted(session.scalars(select(AuditLog.entity_type).distinct()))


def count_audit_log(session: Session, *, actor: str, entity_type: str, since: datetime) -> int:
    """How many entries of ``entity_type`` ``actor`` made from ``since`` on."""
    query = select(func.count(AuditLog.id)).where(
        AuditLog.actor == actor[:200], AuditLog.entity_type == entity_type, AuditLog.at >= since
    )
    return int(session.scalar(query) or 0)


def list_unreachable_marks(session: Session) -> list[tuple[str, datetime, str]]:
    """``(slack_user_id, at, reason)`` of each expert away without a date whose latest audit entry is the mark that
    Slack could not reach them (action ``unreachable``), in one query: each expert joined to their latest entry."""
    ranked = (
        select(
            AuditLog.entity_key.label("email"),
            AuditLog.action.label("action"),
            AuditLog.at.label("at"),
            AuditLog.after.label("after"),
            func.row_number()
            .over(partition_by=AuditLog.entity_key, order_by=(AuditLog.at.desc(), AuditLog.id.desc()))
            .label("n"),
        )
        .where(AuditLog.entity_type == "expert")
        .subquery()
    )
    query = (
        select(Expert.slack_user_id, ranked.c.at, ranked.c.after)
        .join(ranked, ranked.c.email == Expert.email)
        .where(
            Expert.availability == Availability.AWAY,
            Expert.away_until.is_(None),
            Expert.slack_user_id.is_not(None),
            ranked.c.n == 1,
            ranked.c.action == "unreachable",
        )
        .order_by(Expert.slack_user_id)
    )
    return [(i, at, str((after or {}).get("reason") or "")) for i, at, after in session.execute(query) if i]
