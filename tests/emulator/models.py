"""Plain records kept by the emulator: calls, deliveries, faults and configuration."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]
DeliveryKind = Literal["events_api", "slash_commands", "interactive", "url_verification"]
Mode = Literal["http", "socket"]


@dataclass
class EmulatorConfig:
    """Knobs a test may turn (``emu.config.ack_timeout = 0.5``)."""

    ack_timeout: float = 3.0
    """Seconds Slack waits for an ack (HTTP response or Socket Mode ack) before it gives up."""
    max_retries: int = 3
    """Events API redeliveries after a missed ack (Slack: 3). 0 disables retries."""
    retry_delays: tuple[float, ...] = (0.0, 0.0, 0.0)
    """Pause before retry 1, 2, 3 (Slack waits ~0 s, 1 min, 5 min; tests want it fast)."""
    retry_interactive: bool = False
    """Slack never retries slash commands and interactions; set True to retry them anyway."""
    trigger_ttl: float = 3.0
    """A trigger_id is usable by views.open/views.push for this many seconds of the test clock, which only a test
    moves (``SlackEmulator.advance_clock``): Slack's 3 s is a speed target (bench/), not a test's."""
    response_url_ttl: float = 1800.0
    """A response_url takes posts for this many seconds of the test clock (Slack: 30 minutes), then answers 404
    ``expired_url``. Only ``SlackEmulator.advance_clock`` moves that clock: a slow machine expires no URL."""
    socket_wait: float = 3.0
    """How long a Socket Mode delivery waits for a connected client before the attempt fails."""
    disconnect_grace: float = 2.0
    """After ``socket_disconnect()``, the old connection is closed by the server after this many seconds."""
    server_ping_interval: float | None = 0.2
    """The server pings each Socket Mode connection this often (None: never). Frequent pings keep
    slack_sdk's built-in client from sitting in a 3 s blocking recv, so ``close()`` returns quickly."""
    late_response_timeout: float = 30.0
    """An HTTP delivery that timed out is still awaited this long so its late answer can be recorded."""


@dataclass
class Call:
    """One Web API request the bot made (also unknown methods and failed ones)."""

    method: str
    params: JSON
    token: str | None
    time: float
    status: int
    response: JSON
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return str(error) if error is not None else None

    def summary(self, width: int = 160) -> str:
        outcome = "ok" if self.ok else f"error={self.error} status={self.status}"
        params = {k: v for k, v in self.params.items() if k != "token"}
        text = f"{self.method} {outcome} {params}"
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Fault:
    """A failure injected with ``fail_next``."""

    method: str
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    retry_after_header: bool = True  # False: a 429 without a Retry-After (Slack always sends one; a proxy may not)
    times: int = 1
    after: bool = False  # carry the call out, then answer with the failure (did it post? the caller can't know)
    channel: str | None = None  # only calls to this channel (None: every call of the method)
    extra: dict[str, str] | None = None  # more fields of the error answer (e.g. Slack's "needed")


@dataclass
class RateLimit:
    method: str
    per_channel_per_second: float | None = None
    per_second: float | None = None


@dataclass
class Attempt:
    """One try at delivering a payload to the bot (first delivery or a retry)."""

    retry_num: int
    started: float
    retry_reason: str | None = None
    envelope_id: str | None = None
    status: int | None = None
    latency: float | None = None
    body: JSON | None = None
    raw_body: str | None = None
    timed_out: bool = False
    error: str | None = None
    at_ack: Any = None
    """What the emulator's ``ack_probe`` saw the moment this attempt's ack arrived (e.g. the bot's inbox rows)."""
    slack_held_at_ack: bool | None = None
    """Whether Slack was held (``SlackEmulator.hold_slack``) when the ack arrived: True says the ack waited for no
    Web API call or response_url post (every one was still unanswered), None that it was never acked."""

    @property
    def acked(self) -> bool:
        """Acked in time with a 2xx answer (HTTP) or an ack message (Socket Mode)."""
        return not self.timed_out and self.status is not None and 200 <= self.status < 300


@dataclass
class Delivery:
    """The story of one payload sent to the bot, with every attempt."""

    kind: DeliveryKind
    mode: Mode
    payload: JSON
    event_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def acked(self) -> bool:
        return any(a.acked for a in self.attempts)

    @property
    def final(self) -> Attempt | None:
        acked = [a for a in self.attempts if a.acked]
        if acked:
            return acked[0]
        return self.attempts[-1] if self.attempts else None

    @property
    def status(self) -> int | None:
        final = self.final
        return final.status if final else None

    @property
    def latency(self) -> float | None:
        final = self.final
        return final.latency if final else None

    @property
    def ack_body(self) -> JSON | None:
        final = self.final
        return final.body if final and final.acked else None

    @property
    def response_action(self) -> str | None:
        body = self.ack_body or {}
        action = body.get("response_action")
        return str(action) if action is not None else None

    @property
    def event(self) -> JSON:
        """The inner event of an Events API delivery (``{}`` otherwise)."""
        event = self.payload.get("event")
        return event if isinstance(event, dict) else {}

    @property
    def ts(self) -> str | None:
        """The ts of the message this delivery is about (a sent message, a shortcut's message)."""
        ts = self.event.get("ts") or self.payload.get("message_ts")
        return str(ts) if ts else None

    @property
    def trigger_id(self) -> str | None:
        value = self.payload.get("trigger_id")
        return str(value) if value else None

    @property
    def response_url(self) -> str | None:
        value = self.payload.get("response_url")
        return str(value) if value else None

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    def wait(self, timeout: float = 30.0) -> Delivery:
        if not self.done.wait(timeout):
            raise TimeoutError(f"delivery of {self.kind} not finished after {timeout} s: {self.attempts}")
        return self

    def summary(self) -> str:
        kinds = self.payload.get("type")
        if self.kind == "events_api":
            kinds = (self.payload.get("event") or {}).get("type")
        tries = ", ".join(
            f"#{a.retry_num} status={a.status} latency={a.latency and round(a.latency, 3)}"
            f"{' TIMEOUT' if a.timed_out else ''}{' ' + a.error if a.error else ''}"
            for a in self.attempts
        )
        return f"{self.mode} {self.kind}/{kinds} [{tries}]"
