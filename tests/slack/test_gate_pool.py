"""The network check's own pool (``handlers.network.NetworkGate``): what it tells people it refused is sent by a
few threads with a bounded queue (``handlers.after_ack.BoundedPool``), as the error handler's messages are. During
an outage (Slack slow, every check failing) a burst of requests never grows threads or memory without bound: beyond
the queue a refusal's message is dropped with one WARNING line; a question the check could not decide on is not
acknowledged then, so Slack delivers it again and nothing the person asked is lost without a word."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from slack_bolt import BoltRequest, BoltResponse

from bot.config import Settings
from handlers.after_ack import WAITING_MAX, after_ack
from handlers.network import NetworkGate
from handlers.services import Services
from tests.slack.test_network import HOME, GateClient

WORKERS = 2  # the gate's threads


class BlockedClient(GateClient):
    """Slack holding every message the gate sends until ``release`` is set; notes which threads sent them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = threading.Event()
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        return self._held("chat.postEphemeral", kwargs)

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return self._held("chat.postMessage", kwargs)

    def _held(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        assert self.release.wait(60), "never released"
        with self.lock:
            self.threads.add(threading.current_thread().name)
            self.calls.append((name, kwargs))
        return {"ok": True}


def gate_and_run() -> tuple[NetworkGate, Any]:
    services = Services(settings=Settings(default_language="nl"), db=None, knowledge=None)  # type: ignore[arg-type]
    gate = NetworkGate(services, HOME)

    def run(body: dict[str, Any], client: GateClient) -> BoltResponse:
        request = BoltRequest(body=body, mode="socket_mode")
        request.context.update(client=client, bot_user_id="UBOT")
        response = gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed"))
        after_ack(response)  # the adapter sent the ack: the message is handed to the gate's pool
        return response

    return gate, run


def test_a_burst_of_refusals_starts_a_few_threads_and_keeps_a_bounded_queue(caplog: pytest.LogCaptureFixture) -> None:
    gate, run = gate_and_run()
    client = BlockedClient(team="T0OTHER")
    burst = WAITING_MAX + WORKERS + 40
    with caplog.at_level(logging.WARNING, logger="handlers.after_ack"):
        for n in range(burst):  # people of another organisation clicking, all at once, while Slack hangs
            click = {"type": "block_actions", "user": {"id": f"U{n:04d}", "team_id": "T0OTHER"}, "actions": []}
            assert run(click, client).status == 200  # acknowledged all the same
        client.release.set()
        gate._pool.shutdown()
    told = [name for name, _ in client.calls if name == "chat.postMessage"]
    assert len(told) == WAITING_MAX + WORKERS  # what waited was sent; the rest was not kept in memory
    assert len(client.threads) <= WORKERS
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == burst - len(told)  # one line each


def test_a_question_it_could_not_check_is_not_acked_when_its_message_cannot_be_queued() -> None:
    """The person's mention, not decided (Slack could not say who they are) while the queue is full: no ack, so
    Slack delivers it again; not remembered as told, so that delivery is checked anew and goes through."""
    gate, run = gate_and_run()
    client = BlockedClient(team="T0OTHER")
    for n in range(WAITING_MAX + WORKERS):  # the queue filled by refusals
        run({"type": "block_actions", "user": {"id": f"U{n:04d}", "team_id": "T0OTHER"}, "actions": []}, client)
    mention = {
        "type": "event_callback",
        "event_id": "Ev0001",
        "event": {"type": "app_mention", "user": "U9", "channel": "C1", "ts": "1.2", "text": "<@UBOT> wie weet"},
    }
    assert run(mention, GateClient(error="internal_error")).status != 200
    client.release.set()
    gate._pool.shutdown()
    assert run(mention, GateClient(team="T0HOME")).body == "passed"  # Slack's redelivery, Slack answering now
