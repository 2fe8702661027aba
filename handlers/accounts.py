"""What Slack says about a member's account: their name and the e-mail address Slack holds for it.

The address is what ties a Slack account to an address in the register (``bot.register.identity``): read from
``users.info`` (``profile.email``, scope ``users:read.email``), never from what someone typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import ConfigError
from bot.register.identity import SlackEmailLookup
from bot.text import shown_text
from handlers.slack_settings import quiet_client_failures, slack_unreachable

log = logging.getLogger(__name__)
GONE = frozenset({"user_not_found", "user_not_visible"})  # Slack answered: no address to give


@dataclass(frozen=True, slots=True)
class SlackAccount:
    name: str
    email: str  # "" when Slack holds none for the account or does not share it (no users:read.email, a bot)
    checked: bool  # False: Slack could not be asked (the address is unknown, not absent)


# slack_sdk's error for an answer whose body is not JSON (a proxy's error page): not Slack's answer
NOT_JSON = "Received a response in a non-JSON format"


def unreachable_kind(exc: Exception) -> str | None:
    """Why ``exc`` says Slack could not be reached, as a ``bot.errors.Detail`` kind: ``unreachable`` (no
    connection), ``timeout`` (no answer in time), ``server_error`` (a 5xx), ``not_slack`` (an answer that is not
    JSON); None when Slack answered (a refusal about the account, a rate limit)."""
    if isinstance(exc, SlackApiError):
        if getattr(exc.response, "status_code", 200) >= 500:
            return "server_error"
        return "not_slack" if str(exc.response.get("error") or "").startswith(NOT_JSON) else None
    if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
        return "timeout"
    return "unreachable" if isinstance(exc, OSError) else None  # URLError is one


def never_sent(exc: Exception) -> bool:
    """Whether ``exc`` says the request cannot have reached Slack: the connection or the sending failed (refused,
    DNS, a TLS handshake), which urllib raises wrapped in a ``URLError``, not for a timeout (which may have come
    after the request was sent). What reading the answer raises (the connection closed or reset once the request
    was sent: ``RemoteDisconnected``, ``ConnectionResetError``; an ``ssl.SSLError``) urllib does not wrap: Slack may
    have taken the request. ``handlers.app.SafeConnectionErrorRetryHandler`` draws the same line for a write's
    retry, narrower (a refused connection only)."""
    if not isinstance(exc, URLError) or isinstance(exc, HTTPError):  # an HTTPError is an answer
        return False
    return not isinstance(exc.reason, TimeoutError)


def slack_account(client: WebClient, user_id: str, *, reachable: bool = False) -> SlackAccount:
    """Name and e-mail address Slack holds for ``user_id`` (best effort: a failure is logged, ``checked`` False).
    ``reachable``: Slack out of reach (``unreachable_kind``) raises ``bot.errors.ConfigError`` (one line for the
    operator) instead of being logged per account, and the client's own failure lines are left out: that line is
    all an operator sees (``quiet_client_failures``)."""
    try:
        if reachable:
            with quiet_client_failures(client.logger):
                user = client.users_info(user=user_id).get("user") or {}
        else:
            user = client.users_info(user=user_id).get("user") or {}
    except (SlackApiError, OSError) as exc:
        kind = unreachable_kind(exc)
        if reachable and kind is not None:
            raise unreachable_error(client, exc, kind) from exc
        if not isinstance(exc, SlackApiError):
            raise
        error = str(exc.response.get("error") or "")
        log.warning("users.info failed for %s: %s", user_id, shown_text(error))  # one line, masked: Slack's text
        return SlackAccount("", "", checked=error in GONE)
    profile = user.get("profile") or {}
    name = str(user.get("real_name") or profile.get("real_name") or "")
    email = "" if user.get("is_bot") else str(profile.get("email") or "").strip()
    return SlackAccount(name, email, checked=True)


def unreachable_error(client: WebClient, exc: Exception, kind: str) -> ConfigError:
    """``slack_unreachable`` for ``client``'s Slack: a status says its code, a page not Slack's its start."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    detail = f"HTTP {status}" if kind == "server_error" else None
    return slack_unreachable(client.base_url, exc, kind, detail)


def email_lookup(client: WebClient, *, reachable: bool = False) -> SlackEmailLookup:
    """``bot.register.identity.SlackEmailLookup`` through ``client`` (each account asked once). ``reachable``: Slack
    out of reach stops the lookup with one line (``slack_account``), not every account listed as not asked."""
    seen: dict[str, str | None] = {}

    def lookup(user_id: str) -> str | None:
        if user_id not in seen:
            account = slack_account(client, user_id, reachable=reachable)
            seen[user_id] = account.email if account.checked else None
        return seen[user_id]

    return lookup
