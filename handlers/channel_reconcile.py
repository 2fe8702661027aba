"""Asking Slack whether a channel is private now, for the daily channel-privacy reconcile
(``bot.privacy.reconcile_channel_privacy``, run by the job runner): the events Slack sent while the bot was down
(``channel_converted_to_private``, ``channel_shared``) are not sent again.

One ``conversations.info`` per channel, paced (``PACE_SECONDS`` between calls: well under the method's tier of
about 50 a minute), with the one privacy rule (``handlers.channels.is_private_conversation``: private, shared with
another organisation). A channel Slack does not show (``channel_not_found``: deleted, private without the bot, or
another workspace's) is reported as ``NOT_FOUND``: private only once that repeats on several days. A rate limit is
waited out as Slack asks (up to ``MAX_WAIT_SECONDS``, twice at most); a failure on Slack's side is no answer (None:
nothing is marked, the channel is asked about again the next day); any other refusal (a bad token, a missing
scope) stops the day's run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.privacy import NOT_FOUND, LookupRefused
from handlers.channels import ChannelDirectory, is_private_conversation
from handlers.services import slack_retry_after, slack_transient

log = logging.getLogger(__name__)

PACE_SECONDS = 1.5
MAX_WAIT_SECONDS = 120
RATE_LIMIT_RETRIES = 2
GONE = frozenset({"channel_not_found"})


class SlackChannelLookup:
    """``lookup(channel_id) -> bool | None`` (``bot.privacy.ChannelLookup``) through ``conversations.info``."""

    def __init__(
        self,
        client: WebClient,
        channels: ChannelDirectory,
        *,
        sleep: Callable[[float], None] = time.sleep,
        pace_seconds: float = PACE_SECONDS,
    ) -> None:
        self.client = client
        self.channels = channels
        self.sleep = sleep
        self.pace_seconds = pace_seconds
        self._asked = False

    def __call__(self, channel_id: str) -> bool | Literal["not_found"] | None:
        if self._asked:
            self.sleep(self.pace_seconds)
        self._asked = True
        private = self._ask(channel_id)
        if private is not False:
            self.channels.forget(channel_id)  # this process asks again next time, not from a cached "public"
        return private

    def _ask(self, channel_id: str) -> bool | Literal["not_found"] | None:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                info = self.client.conversations_info(channel=channel_id).get("channel") or {}
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error in GONE:
                    return NOT_FOUND
                wait = slack_retry_after(exc)
                if wait is not None and wait <= MAX_WAIT_SECONDS and attempt < RATE_LIMIT_RETRIES:
                    self.sleep(wait)
                    continue
                if slack_transient(exc):
                    log.info("conversations.info %s failed (%s): asked again tomorrow", channel_id, error)
                    return None
                raise LookupRefused(f"conversations.info: {error or 'refused'}") from exc
            return is_private_conversation(info) if isinstance(info, dict) and info else None
        return None  # pragma: no cover - the loop returns or raises
