"""One acknowledged request being turned into its outcome (``InboxJob``): what a handler of an inbox kind gets.

The worker that claims the requests and runs their handlers is ``handlers.inbox``; this is the handler's side: the
request's payload and saved results, ``save`` (a step done, committed on the row), and posting or answering exactly
once across crashes and takeovers (``post_once``, ``respond_once``, ``dm_once``; see ``handlers.inbox``). Every
write checks that this worker still holds the request's claim, else ``ClaimLostError``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import inbox as core
from bot.privacy import ERASED_HOMES_KIND
from handlers.marker import MARKER_EVENT, find_marked_message
from handlers.services import Services
from storage.models import InboxRequest

log = logging.getLogger("wieweet.inbox")

MAX_ATTEMPTS = 6
# A response_url takes posts for 30 minutes after the request: later (with a margin for the post itself and clock
# skew) the answer goes by DM instead.
RESPONSE_URL_USABLE = timedelta(minutes=28)
# A confirmation of a committed "forget me" (``handlers.confirmations``): the erasure's after-commit part. Its own
# row, kept while it runs, forgets the person when it is done (``InboxWorker._finish``).
ERASURE = "erasure"


def wall_clock() -> datetime:
    """When a request arrived, is claimed or is retried: the real time, also when the business clock is injected
    (``Services.clock``, which tests may hold still: retries and stale claims must still come due)."""
    return datetime.now(UTC)


class ClaimLostError(Exception):
    """Another worker took the request over (this one was presumed dead): stop without touching it."""


@dataclass
class InboxJob:
    """One inbox request being turned into its outcome."""

    services: Services
    client: WebClient
    request: InboxRequest  # detached: read it; change it only through the methods below
    worker_id: str
    now: datetime
    ref: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    finished: bool = False
    max_attempts: int = MAX_ATTEMPTS  # a handler may allow more (e.g. a committed change's confirmations)

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.request.payload or {})

    @property
    def result(self) -> dict[str, Any]:
        return dict(self.request.result or {})

    @property
    def user_id(self) -> str | None:
        return self.request.user_slack_id

    @property
    def key(self) -> str:
        return self.request.request_key

    def language(self) -> str:
        """The user's UI language (``users.info`` once, cached; never inside a transaction that has written)."""
        stored = self.payload.get("lang")
        if isinstance(stored, str) and stored:
            return stored
        with self.services.db.session() as session:
            return self.services.locales.language(
                session=session, client=self.client, user_id=self.user_id, now=self.now
            )

    def save(self, **values: Any) -> None:
        """Remember that a step is done (and what it made), in its own committed transaction."""
        if not core.save_result(
            self.services.db, request_id=self.request.id, claim=self.worker_id, values=values, alive_at=wall_clock()
        ):
            raise ClaimLostError(self.key)
        self.request.result = {**self.result, **values}

    @property
    def erased_user(self) -> bool:
        """It erased its user ("forget me") or names one erased on the command line: done, it names them no more."""
        kinds = [e.get("kind") for e in self.result.get("confirm") or [] if isinstance(e, dict)]
        return ERASURE in kinds or self.request.kind == ERASED_HOMES_KIND

    def keep_claim(self) -> None:
        """``ClaimLostError`` unless this worker still holds the request (its claim refreshed when it does)."""
        db, now = self.services.db, wall_clock()
        if not core.keep_claim(db, request_id=self.request.id, claim=self.worker_id, alive_at=now):
            raise ClaimLostError(self.key)

    def post_once(
        self,
        *,
        step: str,
        channel: str,
        text: str,
        blocks: Sequence[Any] | None = None,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        """Post a message for this request exactly once (see the module docstring); returns (channel, ts)."""
        done = self.result.get(f"posted:{step}")
        if isinstance(done, list) and len(done) == 2:
            return str(done[0]), str(done[1])
        if self.request.post_started_at is not None:
            found = find_marked_message(
                self.client,
                channel=channel,
                thread_ts=thread_ts,
                key=self.key,
                step=step,
                since=self.request.post_started_at,
            )
            if found is not None:
                log.info("request %s step %s was posted before a restart: not posting again", self.key, step)
                self.save(**{f"posted:{step}": [channel, found]})
                return channel, found
        unposted = f"unposted:{step}"  # known not posted: Slack refused the last try and found no earlier one
        if self.result.get(unposted):
            self.save(**{unposted: False})  # this post may go out: no longer known to be missing
        started = wall_clock()  # Slack's clock, not the business one: the look-up reads messages from then on
        if not core.mark_post_started(
            self.services.db, request_id=self.request.id, claim=self.worker_id, now=started, alive_at=started
        ):
            raise ClaimLostError(self.key)
        self.request.post_started_at = started
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                blocks=list(blocks) if blocks is not None else None,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": MARKER_EVENT, "event_payload": {"request": self.key, "step": step}},
            )
        except SlackApiError as exc:  # an error or a rate limit (not a 5xx: it may have acted) is a post not made
            if exc.response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR:  # (an earlier start: looked for above)
                self.save(**{unposted: True})
            raise
        posted = str(response.get("channel") or channel), str(response.get("ts") or "")
        self.save(**{f"posted:{step}": list(posted)})
        return posted

    def respond_once(
        self, *, step: str, text: str, blocks: Sequence[Any] | None = None, replace_original: bool = False
    ) -> None:
        """An ephemeral answer through the request's response_url. Slack keeps no record of those to look in, so a
        crash between sending and saving may show it twice; it is never lost. A response_url lives 30 minutes and
        takes 5 posts: a request answered later (after an outage, a long backlog), or one Slack answers with 404
        (``expired_url``, ``used_url``), is answered by DM instead (``dm_once``: once, across crashes)."""
        if self.result.get(f"responded:{step}"):
            return
        url = self.payload.get("response_url")
        if not isinstance(url, str) or not url:
            raise RuntimeError(f"request {self.key} has no response_url")
        if self.result.get("response_url_gone") or wall_clock() - self.request.received_at > RESPONSE_URL_USABLE:
            self._respond_by_dm(step=step, text=text, blocks=blocks, why="expired")
            return
        self.keep_claim()  # another worker took it over: it answers, not this one
        response = WebhookClient(url).send(
            text=text,
            blocks=list(blocks) if blocks is not None else None,
            response_type="ephemeral",
            replace_original=replace_original,
        )
        if response.status_code == HTTPStatus.NOT_FOUND:  # expired or used up: it will not take this answer
            self.save(response_url_gone=True)
            self._respond_by_dm(step=step, text=text, blocks=blocks, why=str(response.body or "404")[:40])
            return
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise RuntimeError(f"response_url answered {response.status_code}")
        self.save(**{f"responded:{step}": True})

    def delete_original(self) -> None:
        """Remove the (ephemeral) message the request came from, through its response_url — a courtesy: when the URL
        is gone or Slack refuses, the message just stays (it disappears on the next reload anyway)."""
        url = self.payload.get("response_url")
        if not isinstance(url, str) or not url or self.result.get("response_url_gone"):
            return
        if wall_clock() - self.request.received_at > RESPONSE_URL_USABLE:
            return
        try:
            response = WebhookClient(url).send_dict({"delete_original": True})
        except Exception:  # a courtesy, never a reason to retry the request
            log.info("request %s: the original message could not be removed", self.key, exc_info=True)
            return
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            log.info("request %s: removing the original message answered %s", self.key, response.status_code)

    def _respond_by_dm(self, *, step: str, text: str, blocks: Sequence[Any] | None, why: str) -> None:
        log.info("request %s step %s: response_url unusable (%s): answered by DM", self.key, step, why)
        if self.dm_once(step=f"respond:{step}", text=text, blocks=blocks) is None:
            raise RuntimeError(f"request {self.key}: response_url unusable and no user to message")
        self.save(**{f"responded:{step}": True})

    def dm_once(self, *, step: str, text: str, blocks: Sequence[Any] | None = None) -> tuple[str, str] | None:
        """A direct message to the requesting user, exactly once."""
        if not self.user_id:
            return None
        channel = str(self.client.conversations_open(users=self.user_id)["channel"]["id"])
        return self.post_once(step=step, channel=channel, text=text, blocks=blocks)
