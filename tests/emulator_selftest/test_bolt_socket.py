"""Socket Mode with the real slack_sdk client and Bolt's SocketModeHandler."""

from __future__ import annotations

import json
import threading
from typing import Any

from slack_bolt import Ack, Say
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from tests.emulator import SlackEmulator

from .harness import bolt_socket, make_app
from .test_bolt_http import register_question_flow, run_question_flow


def test_event_and_command_over_socket_mode(emu: SlackEmulator) -> None:
    app = make_app(emu)

    @app.event("message")
    def message(event: dict[str, Any], say: Say) -> None:
        say(text="Ontvangen", thread_ts=event["ts"])

    @app.command("/wieweet")
    def on_command(ack: Ack) -> None:
        ack(text="Alleen jij ziet dit")

    with bolt_socket(app, emu):
        assert emu.socket_connected and emu.socket_connections_total == 1
        sent = emu.send_message("U001", None, "hallo bot")
        assert sent.mode == "socket" and sent.acked and sent.status == 200 and sent.ack_body is None
        assert sent.event["channel_type"] == "im" and sent.event["channel"] == emu.dm_channel_with("U001")
        emu.wait_for(lambda: len(emu.thread(emu.dm_channel_with("U001"), sent.ts or "")) == 2)

        command = emu.send_command("U001", "C002")
        assert command.acked and command.ack_body == {"text": "Alleen jij ziet dit"}
        assert emu.ephemerals("U001", "C002")[0]["text"] == "Alleen jij ziet dit"
        acked_ids = [a["envelope_id"] for a in emu.socket_acks]
        assert command.final is not None and command.final.envelope_id in acked_ids


def test_modal_flow_over_socket_mode(emu: SlackEmulator) -> None:
    app = make_app(emu)
    register_question_flow(app)
    with bolt_socket(app, emu):
        run_question_flow(emu)


def test_unacked_envelope_is_redelivered_with_retry_attempt(emu: SlackEmulator) -> None:
    emu.config.ack_timeout = 0.3
    received: list[tuple[int | None, str | None]] = []

    def listener(client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        received.append((req.retry_attempt, req.retry_reason))
        if (req.retry_attempt or 0) >= 1:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client = SocketModeClient(app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url))
    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        emu.wait_for_socket(timeout=5)
        delivery = emu.send_message("U002", "C001", "lees je dit?")
    finally:
        client.close()
    assert delivery.acked and delivery.retries == 1
    assert [(a.retry_num, a.retry_reason, a.timed_out) for a in delivery.attempts] == [
        (0, None, True),
        (1, "timeout", False),
    ]
    assert delivery.attempts[0].envelope_id != delivery.attempts[1].envelope_id
    assert received == [(0, ""), (1, "timeout")]


def test_disconnect_refresh_and_reconnect(emu: SlackEmulator) -> None:
    app = make_app(emu)
    got = threading.Event()
    app.event("app_home_opened")(got.set)
    with bolt_socket(app, emu):
        assert emu.socket_disconnect() == 1
        emu.wait_for_socket(timeout=5, total=2)
        assert len(emu.calls_to("apps.connections.open")) == 2
        delivery = emu.open_home("U003")
        assert delivery.acked and got.wait(2)
        assert delivery.event["channel"] == emu.dm_channel_with("U003")


def test_no_connection_means_failed_delivery(emu: SlackEmulator) -> None:
    emu.config.socket_wait = 0.1
    emu.config.max_retries = 0
    delivery = emu.send_event({"type": "app_home_opened", "user": "U001", "tab": "home"})
    assert not delivery.acked and delivery.attempts[0].error == "no_socket_connection"
    assert "no_socket_connection" in emu.dump()


def test_ack_payload_is_recorded(emu: SlackEmulator) -> None:
    client = SocketModeClient(app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url))

    def listener(c: BaseSocketModeClient, req: SocketModeRequest) -> None:
        c.send_socket_mode_response({"envelope_id": req.envelope_id, "payload": {"text": json.dumps(req.type)}})

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        emu.wait_for_socket(timeout=5)
        delivery = emu.send_global_shortcut("U001", "nieuwe_vraag")
    finally:
        client.close()
    assert delivery.ack_body == {"text": '"interactive"'}
    assert delivery.payload["type"] == "shortcut" and delivery.trigger_id
    assert emu.socket_acks[-1]["matched"] is True
