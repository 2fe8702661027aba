"""The Socket Mode side: ``/socket`` websockets, envelopes out, acks in.

Runs entirely on the server's event loop; the counters read by tests are guarded by a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .models import JSON, Attempt
from .state import State


@dataclass
class SocketConnection:
    number: int
    ws: web.WebSocketResponse
    opened: float = field(default_factory=time.time)
    disconnect_sent: bool = False


class SocketHub:
    """Holds the bot's Socket Mode connections and matches acks to envelopes."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._connections: list[SocketConnection] = []
        self._total = 0
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._changed: asyncio.Condition | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.acks: list[JSON] = []
        """Every ack message received (``{"envelope_id", "payload"?, "time", "matched"}``)."""

    # -- read from any thread ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        with self._lock:
            return any(not c.ws.closed for c in self._connections)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self._connections if not c.ws.closed)

    def ack_log(self) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self.acks)

    @property
    def total_connections(self) -> int:
        """How many connections have said hello so far (a reconnect adds one)."""
        with self._lock:
            return self._total

    # -- loop side --------------------------------------------------------------------------------

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        condition = self._condition()
        async with condition:
            condition.notify_all()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self.state.lock:
            valid = ticket in self.state.socket_tickets
            self.state.socket_tickets.discard(ticket)
        if not valid:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, timeout=1.0)
        await ws.prepare(request)
        with self._lock:
            self._total += 1
            connection = SocketConnection(number=self._total, ws=ws)
            self._connections.append(connection)
            open_count = sum(1 for c in self._connections if not c.ws.closed)
        hello = {
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": "applink-emulator", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.state.app_id},
        }
        await ws.send_str(json.dumps(hello))
        await self._notify()
        pinger = asyncio.get_running_loop().create_task(self._ping(ws))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(str(message.data))
        finally:
            pinger.cancel()
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            await self._notify()
        return ws

    async def _ping(self, ws: web.WebSocketResponse) -> None:
        interval = self.state.config.server_ping_interval
        if not interval:
            return
        while not ws.closed:
            await asyncio.sleep(interval)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.ping(f"emulator:{time.time()}".encode())

    def _on_text(self, text: str) -> None:
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError:
            return
        if not isinstance(data, dict) or "envelope_id" not in data:
            return
        envelope_id = str(data["envelope_id"])
        future = self._pending.get(envelope_id)
        matched = future is not None and not future.done()
        with self._lock:
            self.acks.append({**data, "time": time.time(), "matched": matched})
        if future is not None and not future.done():
            future.set_result(data)

    async def _pick_connection(self, wait: float) -> SocketConnection | None:
        """The newest live connection that was not asked to disconnect; waits up to ``wait`` s for one."""
        condition = self._condition()
        deadline = time.monotonic() + wait

        def pick() -> SocketConnection | None:
            with self._lock:
                live = [c for c in self._connections if not c.ws.closed and not c.disconnect_sent]
            return live[-1] if live else None

        async with condition:
            while (chosen := pick()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(condition.wait(), remaining)
            return chosen

    async def deliver(self, kind: str, payload: JSON, attempt: Attempt, *, ack_timeout: float, wait: float) -> None:
        """Push one envelope and fill ``attempt`` with the ack (or the timeout / missing connection)."""
        connection = await self._pick_connection(wait)
        if connection is None:
            attempt.error = "no_socket_connection"
            return
        envelope_id = str(uuid.uuid4())
        attempt.envelope_id = envelope_id
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind == "slash_commands"
            or payload.get("type") in ("view_submission", "block_suggestion"),
        }
        if kind == "events_api":
            envelope["retry_attempt"] = attempt.retry_num
            envelope["retry_reason"] = attempt.retry_reason or ""
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        started = time.monotonic()
        attempt.started = started
        try:
            await connection.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError) as exc:
            attempt.error = f"send_failed: {exc}"
            self._pending.pop(envelope_id, None)
            return

        def record(done: asyncio.Future[JSON]) -> None:
            self._pending.pop(envelope_id, None)
            if done.cancelled():
                return
            ack = done.result()
            attempt.latency = time.monotonic() - started
            attempt.status = 200
            body = ack.get("payload")
            attempt.body = body if isinstance(body, dict) else None
            attempt.raw_body = json.dumps(ack)

        future.add_done_callback(record)
        try:
            await asyncio.wait_for(asyncio.shield(future), ack_timeout)
        except TimeoutError:
            attempt.timed_out = True
            self._expire_later(future)

    def _expire_later(self, future: asyncio.Future[JSON], after: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(after, lambda: future.cancel() if not future.done() else None)

    async def disconnect(self, reason: str, grace: float) -> int:
        """Send ``{"type": "disconnect"}`` to every live connection and close them after ``grace`` s."""
        with self._lock:
            targets = [c for c in self._connections if not c.ws.closed and not c.disconnect_sent]
            for connection in targets:
                connection.disconnect_sent = True
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}})
        for connection in targets:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.send_str(message)
        task = asyncio.get_running_loop().create_task(self._close_later(targets, grace))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return len(targets)

    async def _close_later(self, targets: list[SocketConnection], grace: float) -> None:
        await asyncio.sleep(grace)
        for connection in targets:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.close(message=b"refresh")

    async def drop(self) -> int:
        """Close every connection from the server side without warning (a network blip)."""
        with self._lock:
            targets = [c for c in self._connections if not c.ws.closed]
        for connection in targets:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.close(code=1001, message=b"going away")
        return len(targets)

    async def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        with self._lock:
            targets = list(self._connections)
        for connection in targets:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.close(code=1001, message=b"server shutdown")
