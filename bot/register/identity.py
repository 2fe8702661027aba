"""An e-mail address in the register is an identity claim: whose Slack account may stand for it.

Routed questions go to an expert's Slack account, and the knowledge centre's imports find experts by e-mail address.
So an address is only tied to a Slack account when someone who may vouch for it says so:

- Slack itself: a member's own profile keeps an address only when it is the one Slack holds for their account
  (``users.info`` ``profile.email``, scope ``users:read.email``). When Slack gives no address, a new one is refused
  (the knowledge centre adds the person by import): the address cannot be checked, and an unchecked address is
  exactly what an impostor would type.
- The knowledge centre: an import's ``slack_user_id`` column, or staff editing a profile (audited).

An import that finds a profile made in Slack under one of its addresses, and has no ``slack_user_id`` column to
say which account is the person's, keeps that account only when Slack confirms the address for it; when Slack says
otherwise (another address, or none) it is a conflict: reported, and the entry is imported without that account
(``claim_conflicts``). When Slack cannot be asked (no bot token here, Slack failing) nothing is imported: unlinking
would reset the consent of every profile made in Slack on a machine that merely lacks the token. ``check_slack_emails``
lists the register's Slack ids whose Slack address differs, for the operator to review existing data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.errors import Problem
from bot.register.files import RawRow, RegisterFile
from bot.register.report import located
from bot.register.validation import ExpertRecord
from storage import register_repo as repo
from storage.models import Expert

SOURCE_SLACK = "slack"  # an expert whose profile was made in Slack by the person (``Expert.source``)

SlackEmailLookup = Callable[[str], str | None]
"""The e-mail address Slack holds for a Slack user id: ``""`` when it holds none (or does not share it: a bot, an
app without ``users:read.email``, an account gone), None when Slack could not be asked."""


def same_address(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


# why Slack does not confirm an address (``mismatch_code``): the codes a report line is written from
NO_TOKEN = "no_token"
NOT_ASKED = "not_asked"
NO_ADDRESS = "no_address"
OTHER_ADDRESS = "other_address"


def mismatch_code(held: str | None, email: str, *, asked: bool) -> str | None:
    """Why the address Slack ``held`` (None: not known) does not confirm ``email``, as a code; None when it does."""
    if not asked:
        return NO_TOKEN
    if held is None:
        return NOT_ASKED
    if not held:
        return NO_ADDRESS
    if not same_address(held, email):
        return OTHER_ADDRESS
    return None


def _reason(held: str | None, email: str, *, asked: bool) -> str | None:
    """Why the address Slack ``held`` (None: not known) does not confirm ``email``; None when it does."""
    code = mismatch_code(held, email, asked=asked)
    if code is None:
        return None
    return {
        NO_TOKEN: "no Slack bot token to check it with",
        NOT_ASKED: "Slack could not be asked",
        NO_ADDRESS: "Slack holds no e-mail address for that account",
    }.get(code, f"its Slack e-mail address is {held}")


def mismatch(slack_user_id: str, email: str, lookup: SlackEmailLookup | None) -> str | None:
    """Why Slack does not confirm ``email`` for ``slack_user_id`` (a phrase for a report line); None when it does."""
    return _reason(lookup(slack_user_id) if lookup is not None else None, email, asked=lookup is not None)


def claim_conflicts(
    rows: Iterable[tuple[int, str]], existing: Mapping[str, Expert], lookup: SlackEmailLookup | None, *, file: str
) -> tuple[dict[str, str], list[str]]:
    """For an import without a ``slack_user_id`` column, the rows (line, e-mail) that match a profile made in Slack
    whose account Slack does not confirm for the address: ``{email: report line}`` where Slack says so (imported
    without that account), and the lines where Slack could not be asked (they fail the import: nothing written)."""
    conflicts: dict[str, str] = {}
    unchecked: list[str] = []
    for line, email in rows:
        stored = existing.get(email)
        if stored is None or not stored.slack_user_id or stored.source != SOURCE_SLACK:
            continue
        held = lookup(stored.slack_user_id) if lookup is not None else None
        why = _reason(held, email, asked=lookup is not None)
        if why is None:
            continue
        claimed = f"{file}: row {line}: {email} was claimed in Slack by account {stored.slack_user_id}, and {why}"
        values = {"file": file, "row": line, "email": email, "account": stored.slack_user_id, "held": held or ""}
        if held is None:
            unchecked.append(
                Problem(
                    f"{claimed}: set SLACK_BOT_TOKEN (or try again when Slack answers) so the address can be checked, "
                    "or give the person's slack_user_id in the file",
                    "claim_no_token" if lookup is None else "claim_not_asked",
                    values,
                )
            )
            continue
        conflicts[email] = Problem(
            f"{claimed}: imported without that account (it is not routed this expert's questions; its consent is "
            "not carried over; the profile it made is in the audit log). Give the person's slack_user_id in the "
            "file to link them.",
            "claim_other_address" if held else "claim_no_address",
            values,
        )
    return conflicts, unchecked


def slack_ids_held(
    file: RegisterFile, records: list[tuple[RawRow, ExpertRecord]], existing: Mapping[str, Expert]
) -> list[str]:
    """A Slack id may move between experts of this file, but not onto one held by an expert the file leaves alone."""
    in_file = {record.email for _, record in records}
    holders = {e.slack_user_id: e for e in existing.values() if e.slack_user_id}
    errors: list[str] = []
    for row, record in records:
        holder = holders.get(record.slack_user_id) if record.slack_user_id else None
        if holder is not None and holder.email != record.email and holder.email not in in_file:
            errors.append(
                located(
                    file,
                    row,
                    "slack_user_id",
                    Problem(
                        f"{record.slack_user_id} already belongs to {holder.email} in the register",
                        "slack_id_taken",
                        {"slack_id": record.slack_user_id, "email": holder.email},
                    ),
                )
            )
    return errors


@dataclass(frozen=True, slots=True)
class SlackEmailCheck:
    email: str  # the register's address
    name: str
    slack_user_id: str
    source: str
    problem: str  # why Slack does not confirm the address for the account (English, for a log)
    code: str = ""  # the same as a code (``mismatch_code``), for a line in the reader's language
    held: str = ""  # the address Slack holds for the account (``OTHER_ADDRESS``)


def check_slack_emails(session: Session, *, lookup: SlackEmailLookup) -> tuple[int, list[SlackEmailCheck]]:
    """Every expert with a Slack id whose address Slack does not confirm for that account; and how many were
    checked. Read only: what to do (unlink, correct by import, remove) is the knowledge centre's decision."""
    checked = 0
    problems: list[SlackEmailCheck] = []
    for expert in repo.list_experts(session):
        if not expert.slack_user_id:
            continue
        checked += 1
        held = lookup(expert.slack_user_id)
        code = mismatch_code(held, expert.email, asked=True)
        if code is not None:
            why = _reason(held, expert.email, asked=True) or code
            problems.append(
                SlackEmailCheck(expert.email, expert.name, expert.slack_user_id, expert.source, why, code, held or "")
            )
    return checked, problems
