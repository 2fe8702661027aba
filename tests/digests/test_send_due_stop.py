"""review56 (on fixrev54a, "Slack unreachable"): what stops a digest pass, and what a stopped pass decides.

1. Only a post that cannot have reached Slack stops the pass (no connection: refused, DNS, TLS handshake, which
   urllib raises as ``URLError``); a post whose connection was closed or reset after it was sent may have been
   posted: its run keeps its claim, it is never posted again by the next pass.
2. A stopped pass does not decide a refusal it held on one sample: the held run stays claimed for the next pass.
3. From cron (a new process each run), one source channel whose look-up never answers in time does not stop every
   pass: a call without an answer stops the pass only when a second, different call also met none.
4. A source channel refused in the collection the pass stopped in is told to staff that week (asked again).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.error
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import load_settings
from digests.errors import ServiceUnreachableError
from digests.schedule import STALE_AFTER
from handlers.app import create_web_client
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster
from handlers.digest_sources import SlackReach
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW
from tests.digests.test_operator_refusals import notices
from tests.digests.test_send_due_reach import client_for, no_connection, posted, runs, script_posts
from tests.digests.test_source_lookup import DIGESTS, PUBLIC_SOURCES, seed_week
from tests.emulator import SlackEmulator
from tests.test_cli_operator import closed_port

INFO = "conversations.info"
POST = "chat.postMessage"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    for channel in (*DIGESTS, *PUBLIC_SOURCES):
        emu.add_channel(channel, name=channel.lower())
    yield emu
    emu.stop()


CLOSED: dict[str, Callable[[], OSError]] = {
    "remote_disconnected": lambda: http.client.RemoteDisconnected("Remote end closed connection without response"),
    "reset": lambda: ConnectionResetError(104, "Connection reset by peer"),
    "broken_pipe": lambda: BrokenPipeError(32, "Broken pipe"),
}


@pytest.mark.parametrize("closed", list(CLOSED))
def test_a_post_whose_connection_closed_after_slack_took_it_is_posted_once(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch, closed: str
) -> None:
    """Slack posted the first channel's digest, then the connection was closed or reset before its answer (what
    urllib raises unwrapped from reading the answer): four passes 30 s apart post it once, and the others too."""
    seed_week(database)
    first = DIGESTS[0]
    original = WebClient.chat_postMessage

    def post(self: WebClient, **kw: Any) -> Any:
        response = original(self, **kw)
        if kw.get("channel") == first:
            raise CLOSED[closed]()
        return response

    monkeypatch.setattr(WebClient, "chat_postMessage", post)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    for step in range(4):
        with contextlib.suppress(ServiceUnreachableError):
            poster(NOW + timedelta(seconds=30 * step), "w1")
    assert posted(emulator) == dict.fromkeys(DIGESTS, 1)
    assert runs(database)[first] is DigestRunStatus.CLAIMED  # kept claimed until stale, not given up


@contextlib.contextmanager
def closing_server(*, reset: bool) -> Iterator[tuple[str, list[bytes]]]:
    """A real HTTP server that reads each request whole, then closes the connection without answering (``reset``:
    with an RST). Yields its API URL and the request lines it received."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed: done
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
                while len(body) < length:
                    body += conn.recv(65536)
                received.append(lines[0])
                if reset:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/api/", received
    finally:
        server.close()


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_real_connection_closed_after_the_post_was_read_does_not_stop_the_pass(reset: bool) -> None:
    """Not a mock: the project's own client against a server that reads ``chat.postMessage`` whole, then closes (or
    resets) the connection. The post may have been posted: the error goes on as the channel's own, the pass is not
    stopped, and the post was sent once (not retried)."""
    with closing_server(reset=reset) as (url, received):
        client = create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url}))
        reach = SlackReach(client)
        with pytest.raises(OSError) as raised, reach.call(POST, "C0DIGEST1", write=True):
            client.chat_postMessage(channel="C0DIGEST1", text="digest")
    assert not isinstance(raised.value, urllib.error.URLError)  # urllib does not wrap what reading the answer raises
    assert received == [b"POST /api/chat.postMessage HTTP/1.1"]


def test_a_post_that_could_not_connect_stops_the_pass() -> None:
    """Nothing listening (a real refused connection, urllib's ``URLError``): nothing reached Slack, the pass stops."""
    url = f"http://127.0.0.1:{closed_port()}/api/"
    client = create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url}))
    with pytest.raises(ServiceUnreachableError), SlackReach(client).call(POST, "C0DIGEST1", write=True):
        client.chat_postMessage(channel="C0DIGEST1", text="digest")


@pytest.mark.parametrize(
    "reason",
    [socket.gaierror(-2, "Name or service not known"), ConnectionRefusedError(111, "Connection refused")],
    ids=["dns", "refused"],
)
def test_a_post_whose_connection_failed_stops_the_pass(reason: OSError) -> None:
    reach = SlackReach(WebClient(token="xoxb-digest-test"))
    with pytest.raises(ServiceUnreachableError), reach.call(POST, "C0DIGEST1", write=True):
        raise urllib.error.URLError(reason)


def test_a_refusal_held_when_the_pass_stopped_is_not_failed_for_the_week(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass's first post is refused (``no_permission``, nothing out yet: held until the pass knows whose it is),
    then the next finds no connection: the stopped pass did not learn whose refusal it was, so it fails nothing for
    the week and tells nobody; the held run stays claimed, and is tried again once stale (Slack back: it goes out)."""
    seed_week(database)
    order = script_posts(monkeypatch, emulator, refused_at=1, unreachable_at=2)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    with pytest.raises(ServiceUnreachableError):
        poster(NOW, "w1")
    assert runs(database)[order[0]] is DigestRunStatus.CLAIMED
    assert notices(database) == []
    poster(NOW + timedelta(seconds=30), "w1")  # the others go out; the held run is the next pass's once stale
    assert posted(emulator) == {c: 0 if c == order[0] else 1 for c in DIGESTS}
    poster(NOW + STALE_AFTER + timedelta(minutes=1), "w1")
    assert posted(emulator) == dict.fromkeys(DIGESTS, 1) and notices(database) == []


def test_cron_one_source_look_up_timing_out_does_not_hold_up_every_digest(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four cron runs, each a new process (a new poster and directory): one source channel's look-up never answers
    in time, and it is the pass's first call. No run stops; every digest goes out once."""
    seed_week(database)
    original = WebClient.conversations_info

    def info(self: WebClient, **kw: Any) -> Any:
        if kw.get("channel") == PUBLIC_SOURCES[0]:
            raise TimeoutError("The read operation timed out")
        return original(self, **kw)

    monkeypatch.setattr(WebClient, "conversations_info", info)
    stops = 0
    for step in range(4):
        poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
        try:
            poster(NOW + timedelta(minutes=5 * step), "cron")
        except ServiceUnreachableError:
            stops += 1
    assert (stops, posted(emulator)) == (0, dict.fromkeys(DIGESTS, 1))


def test_two_different_calls_without_an_answer_stop_the_pass(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack gone from the start (every look-up times out): the pass stops at the second call, nothing claimed."""
    seed_week(database)
    asked: list[str] = []

    def info(self: WebClient, **kw: Any) -> Any:
        asked.append(kw["channel"])
        raise TimeoutError("The read operation timed out")

    monkeypatch.setattr(WebClient, "conversations_info", info)
    with pytest.raises(ServiceUnreachableError) as stopped:
        due_digests_poster(database, client_for(emulator), ChannelDirectory())(NOW, "w1")
    assert len(asked) == 2 and len(set(asked)) == 2 and stopped.value.results == []
    assert runs(database) == {}


def test_a_source_refusal_met_in_the_collection_the_pass_stopped_in_is_told(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source channel is refused (``no_permission``), then another's look-up finds no connection: the pass stops
    in its collection, before it knew the refused channel was quoted. The next pass (same process, Slack back)
    asks it again and tells staff, once."""
    seed_week(database)
    emulator.fail_next(INFO, error="no_permission", channel=PUBLIC_SOURCES[0], times=100)
    original = WebClient.conversations_info
    calls: list[str] = []

    def info(self: WebClient, **kw: Any) -> Any:
        calls.append(kw["channel"])
        if kw.get("channel") == PUBLIC_SOURCES[1] and calls.count(PUBLIC_SOURCES[1]) == 1:
            raise no_connection()
        return original(self, **kw)

    monkeypatch.setattr(WebClient, "conversations_info", info)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    with pytest.raises(ServiceUnreachableError):
        poster(NOW, "w1")
    assert calls.index(PUBLIC_SOURCES[0]) < calls.index(PUBLIC_SOURCES[1])  # refused, then the stop
    poster(NOW + timedelta(seconds=30), "w1")
    assert posted(emulator) == dict.fromkeys(DIGESTS, 1)
    told = [n for n in notices(database) if n.source]
    assert [n.channel_id for n in told] == [PUBLIC_SOURCES[0]]
    poster(NOW + timedelta(seconds=60), "w1")  # remembered once told: not asked again this week
    assert calls.count(PUBLIC_SOURCES[0]) == 2
