"""Start/stop hygiene, request signing and the waiting helpers."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode import SocketModeClient

from tests.emulator import EmulatorConfig, EmulatorTimeoutError, SlackEmulator
from tests.emulator.signing import encode_body, signed_headers


def test_stop_releases_threads_and_port_even_with_a_connected_client() -> None:
    before = set(threading.enumerate())
    emu = SlackEmulator().start()
    port = emu.port
    client = SocketModeClient(
        app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url), auto_reconnect_enabled=False
    )
    client.connect()
    emu.wait_for_socket(timeout=5)
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 3
    client.close()
    assert {t for t in threading.enumerate() if t.name.startswith("slack-emulator")} == set()
    leftovers = [t for t in set(threading.enumerate()) - before if t.is_alive() and "emulator" in t.name]
    assert leftovers == []
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # no listener left behind (TIME_WAIT leftovers are fine)


def test_context_manager_and_api_url() -> None:
    with SlackEmulator(team_id="T0042") as emu:
        assert emu.api_url == f"http://127.0.0.1:{emu.port}/api/"
        assert WebClient(base_url=emu.api_url, token="xoxb-test").auth_test()["team_id"] == "T0042"


def test_signature_is_what_slack_sdk_verifies() -> None:
    body, content_type = encode_body("slash_commands", {"command": "/wieweet", "text": "a b&c"})
    assert content_type == "application/x-www-form-urlencoded" and b"text=a+b%26c" in body
    headers = signed_headers("s3cret", body, content_type, retry_num=2, retry_reason="http_timeout")
    assert SignatureVerifier("s3cret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("2", "http_timeout")
    stale = signed_headers("s3cret", body, content_type, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier("s3cret").is_valid_request(body, stale)


def test_wait_for_call_timeout_dumps_recent_calls(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel="C001", text="hallo daar")
    mark = emu.call_count
    with pytest.raises(EmulatorTimeoutError) as timeout:
        emu.wait_for_call("views.open", timeout=0.1)
    assert "chat.postMessage ok" in str(timeout.value) and "hallo daar" in str(timeout.value)
    client.chat_postMessage(channel="C002", text="tweede")
    assert emu.wait_for_call("chat.postMessage", since=mark).params["channel"] == "C002"
    assert emu.wait_for_call("chat.postMessage", lambda c: c.params["channel"] == "C001").params["text"] == "hallo daar"
    assert emu.wait_for_call("chat.postMessage", count=2).params["text"] == "tweede"


def test_http_mode_without_a_listener_fails_fast() -> None:
    config = EmulatorConfig(ack_timeout=0.5, max_retries=1)
    with SlackEmulator(config=config) as emu:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            dead_port = unused.getsockname()[1]
        emu.http_target = f"http://127.0.0.1:{dead_port}/slack/events"
        delivery = emu.send_event({"type": "app_home_opened", "user": "U001"})
    assert not delivery.acked
    assert [a.retry_reason for a in delivery.attempts] == [None, "connection_failed"]
    assert all(a.error and a.error.startswith("connection_failed") for a in delivery.attempts)
