"""Whether the channels a digest's questions were asked in are private, for one pass over the due digests.

Slack is asked (``conversations.info``, through ``ChannelDirectory``) once per source channel per pass, not once
per digest: 300 channels due at once share the answers. A look-up that fails (a rate limit: about 50 calls a
minute; an error on Slack's side, a timeout) falls back to what the database knows
(``bot.privacy.get_stored_channel_privacy``, kept up to date by the daily reconcile): private stays private, public
stays public, and a channel it does not know stays out of the digests. A channel Slack does not show the bot
(``channel_not_found``: deleted, or private without the bot) or will not tell about stays out as unknown. After a
rate limit the pass asks Slack no more until Slack's Retry-After has passed: the rest answer from the database.
Either answer only ever leaves questions out: a question stored as asked in a private channel stays out whatever
Slack says (``digests.model.is_public_content``).

The pass logs at WARNING how many public questions the channels nobody could vouch for hold, so a week's digests
missing them is never silent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.privacy import count_public_questions_in_channels, get_stored_channel_privacy
from handlers.channels import ChannelDirectory
from handlers.services import slack_retry_after, slack_transient
from storage.db import Database

log = logging.getLogger(__name__)


class SourceChannels:
    """``private_channel(channel_id) -> bool`` (``digests.model.PrivateChannel``) for one digest pass."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        channels: ChannelDirectory,
        *,
        now: datetime,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.channels = channels
        self.now = now
        self.clock = clock or (lambda: now)
        self._answers: dict[str, bool] = {}
        self._unknown: set[str] = set()
        self._limited_until: datetime | None = None

    def __call__(self, channel_id: str) -> bool:
        known = self._answers.get(channel_id)
        if known is None:
            known = self._answers[channel_id] = self._ask(channel_id)
        return known

    @property
    def unknown(self) -> frozenset[str]:
        """The channels neither Slack nor the database could say were public: left out this pass."""
        return frozenset(self._unknown)

    def _ask(self, channel_id: str) -> bool:
        if self._limited_until is not None and self.clock() < self._limited_until:
            return self._stored(channel_id)
        try:
            return self.channels.private_or_raise(client=self.client, channel_id=channel_id, now=self.clock())
        except OSError as exc:  # no answer in time, or the connection failed: as an error on Slack's side
            log.info("conversations.info %s failed (%s): what the database knows is used", channel_id, exc)
            return self._stored(channel_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            wait = slack_retry_after(exc)
            if wait:
                self._limited_until = self.clock() + timedelta(seconds=wait)
            if wait or slack_transient(exc):
                log.info("conversations.info %s failed (%s): what the database knows is used", channel_id, error)
                return self._stored(channel_id)
            # an answer, not a passing failure: Slack does not show the bot the channel (deleted, or private without
            # it) or refuses to say: left out, as a channel nobody can vouch for
            log.info("conversations.info %s refused (%s): left out", channel_id, error)
            self._unknown.add(channel_id)
            return True

    def _stored(self, channel_id: str) -> bool:
        with self.db.session() as session:
            private = get_stored_channel_privacy(session, channel_id=channel_id, now=self.now)
        if private is None:
            self._unknown.add(channel_id)
            return True
        return private

    def report(self) -> int:
        """Log at WARNING how many public questions were left out for a channel nobody could vouch for; returns it."""
        if not self._unknown:
            return 0
        with self.db.session() as session:
            left_out = count_public_questions_in_channels(session, channel_ids=self._unknown)
        log.warning(
            "digests: %d public question(s) from %d channel(s) left out: Slack could not be asked and the database "
            "does not know the channel (%s)",
            left_out,
            len(self._unknown),
            ", ".join(sorted(self._unknown)),
        )
        return left_out
