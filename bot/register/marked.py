"""The marks ``unreachable.mark_unreachable`` leaves (an expert away without a date because Slack cannot reach them,
while their latest audit entry is that mark): one expert's (``get_unreachable_mark``), or all of them in one query,
for a cache of the Slack layer that must not read the database for every member's profile change and for the job
runner's look at recent ones."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.i18n import N_, t
from bot.text import shown_value
from storage import register_repo as repo
from storage.models import Availability, Expert

# The reason recorded when ``users.info`` says the recipient's account is deactivated (``deleted: true``): by the
# outbox sender after ``account_inactive``, and when a person picks a deactivated account
DEACTIVATED = "deleted"
# The reasons a mark of a deactivated account has in the audit log: ``deleted``, and Slack's own ``user_disabled``
# as older releases recorded a DM refused so (a reactivation clears either)
DEACTIVATION_REASONS = frozenset({DEACTIVATED, "user_disabled"})
# The marks a confirmed-active account clears (``users.info`` answers with the account, not deleted): those set
# because Slack said the account was gone, deactivated (``DEACTIVATION_REASONS``) or unknown to it (a DM refused
# with ``user_not_found``). Never ``cannot_dm_bot`` (a bot's account is active and still takes no DM), and never an
# expert's own away or staff's (no ``unreachable`` mark is their latest audit entry: ``get_unreachable_mark``).
ACCOUNT_GONE_REASONS = DEACTIVATION_REASONS | {"user_not_found"}
# Of those, Slack's refusals of a DM that ``users.info`` never confirmed: Slack not knowing an id the register names
# says nothing certain of the person (a mistyped Slack id, a token of another workspace). Routing marks them away so
# (``bot.register.reactivated``: an active account clears it), a recruiting DM refused so tells staff to check the
# id (``bot.needs.recruiting``); only ``users.info`` answering with the account deactivated makes them gone.
UNCONFIRMED_REASONS = frozenset({"user_not_found"})
# What a recruiting DM refused with ``user_not_found`` records instead when ``users.info`` then answers with the
# account, active (``bot.needs.reachability.record_unknown_id``): Slack knows the id, so the next ask sends the DM
# again; refused so again, the second is recorded as ``UNKNOWN_ID_ACTIVE_AGAIN`` and blocks as ``user_not_found`` does
UNKNOWN_ID_ACTIVE = "user_not_found:active"
UNKNOWN_ID_ACTIVE_AGAIN = "user_not_found:active_again"
# The reason shown for a mark that recorded none (``slack_said``): never as if Slack had said it
NO_REASON = "unreachable"
# The audit action of a mark an active account no longer clears (``bot.register.reactivated``): it is then the
# expert's latest audit entry, the ``unreachable`` mark it keeps the one before it
KEPT_ACTION = "unreachable_kept"


def list_marked_away_ids(session: Session, *, reasons: Collection[str]) -> frozenset[str]:
    """The Slack ids of the experts marked away for one of ``reasons`` while that still holds (one query; reads
    only): as ``get_marked_away_for`` reads each of them."""
    return frozenset(i for i, _at, reason in repo.list_unreachable_marks(session) if reason in reasons)


def list_marked_away_since(
    session: Session, *, reasons: Collection[str], since: datetime
) -> list[tuple[str, datetime]]:
    """``(slack_user_id, marked_at)`` of the experts marked away for one of ``reasons`` from ``since`` on, while that
    still holds, oldest first (one query; reads only)."""
    marks = [(i, _aware(at)) for i, at, reason in repo.list_unreachable_marks(session) if reason in reasons]
    return sorted(((i, at) for i, at in marks if at >= since), key=lambda mark: (mark[1], mark[0]))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def get_unreachable_mark(session: Session, *, expert: Expert) -> tuple[datetime, str] | None:
    """When and why (Slack's reason) this expert was marked away because Slack could not reach them, while that
    still holds (away without a date, nothing changed since); None otherwise."""
    if expert.availability is not Availability.AWAY or expert.away_until is not None:
        return None
    latest = repo.list_audit_log(session, entity_type="expert", entity_key=expert.email, limit=1)
    if not latest or latest[0].action != "unreachable":
        return None
    return latest[0].at, str((latest[0].after or {}).get("reason") or "")


def get_marked_away_for(session: Session, *, slack_user_id: str, reasons: Collection[str]) -> Expert | None:
    """The expert with this Slack id while they are marked away for one of ``reasons`` (``mark_unreachable``: e.g.
    their account was deactivated, recorded as ``deleted`` or, by older releases, ``user_disabled``) and nothing
    changed since; None otherwise. Reads only."""
    expert = repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id)
    mark = get_unreachable_mark(session, expert=expert) if expert is not None else None
    return expert if mark is not None and mark[1] in reasons else None


@dataclass(frozen=True, slots=True)
class AwayMark:
    """Why an expert is away without a date because Slack could not reach them: the mark (``marked_at``, Slack's
    ``reason``) and, when an active account no longer clears it, when it was kept (``kept_at``)."""

    marked_at: datetime
    reason: str
    kept_at: datetime | None = None


def get_away_mark(session: Session, *, expert: Expert) -> AwayMark | None:
    """The mark that holds this expert away, kept or not (for people to read: ``get_unreachable_mark`` is the one
    an active account clears). None when they are not away so (their own away, staff's, available)."""
    if expert.availability is not Availability.AWAY or expert.away_until is not None:
        return None
    latest = repo.list_audit_log(session, entity_type="expert", entity_key=expert.email, limit=2)
    if not latest or latest[0].action not in ("unreachable", KEPT_ACTION):
        return None
    reason = str((latest[0].after or {}).get("reason") or "")
    if latest[0].action == "unreachable":
        return AwayMark(marked_at=_aware(latest[0].at), reason=reason)
    kept_at = _aware(latest[0].at)
    mark = latest[1] if len(latest) > 1 and latest[1].action == "unreachable" else latest[0]
    return AwayMark(marked_at=_aware(mark.at), reason=reason, kept_at=kept_at)


# What Slack said, as a mark's or a refused DM's reason records it, for people to read (``slack_said``)
_SLACK_SAID = {
    **dict.fromkeys(DEACTIVATION_REASONS, N_("register.slack_said_deactivated")),
    **dict.fromkeys(UNCONFIRMED_REASONS, N_("register.slack_said_unknown_id")),
    UNKNOWN_ID_ACTIVE_AGAIN: N_("register.slack_said_unknown_id_active"),
    "cannot_dm_bot": N_("register.slack_said_bot"),
    **dict.fromkeys(("", NO_REASON), N_("register.slack_said_no_reason")),
}


def slack_said(reason: str, lang: str) -> str:
    """Why Slack cannot reach someone, in ``lang``, as Slack said it ("Slack answered: account deactivated", "Slack
    does not know this id; check the register's Slack id"): for a mark's or a refused DM's ``reason``, never the
    reason key itself unless Slack gave another error (quoted then). No reason recorded (``""``, ``NO_REASON``): said
    so, not quoted as if Slack had said it."""
    key = _SLACK_SAID.get(reason, N_("register.slack_said_other"))
    return t(key, lang, error=shown_value(reason) or "?")
