"""A recruiting DM Slack refused for good (``handlers.outbox_refused``), once the rule every kind of DM follows
(``bot.register.refusals.verdict``) has read Slack's refusal and what ``users.info`` then said of the account.
Refused with ``user_not_found`` while Slack knows the account, active (``KNOWN_ACTIVE``: the register's Slack id
may be right after all): recorded so (``bot.needs.reachability.record_unknown_id``): the next ask sends the DM
again, and a second such refusal is shown to staff as what it is. Refused with ``account_inactive`` while Slack
does not know the id (``UNREACHABLE``, reason ``user_not_found``): recorded as that reason
(``reachability.record_refusal_reason``), so recruiting holds them back as after ``user_not_found`` and staff are
told to check the id. A deactivated account is the caller's (the person is gone)."""

from __future__ import annotations

import logging

from bot.needs.reachability import record_refusal_reason, record_unknown_id
from bot.register.marked import UNKNOWN_ID_ACTIVE
from bot.register.refusals import Verdict
from handlers.services import Services
from storage.models import OutboxMessage

log = logging.getLogger("wieweet.outbox")


def recruit_refused(services: Services, message: OutboxMessage, *, found: Verdict, reason: str) -> None:
    """Record what the rule found of a recruiting DM's refusal (see the module docstring). ``message`` is the
    sender's copy as claimed: its ``last_error`` says whether this DM was refused so before it was queued again
    (from before the payload's ``refused_active`` kept that, which ``record_unknown_id`` reads itself)."""
    if message.id is None or found not in (Verdict.KNOWN_ACTIVE, Verdict.UNREACHABLE):
        return
    try:
        with services.db.session() as session:
            if found is Verdict.KNOWN_ACTIVE:
                retried = message.last_error == UNKNOWN_ID_ACTIVE
                recorded = record_unknown_id(session, message_id=message.id, retried=retried)
            else:
                recorded = record_refusal_reason(session, message_id=message.id, reason=reason)
    except Exception:
        log.exception("outbox %s: the refusal of the recruiting DM could not be recorded (%s)", message.id, reason)
        return
    if recorded:
        log.warning(
            "outbox %s: Slack refused the recruiting DM to %s; what users.info said of the account: recorded as %s",
            message.id,
            message.recipient_slack_id,
            recorded,
        )
