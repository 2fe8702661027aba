"""Repository functions for the people who asked to be forgotten (``ErasedIdentity``): an erasure leaves a keyed hash
of each e-mail address and Slack user id of theirs, so that an old register file cannot list them again.

The hash is HMAC-SHA-256 with the database's own random key (``ErasureKey``, one row) over ``email:<address>`` (the
address stripped and case-folded) or ``slack:<user id>``. A plain hash of an address is reversed by hashing a list
of likely addresses (firstname.lastname@city.be); without the key that does not work, and the hashes of one
deployment match nothing of another's. Whoever holds the database holds the key too, and can test a guessed address
— no more than the question "was this address erased?", and nothing they could not read before the erasure.

Keyword-only, never commit (the caller's unit of work does).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import ErasedIdentity, ErasureKey

_CHUNK = 500  # bound parameters per statement
KEY_ROW = 1


def _secret(session: Session, *, create: bool) -> bytes | None:
    secret = session.scalar(select(ErasureKey.secret).where(ErasureKey.id == KEY_ROW))
    if secret is None and create:  # made by 0017_erasedids; only a database whose key row was removed gets here
        secret = secrets.token_hex(32)
        session.add(ErasureKey(id=KEY_ROW, secret=secret))
        session.flush()
    return bytes.fromhex(secret) if secret is not None else None


def _digests(key: bytes, *, emails: Iterable[str], slack_user_ids: Iterable[str]) -> dict[str, str]:
    """digest -> the value it is of (an address as given, or a Slack id)."""
    found: dict[str, str] = {}
    for kind, values, fold in (("email", emails, True), ("slack", slack_user_ids, False)):
        for value in values:
            normal = value.strip().casefold() if fold else value.strip()
            if normal:
                found[hmac.new(key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()] = value
    return found


def list_erased(session: Session, *, emails: Iterable[str] = (), slack_user_ids: Iterable[str] = ()) -> set[str]:
    """The given addresses (as given) and Slack ids that belong to someone erased."""
    key = _secret(session, create=False)
    if key is None:
        return set()
    digests = _digests(key, emails=emails, slack_user_ids=slack_user_ids)
    keys = list(digests)
    stored: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        stored.update(session.scalars(select(ErasedIdentity.digest).where(ErasedIdentity.digest.in_(chunk))))
    return {digests[d] for d in stored}


def create_erased_identities(
    session: Session, *, emails: Iterable[str], slack_user_ids: Iterable[str], now: datetime
) -> int:
    """Record the addresses and ids of an erased person (those already recorded are left). Returns how many new."""
    key = _secret(session, create=True)
    assert key is not None
    digests = _digests(key, emails=emails, slack_user_ids=slack_user_ids)
    present = set(session.scalars(select(ErasedIdentity.digest).where(ErasedIdentity.digest.in_(list(digests)))))
    new = [d for d in digests if d not in present]
    session.add_all(ErasedIdentity(digest=d, created_at=now) for d in new)
    session.flush()
    return len(new)


def delete_erased_identities(
    session: Session, *, emails: Iterable[str] = (), slack_user_ids: Iterable[str] = ()
) -> int:
    """Forget that these addresses and ids were erased (the person is listed again). Returns how many went."""
    key = _secret(session, create=False)
    if key is None:
        return 0
    digests = list(_digests(key, emails=emails, slack_user_ids=slack_user_ids))
    if not digests:
        return 0
    result = session.execute(delete(ErasedIdentity).where(ErasedIdentity.digest.in_(digests)))
    return int(getattr(result, "rowcount", 0) or 0)


# --- the erasure ledger (``bot.privacy.ledger``: export after an erasure, reapply after a restore) ---------------


def get_erasure_key(session: Session) -> str | None:
    """The database's key, as hex (None: no key row)."""
    return session.scalar(select(ErasureKey.secret).where(ErasureKey.id == KEY_ROW))


def update_erasure_key(session: Session, *, secret: str, now: datetime) -> None:
    """Set the database's key (a restored copy that has none of its own, or an unused one: ``bot.privacy.ledger``)."""
    row = session.get(ErasureKey, KEY_ROW)
    if row is None:
        session.add(ErasureKey(id=KEY_ROW, secret=secret, created_at=now))
    else:
        row.secret = secret
    session.flush()


def list_erased_digests(session: Session) -> list[tuple[str, datetime]]:
    """Every stored digest with when it was recorded, oldest first."""
    rows = session.execute(select(ErasedIdentity.digest, ErasedIdentity.created_at).order_by(ErasedIdentity.created_at))
    return [(digest, created_at) for digest, created_at in rows]


def create_erased_digests(session: Session, *, digests: Iterable[tuple[str, datetime]]) -> int:
    """Store digests made elsewhere with this database's key (those already stored are left). Returns how many new."""
    wanted = dict(digests)
    present: set[str] = set()
    keys = list(wanted)
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        present.update(session.scalars(select(ErasedIdentity.digest).where(ErasedIdentity.digest.in_(chunk))))
    new = [d for d in keys if d not in present]
    session.add_all(ErasedIdentity(digest=d, created_at=wanted[d]) for d in new)
    session.flush()
    return len(new)


def list_matching_identities(
    session: Session, *, secret: str, digests: Collection[str], emails: Iterable[str], slack_user_ids: Iterable[str]
) -> set[str]:
    """The given addresses (as given) and Slack ids whose hash under ``secret`` is one of ``digests``."""
    made = _digests(bytes.fromhex(secret), emails=emails, slack_user_ids=slack_user_ids)
    return {value for digest, value in made.items() if digest in digests}
