"""People who asked to be forgotten stay forgotten: an expert import skips the rows of an erased person.

An erasure deletes the profile and keeps only a keyed hash of the person's e-mail addresses and Slack id
(``storage.erased_repo``). A file row that would list such a person again — a new expert with that address, or a
row that gives that Slack id to an entry not holding it yet — is left out and reported (``ERASED:``, also in a dry
run), unless staff pass ``relist_erased`` (``--relist-erased``): then it is imported as any other row (new experts
start ``pending``, or confirmed with ``--consent-on-paper``), the hashes go, and an audit entry
(``relist_erased``) records who listed them again.

Part of ``bot.register.service`` (import from there).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.register.files import RawRow, RegisterFile
from bot.register.validation import ExpertRecord
from storage import erased_repo
from storage import register_repo as repo
from storage.models import Expert

RELIST_ACTION = "relist_erased"


def _new_slack_id(record: ExpertRecord, stored: Expert | None, present: Collection[str]) -> str | None:
    """The Slack id the row gives to an entry that does not hold it yet (None: none given, or no change)."""
    sid = record.slack_user_id if "slack_user_id" in present else None
    if not sid or (stored is not None and stored.slack_user_id == sid):
        return None
    return sid


def find_erased_rows(
    session: Session,
    *,
    file: RegisterFile,
    records: Sequence[tuple[RawRow, ExpertRecord]],
    existing: Mapping[str, Expert],
    present: Collection[str],
    relist: bool,
) -> dict[str, str]:
    """The rows of erased people: their e-mail address (the key) -> the report line (row number, no data)."""
    emails = [r.email for _row, r in records if r.email not in existing]
    sids = [s for _row, r in records if (s := _new_slack_id(r, existing.get(r.email), present))]
    if not emails and not sids:
        return {}
    found = erased_repo.list_erased(session, emails=emails, slack_user_ids=sids)
    outcome = "listed again (--relist-erased)" if relist else "not imported (--relist-erased lists them again)"
    rows: dict[str, str] = {}
    for row, record in records:
        stored = existing.get(record.email)
        sid = _new_slack_id(record, stored, present)
        if (stored is None and record.email in found) or (sid is not None and sid in found):
            rows[record.email] = f"{file.name}: row {row.line}: this person asked to be forgotten; {outcome}"
    return rows


def relist_erased_rows(
    session: Session, *, records: Sequence[tuple[RawRow, ExpertRecord]], actor: str, now: datetime
) -> None:
    """Staff list erased people again (``--relist-erased``): their hashes go, each relisting is audited."""
    for _row, record in records:
        erased_repo.delete_erased_identities(
            session, emails=[record.email], slack_user_ids=[record.slack_user_id] if record.slack_user_id else []
        )
        repo.create_audit_log(
            session,
            actor=actor,
            action=RELIST_ACTION,
            entity_type="expert",
            entity_key=record.email,
            before={"erased": True},
            after={"erased": False},
            now=now,
        )
    session.flush()
