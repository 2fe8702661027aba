"""``/healthz`` is cheap (issue 11, finding 3): cached database pings, Slack from a background check, no waiting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from bot.health import HealthMonitor
from bot.setting_values import DEFAULT_MAX_BODY_BYTES
from handlers.app import create_web_client, server_options, slack_reachable
from tests.emulator import SlackEmulator

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Fixture:
    def __init__(self) -> None:
        self.now = T0
        self.pings = 0
        self.db_ok = True
        self.slack_checks = 0
        self.slack_ok: bool | str | None = True  # a str: Slack's refusal of the token
        self.queued: list[Callable[[], None]] = []
        self.monitor = HealthMonitor(
            ping_database=self.ping,
            check_slack=self.check,
            clock=lambda: self.now,
            run_in_background=self.queued.append,
        )

    def ping(self) -> bool:
        self.pings += 1
        return self.db_ok

    def check(self) -> bool | str:
        self.slack_checks += 1
        if self.slack_ok is None:
            raise OSError("connection refused")
        return self.slack_ok

    def run_background(self) -> None:
        while self.queued:
            self.queued.pop(0)()


@pytest.fixture
def fx() -> Fixture:
    return Fixture()


def test_the_database_is_pinged_at_most_once_per_few_seconds(fx: Fixture) -> None:
    for _ in range(50):
        assert fx.monitor.status() == (True, {"database": "ok", "slack": "ok"})
    assert fx.pings == 1
    fx.db_ok = False
    fx.now += timedelta(seconds=4)
    assert fx.monitor.status()[0] is True and fx.pings == 1  # cached
    fx.now += timedelta(seconds=2)
    assert fx.monitor.status() == (False, {"database": "down", "slack": "ok"})
    assert fx.pings == 2


def test_a_probe_never_calls_slack_itself(fx: Fixture) -> None:
    for _ in range(100):
        fx.monitor.status()
    assert fx.slack_checks == 0 and fx.queued == []  # fresh from start-up (Bolt's auth.test)
    fx.now += timedelta(seconds=61)
    fx.slack_ok = False
    for _ in range(100):
        assert fx.monitor.status()[1]["slack"] == "ok"  # the last known state, at once
    assert fx.slack_checks == 0 and len(fx.queued) == 1  # one refresh started, however many probes
    fx.run_background()
    assert fx.monitor.status() == (False, {"database": "ok", "slack": "down"})
    assert fx.slack_checks == 1 and fx.queued == []


def test_a_failing_slack_check_counts_as_down_and_recovers(fx: Fixture) -> None:
    fx.now += timedelta(minutes=2)
    fx.slack_ok = None  # raises
    fx.monitor.status()
    fx.run_background()
    assert fx.monitor.status()[1]["slack"] == "down"
    fx.slack_ok = True
    fx.now += timedelta(minutes=2)
    fx.monitor.status()
    fx.run_background()
    assert fx.monitor.status() == (True, {"database": "ok", "slack": "ok"})


def test_a_clock_that_goes_back_counts_as_stale(fx: Fixture) -> None:
    fx.monitor.status()
    fx.now -= timedelta(hours=1)
    fx.monitor.status()
    assert fx.pings == 2 and len(fx.queued) == 1


def test_probes_do_not_queue_behind_a_slow_database_ping() -> None:
    now = [T0]
    release = threading.Event()
    started = threading.Event()
    calls: list[int] = []

    def slow_ping() -> bool:
        calls.append(1)
        if len(calls) > 1:
            started.set()
            release.wait(60)
        return True

    monitor = HealthMonitor(ping_database=slow_ping, check_slack=lambda: True, clock=lambda: now[0])
    assert monitor.status()[0]
    now[0] += timedelta(seconds=10)
    slow = threading.Thread(target=monitor.status)
    slow.start()
    assert started.wait(60)
    # A ping is running and hangs: other probes answer with the last result instead of waiting for it.
    assert monitor.status() == (True, {"database": "ok", "slack": "ok"})
    assert len(calls) == 2
    release.set()
    slow.join(60)


def test_the_edge_settings_are_read_once_with_clear_errors() -> None:
    settings = load_settings({})
    assert (settings.max_body_bytes, settings.http_timeout, settings.http_connection_limit) == (
        DEFAULT_MAX_BODY_BYTES,
        15,
        500,
    )
    custom = load_settings(
        {"WIEWEET_MAX_BODY_BYTES": "65536", "WIEWEET_HTTP_TIMEOUT": "30", "WIEWEET_HTTP_CONNECTIONS": "2000"}
    )
    assert (custom.max_body_bytes, custom.http_timeout, custom.http_connection_limit) == (65536, 30, 2000)
    for name, value in [
        ("WIEWEET_MAX_BODY_BYTES", "1MB"),
        ("WIEWEET_MAX_BODY_BYTES", "100"),
        ("WIEWEET_MAX_BODY_BYTES", str(1024**3)),
        ("WIEWEET_HTTP_TIMEOUT", "0"),
        ("WIEWEET_HTTP_CONNECTIONS", "-1"),
    ]:
        with pytest.raises(ConfigError) as info:
            load_settings({name: value})
        assert name in info.value.message


def test_waitress_enforces_the_same_limits() -> None:
    settings = load_settings({"WIEWEET_MAX_BODY_BYTES": "65536", "WIEWEET_HTTP_TIMEOUT": "9"})
    options = server_options(settings)
    # waitress refuses bodies of max_request_body_size bytes and more: exactly the limit still passes to the edge
    assert options["max_request_body_size"] == 65536 + 1
    assert options["channel_timeout"] == 9 and options["cleanup_interval"] <= 9
    assert options["connection_limit"] == 500
    assert options["asyncore_use_poll"] is True and options["expose_tracebacks"] is False


def test_a_token_slack_refuses_is_named_in_the_log_not_in_the_public_answer(
    fx: Fixture, caplog: pytest.LogCaptureFixture
) -> None:
    """``/healthz`` answers anyone who can reach the port: it says Slack is down, never why (Slack's error about
    the token is internal detail). The operator reads why in the log."""
    fx.now += timedelta(minutes=2)
    fx.slack_ok = "token_revoked"
    fx.monitor.status()
    with caplog.at_level(logging.WARNING):
        fx.run_background()
    assert fx.monitor.status() == (False, {"database": "ok", "slack": "down"})
    assert any("auth.test: token_revoked" in r.getMessage() for r in caplog.records)
    fx.slack_ok = True
    fx.now += timedelta(minutes=2)
    fx.monitor.status()
    fx.run_background()
    assert fx.monitor.status() == (True, {"database": "ok", "slack": "ok"})


def test_auth_test_refused_by_the_emulator_gives_slacks_error() -> None:
    emu = SlackEmulator(bot_token="xoxb-health-test")
    emu.start()
    try:
        good = create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-health-test", "SLACK_API_URL": emu.api_url}))
        bad = create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_API_URL": emu.api_url}))
        assert slack_reachable(good) is True
        assert slack_reachable(bad) == "invalid_auth"
        # a token of the wrong kind (the app-level token where the bot token belongs) is refused as a bad one
        wrong = create_web_client(load_settings({"SLACK_BOT_TOKEN": "xapp-1-A0-1-x", "SLACK_API_URL": emu.api_url}))
        assert slack_reachable(wrong) == "not_allowed_token_type"
    finally:
        emu.stop()
