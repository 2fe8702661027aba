"""Delivering payloads to the bot over HTTP or Socket Mode, with Slack's ack timeout and retries."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from .models import JSON, Attempt, Delivery, DeliveryKind
from .server import EmulatorServer
from .signing import encode_body, signed_headers
from .socket_mode import SocketHub
from .state import State

logger = logging.getLogger(__name__)
AckHandler = Callable[[JSON | None], None]


def parse_ack_body(text: str) -> JSON | None:
    """Bolt answers ``""``, plain text or JSON; Slack reads text as ``{"text": ...}``."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.startswith("{"):
        try:
            body = json.loads(stripped)
        except json.JSONDecodeError:
            return {"text": text}
        return body if isinstance(body, dict) else None
    return {"text": text}


class Deliverer:
    def __init__(self, state: State, server: EmulatorServer, hub: SocketHub) -> None:
        self.state = state
        self.server = server
        self.hub = hub
        self.http_target: str | None = None
        # Called (in the emulator's loop) the moment an attempt's ack arrives, before anything else happens; what it
        # returns is kept as ``Attempt.at_ack``. Tests use it to see what the bot had done by the time it acked.
        self.ack_probe: Callable[[Delivery], Any] | None = None

    def deliver(
        self,
        kind: DeliveryKind,
        payload: JSON,
        *,
        retry_num: int = 0,
        retry_reason: str | None = None,
        event_id: str | None = None,
        on_ack: AckHandler | None = None,
        wait: bool = True,
    ) -> Delivery:
        """Send ``payload`` to the bot; with ``wait`` block until it is acked or all attempts failed."""
        delivery = Delivery(
            kind=kind, mode="http" if self.http_target else "socket", payload=payload, event_id=event_id
        )
        self.state.record_delivery(delivery)
        self.server.submit(self._run(delivery, retry_num, retry_reason, on_ack))
        if wait:
            delivery.wait(self._budget(kind))
        return delivery

    def _budget(self, kind: DeliveryKind) -> float:
        config = self.state.config
        tries = 1 + (config.max_retries if self._retries_allowed(kind) else 0)
        return tries * (config.ack_timeout + config.socket_wait) + sum(config.retry_delays) + 10.0

    def _retries_allowed(self, kind: DeliveryKind) -> bool:
        return kind == "events_api" or self.state.config.retry_interactive

    async def _run(
        self, delivery: Delivery, retry_num: int, retry_reason: str | None, on_ack: AckHandler | None
    ) -> None:
        config = self.state.config
        try:
            max_retries = config.max_retries if self._retries_allowed(delivery.kind) else 0
            reason = retry_reason or ("http_timeout" if delivery.mode == "http" else "timeout")
            for index in range(max_retries + 1):
                if index > 0:
                    delays = config.retry_delays
                    await asyncio.sleep(delays[min(index - 1, len(delays) - 1)] if delays else 0.0)
                attempt = Attempt(
                    retry_num=retry_num + index,
                    started=time.monotonic(),
                    retry_reason=reason if retry_num + index > 0 else None,
                )
                delivery.attempts.append(attempt)
                if delivery.mode == "http":
                    await self._http_attempt(delivery, attempt)
                else:
                    await self.hub.deliver(
                        delivery.kind,
                        delivery.payload,
                        attempt,
                        ack_timeout=config.ack_timeout,
                        wait=config.socket_wait,
                    )
                if attempt.acked:
                    attempt.slack_held_at_ack = self.state.slack_held
                    if self.ack_probe is not None:
                        attempt.at_ack = self.ack_probe(delivery)
                    if on_ack is not None:
                        on_ack(attempt.body)
                    return
                reason = self._next_reason(delivery, attempt)
        except Exception:
            logger.exception("slack emulator: delivery failed")
        finally:
            delivery.done.set()

    @staticmethod
    def _next_reason(delivery: Delivery, attempt: Attempt) -> str:
        if delivery.mode == "socket":
            return "timeout"
        if attempt.timed_out:
            return "http_timeout"
        if attempt.error is not None:
            return "connection_failed"
        return "http_error"

    async def _http_attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        target = self.http_target
        if target is None:
            attempt.error = "no_http_target"
            return
        body, content_type = encode_body(delivery.kind, delivery.payload)
        headers = signed_headers(
            self.state.signing_secret,
            body,
            content_type,
            retry_num=attempt.retry_num,
            retry_reason=attempt.retry_reason,
        )
        started = time.monotonic()
        attempt.started = started
        task = asyncio.ensure_future(self._post(target, body, headers))

        def record(done: asyncio.Future[tuple[int, str]]) -> None:
            if done.cancelled():
                attempt.error = attempt.error or "cancelled"
                return
            error = done.exception()
            if error is not None:
                attempt.error = f"connection_failed: {type(error).__name__}: {error}"
                return
            status, text = done.result()
            attempt.latency = time.monotonic() - started
            attempt.status = status
            attempt.raw_body = text
            attempt.body = parse_ack_body(text)

        task.add_done_callback(record)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.state.config.ack_timeout)
        except TimeoutError:
            attempt.timed_out = True
        except (aiohttp.ClientError, OSError):
            pass  # recorded by the callback

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        timeout = aiohttp.ClientTimeout(total=self.state.config.late_response_timeout)
        async with self.server.session.post(url, data=body, headers=headers, timeout=timeout) as response:
            return response.status, await response.text()
