"""The Socket Mode connection watched while ``wieweet run`` serves: a connection that cannot come back ends the
process, with one ERROR line that says why.

Slack's SDK reconnects by itself (``apps.connections.open``, then a new WebSocket): after a dropped connection, a
``disconnect`` from Slack, a network outage. But when the app token was revoked, or Socket Mode was turned off in the
app's settings (``link_disabled``), it tries again every ping interval for ever and only its own ERROR lines say so;
the jobs keep sending DMs with the bot token, so the process looks healthy while nobody's message reaches it.

At start, ``SocketWatch.connect`` makes the first connection: refused, it gives up the same way at once (one ERROR, the
same exit code, no traceback). ``SocketWatch.serve`` then waits for the stop signal and looks at the connection
meanwhile. A refused app token (``FATAL_ERRORS``) gives up at once; any other failure gives up after
``WIEWEET_SOCKET_DOWN_SECONDS`` without a connection. Giving up is one ERROR and ``SocketModeDownError``: ``wieweet
run`` stops its jobs in order and exits with ``SOCKET_DOWN_EXIT``, so the supervisor (systemd, Kubernetes) restarts it —
visibly, and with the next start failing loudly when the token stays refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

SOCKET_DOWN_EXIT = 3  # the exit code of ``wieweet run`` when Socket Mode gave up
POLL_SECONDS = 1.0  # how often the connection is looked at (a cheap check of the SDK's state)
# ``apps.connections.open`` refusing the app token itself: retrying cannot help
FATAL_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "not_allowed_token_type"}
)
HINTS = {
    "link_disabled": "Socket Mode is turned off in the app's settings",
    "invalid_auth": "the app token (SLACK_APP_TOKEN) is not valid",
    "token_revoked": "the app token (SLACK_APP_TOKEN) was revoked",
    "token_expired": "the app token (SLACK_APP_TOKEN) expired",
    "account_inactive": "the app was uninstalled or its workspace deactivated",
}


class SocketClient(Protocol):
    """What the watch uses of Slack's Socket Mode client (``slack_sdk.socket_mode.builtin.SocketModeClient``)."""

    def is_connected(self) -> bool: ...

    def issue_new_wss_url(self) -> str: ...


class StopEvent(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


class SocketModeDownError(RuntimeError):
    """Socket Mode gave up (logged as an ERROR already): ``wieweet run`` exits with ``SOCKET_DOWN_EXIT``."""


class SocketWatch:
    """How long Socket Mode has been without a connection, and why the last reconnect failed."""

    def __init__(
        self,
        *,
        down_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.down_seconds = down_seconds
        self.poll_seconds = poll_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_error: str | None = None

    def attach(self, client: SocketClient) -> None:
        """Note every failure of ``client``'s ``apps.connections.open`` (it is called by the SDK's own threads on
        each reconnect): the SDK only logs them."""
        issue = client.issue_new_wss_url

        def issue_noted() -> str:
            try:
                url = issue()
            except SlackApiError as exc:
                self._noted(str(exc.response.get("error") or "unknown error"))
                raise
            except Exception as exc:  # no answer: the network, a proxy
                self._noted(type(exc).__name__)
                raise
            self._noted(None)
            return url

        client.issue_new_wss_url = issue_noted  # type: ignore[method-assign]

    def _noted(self, error: str | None) -> None:
        with self._lock:
            self._last_error = error

    def check(self, *, connected: bool) -> str | None:
        """None while serving may go on; else why Socket Mode gives up."""
        now = self._clock()
        with self._lock:
            if connected:
                self._down_since, self._last_error = None, None
                return None
            if self._down_since is None:
                self._down_since = now
                log.info("Socket Mode disconnected: waiting up to %g s for it to come back", self.down_seconds)
            error, down_for = self._last_error, now - self._down_since
        cause = _cause(error) if error else "no reconnect has failed with an error yet"
        if error in FATAL_ERRORS:
            return f"Socket Mode cannot reconnect: {cause}; giving up"
        if down_for >= self.down_seconds:
            return (
                f"Socket Mode has been disconnected for {down_for:.0f} s (WIEWEET_SOCKET_DOWN_SECONDS is "
                f"{self.down_seconds:g}): {cause}; giving up"
            )
        return None

    def connect(self, connect: Callable[[], None]) -> None:
        """The first connection, at start (``connect``: the handler's): refused (a revoked app token, Socket Mode
        turned off) or failing, it gives up as ``serve`` does — one ERROR, no traceback, ``SocketModeDownError``."""
        try:
            connect()
        except Exception as exc:
            with self._lock:
                error = self._last_error or type(exc).__name__
            reason = f"Socket Mode cannot connect at start: {_cause(error)}; giving up"
            log.error("%s: exiting with code %s so that wieweet is restarted", reason, SOCKET_DOWN_EXIT)
            raise SocketModeDownError(reason) from None

    def serve(self, client: SocketClient, stop: StopEvent) -> None:
        """Wait until ``stop`` is set, looking at the connection every ``poll_seconds``; raise
        ``SocketModeDownError`` (after logging the one ERROR) when it gives up."""
        while not stop.wait(self.poll_seconds):
            reason = self.check(connected=client.is_connected())
            if reason is not None:
                log.error("%s: exiting with code %s so that wieweet is restarted", reason, SOCKET_DOWN_EXIT)
                raise SocketModeDownError(reason)


def _cause(error: str) -> str:
    """Why ``apps.connections.open`` failed, with what it means when that is known."""
    hint = HINTS.get(error)
    return f"apps.connections.open said {error}" + (f" ({hint})" if hint else "")
