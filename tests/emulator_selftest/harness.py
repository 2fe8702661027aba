"""Real Bolt apps wired to the emulator: an HTTP server in a thread, and Socket Mode."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from tests.emulator import SlackEmulator


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_app(emu: SlackEmulator, *, signing_secret: str | None = None) -> App:
    """A Bolt app whose WebClient talks to the emulator."""
    return App(
        signing_secret=signing_secret or emu.signing_secret,
        client=WebClient(base_url=emu.api_url, token=emu.bot_token),
        logger=logging.getLogger("selftest.bolt"),
    )


@contextmanager
def bolt_http(app: App, emu: SlackEmulator) -> Iterator[str]:
    """Serve ``app`` at ``http://127.0.0.1:<free port>/slack/events`` and point the emulator at it."""
    server = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    emu.http_target = url
    try:
        yield url
    finally:
        emu.http_target = None
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def bolt_socket(app: App, emu: SlackEmulator) -> Iterator[SocketModeHandler]:
    """Connect ``app`` over Socket Mode (non-blocking ``connect()``) and wait until the hello."""
    handler = SocketModeHandler(app, emu.app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    try:
        emu.wait_for_socket(timeout=5)
        yield handler
    finally:
        handler.close()  # type: ignore[no-untyped-call]
