"""The HTTP edge through the real server (issue 11, findings 1-3): ``wieweet -v run --http`` as a process (waitress),
against the Slack emulator, fed hostile requests byte for byte over sockets.

For every unverified or malformed request: a 4xx, no Web API call seen by the emulator, no POST on the canary the
forged response_url points at, and nothing of the body — nor a traceback — in the bot's log (it runs with ``-v``).
Waits are generous and nothing asserts a speed: the box running this may be busy.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import SIGNING_SECRET, BotProcess
from tests.edge.hostile import (
    BODY_CASES,
    CHANNEL,
    FORM_TYPE,
    HEADER_CASES,
    JSON_TYPE,
    MARKER,
    USER,
    Canary,
    Reply,
    forged_bodies,
    idle_connections,
    raw_request,
    signed,
    start_emulator,
)
from tests.emulator import SlackEmulator

IDLE_TIMEOUT = 5  # WIEWEET_HTTP_TIMEOUT for the module's bot: idle connections are closed after this


class Bot:
    """The module's bot process with bookmarks into its log and the emulator's call log."""

    def __init__(self, process: BotProcess, emulator: SlackEmulator, canary: Canary) -> None:
        self.process = process
        self.emulator = emulator
        self.canary = canary
        self.log_mark = 0
        self.call_mark = 0

    @property
    def port(self) -> int:
        return self.process.port

    def bookmark(self) -> None:
        self.log_mark = len(self.process.log())
        self.call_mark = self.emulator.call_count
        self.canary.hits.clear()

    def settle(self, quiet: float = 1.0, limit: float = 30.0) -> None:
        """Wait until the work a signed request started is over (no new Web API call for ``quiet`` seconds), so
        that it cannot show up in the next test's bookmarks."""
        deadline, count, since = time.monotonic() + limit, -1, time.monotonic()
        while time.monotonic() < deadline:
            current = self.emulator.call_count
            if current != count:
                count, since = current, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)

    def new_log(self) -> str:
        return self.process.log()[self.log_mark :]

    def new_calls(self) -> list[str]:
        # auth.test may come from /healthz's background refresh (once a minute at most): not caused by a request
        return [c.method for c in self.emulator.calls[self.call_mark :] if c.method != "auth.test"]

    def assert_untouched(self, reply: Reply) -> None:
        """Nothing acted on the request (checked first: these are the harm), then nothing logged, then a 4xx."""
        assert self.canary.hits == [], "the forged response_url was posted to"
        assert self.new_calls() == [], self.emulator.dump()
        log = self.new_log()
        assert MARKER not in log, "the request's body was logged"
        assert "Traceback" not in log, log
        assert 400 <= reply.status < 500, reply


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary().start()
    yield server
    server.stop()


def start_bot(canary: Canary, demo_template: Path, directory: Path, **env: str) -> Bot:
    """A fresh emulator workspace and ``wieweet -v run --http`` on a copy of the demo register (no job passes)."""
    emulator = start_emulator()
    shutil.copy(demo_template, directory / "wieweet.db")
    process = BotProcess(
        emulator,
        database_url=f"sqlite:///{directory / 'wieweet.db'}",
        mode="http",
        log_path=directory / "bot.log",
        extra_env={"WIEWEET_JOB_INTERVAL": "3600", **env},
    )
    try:
        process.start(timeout=60)
    except BaseException:
        process.kill()
        emulator.stop()
        raise
    return Bot(process, emulator, canary)


def stop_bot(bot: Bot) -> None:
    bot.process.stop()
    bot.emulator.stop()


@pytest.fixture(scope="module")
def bot(canary: Canary, demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    started = start_bot(
        canary, demo_template, tmp_path_factory.mktemp("edge-server"), WIEWEET_HTTP_TIMEOUT=str(IDLE_TIMEOUT)
    )
    yield started
    stop_bot(started)


@pytest.fixture
def server(bot: Bot) -> Bot:
    bot.bookmark()
    return bot


def get(bot: Bot, path: str, timeout: float = 60.0) -> Reply:
    try:
        with urllib.request.urlopen(f"{bot.process.url}{path}", timeout=timeout) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), dict(error.headers))


# -- finding 1 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["command", "action", "event"])
@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_a_forged_request_does_nothing_whatever_its_headers(case: str, kind: str, server: Bot) -> None:
    content_type, body = forged_bodies(server.canary.url)[kind]
    headers = [("Content-Type", content_type), *HEADER_CASES[case](SIGNING_SECRET, body)]
    reply = raw_request(server.port, "POST", "/slack/events", headers, body)
    server.assert_untouched(reply)
    assert "reason=bad_signature" in server.new_log() or reply.status == 400  # 400: waitress refused the header


def test_a_signed_request_is_still_served(server: Bot) -> None:
    """The control: the same server acts on what Slack really sends."""
    delivery = server.emulator.send_url_verification("still-here")
    assert delivery.acked and delivery.status == 200
    delivery = server.emulator.send_command(USER, CHANNEL, "/wieweet", "help")
    assert delivery.acked and delivery.status == 200
    server.emulator.wait_for(lambda: server.emulator.ephemerals(user=USER), timeout=60)
    server.settle()


# -- finding 2 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_a_malformed_body_gets_a_4xx_and_leaves_no_trace(case: str, is_signed: bool, server: Bot) -> None:
    content_type, body, status = BODY_CASES[case]
    body += MARKER.encode() if not is_signed else b""
    headers = signed(SIGNING_SECRET, body, content_type)[1:] if is_signed else []
    if content_type:
        headers.insert(0, ("Content-Type", content_type))
    reply = raw_request(server.port, "POST", "/slack/events", headers, body)
    server.assert_untouched(reply)
    if is_signed:
        assert reply.status == status


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/slack/events", 405),
        ("PUT", "/slack/events", 405),
        ("DELETE", "/slack/events", 405),
        ("POST", "/healthz", 405),
        ("GET", "/", 404),
        ("GET", "/admin", 404),
        ("POST", "/slack/events/x", 404),
        ("POST", "/slack/events%0aforged", 404),
    ],
)
def test_wrong_method_or_path(method: str, path: str, status: int, server: Bot) -> None:
    _, body = forged_bodies(server.canary.url)["command"]
    reply = raw_request(server.port, method, path, [("Content-Type", FORM_TYPE)], body)
    assert reply.status == status
    server.assert_untouched(reply)
    assert "\nforged" not in server.new_log()


@pytest.mark.parametrize(
    ("length", "status"),
    [("abc", 400), ("-5", 400), ("1, 2", 400), ("", 400)],
)
def test_a_malformed_content_length_is_400(length: str, status: int, server: Bot) -> None:
    headers = [("Content-Type", JSON_TYPE), ("Content-Length", length)]
    reply = raw_request(server.port, "POST", "/slack/events", headers, b"{}", content_length=False)
    assert reply.status == status
    server.assert_untouched(reply)


def test_a_post_without_a_length_is_411(server: Bot) -> None:
    content_type = JSON_TYPE
    headers = [("Content-Type", content_type), *signed(SIGNING_SECRET, b"", content_type)[1:]]
    reply = raw_request(server.port, "POST", "/slack/events", headers, b"", content_length=False)
    assert reply.status == 411
    server.assert_untouched(reply)


def peak_memory_kib(bot: Bot) -> int:
    assert bot.process.process is not None
    status = Path(f"/proc/{bot.process.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


@pytest.mark.parametrize("how", ["declared", "declared_unsent", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413_unread(how: str, server: Bot) -> None:
    before = peak_memory_kib(server)
    size = 48 * 1024 * 1024 if how != "chunked" else 1024 * 1024 + 64 * 1024
    body = (b'{"type": "event_callback", "text": "' + MARKER.encode() + b" " * size) + b'"}'
    headers = [("Content-Type", JSON_TYPE), *signed(SIGNING_SECRET, body, JSON_TYPE)[1:]]
    if how == "declared_unsent":
        headers.append(("Content-Length", str(len(body))))
        reply = raw_request(server.port, "POST", "/slack/events", headers, b"", content_length=False)
    else:
        reply = raw_request(server.port, "POST", "/slack/events", headers, body, chunked=how == "chunked")
    assert reply.status == 413
    server.assert_untouched(reply)
    # Refused before it was read into memory: the bot's peak memory did not grow by anything like 48 MiB.
    assert peak_memory_kib(server) - before < 16 * 1024


def test_a_small_chunked_body_is_judged_like_any_other(server: Bot) -> None:
    content_type, body = forged_bodies(server.canary.url)["command"]
    reply = raw_request(server.port, "POST", "/slack/events", [("Content-Type", content_type)], body, chunked=True)
    assert reply.status == 401
    server.assert_untouched(reply)
    challenge = b'{"type": "url_verification", "challenge": "chunky", "token": "t"}'
    reply = raw_request(
        server.port, "POST", "/slack/events", signed(SIGNING_SECRET, challenge, JSON_TYPE), challenge, chunked=True
    )
    assert reply.status == 200 and b"chunky" in reply.body


# -- finding 3 -------------------------------------------------------------------------------------------------


def test_idle_connections_do_not_starve_the_server(server: Bot) -> None:
    with idle_connections(server.port, 150) as sockets:
        health = get(server, "/healthz", timeout=60)
        assert health.status == 200, health
        delivery = server.emulator.send_url_verification("behind-the-idle-ones")
        assert delivery.acked and delivery.status == 200
        before = len(server.emulator.ephemerals(user=USER))
        delivery = server.emulator.send_command(USER, CHANNEL, "/wieweet", "help")
        assert delivery.acked and delivery.status == 200
        server.emulator.wait_for(lambda: len(server.emulator.ephemerals(user=USER)) > before, timeout=60)
        # and the idle ones are closed once they have been silent for WIEWEET_HTTP_TIMEOUT
        deadline = time.monotonic() + 120
        for sock in sockets:
            sock.settimeout(max(1.0, deadline - time.monotonic()))
            try:
                data = sock.recv(1024)
            except ConnectionResetError:
                data = b""
            except TimeoutError:
                pytest.fail("an idle connection was never closed")
            assert data == b""
    assert "Traceback" not in server.new_log()
    server.settle()


def test_healthz_makes_no_web_api_call(server: Bot) -> None:
    mark = server.emulator.call_count
    for _ in range(30):
        reply = get(server, "/healthz")
        assert reply.status == 200
        assert json.loads(reply.body) == {"ok": True, "database": "ok", "slack": "ok"}
    head = urllib.request.Request(f"{server.process.url}/healthz", method="HEAD")
    with urllib.request.urlopen(head, timeout=60) as response:
        assert response.status == 200 and response.read() == b""
    assert server.emulator.calls[mark:] == []


def test_healthz_reports_slack_from_a_background_check(canary: Canary, demo_template: Path, tmp_path: Path) -> None:
    """Slack's state comes from an ``auth.test`` made in the background once it is older than a minute (the bot's
    clock is moved forward through WIEWEET_FAKE_NOW_FILE); the probe itself never waits for Slack."""
    now_file = tmp_path / "now.txt"
    now_file.write_text("")
    bot = start_bot(canary, demo_template, tmp_path, WIEWEET_FAKE_NOW_FILE=str(now_file))
    emulator = bot.emulator
    try:
        start = datetime.now(UTC)

        def health() -> dict[str, Any]:
            return dict(json.loads(get(bot, "/healthz").body))

        assert health() == {"ok": True, "database": "ok", "slack": "ok"}
        emulator.fail_next("auth.test", error="invalid_auth", times=1000)
        assert health()["slack"] == "ok"  # still fresh: no check made
        now_file.write_text((start + timedelta(minutes=2)).isoformat())
        emulator.wait_for(lambda: health()["slack"] == "down", timeout=60, interval=0.5)
        reply = get(bot, "/healthz")
        assert reply.status == 503
        # the public answer says Slack is down, not why (Slack's error is the log's)
        assert json.loads(reply.body) == {"ok": False, "database": "ok", "slack": "down"}
        refreshes = len(emulator.calls_to("auth.test"))
        for _ in range(20):
            get(bot, "/healthz")
        assert len(emulator.calls_to("auth.test")) == refreshes  # one check per minute, not one per probe
        emulator.clear_faults()
        now_file.write_text((start + timedelta(minutes=4)).isoformat())
        emulator.wait_for(lambda: health()["slack"] == "ok", timeout=60, interval=0.5)
        assert get(bot, "/healthz").status == 200
    finally:
        stop_bot(bot)
