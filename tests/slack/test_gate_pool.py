"""The network check's own pool (``handlers.network.NetworkGate``): what it tells people it refused is sent by a
few threads with a bounded queue (``handlers.after_ack.BoundedPool``), as the error handler's messages are. During
an outage (Slack slow, every check failing) a burst of requests never grows threads or memory without bound. A
refused person is told once a minute, and a refusal never takes the last ``REFUSAL_SPARE`` places; a question the
check could not decide on keeps its places before the ack (no other request can take them then), and is not
acknowledged when they do not fit, so Slack delivers it again (review55: the race, one outsider starving members,
the last delivery, the boundary)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError, SlackClientNotConnectedError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot import inbox as inbox_core
from bot.config import Settings
from handlers.after_ack import DROPS_PERIOD, WAITING_MAX, after_ack, not_sent, sent_as
from handlers.app import AckFirstSocketModeHandler
from handlers.network import LAST_RETRY, REFUSAL_SPARE, TOLD_OUTSIDE_TTL, UNCHECKED_KIND, NetworkGate
from handlers.services import Services
from storage.db import Database
from tests.slack.test_network import HOME, NOW, GateClient

WORKERS = 2  # the gate's threads
LIMIT = WAITING_MAX + WORKERS  # places in the gate's pool: running + waiting


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


Run = Callable[..., BoltResponse]


def gate_and_run(clock: Callable[[], float] = lambda: 0.0) -> tuple[NetworkGate, Run]:
    services = Services(settings=Settings(default_language="nl"), db=None, knowledge=None)  # type: ignore[arg-type]
    gate = NetworkGate(services, HOME, clock=clock)

    def run(body: dict[str, Any], client: GateClient, *, acked: bool = True, retry: int = 0) -> BoltResponse:
        headers = {"x-slack-retry-num": str(retry)} if retry else None
        request = BoltRequest(body=body, mode="socket_mode", headers=headers)
        request.context.update(client=client, bot_user_id="UBOT")
        response = gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed"))
        if acked:
            after_ack(response)  # the adapter sent the ack: the message is handed to the gate's pool
        return response

    return gate, run


def click(user: str) -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": user, "team_id": "T0OTHER"}, "actions": []}


def mention(user: str = "U9", event_id: str = "Ev0001") -> dict[str, Any]:
    """A member's question the check cannot decide on (with ``GateClient(error=...)``: Slack cannot say who)."""
    event = {"type": "app_mention", "user": user, "channel": "C1", "ts": "1.2", "text": "<@UBOT> wie weet geheim"}
    return {"type": "event_callback", "event_id": event_id, "event": event}


def told(client: GateClient, user: str) -> int:
    """The messages sent to ``user`` (an ephemeral one, or by DM)."""
    return sum(
        1
        for name, kwargs in client.calls
        if name.startswith("chat.") and user in (kwargs.get("user"), kwargs.get("channel"))
    )


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets the jobs of ``fill`` end, at the latest when the test does (a failed one too)."""
    event = threading.Event()
    yield event
    event.set()


def fill(gate: NetworkGate, release: threading.Event, places: int) -> None:
    """``places`` of the gate's pool taken by jobs waiting on ``release`` (any thread's: a note, a message)."""
    for n in range(places):
        assert gate._pool.submit(lambda: release.wait(60) and None, what=f"job {n}")


def test_a_burst_of_refusals_starts_a_few_threads_keeps_a_bounded_queue_and_logs_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    gate, run = gate_and_run(lambda: now[0])
    client = BlockedClient(team="T0OTHER")
    burst = LIMIT + 40
    with caplog.at_level(logging.WARNING, logger="handlers.after_ack"):
        for n in range(burst):  # people of another organisation clicking, all at once, while Slack hangs
            assert run(click(f"U{n:04d}"), client).status == 200  # acknowledged all the same
        now[0] = DROPS_PERIOD + 1
        run(click("ULATE"), client)  # a minute later: one line counts what was dropped since the first
        client.release.set()
        gate._pool.shutdown()
    sent = [name for name, _ in client.calls if name == "chat.postMessage"]
    assert len(sent) == LIMIT - REFUSAL_SPARE  # the spare places are never a refusal's
    assert len(client.threads) <= WORKERS
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 3  # not one per message
    assert dropped[0].startswith("network-check: too many messages waiting, dropped the network check's message")
    assert dropped[1] == (
        f"network-check: too many messages waiting, {burst - len(sent) - 1} more dropped in the "
        f"{int(DROPS_PERIOD) + 1} s since the first one"
    )


def test_a_question_it_could_not_check_keeps_its_places_before_the_ack(release: threading.Event) -> None:
    """review55 #1: between the gate's answer and the adapter's ack other threads hand the pool jobs; they cannot
    take the places of the question acked, whose message is sent and which is remembered as told."""
    gate, run = gate_and_run()
    fill(gate, release, LIMIT - 2)  # two places left
    client = BlockedClient(error="internal_error")
    client.release.set()
    answer = run(mention(), client, acked=False)
    assert answer.status == 200
    others = [gate._pool.submit(lambda: None, what=f"another thread's job {n}") for n in range(2)]
    assert others == [False, False]  # in the window between the gate's answer and the ack
    after_ack(answer)  # the adapter wrote the ack
    release.set()
    gate._pool.shutdown()
    assert told(client, "U9") == 1  # "could not check, try again" reached the person
    assert gate._told_before("event_id:Ev0001", mention())  # and Slack's redelivery is ignored


@pytest.mark.parametrize("left", [0, 1])
def test_a_question_it_could_not_check_is_not_acked_when_its_places_do_not_fit(
    left: int, release: threading.Event
) -> None:
    """The message and its note need two places: with one left (or none) no ack, so Slack delivers the mention
    again; not remembered as told, so that delivery is checked anew and goes through (review55 #5)."""
    gate, run = gate_and_run()
    fill(gate, release, LIMIT - left)
    assert run(mention(), GateClient(error="internal_error")).status == 500
    assert gate._pool._held == LIMIT - left  # nothing kept
    release.set()
    gate._pool.shutdown()
    assert run(mention(), GateClient(team="T0HOME")).body == "passed"  # Slack's redelivery, Slack answering now


def test_one_outsider_clicking_on_cannot_starve_a_members_question() -> None:
    """review55 #2: a person refused is told once a minute, their other clicks refused without a word; the pool
    stays free for the member whose question the check could not decide on."""
    now = [0.0]
    gate, run = gate_and_run(lambda: now[0])
    slow = BlockedClient(team="T0OTHER")  # Slack slow to take the replies to that person
    for _ in range(WAITING_MAX + 1):
        assert run(click("UEVIL"), slow).status == 200
    member = BlockedClient(error="internal_error")
    assert run(mention(), member).status == 200
    now[0] = TOLD_OUTSIDE_TTL + 1
    run(click("UEVIL"), slow)  # a minute later: told again
    slow.release.set()
    member.release.set()
    gate._pool.shutdown()
    assert told(member, "U9") == 1
    assert [name for name, _ in slow.calls if name.startswith("chat.")] == ["chat.postMessage"] * 2  # by DM


def test_refusals_of_many_outsiders_leave_the_spare_places_to_a_members_question() -> None:
    gate, run = gate_and_run()
    slow = BlockedClient(team="T0OTHER")
    for n in range(LIMIT):
        run(click(f"U{n:04d}"), slow)
    assert gate._pool._held == LIMIT - REFUSAL_SPARE
    member = BlockedClient(error="internal_error")
    assert run(mention(), member).status == 200
    slow.release.set()
    member.release.set()
    gate._pool.shutdown()
    assert told(member, "U9") == 1


def test_slacks_last_delivery_not_acknowledged_is_an_error_with_where_not_what(
    caplog: pytest.LogCaptureFixture, release: threading.Event
) -> None:
    """review55 #3: Slack delivers an event that was not acknowledged three more times; the last one refused the
    ack is lost, logged at ERROR with the channel and ts (not the text) for the operator."""
    gate, run = gate_and_run()
    fill(gate, release, LIMIT)
    with caplog.at_level(logging.WARNING, logger="handlers.network"):
        assert run(mention(), GateClient(error="internal_error"), retry=LAST_RETRY - 1).status == 500
        assert run(mention(), GateClient(error="internal_error"), retry=LAST_RETRY).status == 500
    release.set()
    gate._pool.shutdown()
    acks = [r for r in caplog.records if "not acknowledged" in r.getMessage()]
    assert [r.levelno for r in acks] == [logging.WARNING, logging.ERROR]
    assert "channel=C1 ts=1.2" in acks[1].getMessage() and "lost" in acks[1].getMessage()
    assert all("geheim" not in r.getMessage() for r in caplog.records)


def test_an_ack_the_adapter_could_not_send_gives_its_places_back(release: threading.Event) -> None:
    """The places kept before the ack are given back when the ack never went out (the socket failed): the work
    never starts, and the pool is not left a place short for good."""
    gate, run = gate_and_run()
    answers = [
        run(mention(), GateClient(error="internal_error"), acked=False),
        run(click("UOUT"), GateClient(), acked=False),
    ]
    assert gate._pool._held == 3  # a message and its note, and a refusal's message
    for answer in answers:
        not_sent(sent_as(answer))  # as the Socket Mode adapter does when it cannot write the ack
    assert gate._pool._held == 0
    gate._pool.shutdown()


# --- review57: the messages tab, an ack the adapter could not write, a member's message lost in the outage --------


class HomeClient(GateClient):
    """``GateClient`` that also publishes Home tabs (noted as ``views.publish``)."""

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.publish", kwargs))
        return {"ok": True}


def home_opened(user: str, tab: str, event_id: str) -> dict[str, Any]:
    event = {"type": "app_home_opened", "user": user, "channel": "D0DM", "tab": tab}
    return {"type": "event_callback", "event_id": event_id, "event": event}


def direct_message(user: str, event_id: str, team: str = "T0OTHER") -> dict[str, Any]:
    event = {"type": "message", "channel_type": "im", "user": user, "user_team": team, "channel": "D0DM"}
    return {"type": "event_callback", "event_id": event_id, "event": event | {"ts": "1.2", "text": "hallo, wie weet"}}


def said(client: GateClient) -> list[str]:
    """What the gate sent, in order: a ``message`` (ephemeral or by DM), a ``home`` tab published."""
    return [
        "message" if name.startswith("chat.") else "home"
        for name, _ in client.calls
        if name.startswith("chat.") or name == "views.publish"
    ]


def test_opening_the_messages_tab_leaves_the_outsiders_first_dm_its_answer() -> None:
    """review57 #2: Slack sends ``app_home_opened`` (``tab: messages``) each time someone opens the bot's DM. The
    gate answered it with a Home tab nobody sees, which used up the person's message of the minute: their first DM
    then got no answer. Now only the Home tab is answered, and a Home tab does not use up the message."""
    gate, run = gate_and_run()
    client = HomeClient(team="T0OTHER")
    assert run(home_opened("UOUT", "messages", "Ev1"), client).status == 200
    assert run(direct_message("UOUT", "Ev2"), client).status == 200
    assert run(home_opened("UOUT", "home", "Ev3"), client).status == 200  # the Home tab: its notice
    assert run(direct_message("UOUT", "Ev4"), client).status == 200  # within the minute: without a word
    gate._pool.shutdown()
    assert said(client) == ["message", "home"]


def test_a_refusal_in_a_channel_does_not_leave_the_old_home_tab_in_place() -> None:
    """review57 #2: refused in a channel, then the Home tab opened within the minute: the Home tab still gets the
    notice (a former member's Home would otherwise keep showing the register)."""
    gate, run = gate_and_run()
    client = HomeClient(team="T0OTHER")
    run(click("UOUT"), client)
    run(home_opened("UOUT", "home", "Ev1"), client)
    gate._pool.shutdown()
    assert said(client) == ["message", "home"]


class Connection:
    """Socket Mode's connection, as ``AckFirstSocketModeHandler`` writes the ack to it; ``fail``: replaced meanwhile
    (the ack cannot be written)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail, self.sent = fail, list[SocketModeResponse]()
        self.logger = logging.getLogger(__name__)

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        if self.fail:
            raise SlackClientNotConnectedError("the connection was replaced")
        self.sent.append(response)


@pytest.fixture
def socket_mode() -> Iterator[Callable[[NetworkGate, GateClient], AckFirstSocketModeHandler]]:
    """The real Socket Mode adapter, with a Bolt app whose only middleware is ``gate`` (Slack as ``client``)."""
    handlers: list[AckFirstSocketModeHandler] = []

    def make(gate: NetworkGate, client: GateClient) -> AckFirstSocketModeHandler:
        def authorize(**_kwargs: Any) -> AuthorizeResult:
            return AuthorizeResult(enterprise_id=None, team_id="T0HOME", bot_user_id="UBOT", bot_token="xoxb-x")

        app = App(signing_secret="s", request_verification_enabled=False, authorize=authorize)

        @app.middleware
        def network_gate(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
            req.context["client"] = client  # Slack: users.info and the message to the person
            return gate(req, resp, next)

        handlers.append(AckFirstSocketModeHandler(app, app_token="xapp-x"))
        return handlers[-1]

    yield make
    for handler in handlers:
        handler.close()


def delivered(body: dict[str, Any], attempt: int) -> SocketModeRequest:
    """Slack's delivery ``attempt`` of ``body`` over Socket Mode (0: the first)."""
    return SocketModeRequest(
        type="events_api", envelope_id=f"env{attempt}", payload=body, retry_attempt=attempt, retry_reason=""
    )


def services_on(database: Database | None) -> Services:
    return Services(settings=Settings(default_language="nl"), db=database, knowledge=None, clock=lambda: NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "client"),
    [
        (mention(), GateClient(error="internal_error")),  # a member's question the check could not decide on
        (direct_message("UOUT", "Ev0001"), GateClient(team="T0OTHER")),  # a person outside the network
    ],
    ids=["could-not-check", "outside"],
)
def test_an_ack_the_connection_could_not_take_leaves_slacks_redelivery_its_message(
    body: dict[str, Any],
    client: GateClient,
    socket_mode: Callable[[NetworkGate, GateClient], AckFirstSocketModeHandler],
) -> None:
    """review57 #1: the ack was not written (the connection replaced meanwhile, as happens when Slack has trouble):
    the places kept come back, and the request is not remembered as told, so Slack's redelivery on the new
    connection gets the one message instead of a silent ack."""
    gate = NetworkGate(services_on(None), HOME)
    handler = socket_mode(gate, client)
    with pytest.raises(SlackClientNotConnectedError):
        handler.handle(Connection(fail=True), delivered(body, 0))  # type: ignore[arg-type]
    assert gate._pool._held == 0
    new = Connection()
    handler.handle(new, delivered(body, 1))  # type: ignore[arg-type]
    handler.handle(new, delivered(body, 2))  # type: ignore[arg-type]  # acked and told already: nothing more
    gate._pool.shutdown()
    assert len(new.sent) == 2
    assert len([name for name, _ in client.calls if name.startswith("chat.")]) == 1


def test_a_request_whose_ack_was_not_written_is_not_noted_for_the_other_processes(
    database: Database, socket_mode: Callable[[NetworkGate, GateClient], AckFirstSocketModeHandler]
) -> None:
    """review57 #1: the note that tells the other processes a request was told "could not check" is written only
    once Slack has the ack (on the place kept for it): Slack's redelivery after an ack that was not written reaches
    another process, which tells the person; once told, every process ignores the request."""
    first, second, third = (NetworkGate(services_on(database), HOME, database=database) for _ in range(3))
    unsure = GateClient(error="internal_error")
    with pytest.raises(SlackClientNotConnectedError):
        socket_mode(first, unsure).handle(Connection(fail=True), delivered(mention(), 0))  # type: ignore[arg-type]
    first._pool.shutdown()  # whatever it handed to its pool is done
    assert not inbox_core.delivery_claimed(database, key=f"{UNCHECKED_KIND}:event_id:Ev0001")
    socket_mode(second, unsure).handle(Connection(), delivered(mention(), 1))  # type: ignore[arg-type]
    second._pool.shutdown()
    assert inbox_core.delivery_claimed(database, key=f"{UNCHECKED_KIND}:event_id:Ev0001")
    quiet = GateClient(error="internal_error")
    socket_mode(third, quiet).handle(Connection(), delivered(mention(), 2))  # type: ignore[arg-type]
    third._pool.shutdown()
    assert told(unsure, "U9") == 1 and quiet.calls == []


class Down(BlockedClient):
    """Slack in the same outage for users.info and for the message to the person."""

    def _held(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, kwargs))
        raise SlackApiError("down", {"ok": False, "error": "internal_error"})  # type: ignore[no-untyped-call]


def test_a_members_could_not_check_message_lost_in_the_outage_is_an_error_with_where_not_what(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """review57 #4: users.info fails, the mention is acked (Slack will not deliver it again), then the "could not
    check, try again" message fails too: the question is lost, logged at ERROR with the person, channel and ts (not
    the text) so that an operator can answer it by hand; the "outside the network" wording stays for refusals."""
    gate, run = gate_and_run()
    with caplog.at_level(logging.INFO, logger="handlers.network"):
        assert run(mention(), Down(error="internal_error")).status == 200
        run(click("UOUT"), Down(team="T0OTHER"))
        gate._pool.shutdown()
    lost = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(lost) == 1
    assert "U9" in lost[0].getMessage() and "channel=C1 ts=1.2" in lost[0].getMessage()
    assert "lost" in lost[0].getMessage() and "outside" not in lost[0].getMessage()
    outside = [r for r in caplog.records if r.name == "handlers.network" and "outside the net" in r.getMessage()]
    assert [r.levelno for r in outside] == [logging.INFO]  # the refused click's message
    assert all("geheim" not in r.getMessage() for r in caplog.records)
