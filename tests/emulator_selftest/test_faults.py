"""Injected failures and rate limits, handled by slack_sdk's real retry handlers."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from tests.emulator import SlackEmulator


def test_429_with_retry_after_is_retried_by_rate_limit_handler(emu: SlackEmulator) -> None:
    client = WebClient(
        base_url=emu.api_url, token=emu.bot_token, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    emu.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C001", text="na de pauze")["ok"]
    assert time.monotonic() - started >= 1.0
    limited, passed = emu.calls_to("chat.postMessage")
    assert (limited.status, limited.error, limited.headers["Retry-After"]) == (429, "ratelimited", "1")
    assert passed.ok
    assert [m["text"] for m in emu.messages("C001")] == ["na de pauze"]


def test_500_is_retried_by_server_error_handler(emu: SlackEmulator) -> None:
    client = WebClient(base_url=emu.api_url, token=emu.bot_token, retry_handlers=[ServerErrorRetryHandler()])
    emu.fail_next("users.info", status=500)
    assert client.users_info(user="U001")["user"]["name"] == "an"
    assert [c.status for c in emu.calls_to("users.info")] == [500, 200]


def test_injected_error_applies_only_to_the_next_calls(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_next("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            client.chat_postMessage(channel="C001", text="x")
        assert failed.value.response.status_code == 200 and failed.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C001", text="x")["ok"]


def test_rate_limit_per_channel(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_rate_limit("chat.postMessage", per_channel_per_second=1)
    client.chat_postMessage(channel="C001", text="1")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C001", text="2")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel="C002", text="other channel")["ok"]

    patient = WebClient(base_url=emu.api_url, token=emu.bot_token, retry_handlers=[RateLimitErrorRetryHandler()])
    assert patient.chat_postMessage(channel="C001", text="3")["ok"]
    assert [m["text"] for m in emu.messages("C001")] == ["1", "3"]
