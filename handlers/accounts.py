"""What Slack says about a member's account: their name and the e-mail address Slack holds for it.

The address is what ties a Slack account to an address in the register (``bot.register.identity``): read from
``users.info`` (``profile.email``, scope ``users:read.email``), never from what someone typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.register.identity import SlackEmailLookup
from bot.text import shown_text

log = logging.getLogger(__name__)
GONE = frozenset({"user_not_found", "user_not_visible"})  # Slack answered: no address to give


@dataclass(frozen=True, slots=True)
class SlackAccount:
    name: str
    email: str  # "" when Slack holds none for the account or does not share it (no users:read.email, a bot)
    checked: bool  # False: Slack could not be asked (the address is unknown, not absent)


def slack_account(client: WebClient, user_id: str) -> SlackAccount:
    """Name and e-mail address Slack holds for ``user_id`` (best effort: a failure is logged, ``checked`` False)."""
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        log.warning("users.info failed for %s: %s", user_id, shown_text(error))  # one line, masked: Slack's text
        return SlackAccount("", "", checked=error in GONE)
    profile = user.get("profile") or {}
    name = str(user.get("real_name") or profile.get("real_name") or "")
    email = "" if user.get("is_bot") else str(profile.get("email") or "").strip()
    return SlackAccount(name, email, checked=True)


def email_lookup(client: WebClient) -> SlackEmailLookup:
    """``bot.register.identity.SlackEmailLookup`` through ``client`` (each account asked once)."""
    seen: dict[str, str | None] = {}

    def lookup(user_id: str) -> str | None:
        if user_id not in seen:
            account = slack_account(client, user_id)
            seen[user_id] = account.email if account.checked else None
        return seen[user_id]

    return lookup
