"""Repository functions for the registers: experts, practices, themes and the audit log.

Keyword-only arguments; they flush when a caller needs ids but never commit (the caller's ``db.session()`` block
does). Orders are made in Python where text is compared, so SQLite and PostgreSQL (whose collations differ) give
the same order and the same case-insensitive matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from storage.models import AuditLog, Consent, Expert, Practice, RecordStatus, Theme


def _stamp(record: Expert | Practice | Theme, now: datetime) -> None:
    """Set ``updated_at`` to ``now`` even when equal to the old value (else the column's onupdate would win)."""
    record.updated_at = now
    flag_modified(record, "updated_at")


# --- experts -----------------------------------------------------------------------------------------------------


def get_expert_by_email(session: Session, *, email: str) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.email == email.strip().lower())).first()


def get_expert_by_slack_id(session: Session, *, slack_user_id: str) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.slack_user_id == slack_user_id)).first()


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


def get_practice_by_key(session: Session, *, title: str, city: str) -> Practice | None:
    """The practice with this (title, city), compared case-insensitively."""
    exact = session.scalars(select(Practice).where(Practice.title == title, Practice.city == city)).first()
    if exact is not None:
        return exact
    wanted = (title.casefold(), city.casefold())
    candidates = session.scalars(select(Practice).where(func.length(Practice.title) == len(title)))
    return next((p for p in candidates if (p.title.casefold(), p.city.casefold()) == wanted), None)


def create_practice(session: Session, *, title: str, city: str, summary: str, now: datetime) -> Practice:
    practice = Practice(title=title, city=city, summary=summary, created_at=now, updated_at=now)
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


# --- themes ------------------------------------------------------------------------------------------------------


def list_themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).order_by(Theme.position, Theme.key)))


def count_themes(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Theme)) or 0


def get_theme(session: Session, *, key: str) -> Theme | None:
    return session.get(Theme, key)


def get_themes_by_keys(session: Session, *, keys: Sequence[str]) -> list[Theme]:
    """The themes with these keys, in the order given (unknown keys are left out)."""
    if not keys:
        return []
    found = {t.key: t for t in session.scalars(select(Theme).where(Theme.key.in_(list(keys))))}
    return [found[k] for k in keys if k in found]


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
    """Newest first."""
    query = select(AuditLog)
    if entity_type is not None:
        query = query.where(AuditLog.entity_type == entity_type)
    if entity_key is not None:
        query = query.where(AuditLog.entity_key == entity_key)
    return list(session.scalars(query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))
