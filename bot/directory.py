"""What wieweet remembers about the people of the chat it runs in: a person's cached profile (UI language, display
name), refreshed by the chat layer now and then.

(Once-only claims on incoming requests are the inbox's, ``bot.inbox``: the request's record is its claim.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage import register_repo, slack_repo, write_lock
from storage.db import waiting_briefly


@dataclass(frozen=True, slots=True)
class CachedUser:
    user_id: str
    locale: str
    name: str
    fetched_at: datetime


def get_cached_user(session: Session, *, user_id: str) -> CachedUser | None:
    stored = slack_repo.get_slack_user(session, slack_user_id=user_id)
    if stored is None:
        return None
    return CachedUser(user_id, stored.locale or "", stored.name or "", stored.fetched_at)


def known_name(session: Session, *, user_id: str) -> str:
    """How a person is shown where Slack cannot show them (the command line): their name in the register, else the
    name their Slack profile had when last fetched, else their Slack user id."""
    expert = register_repo.get_expert_by_slack_id(session, slack_user_id=user_id)
    if expert is not None and expert.name:
        return expert.name
    cached = get_cached_user(session, user_id=user_id)
    return cached.name if cached is not None and cached.name else user_id


def cache_user(session: Session, *, user_id: str, locale: str, name: str, now: datetime) -> None:
    slack_repo.upsert_slack_user(session, slack_user_id=user_id, locale=locale, name=name, now=now)


def cache_user_apart(session: Session, *, user_id: str, locale: str, name: str, now: datetime) -> bool:
    """``cache_user`` in a short transaction of its own on ``session``'s database, committed at once: a cache, not
    part of the caller's change (whose transaction must not have written while it still calls Slack). It waits for a
    lock only briefly (``storage.db.waiting_briefly``): it runs before a command's modal opens, which must not wait
    for another process's long write. False when the database stayed locked: the language is known in memory for
    now, a later fetch stores it.

    On SQLite, False at once when the caller's own transaction is open: after a write or a mere lock read it holds
    the database's write lock, which this second connection would wait for (its own thread's lock, never given back
    meanwhile); a transaction open without it could fail at its next write instead (its snapshot gone stale by this
    commit)."""
    if _caller_transaction_open(session):
        return False
    try:
        with Session(session.get_bind()) as own, own.begin(), waiting_briefly(own):
            cache_user(own, user_id=user_id, locale=locale, name=name, now=now)
    except OperationalError:
        return False
    return True


def _caller_transaction_open(session: Session) -> bool:
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    return write_lock.sqlite_transaction_open(session.connection())
