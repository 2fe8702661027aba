"""The aiohttp server (Web API, upload URLs, response URLs, Socket Mode) on its own loop thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, ClientSession, web

from .models import JSON
from .responses import handle_response_url
from .socket_mode import SocketHub
from .state import State
from .webapi import WebApi

T = TypeVar("T")


async def read_params(request: web.Request) -> JSON:
    """Query string + form / JSON / multipart body, merged (body wins)."""
    params: JSON = dict(request.query)
    content_type = request.content_type
    if content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = await part.read()
            params[part.name] = data if part.filename else data.decode("utf-8")
        return params
    raw = await request.read()
    if not raw:
        return params
    if content_type == "application/json":
        try:
            body: Any = json.loads(raw)
        except json.JSONDecodeError:
            return params
        if isinstance(body, dict):
            params.update(body)
        return params
    params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    return params


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class EmulatorServer:
    """Owns the event loop thread, the listening socket and an HTTP client session for deliveries."""

    def __init__(self, state: State, webapi: WebApi, hub: SocketHub, host: str = "127.0.0.1") -> None:
        self.state = state
        self.webapi = webapi
        self.hub = hub
        self.host = host
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def session(self) -> ClientSession:
        if self._session is None:
            raise RuntimeError("emulator not started")
        return self._session

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_post("/response/{url_id}", self._response_url)
        app.router.add_get("/socket", self.hub.handle)
        # Lenient: a base_url without the trailing slash makes slack_sdk call "/<method>" (urljoin).
        app.router.add_route("*", r"/{method:[A-Za-z]+\.[A-Za-z.]+}", self._api)
        return app

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        self.state.base_url = self.base_url
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"slack-emulator-{self.port}", daemon=True)
        self._thread.start()
        try:
            self.run(self._startup(sock), timeout=10)
        except BaseException:
            sock.close()
            self.stop()
            raise

    async def _startup(self, sock: socket.socket) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._session = ClientSession()

    def stop(self) -> None:
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            try:
                self.run(self._shutdown(), timeout=10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=10)
        loop.close()
        self.loop = None
        self._thread = None

    async def _shutdown(self) -> None:
        await self.hub.shutdown()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self.loop is None:
            coro.close()
            raise RuntimeError("emulator not started")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.submit(coro).result(timeout)

    # -- handlers -----------------------------------------------------------------------------------

    async def _while_held(self, name: str) -> None:
        """Wait while Slack is held (``SlackEmulator.hold_slack``): the call (``name``: its method, or
        ``response_url``) is answered once it is let go."""
        if not self.state.slack_held:
            return
        with self.state.lock:
            self.state.held_requests += 1
            self.state.held_calls.append(name)
        while self.state.slack_held:
            await asyncio.sleep(0.005)

    async def _api(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        if request.match_info["method"] != "apps.connections.open":  # a Socket Mode (re)connect is never held
            await self._while_held(request.match_info["method"])
        delay = self.state.latency_for(request.match_info["method"])
        if delay > 0:  # a slow Slack (``SlackEmulator.set_latency``); other calls are served meanwhile
            await asyncio.sleep(delay)
        status, body, headers = self.webapi.handle(request.match_info["method"], params, bearer_token(request))
        return web.json_response(body, status=status, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            params = await read_params(request)
            blobs = [v for v in params.values() if isinstance(v, bytes)]
            content = blobs[0] if blobs else b""
        else:
            content = await request.read()
        with self.state.lock:
            record = self.state.files.get(file_id)
            if record is None:
                return web.Response(status=404, text="file not found")
            record.content = content
        return web.Response(status=200, text=f"OK - {len(content)}")

    async def _response_url(self, request: web.Request) -> web.Response:
        raw = await request.read()
        await self._while_held("response_url")
        try:
            body: Any = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            form = dict(parse_qsl(raw.decode("utf-8")))
            body = json.loads(form["payload"]) if "payload" in form else form
        status, answer = handle_response_url(self.state, request.match_info["url_id"], body)
        return web.json_response(answer, status=status)
