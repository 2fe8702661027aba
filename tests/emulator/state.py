"""Everything the emulated workspace knows, behind one re-entrant lock.

Web API handlers (on the server thread) and the driver / test helpers (on the test thread) both
go through :class:`State`; compound operations take ``state.lock`` themselves.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from typing import Any

from .ids import TsClock, random_id, stable_id, trigger_id, view_hash
from .models import JSON, Call, Delivery, EmulatorConfig, Fault, RateLimit
from .params import ApiError
from .records import Channel, FileRecord, ResponseUrl, Trigger, ViewRecord

__all__ = ["Channel", "FileRecord", "ResponseUrl", "State", "Trigger", "ViewRecord"]


class State:
    """The workspace: users, channels, messages, views, files, and the record of what happened."""

    def __init__(
        self,
        *,
        team_id: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        bot_token: str,
        app_token: str,
        signing_secret: str,
        bot_name: str,
        config: EmulatorConfig,
    ) -> None:
        self.lock = threading.RLock()
        self.team_id = team_id
        self.enterprise_id: str | None = None  # the Enterprise Grid organisation the workspace belongs to (auth.test)
        self.team_domain = "emulator"
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.payload_app_id = app_id  # what requests name in ``api_app_id`` (``SlackEmulator.name_app``)
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.bot_name = bot_name
        self.config = config
        self.clock = TsClock()
        self.users: dict[str, JSON] = {}
        self.usergroups: dict[str, JSON] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[JSON] = []
        self.views: dict[str, ViewRecord] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.home_views: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        # Seconds the test moved the clock that trigger ids and response_urls expire by
        # (``SlackEmulator.advance_clock``): not wall time, so nothing expires because the machine is slow
        self.test_clock = 0.0
        # While set (``SlackEmulator.hold_slack``), every Web API call and response_url post waits unanswered: an ack
        # that arrives meanwhile did not wait for Slack (``Attempt.slack_held_at_ack``)
        self.slack_held = False
        self.held_requests = 0  # how many requests had to wait for that (``SlackEmulator.held_requests``)
        self.held_calls: list[str] = []  # what waited, in the order it arrived (``SlackEmulator.held_calls``)
        self.files: dict[str, FileRecord] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.response_posts: list[JSON] = []
        self.response_refusals: list[JSON] = []  # posts to an expired or used-up response_url (404)
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.faults: list[Fault] = []
        self.latency: dict[str, float] = {}  # method (or "*") -> seconds every call of it takes
        self.rate_limits: dict[str, RateLimit] = {}
        self.call_budgets: dict[str, list[int]] = {}  # method -> [calls left, Retry-After seconds]
        self.rate_windows: dict[tuple[str, str], deque[float]] = {}
        self.socket_tickets: set[str] = set()
        # The bot token's OAuth scopes as far as methods check them (conversations.create / invite / history /
        # replies); None: all.
        self.bot_scopes: set[str] | None = None
        self.base_url = ""
        self.add_user(bot_user_id, name=bot_name, real_name=bot_name, is_bot=True)

    # -- users and conversations ---------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        display_name: str | None = None,
        locale: str = "en-US",
        email: str | None = None,
        is_bot: bool = False,
        is_admin: bool = False,
        deleted: bool = False,
        tz: str = "Europe/Brussels",
        tz_offset: int = 3600,
        extra_profile: JSON | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        guest: str | None = None,
    ) -> JSON:
        """``team_id``: the person's own Slack team (default: this workspace; another one is a Slack Connect
        outsider); ``enterprise_id``: their Enterprise Grid organisation (``enterprise_user`` in ``users.info``);
        ``guest``: ``"is_restricted"`` (a multi-channel guest) or ``"is_ultra_restricted"`` (a single-channel one)."""
        team = team_id or self.team_id
        real = real_name if real_name is not None else name
        profile: JSON = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": display_name if display_name is not None else name,
            "display_name_normalized": display_name if display_name is not None else name,
            "title": "",
            "team": team,
            "image_48": f"https://emulator.slack/avatars/{user_id}_48.png",
            "image_72": f"https://emulator.slack/avatars/{user_id}_72.png",
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else random_id("B")
        profile.update(extra_profile or {})
        user: JSON = {
            "id": user_id,
            "team_id": team,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": is_admin,
            "is_owner": False,
            "is_restricted": guest is not None,  # Slack sets it for both kinds of guest
            "is_ultra_restricted": guest == "is_ultra_restricted",
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "locale": locale,
        }
        if enterprise_id:
            user["enterprise_user"] = {"id": user_id, "enterprise_id": enterprise_id, "teams": [team]}
        with self.lock:
            self.users[user_id] = user
        return copy.deepcopy(user)

    def user_brief(self, user_id: str) -> JSON:
        """The ``user`` object used in interaction payloads."""
        with self.lock:
            user = self.users.get(user_id)
            name = str(user["name"]) if user else user_id.lower()
            team = str(user["team_id"]) if user else self.team_id
        return {"id": user_id, "username": name, "name": name, "team_id": team}

    def team_of(self, user_id: str | None) -> str:
        """The Slack team of ``user_id`` (this workspace for an unknown user or none)."""
        with self.lock:
            user = self.users.get(user_id or "")
            return str(user["team_id"]) if user else self.team_id

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        members: list[str] | None = None,
        bot_is_member: bool = True,
        topic: str = "",
        purpose: str = "",
        is_mpim: bool = False,
        is_ext_shared: bool = False,
        is_org_shared: bool = False,
    ) -> Channel:
        member_list = list(members or [])
        if bot_is_member and self.bot_user_id not in member_list:
            member_list.append(self.bot_user_id)
        channel = Channel(
            id=channel_id,
            name=name,
            is_private=is_private or is_mpim,
            is_mpim=is_mpim,
            is_ext_shared=is_ext_shared,
            is_org_shared=is_org_shared,
            members=member_list,
            topic=topic,
            purpose=purpose,
        )
        with self.lock:
            self.channels[channel_id] = channel
        return channel

    def dm_channel(self, user_id: str) -> Channel:
        """The bot's DM with ``user_id``; created on first use, same id every time."""
        channel_id = stable_id("D", f"{self.team_id}/{user_id}")
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None:
                channel = Channel(
                    id=channel_id, name=channel_id, is_im=True, user=user_id, members=[user_id, self.bot_user_id]
                )
                self.channels[channel_id] = channel
            return channel

    def channel(self, channel_id: str) -> Channel | None:
        with self.lock:
            return self.channels.get(channel_id)

    def resolve_channel(self, ref: str) -> Channel | None:
        """A channel by id, by ``#name``/name, or a user id (Slack posts those to the app DM)."""
        with self.lock:
            if ref in self.channels:
                return self.channels[ref]
            if ref in self.users and ref != self.bot_user_id:
                return self.dm_channel(ref)
            name = ref.removeprefix("#")
            for channel in self.channels.values():
                if not channel.is_im and channel.name == name:
                    return channel
        return None

    def require_scope(self, needed: str) -> None:
        """``missing_scope`` (with Slack's ``needed`` / ``provided``) unless the bot token has ``needed``."""
        with self.lock:
            scopes = self.bot_scopes
        if scopes is not None and needed not in scopes:
            raise ApiError("missing_scope", extra={"needed": needed, "provided": ",".join(sorted(scopes))})

    def channel_type(self, channel: Channel) -> str:
        if channel.is_im:
            return "im"
        if channel.is_mpim:
            return "mpim"
        return "group" if channel.is_private else "channel"

    def bot_can_see(self, channel: Channel) -> bool:
        return not channel.is_private or channel.is_im or self.bot_user_id in channel.members

    # -- messages ------------------------------------------------------------------------------

    def store_message(self, channel: Channel, message: JSON) -> JSON:
        """Append ``message`` (which has its ``ts``) and keep the thread parent's reply metadata."""
        with self.lock:
            channel.messages.append(message)
            channel.messages.sort(key=lambda m: float(m["ts"]))
            thread_ts = message.get("thread_ts")
            if thread_ts and thread_ts != message["ts"]:
                parent = channel.find(str(thread_ts))
                if parent is not None:
                    self._touch_thread(parent, message)
        return message

    @staticmethod
    def _touch_thread(parent: JSON, reply: JSON) -> None:
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
        author = reply.get("user") or reply.get("bot_id")
        users: list[str] = list(parent.get("reply_users", []))
        if author and author not in users:
            users.append(str(author))
        parent["reply_users"] = users
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]
        reply.setdefault("parent_user_id", parent.get("user"))

    def bot_message(self, text: str | None, blocks: Any, thread_ts: str | None, ts: str) -> JSON:
        message: JSON = {
            "type": "message",
            "text": text or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "deleted": False,
                "team_id": self.team_id,
            },
        }
        if blocks is not None:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        return message

    def find_message(self, channel_id: str, ts: str) -> JSON | None:
        with self.lock:
            channel = self.channels.get(channel_id)
            return channel.find(ts) if channel else None

    def find_ephemeral(self, channel_id: str, ts: str) -> JSON | None:
        with self.lock:
            for eph in self.ephemerals:
                if eph["channel"] == channel_id and eph["message_ts"] == ts:
                    return eph
        return None

    def add_ephemeral(
        self, channel: str, user: str, text: str | None, blocks: Any, thread_ts: str | None, source: str
    ) -> JSON:
        eph: JSON = {
            "channel": channel,
            "user": user,
            "text": text or "",
            "blocks": blocks,
            "thread_ts": thread_ts,
            "message_ts": self.clock.next(),
            "source": source,
            "deleted": False,
        }
        with self.lock:
            self.ephemerals.append(eph)
        return eph

    # -- triggers and views --------------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        trigger = Trigger(id=trigger_id(), user=user_id, issued=self.test_clock)
        with self.lock:
            self.triggers[trigger.id] = trigger
        return trigger.id

    def use_trigger(self, trigger: str) -> tuple[Trigger | None, str | None]:
        """Consume a trigger id: ``(trigger, None)`` or ``(None, slack_error)``."""
        with self.lock:
            record = self.triggers.get(trigger)
            if record is None:
                return None, "invalid_trigger_id"
            if record.used:
                return None, "exchanged_trigger_id"
            if self.test_clock - record.issued > self.config.trigger_ttl:
                return None, "expired_trigger_id"
            record.used = True
            return record, None

    def new_view(self, user_id: str, body: JSON, root: str | None = None, previous: str | None = None) -> ViewRecord:
        view = ViewRecord(
            id=random_id("V"),
            user=user_id,
            body=copy.deepcopy(body),
            hash=view_hash(),
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            root_view_id=root,
            previous_view_id=previous,
        )
        with self.lock:
            self.views[view.id] = view
        return view

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> ViewRecord | None:
        with self.lock:
            if view_id:
                return self.views.get(view_id)
            if external_id:
                for view in self.views.values():
                    if view.body.get("external_id") == external_id and view.is_open:
                        return view
        return None

    def close_modal(self, view: ViewRecord, clear: bool = False) -> None:
        with self.lock:
            stack = self.modal_stacks.get(view.user, [])
            if clear:
                for view_id in stack:
                    self.views[view_id].is_open = False
                stack.clear()
            elif view.id in stack:
                stack.remove(view.id)
            view.is_open = False

    def open_modals(self, user_id: str) -> list[ViewRecord]:
        with self.lock:
            return [self.views[v] for v in self.modal_stacks.get(user_id, [])]

    # -- files and response urls ----------------------------------------------------------------

    def new_file(self, name: str, length: int, user: str) -> FileRecord:
        file_id = random_id("F")
        record = FileRecord(
            id=file_id,
            name=name,
            length=length,
            user=user,
            created=int(time.time()),
            upload_url=f"{self.base_url}upload/v1/{file_id}",
        )
        with self.lock:
            self.files[file_id] = record
        return record

    def new_response_url(
        self,
        user: str,
        channel: str | None,
        kind: str,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        record = ResponseUrl(
            id=random_id("R", 16),
            user=user,
            channel=channel,
            kind=kind,
            message_ts=message_ts,
            is_ephemeral=is_ephemeral,
            created=self.test_clock,
        )
        with self.lock:
            self.response_urls[record.id] = record
        return f"{self.base_url}response/{record.id}"

    # -- bookkeeping ------------------------------------------------------------------------------

    def record_call(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def record_delivery(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)

    def latency_for(self, method: str) -> float:
        with self.lock:
            return self.latency.get(method, self.latency.get("*", 0.0))

    def take_fault(self, method: str, channel: str | None = None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.channel is not None and fault.channel != channel:
                    continue
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def over_budget(self, method: str) -> int | None:
        """Count this call against ``limit_calls``: None while calls are left, else the Retry-After (seconds)."""
        with self.lock:
            budget = self.call_budgets.get(method)
            if budget is None:
                return None
            if budget[0] > 0:
                budget[0] -= 1
                return None
            return budget[1]

    def rate_limited(self, method: str, channel: str | None) -> float | None:
        """Count this call against the method's limits.

        Returns None when allowed, else the seconds until the window frees up (Slack answers 429).
        """
        with self.lock:
            limit = self.rate_limits.get(method)
            if limit is None:
                return None
            now = time.monotonic()
            checks: list[tuple[tuple[str, str], float]] = []
            if limit.per_second is not None:
                checks.append(((method, "*"), limit.per_second))
            if limit.per_channel_per_second is not None and channel:
                checks.append(((method, channel), limit.per_channel_per_second))
            for key, rate in checks:
                span = max(1.0, 1.0 / rate)
                allowed = max(1, round(rate * span))
                window = self.rate_windows.setdefault(key, deque())
                while window and now - window[0] >= span:
                    window.popleft()
                if len(window) >= allowed:
                    return span - (now - window[0])
            for key, _rate in checks:
                self.rate_windows[key].append(now)
            return None
