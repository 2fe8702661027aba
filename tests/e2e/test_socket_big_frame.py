"""Socket Mode with a big envelope: a frame of about 1 MB or more is read, handled and acknowledged once, on the
same connection. slack_sdk's built-in client reads a frame one ``receive_buffer_size`` chunk per recursive call;
with its default (1024 bytes) such a frame raised RecursionError, was never acked and the connection was rebuilt."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess
from tests.emulator import SlackEmulator


def _send_raw(emu: SlackEmulator, frame: str) -> None:
    """Write ``frame`` as it is to the bot's Socket Mode connection (not through the emulator's own delivery)."""
    hub, server = emu._hub, emu._server

    async def send() -> None:
        for conn in list(hub._connections):
            if not conn.ws.closed:
                await conn.ws.send_str(frame)

    assert server.loop is not None
    asyncio.run_coroutine_threadsafe(send(), server.loop).result(30)


def test_an_envelope_over_a_megabyte_is_acked_once_without_a_reconnect(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    bot = BotProcess(emulator, database_url=demo_db_url, mode="socket", log_path=tmp_path / "bot.log").start()
    try:
        emulator.wait_for_socket()
        view = {"type": "home", "blocks": [], "private_metadata": "y" * (1100 * 1024)}
        event = {"type": "app_home_opened", "user": NL_USER, "channel": "D0X", "tab": "home", "view": view}
        envelope = {
            "type": "events_api",
            "envelope_id": "big-1100",
            "accepts_response_payload": False,
            "payload": {"type": "event_callback", "event_id": "EvBIG1100", "event": event},
        }
        _send_raw(emulator, json.dumps(envelope))
        emulator.wait_for(
            lambda: [a for a in emulator.socket_acks if a["envelope_id"] == "big-1100"],
            timeout=15,
            message="the big envelope was not acked",
        )
        emulator.open_home(NL_USER)  # a later event on the same connection is answered too
        assert [a["envelope_id"] for a in emulator.socket_acks].count("big-1100") == 1
        assert emulator.socket_connections_total == 1
        log = bot.log()
        assert "RecursionError" not in log and "Received CLOSE" not in log
    finally:
        bot.stop()
