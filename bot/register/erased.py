"""People who asked to be forgotten stay forgotten: an expert import skips the rows of an erased person.

An erasure deletes the profile and keeps only a keyed hash of the person's e-mail addresses and Slack id
(``storage.erased_repo``). A file row that would list such a person again — a new expert with that address or that
Slack id — is left out and reported (``ERASED:``, also in a dry run). A row of an expert already listed that gives
them an erased Slack id (a slip: that id is the erased person's) is imported without that id, the ``ERASED:`` line
naming the field left out; the expert is someone else, so the rest of their row is theirs to update. Staff may pass
``relist_erased`` (``--relist-erased``): then such rows are imported as any other row (new experts start
``pending``, or confirmed with ``--consent-on-paper``), the hashes go, and an audit entry (``relist_erased``)
records who listed them again — for an expert already listed who was given an erased Slack id, that the id was
given (``{"erased_slack_id": ...}``), not that the expert was erased. The import's summary counts the two apart.
(An erased address is only looked for in new experts' rows: an expert listed under it would have been erased with
it.)

Part of ``bot.register.service`` (import from there).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.errors import Problem
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


@dataclass(frozen=True, slots=True)
class ErasedRows:
    """What an expert file holds of erased people, by the row's e-mail address (the key) -> the report line (row
    number and field, no data)."""

    people: dict[str, str] = field(default_factory=dict)  # rows listing an erased person: left out whole
    slack_ids: dict[str, str] = field(default_factory=dict)  # an erased Slack id given to a listed expert: dropped

    def lines(self) -> list[str]:
        return [*self.people.values(), *self.slack_ids.values()]

    def relisted(self) -> set[str]:
        return {*self.people, *self.slack_ids}


def find_erased_rows(
    session: Session,
    *,
    file: RegisterFile,
    records: Sequence[tuple[RawRow, ExpertRecord]],
    existing: Mapping[str, Expert],
    present: Collection[str],
    relist: bool,
) -> ErasedRows:
    """The rows of erased people, and the erased Slack ids given to experts already listed (``ErasedRows``)."""
    emails = [r.email for _row, r in records if r.email not in existing]
    sids = [s for _row, r in records if (s := _new_slack_id(r, existing.get(r.email), present))]
    found = erased_repo.list_erased(session, emails=emails, slack_user_ids=sids) if emails or sids else set()
    erased = ErasedRows()
    for row, record in records:
        stored = existing.get(record.email)
        sid = _new_slack_id(record, stored, present)
        where = f"{file.name}: row {row.line}"
        values = {"file": file.name, "row": row.line}
        if stored is None and (record.email in found or (sid is not None and sid in found)):
            outcome = "listed again (--relist-erased)" if relist else "not imported (--relist-erased lists them again)"
            erased.people[record.email] = Problem(
                f"{where}: this person asked to be forgotten; {outcome}",
                "erased_relisted" if relist else "erased_skipped",
                values,
            )
        elif sid is not None and sid in found:
            erased.slack_ids[record.email] = (
                Problem(
                    f"{where}: slack_user_id belongs to a person who asked to be forgotten; imported (--relist-erased)",
                    "erased_id_relisted",
                    values,
                )
                if relist
                else Problem(
                    f"{where}: slack_user_id left out: it belongs to a person who asked to be forgotten; the row's "
                    "other fields are imported (--relist-erased imports it too)",
                    "erased_id_left_out",
                    values,
                )
            )
    return erased


def relist_erased_rows(
    session: Session,
    *,
    records: Sequence[tuple[RawRow, ExpertRecord]],
    erased: ErasedRows,
    actor: str,
    now: datetime,
) -> None:
    """Staff list erased people again (``--relist-erased``): their hashes go, each relisting is audited. A row of
    an expert already listed that gave them an erased Slack id (``erased.slack_ids``) lifts only that id's hash, and
    its entry says the id was given again: that expert was never erased."""
    for _row, record in records:
        sids = [record.slack_user_id] if record.slack_user_id else []
        person = record.email in erased.people
        erased_repo.delete_erased_identities(session, emails=[record.email] if person else [], slack_user_ids=sids)
        key = "erased" if person else "erased_slack_id"
        repo.create_audit_log(
            session,
            actor=actor,
            action=RELIST_ACTION,
            entity_type="expert",
            entity_key=record.email,
            before={key: True},
            after={key: False},
            now=now,
        )
    session.flush()
