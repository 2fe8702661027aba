"""Who a privacy request is about (``find_person``), whether anything is stored about them (``require_known``), and
the sweep that finds — or, for an erasure, redacts — their name, e-mail address or Slack id in every text column.

Part of ``bot.privacy`` (import from there).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.errors import NotFoundError, WieweetError
from bot.text import shown_value
from storage import privacy_repo as repo
from storage import register_repo, slack_repo
from storage.addresses import address_pattern
from storage.models import Expert

REDACTED = "[erased]"


class PrivacyInputError(WieweetError):
    code = "privacy_input"


@dataclass
class Person:
    """One person as wieweet knows them: by Slack id, by e-mail address, or both (through their profile)."""

    slack_user_id: str | None
    email: str | None
    expert: Expert | None
    names: set[str] = field(default_factory=set)
    # addresses of theirs only the audit log still holds (a removed or rejected profile's, a changed one)
    past_emails: set[str] = field(default_factory=set)

    @property
    def emails(self) -> set[str]:
        found = {self.email, *self.past_emails} if self.email else set(self.past_emails)
        if self.expert is not None:
            found.add(self.expert.email.lower())
        return {e for e in found if e}


def find_person(session: Session, *, slack_user_id: str | None = None, email: str | None = None) -> Person:
    slack_user_id = (slack_user_id or "").strip() or None
    email = (email or "").strip().lower() or None
    if slack_user_id is None and email is None:
        raise PrivacyInputError("privacy_input", "give a Slack user id or an e-mail address")
    expert = register_repo.get_expert_by_email(session, email=email) if email else None
    if expert is None and slack_user_id:
        expert = register_repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
    if expert is not None and slack_user_id and expert.slack_user_id and expert.slack_user_id != slack_user_id:
        raise PrivacyInputError("privacy_input", "that e-mail address and Slack id belong to different people")
    person = Person(
        slack_user_id=slack_user_id or (expert.slack_user_id if expert else None),
        email=email or (expert.email.lower() if expert else None),
        expert=expert,
    )
    if expert is not None:
        person.names.add(expert.name)
    if person.slack_user_id:
        cached = slack_repo.get_slack_user(session, slack_user_id=person.slack_user_id)
        if cached is not None and cached.name:
            person.names.add(cached.name)
    _add_audit_snapshots(session, person)
    return person


def _add_audit_snapshots(session: Session, person: Person) -> None:
    """The names and addresses in the audit log's snapshots of their expert record: a profile staff removed or
    rejected is gone, but its audit entries keep its name, address and Slack id. A snapshot naming their Slack id (or
    keyed by their address) is theirs — unless its address is not theirs (``_address_is_theirs``: a Slack id linked
    to another person's profile once, then corrected): that snapshot is left alone, name and all."""
    decided: dict[str, bool] = {}
    for snapshot in _snapshots(session, person):
        address = _address(snapshot)
        if address and address not in person.emails:
            if address not in decided:
                decided[address] = _address_is_theirs(session, person, address)
            if not decided[address]:
                continue
            person.past_emails.add(address)
        name = snapshot.get("name")
        if isinstance(name, str) and name.strip():
            person.names.add(name.strip())


def _snapshots(session: Session, person: Person) -> list[dict[str, Any]]:
    """Snapshots of an expert record naming their Slack id, and those of their address."""
    sid, email = person.slack_user_id, person.email
    snapshots: list[dict[str, Any]] = []
    if sid:
        for entry in repo.list_expert_audit_entries_naming(session, value=sid):
            snapshots += [
                s for s in (entry.before, entry.after) if isinstance(s, dict) and s.get("slack_user_id") == sid
            ]
    if email:
        for entry in repo.list_audit_entries_about(session, emails=[email], slack_user_id=None):
            if entry.entity_type == repo.EXPERT_ENTITY:
                snapshots += [s for s in (entry.before, entry.after) if isinstance(s, dict) and _address(s) == email]
    return snapshots


def _address_is_theirs(session: Session, person: Person, address: str) -> bool:
    """An address an old snapshot with their Slack id holds is theirs only when no other expert's profile has it now
    and its newest snapshot (the latest word on whose it is) names their Slack id: one naming no Slack id (a slip
    fixed by emptying the cell) or another one is not theirs."""
    holder = register_repo.get_expert_by_email(session, email=address)
    if holder is not None:
        return person.expert is not None and holder.id == person.expert.id
    newest: dict[str, Any] | None = None
    for entry in repo.list_expert_audit_entries_naming(session, value=address):
        for snapshot in (entry.before, entry.after):  # oldest entry first; within one, ``after`` is the newer
            if isinstance(snapshot, dict) and _address(snapshot) == address:
                newest = snapshot
    owner = newest.get("slack_user_id") if newest is not None else None
    return bool(owner) and owner == person.slack_user_id


def _address(snapshot: dict[str, Any]) -> str:
    value = snapshot.get("email")
    return value.strip().lower() if isinstance(value, str) else ""


def require_known(session: Session, person: Person) -> None:
    """Refuse (``NotFoundError`` "no such person") when nothing at all is stored about the person.

    Known means: an expert profile, a cached Slack profile, or their Slack id or e-mail address anywhere in the
    database (questions, searches, routings, practices, the audit log, messages, ...).
    """
    if person.expert is not None:
        return
    sid = person.slack_user_id
    if sid and slack_repo.get_slack_user(session, slack_user_id=sid) is not None:
        return
    needles = sorted({*person.emails, *([sid] if sid else [])}, key=len, reverse=True)
    if _sweep(session, needles, replace=False):
        return
    # quoted as every value given back is (``shown_value``: cut, a token in it masked): it is the operator's
    who = " / ".join(shown_value(n) for n in (person.email, sid) if n)
    raise NotFoundError("no_person", f"no such person: nothing is stored about {who}", values={"who": who})


def _pattern(needles: list[str], *, id_bounds: str = r"\w") -> re.Pattern[str]:
    """An occurrence of one of ``needles``: an address as a whole address (``storage.addresses.address_pattern``: not
    ``jan.anna@gent.be`` for ``anna@gent.be``), anything else (a name, a Slack id) not touching ``id_bounds``."""
    addresses = [n for n in needles if "@" in n]
    others = "|".join(re.escape(n) for n in sorted(set(needles) - set(addresses), key=len, reverse=True))
    forms = [address_pattern(addresses)] if addresses else []
    if others:
        forms.append(rf"(?<![{id_bounds}])(?:{others})(?![{id_bounds}])")
    return re.compile("|".join(forms), re.IGNORECASE)


def _redact(match: re.Match[str]) -> str:
    return (match.groupdict().get("lead") or "") + REDACTED


def _query_variants(needles: list[str]) -> list[str]:
    """Also the JSON-escaped forms (JSON columns may store "é" as "\\u00e9")."""
    variants = set(needles)
    variants.update(json.dumps(n)[1:-1] for n in needles)
    return sorted(variants)


def _scrub(value: Any, pattern: re.Pattern[str]) -> tuple[Any, int]:
    if isinstance(value, str):
        return pattern.subn(_redact, value)
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            new, n = _scrub(item, pattern)
            items.append(new)
            total += n
        return items, total
    if isinstance(value, dict):
        total = 0
        mapping = {}
        for key, item in value.items():
            new_key, n_key = _scrub(key, pattern) if isinstance(key, str) else (key, 0)
            new, n = _scrub(item, pattern)
            mapping[new_key] = new
            total += n + n_key
        return mapping, total
    return value, 0


def sweep_found(session: Session, values: list[str]) -> int:
    """Redact the Slack ids and addresses a reapply matched (``bot.privacy.ledger``) wherever its finder reads them
    (``privacy_repo.list_identities_stored``): key columns included, and bounded as the finder bounds them (an id
    only by letters and digits: ``share_U0…`` holds it; an address as a whole address). After the erasures, what
    they left — traces of someone the erasure does not know by them — goes too. A cached Slack profile keyed by such
    an id is deleted. Returns how many values were redacted."""
    if not values:
        return 0
    for value in values:
        if "@" not in value:
            repo.delete_slack_user(session, slack_user_id=value)
    pattern = _pattern(values, id_bounds="A-Za-z0-9")
    return _sweep(session, values, replace=True, pattern=pattern, keys=True)


def _sweep(
    session: Session,
    needles: list[str],
    *,
    replace: bool,
    pattern: re.Pattern[str] | None = None,
    keys: bool = False,
) -> int:
    """Find (and with ``replace``, redact) every remaining occurrence of ``needles`` in every text column (``keys``:
    key columns too; ``pattern``: what an occurrence is, by default the needle as a whole word)."""
    if not needles:
        return 0
    pattern = pattern or _pattern(needles)
    variants = _query_variants(needles)
    found = 0
    # The inbox is not among these columns: its rows are the requests in progress — the erasure's own among them,
    # held by the inbox worker's own connection — and leave it once the erasure committed (``finish_erasure``). On
    # PostgreSQL it shares the database: rewriting the erasure's own row in this transaction would wait for the
    # worker, which waits for this transaction. Other people's requests nobody holds yet are redacted on their own,
    # passing over every row another transaction holds (``bot.privacy.erasure._redact_inbox``).
    for cls, attribute, is_json in repo.list_person_attributes(keys=keys):
        rows = repo.list_rows_containing(session, cls=cls, attribute=attribute, is_json=is_json, needles=variants)
        for row in rows:
            value = getattr(row, attribute)
            new, n = _scrub(value, pattern)
            if not n:
                continue
            found += n
            if replace:
                setattr(row, attribute, new)  # a new object, so the ORM sees JSON changes too
    return found
