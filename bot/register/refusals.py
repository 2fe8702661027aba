"""What a DM Slack refused for good says of its recipient: one rule for every kind of DM (a routing's request, a DM
to an asker, a recruiting DM), read from Slack's refusal and what ``users.info`` then answers of the account.

* ``GONE`` — the account is deactivated: Slack said so itself (``user_disabled``), or ``users.info`` answers with
  the account, deleted. The person is treated as Slack's ``user_change`` for a deactivated account has them.
* ``UNREACHABLE`` — this person can never get the DM, but nothing confirms they are gone: a bot's account
  (``cannot_dm_bot``), or Slack does not know the id (``user_not_found``, also when ``users.info`` does not know
  it after ``account_inactive``: Slack answers about the recipient, so the token works and the id is what is
  wrong). Recorded with ``reason`` (``bot.register.marked.UNCONFIRMED_REASONS`` for an unknown id).
* ``KNOWN_ACTIVE`` — Slack refused with ``user_not_found`` while ``users.info`` answers with the account, active
  (a recruiting DM records it: ``bot.needs.reachability.record_unknown_id``; routing moves on as for an unknown id).
* ``OTHER`` — nothing said of the recipient: ``account_inactive`` while ``users.info`` fails too (Slack says it of
  the bot's own token: the app or workspace disabled, which an admin can undo) or answers with the account active,
  and any other error (``channel_not_found``, ``msg_too_long``…). Whoever chose the person is told, nobody marked.
"""

from __future__ import annotations

from enum import StrEnum

from bot.register.marked import DEACTIVATED


class Lookup(StrEnum):
    """What ``users.info`` answered of the recipient after the refusal."""

    ACTIVE = "active"
    DEACTIVATED = "deleted"
    NOT_FOUND = "not_found"  # ``user_not_found``: Slack does not know the id
    FAILED = "failed"  # any other error, or no answer (a dead token fails so too)


class Verdict(StrEnum):
    GONE = "gone"
    UNREACHABLE = "unreachable"
    KNOWN_ACTIVE = "known_active"
    OTHER = "other"


# The refusals after which ``users.info`` is asked: the ones its answer decides (see ``verdict``)
LOOKED_UP = frozenset({"account_inactive", "user_not_found", "cannot_dm_bot"})
UNKNOWN_ID = "user_not_found"


def verdict(error: str, lookup: Lookup) -> tuple[Verdict, str]:
    """The rule of the module docstring: what Slack's refusal ``error`` and ``users.info``'s answer ``lookup`` (only
    read for ``LOOKED_UP`` errors) say of the recipient, and the reason to record it with (empty for ``OTHER``)."""
    if error == "user_disabled":
        return Verdict.GONE, error
    if error not in LOOKED_UP:
        return Verdict.OTHER, ""
    if lookup is Lookup.DEACTIVATED:
        return Verdict.GONE, DEACTIVATED
    if error == "cannot_dm_bot":
        return Verdict.UNREACHABLE, error
    if lookup is Lookup.NOT_FOUND:  # after ``account_inactive`` too: Slack answered about the recipient
        return Verdict.UNREACHABLE, UNKNOWN_ID
    if error == UNKNOWN_ID:
        return (Verdict.KNOWN_ACTIVE, error) if lookup is Lookup.ACTIVE else (Verdict.UNREACHABLE, error)
    return Verdict.OTHER, ""  # ``account_inactive``: the account active, or Slack not answering (the bot's token)
