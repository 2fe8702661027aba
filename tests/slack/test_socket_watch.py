"""``handlers.socketwatch``: the Socket Mode connection watched while ``wieweet run`` serves (review 16, finding 2).

Slack's SDK retries ``apps.connections.open`` every ping interval for ever when the app token was revoked or Socket
Mode was turned off, so the watch gives up: at once on a refused token, after ``WIEWEET_SOCKET_DOWN_SECONDS``
otherwise. Time is a fake clock and the stop signal a fake event: nothing sleeps."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin.client import SocketModeClient
from slack_sdk.web import SlackResponse, WebClient

from bot.config import load_settings
from bot.errors import ConfigError
from handlers.socketwatch import SocketModeDownError, SocketWatch
from tests.clock import Clock


class FakeClient:
    """What the watch reads of Slack's Socket Mode client: whether it is connected, and the call that gets a URL."""

    def __init__(self, error: str | None = None) -> None:
        self.connected = True
        self.error = error

    def is_connected(self) -> bool:
        return self.connected

    def issue_new_wss_url(self) -> str:
        if self.error is None:
            return "wss://example.invalid/link"
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url="https://slack.com/api/apps.connections.open",
            req_args={},
            data={"ok": False, "error": self.error},
            headers={},
            status_code=200,
        )
        raise SlackApiError(self.error, response)


class Ticks:
    """A stop event that is never set: each ``wait`` moves the fake clock by its timeout and runs ``step``."""

    def __init__(self, clock: Clock[float], steps: list[Any]) -> None:
        self.clock, self.steps, self.waits = clock, steps, 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        self.clock.now += timeout or 0
        if self.steps:
            self.steps.pop(0)()
        return self.waits > 10_000  # a runaway loop ends the test instead of hanging it


def watch(clock: Clock[float], down: float = 300) -> SocketWatch:
    return SocketWatch(down_seconds=down, clock=clock, poll_seconds=10)


def refuse(client: FakeClient) -> None:
    with pytest.raises(SlackApiError):
        client.issue_new_wss_url()


def test_disconnected_longer_than_the_setting_logs_one_error_and_gives_up(caplog: pytest.LogCaptureFixture) -> None:
    clock, client = Clock(1000.0), FakeClient(error="link_disabled")
    watcher = watch(clock)
    watcher.attach(client)
    client.connected = False
    refuse(client)  # the SDK's reconnect: Socket Mode was turned off in the app's settings
    stop = Ticks(clock, [])
    with caplog.at_level(logging.INFO, logger="handlers.socketwatch"), pytest.raises(SocketModeDownError):
        watcher.serve(client, stop)
    assert 300 <= clock.now - 1000 <= 320  # gave up once the 300 s had passed, not before and not much later
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert "link_disabled" in errors[0].getMessage() and "WIEWEET_SOCKET_DOWN_SECONDS" in errors[0].getMessage()


def test_a_revoked_app_token_gives_up_at_once(caplog: pytest.LogCaptureFixture) -> None:
    clock, client = Clock(1000.0), FakeClient(error="token_revoked")
    watcher = watch(clock)
    watcher.attach(client)
    client.connected = False
    refuse(client)
    with caplog.at_level(logging.ERROR, logger="handlers.socketwatch"), pytest.raises(SocketModeDownError):
        watcher.serve(client, Ticks(clock, []))
    assert clock.now - 1000 <= 10  # the first look after the refusal
    assert "token_revoked" in caplog.text and "app token" in caplog.text


def test_a_connection_that_comes_back_in_time_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    """Down for a while (a network outage, Slack's own restarts) and back before the limit, twice: it serves on
    until it is stopped, and says nothing at ERROR."""
    clock, client = Clock(1000.0), FakeClient()

    def down() -> None:
        client.connected = False

    def up() -> None:
        client.connected = True

    steps = [down] + [lambda: None] * 25 + [up, down] + [lambda: None] * 25 + [up]
    stop = Ticks(clock, steps)
    watcher = watch(clock)
    watcher.attach(client)
    with caplog.at_level(logging.INFO, logger="handlers.socketwatch"):
        watcher.serve(client, stop)  # returns only because the fake stop says "set" after 10 000 looks
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_an_error_before_a_reconnect_that_worked_is_forgotten() -> None:
    clock, client = Clock(1000.0), FakeClient(error="internal_error")
    watcher = watch(clock)
    watcher.attach(client)
    client.connected = False
    refuse(client)
    assert watcher.check(connected=False) is None
    client.error = None
    assert client.issue_new_wss_url()  # the next try worked
    assert watcher.check(connected=True) is None
    clock.now += 10_000
    assert watcher.check(connected=False) is None  # down just now: the clock starts again


def test_the_watch_wraps_the_sdk_client_that_opens_connections() -> None:
    """The SDK's own client gets the error recorded: its reconnects call ``issue_new_wss_url`` on itself."""

    class Refused(WebClient):
        def apps_connections_open(self, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
            response = SlackResponse(
                client=self,
                http_verb="POST",
                api_url="x",
                req_args={},
                data={"ok": False, "error": "invalid_auth"},
                headers={},
                status_code=200,
            )
            raise SlackApiError("invalid_auth", response)

    client = SocketModeClient(app_token="xapp-1-x", web_client=Refused(token="xoxb-x"))
    try:
        clock = Clock(1000.0)
        watcher = watch(clock)
        watcher.attach(client)
        with pytest.raises(SlackApiError):
            client.connect_to_new_endpoint()
        assert watcher.check(connected=client.is_connected()) is not None
    finally:
        client.close()


def test_the_setting_is_read_and_checked() -> None:
    assert load_settings({}).socket_down_seconds == 300
    assert load_settings({"WIEWEET_SOCKET_DOWN_SECONDS": "60"}).socket_down_seconds == 60
    with pytest.raises(ConfigError, match="WIEWEET_SOCKET_DOWN_SECONDS"):
        load_settings({"WIEWEET_SOCKET_DOWN_SECONDS": "soon"})
