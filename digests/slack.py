"""The Slack side of sending a digest: ``post`` and ``permalink`` functions over a ``slack_sdk.WebClient``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from digests.errors import PermanentPostError

log = logging.getLogger(__name__)

# chat.postMessage errors that retrying this week will not fix: the run is marked failed.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)


def slack_post(client: WebClient) -> Callable[[str, list[Block], str], str]:
    """``post(channel, blocks, fallback_text) -> ts`` through chat.postMessage (links not unfurled)."""

    def post(channel: str, blocks: list[Block], text: str) -> str:
        try:
            response = client.chat_postMessage(
                channel=channel, blocks=blocks, text=text, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in PERMANENT_ERRORS:
                raise PermanentPostError(error) from exc
            raise
        return str(response["ts"])

    return post


def slack_permalink(client: WebClient) -> Callable[[str, str], str | None]:
    """``permalink(channel, ts)`` through chat.getPermalink, remembered per (channel, ts); None when unknown."""
    known: dict[tuple[str, str], str | None] = {}

    def permalink(channel: str, ts: str) -> str | None:
        key = (channel, ts)
        if key not in known:
            try:
                response = client.chat_getPermalink(channel=channel, message_ts=ts)
                known[key] = str(response.get("permalink") or "") or None
            except SlackApiError as exc:
                log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
                known[key] = None
        return known[key]

    return permalink
