"""``SlackEmulator``: a Slack workspace on 127.0.0.1 with a synchronous API for tests."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

from .delivery import Deliverer
from .driver import DriverMixin
from .models import JSON, Call, Delivery, EmulatorConfig, Fault, Mode, RateLimit
from .server import EmulatorServer
from .socket_mode import SocketHub
from .state import State
from .webapi import WebApi

T = TypeVar("T")

# How long ``wait_for`` waits by default: long, so a loaded machine (a CI runner with a database and pytest on two
# cores) never fails a test whose bot was only slow; the wait ends as soon as the condition holds.
WAIT = 30.0


class EmulatorTimeoutError(AssertionError):
    """A ``wait_for*`` gave up; the message holds the recent calls and deliveries."""


class SlackEmulator(DriverMixin):
    """Web API + Events API / Socket Mode driver for one app installed in one workspace."""

    def __init__(
        self,
        *,
        signing_secret: str = "emulator-signing-secret",
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "AAPP",
        team_id: str = "T0001",
        bot_name: str = "wieweet",
        config: EmulatorConfig | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self._state = State(
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            bot_token=bot_token,
            app_token=app_token,
            signing_secret=signing_secret,
            bot_name=bot_name,
            config=self.config,
        )
        self._hub = SocketHub(self._state)
        self._server = EmulatorServer(self._state, WebApi(self._state), self._hub)
        self._deliverer = Deliverer(self._state, self._server, self._hub)
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_id = team_id

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/``"""
        return self._server.base_url

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>/api/`` — give it to ``WebClient(base_url=...)``."""
        return f"{self._server.base_url}api/"

    @property
    def http_target(self) -> str | None:
        """Set to the bot's Request URL to deliver over HTTP; ``None`` (default) means Socket Mode."""
        return self._deliverer.http_target

    @http_target.setter
    def http_target(self, url: str | None) -> None:
        self._deliverer.http_target = url

    @property
    def ack_probe(self) -> Callable[[Delivery], Any] | None:
        """Called the moment an ack arrives (HTTP response or Socket Mode ack), before the emulator does anything
        else with it; its result is kept as ``Attempt.at_ack``. ``None`` (default): nothing is probed."""
        return self._deliverer.ack_probe

    @ack_probe.setter
    def ack_probe(self, probe: Callable[[Delivery], Any] | None) -> None:
        self._deliverer.ack_probe = probe

    @property
    def mode(self) -> Mode:
        return "http" if self._deliverer.http_target else "socket"

    # -- workspace setup ----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        real_name: str | None = None,
        locale: str = "en-US",
        email: str | None = None,
        is_bot: bool = False,
        tz: str = "Europe/Brussels",
        *,
        display_name: str | None = None,
        is_admin: bool = False,
        deleted: bool = False,
        tz_offset: int = 3600,
        profile: JSON | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        guest: str | None = None,
    ) -> JSON:
        return self._state.add_user(
            user_id,
            name=name or user_id.lower(),
            real_name=real_name,
            display_name=display_name,
            locale=locale,
            email=email,
            is_bot=is_bot,
            is_admin=is_admin,
            deleted=deleted,
            tz=tz,
            tz_offset=tz_offset,
            extra_profile=profile,
            team_id=team_id,
            enterprise_id=enterprise_id,
            guest=guest,
        )

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        is_private: bool = False,
        members: list[str] | None = None,
        *,
        bot_is_member: bool = True,
        topic: str = "",
        purpose: str = "",
        is_mpim: bool = False,
        is_ext_shared: bool = False,
        is_org_shared: bool = False,
    ) -> JSON:
        """A channel; the bot is a member unless ``bot_is_member=False``. Private channels may have ``C…`` ids (as
        Slack makes them today) or legacy ``G…`` ids; ``is_mpim`` is a group DM, ``is_ext_shared`` a Slack Connect
        channel, ``is_org_shared`` one shared across an Enterprise Grid organisation."""
        channel = self._state.add_channel(
            channel_id,
            name=name or channel_id.lower(),
            is_private=is_private,
            members=members,
            bot_is_member=bot_is_member,
            topic=topic,
            purpose=purpose,
            is_mpim=is_mpim,
            is_ext_shared=is_ext_shared,
            is_org_shared=is_org_shared,
        )
        return channel.to_dict(self.bot_user_id)

    def join_grid(self, enterprise_id: str) -> None:
        """Make the workspace part of Enterprise Grid organisation ``enterprise_id`` (``auth.test`` says so: set it
        before the bot starts)."""
        with self._state.lock:
            self._state.enterprise_id = enterprise_id

    def name_app(self, app_id: str) -> None:
        """From now on the requests sent name app ``app_id`` in their ``api_app_id`` (signed as ever): a request
        Slack signed for another app that shares the signing secret (hostile-request tests); ``bots.info`` still
        answers with the app the bot learnt at its start."""
        with self._state.lock:
            self._state.payload_app_id = app_id

    def forge_view_metadata(self, view_id: str, private_metadata: str) -> None:
        """Replace an open modal's private_metadata, as a forged request would carry it (hostile-request tests);
        the next ``submit_view`` sends it."""
        with self._state.lock:
            record = self._state.views[view_id]
            record.body["private_metadata"] = private_metadata

    def archive_channel(self, channel_id: str) -> None:
        """Archive a channel: posts in it are refused with ``is_archived`` from now on."""
        with self._state.lock:
            self._state.channels[channel_id].is_archived = True

    def share_channel(self, channel_id: str) -> None:
        """Share a channel with another organisation (Slack Connect) from now on."""
        with self._state.lock:
            self._state.channels[channel_id].is_ext_shared = True

    def add_member(self, channel_id: str, user_id: str) -> None:
        with self._state.lock:
            channel = self._state.channels[channel_id]
            if user_id not in channel.members:
                channel.members.append(user_id)

    def add_usergroup(self, usergroup_id: str, handle: str, users: list[str], name: str | None = None) -> JSON:
        group: JSON = {
            "id": usergroup_id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "name": name or handle,
            "handle": handle,
            "description": "",
            "user_count": len(users),
            "users": list(users),
        }
        with self._state.lock:
            self._state.usergroups[usergroup_id] = group
        return copy.deepcopy(group)

    def set_bot_scopes(self, scopes: list[str] | None) -> None:
        """The bot token's scopes as ``conversations.create`` / ``invite`` / ``history`` / ``replies`` / ``info``
        and ``chat.postMessage`` check them (``missing_scope``); None: all."""
        with self._state.lock:
            self._state.bot_scopes = set(scopes) if scopes is not None else None

    def channel_info(self, channel_ref: str) -> JSON | None:
        """A channel (by id or name) as the workspace sees it: its ``name``, ``is_private`` and ``members``."""
        channel = self._state.resolve_channel(channel_ref)
        if channel is None:
            return None
        with self._state.lock:
            return {**channel.to_dict(self._state.bot_user_id), "members": list(channel.members)}

    def dm_channel_with(self, user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (stable; the one ``conversations.open`` returns)."""
        return self._state.dm_channel(user_id).id

    def issue_trigger(self, user_id: str) -> str:
        """A trigger id as if ``user_id`` just interacted (valid for ``config.trigger_ttl`` seconds, once)."""
        return self._state.issue_trigger(user_id)

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass on the test clock: a trigger id issued longer than ``config.trigger_ttl`` ago is then
        ``expired_trigger_id``, a response_url handed out longer than ``config.response_url_ttl`` ago answers
        ``expired_url``. Only this moves that clock, never wall time: a slow machine expires nothing."""
        with self._state.lock:
            self._state.test_clock += seconds

    advance_trigger_clock = advance_clock  # its older name

    @contextmanager
    def hold_slack(self) -> Iterator[None]:
        """Slack answers no Web API call and no response_url post until the block ends (a Socket Mode connect
        excepted): they wait, then are served. An ack that arrives meanwhile did not wait for Slack; each attempt
        says so in ``slack_held_at_ack``. By order, not time: a slow machine changes nothing."""
        with self._state.lock:
            self._state.slack_held = True
        try:
            yield
        finally:
            with self._state.lock:
                self._state.slack_held = False

    @property
    def slack_held(self) -> bool:
        return self._state.slack_held

    @property
    def held_requests(self) -> int:
        """How many Web API calls and response_url posts have waited because Slack was held (all holds together)."""
        return self._state.held_requests

    @property
    def held_calls(self) -> list[str]:
        """What waited because Slack was held, in the order it reached Slack: each Web API call's method, a
        response_url post as ``response_url`` (all holds together). Read at an ack (``ack_probe``), it says what the
        bot sent Slack before the ack: by order, not time."""
        with self._state.lock:
            return list(self._state.held_calls)

    # -- fault injection ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        retry_after_header: bool = True,
        times: int = 1,
        after: bool = False,
        channel: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail: 429 (+ ``Retry-After``, unless ``retry_after_header``
        is False), 5xx, or ``ok: false`` with ``error`` (status defaults to 200 with an error, else 500).
        ``after=True``: the call is carried out (the message posted) and *then* answered with the failure, as when
        Slack times out after acting. ``channel``: only the calls to that channel fail (others go through). ``extra``:
        more fields of the error answer (Slack's ``needed``, say)."""
        resolved = status if status is not None else (200 if error else 500)
        with self._state.lock:
            self._state.faults.append(
                Fault(
                    method=method,
                    status=resolved,
                    error=error,
                    retry_after=retry_after,
                    retry_after_header=retry_after_header,
                    times=times,
                    after=after,
                    channel=channel,
                    extra=extra,
                )
            )

    def set_latency(self, seconds: float, *methods: str) -> None:
        """A slow Slack: every call of ``methods`` (all methods when none are named) is answered after ``seconds``
        (0 removes it). Other calls are served meanwhile."""
        with self._state.lock:
            for method in methods or ("*",):
                if seconds > 0:
                    self._state.latency[method] = seconds
                else:
                    self._state.latency.pop(method, None)

    def set_rate_limit(
        self, method: str, *, per_channel_per_second: float | None = None, per_second: float | None = None
    ) -> None:
        """Answer 429 + ``Retry-After`` once ``method`` goes over the limit (Slack: ~1 message/s per channel)."""
        with self._state.lock:
            self._state.rate_limits[method] = RateLimit(method, per_channel_per_second, per_second)

    def limit_calls(self, method: str, *, calls: int, retry_after: int = 60) -> None:
        """Answer 429 + ``Retry-After: retry_after`` to every call of ``method`` after the next ``calls`` (a method's
        per-minute limit used up, as a pass over hundreds of channels does; ``clear_faults`` lifts it)."""
        with self._state.lock:
            self._state.call_budgets[method] = [calls, retry_after]

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()
            self._state.latency.clear()
            self._state.rate_limits.clear()
            self._state.call_budgets.clear()
            self._state.rate_windows.clear()

    # -- inspection ---------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every Web API call so far, oldest first."""
        with self._state.lock:
            return list(self._state.calls)

    @property
    def call_count(self) -> int:
        """Use as a bookmark: ``calls_to(method, since=mark)``."""
        with self._state.lock:
            return len(self._state.calls)

    def calls_to(self, method: str, since: int = 0) -> list[Call]:
        with self._state.lock:
            return [c for c in self._state.calls[since:] if c.method == method]

    def clear_calls(self) -> None:
        with self._state.lock:
            self._state.calls.clear()
            self._state.deliveries.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._state.lock:
            return list(self._state.deliveries)

    def messages(self, channel: str, *, include_replies: bool = True) -> list[JSON]:
        """The channel's messages, oldest first (copies); thread replies too unless ``include_replies=False``."""
        with self._state.lock:
            found = self._state.channels.get(channel)
            if found is None:
                raise KeyError(f"unknown channel {channel}")
            return [
                copy.deepcopy(m)
                for m in found.messages
                if include_replies or not m.get("thread_ts") or m["thread_ts"] == m["ts"]
            ]

    def message(self, channel: str, ts: str) -> JSON | None:
        with self._state.lock:
            return copy.deepcopy(self._state.find_message(channel, ts))

    def thread(self, channel: str, ts: str) -> list[JSON]:
        """Parent and replies of the thread rooted at ``ts``, oldest first."""
        return [m for m in self.messages(channel) if m["ts"] == ts or m.get("thread_ts") == ts]

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[JSON]:
        """Ephemeral messages (from chat.postEphemeral, response_url or a command ack), oldest first."""
        with self._state.lock:
            return [
                copy.deepcopy(e)
                for e in self._state.ephemerals
                if (user is None or e["user"] == user)
                and (channel is None or e["channel"] == channel)
                and not e["deleted"]
            ]

    def views(self, user: str) -> list[JSON]:
        """The user's open modal stack, bottom first."""
        with self._state.lock:
            return [v.to_dict() for v in self._state.open_modals(user)]

    def view(self, view_id: str) -> JSON | None:
        with self._state.lock:
            record = self._state.views.get(view_id)
            return record.to_dict() if record else None

    def home_view(self, user: str) -> JSON | None:
        with self._state.lock:
            view_id = self._state.home_views.get(user)
            return self._state.views[view_id].to_dict() if view_id else None

    def files(self) -> list[JSON]:
        """Uploaded files with their ``content`` bytes and the ``channels`` they were shared to."""
        with self._state.lock:
            return [{**f.to_dict(), "content": f.content, "completed": f.completed} for f in self._state.files.values()]

    @property
    def response_posts(self) -> list[JSON]:
        """Every POST to a response_url: ``{url_id, kind, user, channel, body, time}``."""
        with self._state.lock:
            return copy.deepcopy(self._state.response_posts)

    @property
    def response_refusals(self) -> list[JSON]:
        """Every POST a response_url refused (404: ``expired_url``, ``used_url``): ``{url_id, user, error, body}``."""
        with self._state.lock:
            return copy.deepcopy(self._state.response_refusals)

    # -- Socket Mode --------------------------------------------------------------------------------

    @property
    def socket_connected(self) -> bool:
        return self._hub.connected

    @property
    def socket_connections_total(self) -> int:
        """Connections opened so far (each reconnect adds one)."""
        return self._hub.total_connections

    @property
    def socket_acks(self) -> list[JSON]:
        """Every Socket Mode ack received: the ack message plus ``time`` and ``matched``."""
        return self._hub.ack_log()

    def wait_for_socket(self, timeout: float = 10.0, *, total: int | None = None) -> None:
        """Wait until the bot is connected (and, with ``total``, has opened that many connections in all)."""
        self.wait_for(
            lambda: self._hub.connected and (total is None or self._hub.total_connections >= total),
            timeout=timeout,
            message=f"bot did not connect over Socket Mode (total connections: {self._hub.total_connections})",
        )

    def socket_disconnect(self, reason: str = "refresh_requested") -> int:
        """Send ``{"type": "disconnect"}``; the client should reconnect via apps.connections.open."""
        return self._server.run(self._hub.disconnect(reason, self.config.disconnect_grace), timeout=10)

    def socket_drop(self) -> int:
        """Close every Socket Mode connection abruptly from the server side."""
        return self._server.run(self._hub.drop(), timeout=10)

    # -- waiting ------------------------------------------------------------------------------------

    def wait_for(
        self,
        condition: Callable[[], T | None],
        timeout: float = WAIT,
        interval: float = 0.02,
        message: str | None = None,
    ) -> T:
        """Poll ``condition`` until it returns something truthy, and return that. ``timeout`` only bounds how long a
        failure takes to show: the wait ends as soon as the condition holds."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise EmulatorTimeoutError(f"{message or 'condition not met'} after {timeout} s\n{self.dump()}")
            time.sleep(interval)

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], Any] | None = None,
        timeout: float = WAIT,
        count: int = 1,
        since: int = 0,
    ) -> Call:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) were made; returns the last of them."""

        def matching() -> Call | None:
            found = [c for c in self.calls_to(method, since) if predicate is None or predicate(c)]
            return found[count - 1] if len(found) >= count else None

        return self.wait_for(matching, timeout=timeout, message=f"{count} call(s) to {method} not seen")

    def dump(self, last: int = 25) -> str:
        """Recent Web API calls and deliveries, for failure messages."""
        calls = self.calls[-last:]
        deliveries = self.deliveries[-last:]
        lines = [f"--- last {len(calls)} Web API calls ---", *(c.summary() for c in calls)]
        lines += [f"--- last {len(deliveries)} deliveries ({self.mode}) ---", *(d.summary() for d in deliveries)]
        return "\n".join(lines)
