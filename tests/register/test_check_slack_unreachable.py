"""``wieweet register check-slack`` with Slack out of reach — nothing listening, no answer in time, an error status
of the server (5xx), or an answer that is not Slack's (not JSON: a proxy's error page) — says so in one line in the
operator's language and exits non-zero, never with a traceback, before any expert is listed as unconfirmed
(fixleft42b item 6). That line is all the command writes, on stdout and stderr together: slack_sdk's own ERROR lines
(a line per connection attempt, the page it could not decode) are left out, as the logging the composition root
sets up writes them (review51 #3)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO

import pytest
from slack_sdk import WebClient

import bot.cli as cli
from bot.cli.logs import configure_logging
from storage.db import Database
from tests.digests.test_cli import emulator, seeded, wieweet  # noqa: F401
from tests.emulator import SlackEmulator
from tests.test_cli_operator import closed_port

SAID = {
    "nl": "error: kan Slack niet bereiken op {url}: ",
    "en": "error: cannot reach Slack at {url}: ",
}
WHY = {
    "refused": ("geen verbinding", "no connection"),
    "timeout": ("geen antwoord op tijd", "no answer in time"),
    "status": ("de server antwoordt met een fout", "the server answers with an error"),
    "not_json": ("het antwoord komt niet van Slack", "the answer is not Slack's"),
}


@pytest.fixture(autouse=True)
def composition_root_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The logging `wieweet` sets up in a fresh process (to its stderr, which the runner's output holds), not pytest's
    capture, so a library's log line shows in the output as an operator would see it."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level

    def fresh(*, verbose: bool, stream: IO[str]) -> None:
        root.handlers = []  # as in a new process: pytest's capture handlers are put back below
        configure_logging(verbose=verbose, stream=stream)

    monkeypatch.setattr(cli, "configure_logging", fresh)
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = saved
        root.setLevel(level)


class Page(BaseHTTPRequestHandler):
    """Answers every call with ``status`` and an HTML page, as a proxy in front of an unreachable Slack does."""

    status = 502

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>Bad Gateway \x1b[2J xoxb-1-S3cretT0ken</body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_server(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("P", (Page,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


def check(database: Database, url: str, language: str) -> tuple[int, list[str]]:
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url, "WIEWEET_LANGUAGE": language}
    result = wieweet(database.url, "register", "check-slack", env=env)  # a traceback would raise here
    return result.exit_code, result.output.splitlines()


def assert_one_line(code: int, lines: list[str], url: str, language: str, why: str) -> None:
    assert code == 2 and len(lines) == 1, lines  # as `wieweet run` with Slack out of reach
    [line] = lines
    assert line.startswith(SAID[language].format(url=url)), line
    assert WHY[why][language == "en"] in line, line
    assert "S3cretT0ken" not in line and "\x1b" not in line and "Traceback" not in line, line


@pytest.mark.parametrize("language", ["nl", "en"])
def test_nothing_listening(seeded: Database, language: str) -> None:  # noqa: F811
    url = f"http://127.0.0.1:{closed_port()}/api/"
    assert_one_line(*check(seeded, url, language), url, language, "refused")


@pytest.mark.parametrize("language", ["nl", "en"])
def test_no_answer_in_time(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    def timed_out(self: WebClient, **_kw: object) -> None:
        raise TimeoutError("The read operation timed out")

    monkeypatch.setattr(WebClient, "users_info", timed_out)
    assert_one_line(*check(seeded, emulator.api_url, language), emulator.api_url, language, "timeout")


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("status", [500, 503])
def test_an_error_status_of_the_server(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    language: str,
    status: int,
) -> None:
    emulator.fail_next("users.info", status=status, times=100)
    assert_one_line(*check(seeded, emulator.api_url, language), emulator.api_url, language, "status")


@pytest.mark.parametrize(("page_server", "why"), [(502, "status"), (200, "not_json")], indirect=["page_server"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_an_answer_that_is_not_slacks(
    seeded: Database,  # noqa: F811
    page_server: str,
    why: str,
    language: str,
) -> None:
    """A proxy's error page (502), or a page answered with 200: not Slack's answer."""
    assert_one_line(*check(seeded, page_server, language), page_server, language, why)


def test_slack_refusing_one_account_is_still_listed_not_stopped(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Slack answered (``user_not_found``): an answer about that account, listed as before; no unreachable line."""
    emulator.fail_next("users.info", error="user_not_found", times=100)
    code, lines = check(seeded, emulator.api_url, "en")
    assert code == 1 and not any("cannot reach Slack" in line for line in lines), lines
