"""A reactivation whose ``user_change`` reached a process before it read the mark: asked about once, by the job runner
(``JobRunner.recheck_marks``).

A process matches ``user_change`` events against the experts marked away as gone (deactivated, unknown to Slack) as
it last read them (``handlers.marked_away``: at most a ``TTL`` old). Another process's mark is read within that
``TTL``; a reactivation delivered to this process meanwhile is acknowledged and not recorded, and Slack does not
send it again. So each pass asks ``users.info`` once about every such mark when it is ``RECHECK_AFTER`` old (by then
every process has read it, so a later event is matched): still deactivated, nothing changes; active again and of
the network (the event path's check: ``handlers.deactivated.account_inside``), the mark is cleared as the event path
clears it (``bot.register.reactivated``: audited, staff told when the mark had moved
things). Bounded: marks up to ``RECHECK_WITHIN`` past that age, ``RECHECK_MAX`` look-ups a pass (the rest the next
pass); a look-up Slack cannot answer now is asked again the next pass while the mark is within the window.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.register.marked import ACCOUNT_GONE_REASONS, list_marked_away_since
from bot.register.reactivated import make_available_again
from handlers.deactivated import account_at_slack, account_inside, is_deactivated
from handlers.marked_away import TTL
from handlers.services import Services

log = logging.getLogger(__name__)

RECHECK_AFTER = timedelta(seconds=TTL + 30)  # every process's cache has read a mark this old
RECHECK_WITHIN = timedelta(minutes=10)  # older marks than RECHECK_AFTER + this are not asked about
RECHECK_MAX = 20  # users.info calls a pass at most


class RecentMarksCheck:
    """Called once a job pass: returns the Slack ids made available again."""

    def __init__(self, services: Services, client: WebClient) -> None:
        self.services, self.client = services, client
        self._asked: dict[str, datetime] = {}  # Slack id -> the mark asked about (each mark once in this process)

    def __call__(self) -> list[str]:
        now = self.services.clock()
        oldest = now - RECHECK_AFTER - RECHECK_WITHIN
        with self.services.db.session() as session:
            marks = list_marked_away_since(session, reasons=ACCOUNT_GONE_REASONS, since=oldest)
        self._asked = {i: at for i, at in self._asked.items() if at >= oldest}
        due = [(i, at) for i, at in marks if at <= now - RECHECK_AFTER and self._asked.get(i) != at]
        return [i for i, at in due[:RECHECK_MAX] if self._active_again(i, at, now)]

    def _active_again(self, user_id: str, marked_at: datetime, now: datetime) -> bool:
        try:
            account = account_at_slack(self.client, user_id)
        except (SlackApiError, OSError) as exc:  # asked again the next pass
            log.info("users.info for %s (marked away as deactivated): %r", user_id, exc)
            return False
        self._asked[user_id] = marked_at
        if is_deactivated(account):
            return False
        if not account_inside(self.services.home.network, account or {}):  # as the event path: never another org's
            log.info("users.info: %s (marked away as gone) is not of this network: left marked", user_id)
            return False
        with self.services.db.session() as session:
            expert = make_available_again(session, slack_user_id=user_id, now=now)
        if expert is None:
            return False
        self.services.marked_away.cleared(user_id)
        log.info("user_change: %s was reactivated (found by the job runner): available again", user_id)
        return True
