"""Repository functions for the registers (experts, practices, themes, audit log). They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditLog, Expert, Practice, RecordStatus, Theme


def get_expert_by_email(session: Session, *, email: str) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.email == email.strip().lower())).first()


def get_expert_by_slack_id(session: Session, *, slack_user_id: str) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.slack_user_id == slack_user_id)).first()


def list_experts(session: Session, *, theme: str | None = None, city: str | None = None) -> list[Expert]:
    query = select(Expert).order_by(Expert.email)
    if theme:
        query = query.where(Expert.themes.any(Theme.key == theme))
    if city:
        query = query.where(func.lower(Expert.city) == city.strip().lower())
    return list(session.scalars(query))


def get_practice_by_key(session: Session, *, title: str, city: str) -> Practice | None:
    return session.scalars(select(Practice).where(Practice.title == title, Practice.city == city)).first()


def list_practices(
    session: Session, *, theme: str | None = None, city: str | None = None, include_unpublished: bool = False
) -> list[Practice]:
    query = select(Practice)
    if not include_unpublished:
        query = query.where(Practice.status == RecordStatus.PUBLISHED)
    if theme:
        query = query.where(Practice.themes.any(Theme.key == theme))
    if city:
        query = query.where(func.lower(Practice.city) == city.strip().lower())
    practices = list(session.scalars(query))
    practices.sort(key=lambda p: (p.city.casefold(), p.title.casefold(), p.city, p.title))
    return practices


def list_practices_for_expert(session: Session, *, expert_id: int) -> list[Practice]:
    return list(
        session.scalars(select(Practice).where(Practice.contact_expert_id == expert_id).order_by(Practice.title))
    )


def list_themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).order_by(Theme.position, Theme.key)))


def get_themes_by_keys(session: Session, *, keys: Sequence[str]) -> list[Theme]:
    if not keys:
        return []
    found = {t.key: t for t in session.scalars(select(Theme).where(Theme.key.in_(list(keys))))}
    return [found[k] for k in keys if k in found]


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
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_key=entity_key[:400],
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def list_audit_log(session: Session, *, entity_type: str | None = None, limit: int = 100) -> list[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    if entity_type:
        query = query.where(AuditLog.entity_type == entity_type)
    return list(session.scalars(query))
