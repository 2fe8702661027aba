"""A member's Slack account was deactivated: Slack's ``user_change`` (``deleted: true``), or a DM Slack refuses
with ``user_disabled`` (``person_gone_after_send``, from the outbox sender). Both go through one service function,
``bot.routing.service.RoutingService.person_deactivated``, with the same reason (``deleted``) in the audit log.

At once: as an expert, the requests still open for them move on to the next expert (or to staff) and their register
entry is marked away, audited; as an asker, their questions still looking for an answer are withdrawn on their
behalf and the experts asked are told it is no longer needed. An escalated question is withdrawn too: nobody could
be given its answer; its posts for staff (the triage post and their DM copies) say the asker's account was
deactivated, their buttons gone (after a refused DM: by the inbox worker, from a request queued with the
withdrawal, so a crash right after its commit leaves no live buttons). The live proposals quoting a withdrawn
question are recorded with the change and rendered again by the job runner, once however many accounts go (an
offboarding: ``handlers.needs_refresh``). Any other change (a name, ``is_restricted``, a reactivation) changes
nothing here. The event names the person's own team: a person of another organisation (Slack Connect) is never
acted on, and someone the register and the questions do not know changes nothing. A redelivery finds nothing left
to do.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.inbox import record_with_change
from bot.network import Network, guest_kept_out, is_guest, is_inside
from bot.register.marked import DEACTIVATED
from bot.routing.service import PersonGone
from bot.routing.staff import ASKER_DEACTIVATED, STAFF_POSTS_KIND
from bot.text import is_slack_user_id
from handlers.inbox_job import wall_clock
from handlers.services import Services
from handlers.staff_posts import ASKER_GONE, update_staff_posts
from handlers.turn import PostUpdates, Turn
from handlers.users_info import GONE  # Slack no longer knows the account: as deactivated as it gets

log = logging.getLogger(__name__)

# Slack knows the account but this token may not see it (a Grid workspace's member, a guest): no reading of whether
# it is deactivated, on either path — the outbox treats it as not deactivated, the event path does nothing
NOT_VISIBLE = "user_not_visible"


def is_deactivation(body: dict[str, Any]) -> bool:
    """Whether a ``user_change`` says the account is deactivated (renamed, restricted, reactivated: no)."""
    event = body.get("event") or {}
    user = event.get("user") if isinstance(event, dict) else None
    return isinstance(user, dict) and user.get("deleted") is True


def account_at_slack(client: WebClient, user_id: str) -> dict[str, Any] | None:
    """The account as ``users.info`` has it now; None when Slack no longer knows it (``GONE``). Any other error
    of Slack's is raised (``SlackApiError``)."""
    try:
        user = client.users_info(user=user_id).get("user")
    except SlackApiError as exc:
        if str(exc.response.get("error") or "") in GONE:
            return None
        raise
    return user if isinstance(user, dict) else {}


def is_deactivated(account: dict[str, Any] | None) -> bool:
    """Whether an account as ``account_at_slack`` read it is deactivated: ``deleted``, or unknown to Slack. The
    one reading of both paths: Slack's ``user_change`` (``handlers.profile_change``) and a DM Slack refused
    (``handlers.outbox_refused``)."""
    return account is None or account.get("deleted") is True


def account_inside(network: Network | None, account: dict[str, Any]) -> bool:
    """Whether an account as ``account_at_slack`` read it belongs to the network: Slack's answer names the account's
    team and a Grid member's organisation (an event's claim may not). The one check of every path that acts on what
    Slack says of an account: Slack's ``user_change`` (``handlers.profile_change``), the job runner's recheck of a
    mark (``handlers.reactivations``) and a person chosen by hand (``account_admitted``: staff assigning, an expert
    passing a question on). No network known yet: nobody is inside."""
    if network is None:
        return False
    team = str(account.get("team_id") or "") or None
    enterprise = (account.get("enterprise_user") or {}).get("enterprise_id")
    return is_inside(network, team=team, enterprise=enterprise, asked=True) is True


def account_admitted(network: Network | None, account: dict[str, Any]) -> bool:
    """``account_inside``, and no guest unless the network lets guests in (``bot.network.guest_kept_out``): whether
    the account may be given a question (``handlers.routing.require_reachable``). A guest's deactivation is still
    acted on (``account_inside``): their register entry is marked as anyone's."""
    return (
        account_inside(network, account)
        and network is not None
        and not guest_kept_out(network, guest=is_guest(account))
    )


def acknowledge_only(ack: Ack) -> None:
    """Any other ``user_change`` (a status, a title, a photo): acknowledged, nothing looked up or stored."""
    ack()


def handle_user_change(turn: Turn, *, inside: bool = False) -> None:
    """A deactivation: acted on for a person inside the network (``inside``: already decided on what Slack says of
    the account now, which names a Grid member's organisation where the event may not)."""
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
    if network is None or not (inside or is_inside(network, team=team, enterprise=enterprise, asked=True)):
        log.info("user_change: deactivated user %s of team %s is outside the network: ignored", user_id, team)
        turn.outcome = "outside"
        return
    gone = turn.services.routing_service().person_deactivated(
        turn.session, slack_user_id=user_id, reason=DEACTIVATED, now=turn.now
    )
    turn.outcome = gone.outcome
    if gone.marked:
        turn.services.marked_away.marked(user_id)
    if turn.outcome != "noop":
        turn.queued_messages()  # the next experts' requests, the notices (no Home tab of an account that is gone)
        show_changes(turn, gone, now=turn.now)


def show_changes(target: PostUpdates, gone: PersonGone, *, now: datetime) -> None:
    """Once committed: the posts for staff of an escalated question (the proposals quoting a withdrawn one were
    recorded for the job runner by ``person_deactivated``)."""
    for question_id in gone.escalated:
        update_staff_posts(target, question_id, ASKER_GONE)


def person_gone_after_send(services: Services, client: WebClient, *, user_id: str, now: datetime) -> str:
    """A DM Slack refused because the account is deactivated: as Slack's ``user_change`` would have it, in a
    transaction of its own. The posts for staff of an escalated question withdrawn by it are updated by the inbox
    worker from a request queued with the change (``bot.inbox.record_with_change``, ``STAFF_POSTS_KIND``): once
    that is committed, also when this process dies right after the commit, and once across replicas. Returns what
    happened."""
    routing = services.routing
    if routing is None:
        return "noop"
    with services.db.session() as session:
        gone = routing.person_deactivated(session, slack_user_id=user_id, reason=DEACTIVATED, now=now)
        for question_id in gone.escalated:  # the last thing before the commit
            record_with_change(
                session,
                services.db,
                request_key=f"{STAFF_POSTS_KIND}:{uuid.uuid4().hex}",
                kind=STAFF_POSTS_KIND,
                payload={"question_id": question_id, "action": ASKER_DEACTIVATED},
                now=wall_clock(),
            )
    if gone.marked:
        services.marked_away.marked(user_id)
    if gone.escalated:
        services.inbox.ring()  # the worker takes the requests up at once
    return gone.outcome
