"""The erasure ledger: what makes an erasure survive a restore from a backup taken before it.

An erasure leaves only a keyed hash of the person's e-mail addresses and Slack id (``storage.erased_repo``), in the
database itself, with its key. A copy of the database taken before the erasure has neither the hashes nor the
person's absence: restored, it brings the person back, and nothing in it says that they must go again.

* ``export_erasures``: the database's key and every stored hash (with when it was recorded), as JSON, for a file
  kept *outside* the database and its backups (``wieweet privacy erasures export FILE``). It holds no address, id or
  name: a hash says nothing without the key, and with the key only whether a guessed address was erased. It is a
  secret all the same (the key is in it): keep it where the backups' secrets are kept, readable by operators only.
* ``reapply_erasures``: after a restore, the hashes go back into the restored database (under the same key), and
  everyone the restored database holds whose address or Slack id hashes to one of them is erased again, the
  same way as the first time (``erase_person``, one audit row each). An import then skips them, as before.

Both are audited (actor, counts; no identities). Staff only. Nothing here commits.

Part of ``bot.privacy`` (import from there).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.errors import NotFoundError, WieweetError
from bot.privacy.audit import record_counts
from bot.privacy.erasure import ERASED_ACTOR, erase_person
from bot.privacy.person import find_person, sweep_found
from storage import erased_repo, privacy_repo
from storage.db import Database
from storage.enums import ERASURE_ENTITY

LEDGER_FORMAT = "wieweet-erasures/1"
EXPORT_ACTION = "export_erasures"
REAPPLY_ACTION = "reapply_erasures"
_HEX64 = re.compile(r"^[0-9a-f]{64}$", re.ASCII)


class LedgerError(WieweetError):
    """The ledger file cannot be used (not one, damaged, or made with another key than this database's): each its
    own ``code``, which the command line says in the operator's words (``bot.error_texts``)."""

    code = "erasure_ledger"


@dataclass
class ReapplyReport:
    """What a reapply did: hashes stored again, the people erased again, and the Slack ids the ledger matched (the
    inbox's requests of those go: ``finish_erasure``)."""

    identities: int = 0
    added: int = 0
    people_erased: int = 0
    traces_swept: int = 0  # values the erasures left (the erasure does not know someone by them), redacted after
    slack_user_ids: list[str] = field(default_factory=list)


def export_erasures(*, session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The ledger (see the module docstring): the key and every hash. Audited."""
    actor.require_staff("export the erasure ledger")
    secret = erased_repo.get_erasure_key(session)
    digests = erased_repo.list_erased_digests(session)
    record_counts(
        session,
        actor=actor,
        action=EXPORT_ACTION,
        entity_type=ERASURE_ENTITY,
        key=ERASED_ACTOR,
        after={"identities": len(digests)},
        now=now,
    )
    return {
        "format": LEDGER_FORMAT,
        "exported_at": now.isoformat(),
        "key": secret,
        "identities": [{"digest": digest, "erased_at": at.isoformat()} for digest, at in digests],
    }


def _read(ledger: object) -> tuple[str | None, dict[str, datetime]]:
    if not isinstance(ledger, dict) or ledger.get("format") != LEDGER_FORMAT:
        raise LedgerError("ledger_not_one", f"not an erasure ledger (format {LEDGER_FORMAT})")
    secret, rows = ledger.get("key"), ledger.get("identities")
    if not isinstance(rows, list) or (secret is not None and not (isinstance(secret, str) and _HEX64.match(secret))):
        raise LedgerError("ledger_damaged", "the erasure ledger is damaged (key or identities)")
    digests: dict[str, datetime] = {}
    for row in rows:
        try:
            digest, at = row["digest"], datetime.fromisoformat(row["erased_at"])
        except (TypeError, KeyError, ValueError):
            raise LedgerError("ledger_damaged", "the erasure ledger is damaged (an identity)") from None
        if not (isinstance(digest, str) and _HEX64.match(digest)):
            raise LedgerError("ledger_damaged", "the erasure ledger is damaged (a digest)")
        digests[digest] = at
    if digests and secret is None:
        raise LedgerError("ledger_no_key", "the erasure ledger has identities but no key")
    return secret, digests


def _adopt_key(session: Session, secret: str, *, now: datetime) -> None:
    """Make the ledger's key the database's. A restored copy of the same database has it already; a copy older than
    the erasure key (or a new database) takes it while it holds no hashes of its own. Else the ledger is another
    database's: refused (its hashes would match nobody here, and this database's would stop matching)."""
    current = erased_repo.get_erasure_key(session)
    if current == secret:
        return
    if current is not None and erased_repo.list_erased_digests(session):
        raise LedgerError(
            "ledger_other_key",
            "this erasure ledger was made with another key than this database's, which holds erasures of its own: "
            "it is not the ledger of this database",
        )
    erased_repo.update_erasure_key(session, secret=secret, now=now)


def reapply_erasures(
    *,
    session: Session,
    actor: Actor,
    ledger: object,
    now: datetime,
    inbox_user_ids: Collection[str] = (),
    db: Database | None = None,
) -> ReapplyReport:
    """After a restore: the ledger's hashes stored again, and everyone whose address or Slack id matches one of them
    erased again (see the module docstring). They are looked for wherever the erasure's sweep looks
    (``privacy_repo.list_identities_stored``), and among ``inbox_user_ids`` (the users of the restored inbox's
    requests, read by the caller: a match there is in ``slack_user_ids`` even with nothing else stored, for the
    caller to drop their requests with ``finish_erasure``). ``db``: where the inbox is when it is not in
    ``session``'s database (SQLite), for other people's waiting requests naming someone erased again (as
    ``erase_person``: their names and addresses too). Raises ``LedgerError`` before anything is changed when the
    ledger is not usable here. Audited: one row with the counts (and one ``erase`` row per person erased)."""
    actor.require_staff("reapply the erasure ledger")
    secret, digests = _read(ledger)
    report = ReapplyReport(identities=len(digests))
    if secret is not None:
        _adopt_key(session, secret, now=now)
        report.added = erased_repo.create_erased_digests(session, digests=digests.items())
        emails, sids = privacy_repo.list_identities_stored(session)
        found = erased_repo.list_matching_identities(
            session, secret=secret, digests=digests.keys(), emails=emails, slack_user_ids={*sids, *inbox_user_ids}
        )
        # one erasure per person: by address first (it finds their profile and Slack id too), then what is left
        for value in sorted(found, key=lambda v: ("@" not in v, v)):
            who = {"email": value} if "@" in value else {"slack_user_id": value}
            sid = find_person(session, **who).slack_user_id
            if sid and sid not in report.slack_user_ids:
                report.slack_user_ids.append(sid)
            try:
                erase_person(
                    session=session,
                    actor=actor,
                    now=now,
                    email=who.get("email"),
                    slack_user_id=who.get("slack_user_id"),
                    db=db,
                )
            except NotFoundError:  # erased already (an earlier address or id of theirs), or known to the inbox only
                continue
            report.people_erased += 1
        session.flush()
        report.traces_swept = sweep_found(session, sorted(found))
    counts = {
        "identities": report.identities,
        "added": report.added,
        "people_erased": report.people_erased,
        "traces_swept": report.traces_swept,
    }
    record_counts(
        session, actor=actor, action=REAPPLY_ACTION, entity_type=ERASURE_ENTITY, key=ERASED_ACTOR, after=counts, now=now
    )
    session.flush()
    return report
