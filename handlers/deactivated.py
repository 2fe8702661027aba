"""``user_change``: a member's Slack account was deactivated (``deleted: true``).

Until now that was noticed only when a DM to them failed. Now, at once: as an expert, the requests still open for
them move on to the next expert (or to staff) and their register entry is marked away, audited, as when their DM
fails for good; as an asker, their questions still with experts or held back are withdrawn on their behalf and the
experts asked are told it is no longer needed (an escalated one stays with staff). See
``bot.routing.service.RoutingService.person_deactivated``. Any other change (a name, ``is_restricted``, a
reactivation) changes nothing here. The event names the person's own team: a person of another organisation (Slack
Connect) is never acted on, and someone the register and the questions do not know changes nothing. A redelivery
finds nothing left to do.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

from bot.network import is_inside
from bot.text import is_slack_user_id
from handlers.blocks.routing import DEACTIVATED
from handlers.turn import Turn

log = logging.getLogger(__name__)


def is_deactivation(body: dict[str, Any]) -> bool:
    """Whether a ``user_change`` says the account is deactivated (renamed, restricted, reactivated: no)."""
    event = body.get("event") or {}
    user = event.get("user") if isinstance(event, dict) else None
    return isinstance(user, dict) and user.get("deleted") is True


def acknowledge_only(ack: Ack) -> None:
    """Any other ``user_change`` (a status, a title, a photo): acknowledged, nothing looked up or stored."""
    ack()


def handle_user_change(turn: Turn) -> None:
    if not is_deactivation(turn.body):
        turn.outcome = "ignored"
        return
    user = turn.body["event"]["user"]
    user_id = user.get("id")
    if not isinstance(user_id, str) or not is_slack_user_id(user_id):
        turn.outcome = "ignored"
        return
    network = turn.services.home.network
    enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
    team = str(user.get("team_id") or "") or None
    if network is None or not is_inside(network, team=team, enterprise=enterprise, asked=True):
        log.info("user_change: deactivated user %s of team %s is outside the network: ignored", user_id, team)
        turn.outcome = "outside"
        return
    turn.outcome = turn.services.routing_service().person_deactivated(
        turn.session, slack_user_id=user_id, reason=DEACTIVATED, now=turn.now
    )
    if turn.outcome != "noop":
        turn.queued_messages()  # the next experts' requests, the notices (no Home tab of an account that is gone)
