"""What Slack says about a conversation: is it private, is it shared with another organisation, and who is in it.
The one place that decides privacy.

Channel privacy is never guessed from the id (private channels made today have ``C…`` ids, like public ones): it
comes from ``conversations.info``. Who-knows, question routing and digests all ask ``ChannelDirectory``; anything it
cannot establish counts as private. Whether people of another organisation read it (Slack Connect:
``is_shared_outside``) decides where an answer naming the register's people may go (to the asker alone) and
refuses digests and work sessions there; unknown counts as shared. Membership (``conversations.members``) guards
what only a channel's members may change (its digest subscription) or see (a search answered in it).

Both are cached for a few minutes: a channel can turn private, people join and leave. Failed look-ups are not
cached (the next request asks Slack again) and fail closed: private, not a member.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import WieweetError

log = logging.getLogger(__name__)

MEMBER_PAGE = 1000
MAX_MEMBER_PAGES = 50  # 50,000 members; a bigger channel is treated as unknown (not a member)


def is_private_conversation(info: Mapping[str, Any]) -> bool:
    """The privacy rule for a ``conversations.info`` channel object.

    Private: private channels (``is_private``, also the old ``is_group``), direct messages (``is_im``), group DMs
    (``is_mpim``), and channels shared with other organisations (Slack Connect: ``is_ext_shared``,
    ``is_pending_ext_shared``, or ``is_shared`` without ``is_org_shared``) — what is said there is seen by people
    outside the network, whose words wieweet must not spread through its index and digests. A public channel
    shared only between workspaces of the same Enterprise Grid organisation (``is_org_shared``) stays public:
    everyone in the organisation can read it, which is the audience of "who knows" and digests.
    """
    if any(info.get(flag) for flag in ("is_private", "is_group", "is_im", "is_mpim")):
        return True
    if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
        return True
    return bool(info.get("is_shared")) and not info.get("is_org_shared")


def is_shared_outside(info: Mapping[str, Any]) -> bool:
    """Whether people outside the network can read a conversation (``conversations.info`` object): a channel or
    group DM shared with another organisation (Slack Connect), also while the invitation is pending. Not a direct
    message with the bot: its one person is whoever asks (and the network check let them in). What wieweet shows
    there about the register goes to the asker alone."""
    if info.get("is_im"):
        return False
    if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
        return True
    return bool(info.get("is_shared")) and not info.get("is_org_shared")


class SharedChannelError(WieweetError):
    """A channel shared with another organisation, where wieweet does not post what names the network's people."""

    code = "shared_channel"


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    fetched_at: datetime


class ChannelDirectory:
    """``conversations.info`` and ``conversations.members``, cached per channel (one per process)."""

    PRIVACY_TTL = timedelta(minutes=5)
    MEMBERS_TTL = timedelta(minutes=5)
    MEMBERS_RECHECK = timedelta(seconds=30)  # "not a member" is re-checked sooner: someone may just have joined

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._privacy: dict[str, _Entry] = {}
        self._members: dict[str, _Entry] = {}

    def is_private(self, *, client: WebClient, channel_id: str | None, now: datetime) -> bool:
        """Whether ``channel_id`` is private (see ``is_private_conversation``); None, unknown or failing: True."""
        return self._facts(client, channel_id, now)[0]

    def is_shared_outside(self, *, client: WebClient, channel_id: str | None, now: datetime) -> bool:
        """Whether people outside the network read ``channel_id`` (``is_shared_outside``); unknown or failing: True
        (what would be posted there goes to the asker alone). None (no conversation): False."""
        return bool(channel_id) and self._facts(client, channel_id, now)[1]

    def require_not_shared_outside(self, *, client: WebClient, channel_id: str | None, now: datetime) -> None:
        """Refuse (``SharedChannelError``) to post a digest or a work session's invitation, which name the network's
        people and questions, in a channel that people of another organisation read."""
        if channel_id and self.is_shared_outside(client=client, channel_id=channel_id, now=now):
            raise SharedChannelError(message=f"channel {channel_id} is shared with another organisation")

    def shared_outside_or_raise(self, *, client: WebClient, channel_id: str, now: datetime) -> bool:
        """Whether people outside the network read ``channel_id``, as ``is_shared_outside``, but a failing look-up
        raises Slack's error (``SlackApiError``) instead of answering: for a caller that can try again later, or
        has a better place to send to (the outbox's staff posts)."""
        return self._lookup(client, channel_id, now)[1]

    def private_or_raise(self, *, client: WebClient, channel_id: str, now: datetime) -> bool:
        """Whether ``channel_id`` is private, as ``is_private``, but a failing look-up raises Slack's error
        (``SlackApiError``) instead of answering: for a caller with a better answer than "private" to fall back on
        (the digests' source channels: what the database knows)."""
        return self._lookup(client, channel_id, now)[0]

    def known(self, *, channel_id: str, now: datetime) -> tuple[bool, bool] | None:
        """(private, shared outside) as cached from a recent look-up, without asking Slack; None when not cached (for
        a caller that must not ask Slack now: a rate limit's wait)."""
        with self._lock:
            hit = self._privacy.get(channel_id)
        if hit is not None and now - hit.fetched_at < self.PRIVACY_TTL:
            return hit.value  # type: ignore[no-any-return]
        return None

    def _facts(self, client: WebClient, channel_id: str | None, now: datetime) -> tuple[bool, bool]:
        """(private, shared outside) from ``conversations.info``, cached; None, unknown or failing: both True."""
        if not channel_id:
            return True, True
        try:
            return self._lookup(client, channel_id, now)
        except SlackApiError as exc:  # not found, not visible to the bot, no scope: private
            log.info("conversations.info %s failed (%s): treated as private", channel_id, exc.response.get("error"))
            return True, True

    def _lookup(self, client: WebClient, channel_id: str, now: datetime) -> tuple[bool, bool]:
        """(private, shared outside), cached; Slack's errors raised (and not cached); nothing said: both True."""
        hit = self.known(channel_id=channel_id, now=now)
        if hit is not None:
            return hit
        info = client.conversations_info(channel=channel_id).get("channel") or {}
        if not isinstance(info, dict) or not info:
            return True, True
        facts = (is_private_conversation(info), is_shared_outside(info))
        with self._lock:
            self._privacy[channel_id] = _Entry(facts, now)
        return facts

    def is_member(self, *, client: WebClient, channel_id: str | None, user_id: str | None, now: datetime) -> bool:
        """Whether ``user_id`` is a member of ``channel_id`` (False when Slack cannot tell us)."""
        if not channel_id or not user_id:
            return False
        with self._lock:
            hit = self._members.get(channel_id)
        if hit is not None:
            age = now - hit.fetched_at
            if age < self.MEMBERS_TTL and (user_id in hit.value or age < self.MEMBERS_RECHECK):
                return user_id in hit.value
        members = self._fetch_members(client, channel_id)
        if members is None:
            return False
        with self._lock:
            self._members[channel_id] = _Entry(members, now)
        return user_id in members

    def forget(self, channel_id: str) -> None:
        """Drop what is cached about ``channel_id`` (e.g. after Slack said it changed)."""
        with self._lock:
            self._privacy.pop(channel_id, None)
            self._members.pop(channel_id, None)

    @staticmethod
    def _fetch_members(client: WebClient, channel_id: str) -> frozenset[str] | None:
        members: set[str] = set()
        cursor = ""
        for _page in range(MAX_MEMBER_PAGES):
            try:
                response = client.conversations_members(channel=channel_id, limit=MEMBER_PAGE, cursor=cursor or None)
            except SlackApiError as exc:
                log.info("conversations.members %s failed: %s", channel_id, exc.response.get("error"))
                return None
            members.update(str(m) for m in response.get("members") or [])
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return frozenset(members)
        log.warning("conversations.members %s: more than %d pages, membership unknown", channel_id, MAX_MEMBER_PAGES)
        return None
