"""A recruiting DM Slack refused with ``user_not_found`` (``handlers.outbox_refused``): the register's Slack id may be
mistyped, or the token another workspace's, so ``users.info`` is asked what Slack knows of the account. Deactivated:
the person is gone (the caller acts as for any deactivated account). Active: Slack knows the id after all, and the
refusal is recorded so (``bot.needs.reachability.record_unknown_id``): the next ask sends the DM again, and a second
such refusal is shown to staff as what it is. Unknown too, or Slack not answering: it stays ``user_not_found``
(staff are told Slack does not know the id)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.needs.reachability import record_unknown_id
from bot.register.marked import UNKNOWN_ID_ACTIVE
from handlers.deactivated import account_at_slack, is_deactivated
from handlers.services import Services
from storage.models import OutboxMessage

log = logging.getLogger("wieweet.outbox")


def unknown_id_refused(services: Services, client: WebClient, message: OutboxMessage) -> bool:
    """Whether ``users.info`` says the account is deactivated (the caller treats them as gone); when it answers
    with the account active, that is recorded (see the module docstring). ``message`` is the sender's copy as
    claimed: its ``last_error`` says whether this DM was refused so before it was queued again (from before the
    payload's ``refused_active`` kept that, which ``record_unknown_id`` reads itself)."""
    user = message.recipient_slack_id
    if not user or message.id is None:
        return False
    try:
        account = account_at_slack(client, user)
    except (SlackApiError, OSError) as exc:
        log.info("users.info for %s after user_not_found: %r", user, exc)
        return False
    if account is None:
        return False
    if is_deactivated(account):
        return True
    try:
        with services.db.session() as session:
            recorded = record_unknown_id(
                session, message_id=message.id, retried=message.last_error == UNKNOWN_ID_ACTIVE
            )
    except Exception:
        log.exception("outbox %s: the refusal of an active account could not be recorded", message.id)
        return False
    if recorded:
        log.warning(
            "outbox %s: Slack refused the recruiting DM to %s (user_not_found) but users.info knows the account, "
            "active: recorded as %s",
            message.id,
            user,
            recorded,
        )
    return False
