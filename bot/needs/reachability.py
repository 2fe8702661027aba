"""Whether a person recruiting would ask can be reached by Slack, and what staff and the sender record about it.

* ``account_gone`` — why a person is not asked (``bot.needs.recruiting``): their register entry marked away because
  Slack cannot reach them, or their last recruiting DM refused with an error Slack says of the recipient alone
  (``RECIPIENT_GONE_ERRORS``), while no DM reached them since.
* ``record_unknown_id`` — the sender, when Slack refused a recruiting DM with ``user_not_found`` although
  ``users.info`` knows the account — records it so the next ask tries again, or blocks after a second such refusal.
* ``confirm_slack_id``, ``list_unknown_ids_confirmed``, ``confirm_slack_ids`` — staff (``wieweet register
  check-slack``, ``wieweet register available``) vouch for a Slack id a refusal doubted (``SLACK_ID_CONFIRMED``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor
from bot.register.expert_import import expert_audit
from bot.register.marked import (
    KEPT_ACTION,
    NO_REASON,
    UNCONFIRMED_REASONS,
    UNKNOWN_ID_ACTIVE,
    UNKNOWN_ID_ACTIVE_AGAIN,
    get_away_mark,
)
from bot.register.profiles import audit_change
from storage import outbox_repo, register_repo
from storage.models import OutboxKind, OutboxMessage

# What Slack says of the recipient alone when it refuses a DM (the account deactivated, unknown to Slack, a bot):
# never ``account_inactive``, which Slack also says of the bot's own token (the app or the workspace disabled, which
# an admin can undo: every DM fails alike then). The person counts as gone after that error only when the sender
# confirmed it (``users.info``: the account deleted) and marked their register entry away (``account_gone``); a DM
# refused with ``user_not_found`` while ``users.info`` does not say the account is deactivated (``UNCONFIRMED_REASONS``,
# as routing reads it: a mistyped Slack id, another workspace's token) leaves them unmarked, staff told to check the id.
# Refused with ``user_not_found`` while ``users.info`` answers with the account, active, it is recorded as
# ``UNKNOWN_ID_ACTIVE`` (``record_unknown_id``): no block, the next ask tries again; refused so a second time, as
# ``UNKNOWN_ID_ACTIVE_AGAIN``, which blocks as ``user_not_found`` does, with what Slack said in words.
RECIPIENT_GONE_ERRORS = frozenset({"user_disabled", "user_not_found", "cannot_dm_bot", UNKNOWN_ID_ACTIVE_AGAIN})
# Of those, the refusals that doubt the id itself: only a change of the Slack id, or someone vouching for it
# (``ID_VOUCHED_ACTIONS``), clears them
_ID_DOUBTED = UNCONFIRMED_REASONS | {UNKNOWN_ID_ACTIVE_AGAIN}
# A recruiting DM refused with ``user_not_found`` while Slack says the account is active, once or twice: the next
# such refusal is recorded as ``UNKNOWN_ID_ACTIVE_AGAIN`` (also after staff vouched for the id: it did not help)
REFUSED_ACTIVE = frozenset({UNKNOWN_ID_ACTIVE, UNKNOWN_ID_ACTIVE_AGAIN})
# Audit actions that do not say the person was reached or their entry renewed: the marks themselves
_MARK_ACTIONS = frozenset({"unreachable", KEPT_ACTION})
# The audit action of staff confirming a refused Slack id (``confirm_slack_id``: ``wieweet register check-slack``
# finding Slack's address for the account the register's, ``wieweet register available``)
SLACK_ID_CONFIRMED = "slack_id_confirmed"
# Audit actions that vouch for the Slack id as it is: that confirmation, and the entry's availability set (by staff,
# or by the person on their Home tab, which they reach with that very account)
ID_VOUCHED_ACTIONS = frozenset({SLACK_ID_CONFIRMED, "availability"})


def account_gone(session: Session, *, expert_id: int, slack_user_id: str) -> str:
    """Why this person cannot be reached (Slack's error, or the reason of their register entry's mark), or empty.

    Gone: their register entry is marked away because Slack cannot reach them (``bot.register.marked``: set by the
    outbox sender once ``users.info`` confirmed the account deleted, by Slack's ``user_change``, or by a DM refused
    with ``user_disabled``, ``user_not_found`` or ``cannot_dm_bot``; cleared when the account is found active again
    or they or staff make them available; a mark kept while the account looks active holds too, as
    ``get_away_mark`` reads it for routing), or the last recruiting DM to this Slack id that ended was given up with
    one of ``RECIPIENT_GONE_ERRORS``, and their register entry has not changed since (re-activated, imported again;
    for ``UNCONFIRMED_REASONS``, Slack not knowing the id, only a change of their Slack id counts, or someone vouching
    for it as it is: ``ID_VOUCHED_ACTIONS``). ``UNKNOWN_ID_ACTIVE`` (``users.info`` knew the account) holds nobody
    back. Either holds
    only while no DM of any kind reached this Slack id after it. A redraw of a DM sent before (``outbox.redraw_of``:
    an update, not a new DM) counts neither as a DM that reached them nor as one that ended."""
    expert = register_repo.get_expert(session, expert_id=expert_id)
    if expert is None or expert.slack_user_id != slack_user_id:
        return ""
    since: datetime | None = None
    why = ""
    mark = get_away_mark(session, expert=expert)  # kept or not: the rule routing holds them away by
    if mark is not None:
        since, why = _utc(mark.kept_at or mark.marked_at), mark.reason or NO_REASON  # shown as no reason recorded
    # a redraw (an update of a DM sent before) is no DM that reached them, nor one that ended: left out
    messages = [
        m
        for m in outbox_repo.list_outbox_messages_to(session, slack_user_id=slack_user_id)
        if outbox.redraw_of(m) is None
    ]
    ended = [
        m
        for m in messages
        if m.kind is OutboxKind.EXPERTISE_REQUEST and (m.sent_at is not None or m.failed_at is not None)
    ]
    if ended and why == "":
        last = max(ended, key=lambda m: (_utc(m.sent_at or m.failed_at), m.id))
        error = (last.last_error or "").strip()
        if last.sent_at is None and last.failed_at is not None and error in RECIPIENT_GONE_ERRORS:
            failed_at = _utc(last.failed_at)
            slack_id_only = error in _ID_DOUBTED  # the id itself was in doubt: only correcting or vouching clears
            if not _entry_changed_since(session, email=expert.email, since=failed_at, slack_id_only=slack_id_only):
                since, why = failed_at, error
    if since is None:
        return ""
    reached = any(m.sent_at is not None and _utc(m.sent_at) > since for m in messages)
    return "" if reached else why


def confirm_slack_id(
    session: Session, *, expert_id: int, actor: Actor, now: datetime, reasons: frozenset[str] = _ID_DOUBTED
) -> bool:
    """Staff say this expert's Slack id is right (``wieweet register check-slack`` found Slack's address for the
    account to be the register's; ``wieweet register available``): when their last recruiting DM was refused for
    the id itself (``user_not_found``: a mistyped id, a token of another workspace, since corrected), the next ask
    sends it again — recorded in the audit log (``SLACK_ID_CONFIRMED``), which ``account_gone`` reads. False, and
    nothing written, when no such refusal holds them back (a mark of their register entry is cleared its own way);
    ``reasons``: the refusals cleared (``check-slack`` learns nothing new of an account Slack said twice is active)."""
    if not _id_doubted(session, expert_id=expert_id, reasons=reasons):
        return False
    expert = register_repo.get_expert(session, expert_id=expert_id)
    assert expert is not None
    audit_change(session, actor=actor, action=SLACK_ID_CONFIRMED, expert=expert, before=expert_audit(expert), now=now)
    return True


def _id_doubted(session: Session, *, expert_id: int, reasons: frozenset[str]) -> bool:
    """Whether this expert's last recruiting DM was refused for one of ``reasons`` and that still holds them back."""
    expert = register_repo.get_expert(session, expert_id=expert_id)
    if expert is None or not expert.slack_user_id or get_away_mark(session, expert=expert) is not None:
        return False
    return account_gone(session, expert_id=expert.id, slack_user_id=expert.slack_user_id) in reasons


def list_unknown_ids_confirmed(session: Session, *, unconfirmed: Iterable[str]) -> list[str]:
    """``wieweet register check-slack``, reading only: the experts with a Slack id whose address is not in
    ``unconfirmed`` (Slack holds the register's address for their account) whose last recruiting DM Slack refused
    because ``users.info`` did not know the id either (``UNCONFIRMED_REASONS``; not ``UNKNOWN_ID_ACTIVE_AGAIN``:
    Slack said twice the account is active, so confirming its address tells nothing new): their addresses, in
    register order."""
    doubted = {e.casefold() for e in unconfirmed}
    return [
        expert.email
        for expert in register_repo.list_experts(session)
        if expert.slack_user_id
        and expert.email.casefold() not in doubted
        and _id_doubted(session, expert_id=expert.id, reasons=UNCONFIRMED_REASONS)
    ]


def confirm_slack_ids(session: Session, *, emails: Iterable[str], actor: Actor, now: datetime) -> list[str]:
    """``confirm_slack_id`` for the experts ``list_unknown_ids_confirmed`` found (``wieweet register check-slack``,
    once its report is printed), the same refusals only: the addresses of those no longer held back."""
    experts = (register_repo.get_expert_by_email(session, email=email) for email in emails)
    return [
        expert.email
        for expert in experts
        if expert is not None
        and confirm_slack_id(session, expert_id=expert.id, actor=actor, now=now, reasons=UNCONFIRMED_REASONS)
    ]


def record_unknown_id(session: Session, *, message_id: int, retried: bool) -> str:
    """A recruiting DM refused with ``user_not_found``, while ``users.info`` answers with the account, active (the
    sender asked): Slack knows the id, so it is not said to be unknown. Recorded as ``UNKNOWN_ID_ACTIVE`` (the next
    ask sends it again), or ``UNKNOWN_ID_ACTIVE_AGAIN`` (staff are told, not asked again) when this DM was refused so
    before it was queued again (its payload's ``refused_active``, which a failed attempt in between does not
    overwrite as it does ``last_error``; ``retried``: the sender's copy, as claimed, still said so) or another
    recruiting DM to this account was, with no DM reaching them since. What was recorded; empty when the message no
    longer is such a refusal (sent, queued again)."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.sent_at is not None or message.failed_at is None:
        return ""
    if message.last_error not in UNCONFIRMED_REASONS or not message.recipient_slack_id:
        return ""
    others = [
        m
        for m in outbox_repo.list_outbox_messages_to(session, slack_user_id=message.recipient_slack_id)
        if m.id != message.id and outbox.redraw_of(m) is None
    ]
    refused = [
        _utc(m.failed_at)
        for m in others
        if m.kind is OutboxKind.EXPERTISE_REQUEST and m.failed_at is not None and m.last_error in REFUSED_ACTIVE
    ]
    reached = [_utc(m.sent_at) for m in others if m.sent_at is not None]
    before = any(not reached or at > max(reached) for at in refused)
    again = retried or refused_active(message) or before
    message.last_error = UNKNOWN_ID_ACTIVE_AGAIN if again else UNKNOWN_ID_ACTIVE
    # the first such refusal, where a later attempt's passing error (a 5xx, a timeout) cannot overwrite it; the
    # second blocks (``account_gone``); once cleared (staff vouching for the id) the next one blocks again: the
    # vouching did not help (``recruiting._queued_again`` keeps it as a refusal before)
    message.payload = {**_payload(message), "refused_active": not again}
    return message.last_error


def record_refusal_reason(session: Session, *, message_id: int, reason: str) -> str:
    """A recruiting DM refused for good whose refusal the rule (``bot.register.refusals.verdict``) read as another
    reason than Slack's first error: ``account_inactive`` (which Slack also says of the bot's own token) while
    ``users.info`` does not know the id is recorded as ``user_not_found``, so ``account_gone`` holds the person
    back as after that refusal (``UNCONFIRMED_REASONS``: staff told to check the id). What was recorded; empty when
    the message no longer is such a refusal (sent, queued again) or already says so."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.sent_at is not None or message.failed_at is None:
        return ""
    if reason not in RECIPIENT_GONE_ERRORS or message.last_error in (reason, None, ""):
        return ""
    message.last_error = reason
    return reason


def _payload(message: OutboxMessage) -> dict[str, object]:
    return dict(message.payload) if isinstance(message.payload, dict) else {}


def refused_active(message: OutboxMessage) -> bool:
    """Whether this recruiting DM was refused once already although Slack knew the account (``record_unknown_id``)."""
    return _payload(message).get("refused_active") is True


def _entry_changed_since(session: Session, *, email: str, since: datetime, slack_id_only: bool = False) -> bool:
    """Whether the register entry changed after ``since`` other than by being marked unreachable: made available
    again, edited, imported again (its audit log); ``slack_id_only``: its Slack id changed, or someone vouched for
    it as it is (``ID_VOUCHED_ACTIONS``)."""
    for entry in register_repo.list_audit_log(session, entity_type="expert", entity_key=email, limit=50):
        if _utc(entry.at) <= since:
            return False
        if entry.action in _MARK_ACTIONS:
            continue
        if not slack_id_only or entry.action in ID_VOUCHED_ACTIONS or _slack_id(entry.before) != _slack_id(entry.after):
            return True
    return False


def _slack_id(state: object) -> object:
    return state.get("slack_user_id") if isinstance(state, dict) else None


def _utc(at: datetime | None) -> datetime:
    """A stored time, aware (SQLite gives it back naive, in UTC)."""
    assert at is not None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
