"""``user_change`` that may matter: a deactivation, or a profile of someone marked away because Slack said their
account was gone (perhaps reactivated). Every other profile change is only acknowledged (``handlers.deactivated``).

Such an event is a claim about a moment that may have passed: Slack may deliver it late (after a reactivation, or a
deactivation after it). So it is recorded in the inbox before its ack (Slack's retries make one row) and the inbox
worker acts on what Slack says *now*: ``users.info``. Still deactivated: the deactivation is handled
(``handlers.deactivated.handle_user_change``). Active again: an expert marked away because Slack said the account
was gone is available again, audited, with one notice for staff when that mark had moved things
(``bot.register.reactivated``), and a deactivation that comes late does nothing more. A look-up Slack cannot answer
now (a rate limit during a large offboarding, an outage) fails the attempt and the inbox tries again after a backoff
(never sooner than Slack's Retry-After), for ``LOOKUP_ATTEMPTS`` attempts: nothing is acknowledged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.network import is_inside
from bot.register.reactivated import make_available_again
from bot.text import is_slack_user_id
from handlers.deactivated import (
    NOT_VISIBLE,
    account_at_slack,
    account_inside,
    handle_user_change,
    is_deactivated,
    is_deactivation,
)
from handlers.services import Services, SlackUnavailableError, slack_transient
from handlers.turn import Turn

log = logging.getLogger(__name__)

# Attempts of one such event in the inbox (backoff 2, 4, … 60 s, or Slack's Retry-After): a quarter of an hour and
# more of rate limits during a large offboarding, not the few attempts of a request someone waits for
LOOKUP_ATTEMPTS = 20


def _user_id(body: Mapping[str, Any]) -> str | None:
    event = body.get("event")
    user = event.get("user") if isinstance(event, dict) else None
    user_id = user.get("id") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) and is_slack_user_id(user_id) else None


def worth_a_look(services: Services) -> Callable[[dict[str, Any]], bool]:
    """The matcher: a deactivation, or the profile of someone marked away by one (``handlers.marked_away``: the
    database read at most once a minute; a status change of anyone else is not recorded and costs no look-up)."""

    def matcher(body: dict[str, Any]) -> bool:
        if is_deactivation(body):
            return True
        user_id = _user_id(body)
        return user_id is not None and user_id in services.marked_away.ids(services.db)

    return matcher


def current_profile(turn: Turn, user_id: str) -> dict[str, Any] | None:
    """The account as Slack has it now (None: Slack no longer knows it). Slack not answering now raises
    ``SlackUnavailableError`` (the inbox tries again later)."""
    try:
        return account_at_slack(turn.client, user_id)
    except SlackApiError as exc:
        if slack_transient(exc):
            error = str(exc.response.get("error") or "")
            raise SlackUnavailableError(f"users.info: {error or exc.response.status_code}") from exc
        raise


def _visible_account(turn: Turn, user_id: str) -> dict[str, Any] | str | None:
    """``current_profile``, or ``NOT_VISIBLE`` when Slack says this token may not see the account."""
    try:
        return current_profile(turn, user_id)
    except SlackApiError as exc:
        if str(exc.response.get("error") or "") == NOT_VISIBLE:
            return NOT_VISIBLE
        raise


def handle_profile_change(turn: Turn) -> None:
    """From the inbox: act on the account as Slack says it is now (see the module docstring)."""
    user_id = _user_id(turn.body)
    if user_id is None:
        turn.outcome = "ignored"
        return
    if turn.job is not None:
        turn.job.max_attempts = max(turn.job.max_attempts, LOOKUP_ATTEMPTS)
    network = turn.services.home.network
    claimed = turn.body["event"]["user"]
    team = str(claimed.get("team_id") or "") or None
    enterprise = (claimed.get("enterprise_user") or {}).get("enterprise_id")
    if network is None or is_inside(network, team=team, enterprise=enterprise) is False:
        turn.outcome = "outside"
        return
    account = _visible_account(turn, user_id)
    if isinstance(account, str):  # an account this token cannot see: no reading of it (the outbox's too: ``GONE``)
        turn.outcome = "not visible"
        log.info("user_change: %s is not visible to this workspace: nothing done", user_id)
        return
    if account is not None and not account_inside(network, account):  # Slack's answer decides (a Grid member's org)
        turn.outcome = "outside"
        return
    if is_deactivated(account):
        if is_deactivation(turn.body):  # unknown to Slack: the event's own claim decides (failing closed)
            handle_user_change(turn, inside=account is not None)
        else:
            turn.outcome = "still deactivated"
        return
    expert = make_available_again(turn.session, slack_user_id=user_id, now=turn.now)
    if expert is None:
        turn.outcome = "late deactivation: active" if is_deactivation(turn.body) else "active"
        log.info("user_change: %s is active at Slack: %s", user_id, turn.outcome)
        return
    turn.services.marked_away.cleared(user_id)
    turn.queued_messages()  # the notice for staff, when there is one
    turn.outcome = "reactivated: available again"
    log.info("user_change: %s was reactivated: available again (expert %s)", user_id, expert.id)
