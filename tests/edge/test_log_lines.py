"""Log forging: text from outside (a question, a name, a payload's value, an exception's message) cannot make a log
line of its own. Logged through the real global error handler, with the handler and formatter the composition root
(``wieweet``) installs: every record is one physical line, continued only by marked traceback lines."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cli import main
from bot.cli.logs import CONTINUATION, OneLineFormatter
from bot.config import Settings
from bot.errors import NotFoundError
from bot.knowledge import KnowledgeBase
from handlers.errors import VERIFIED, handle_error
from handlers.services import Services
from storage.db import Database

# a forged record dated long ago, so no real record (stamped now) can be taken for it
FORGED_AT = "2001-02-03 04:05:06,789"
FORGED = f"{FORGED_AT} WARNING wieweet.errors: refused ref=x user=U0STAFF01 action=erase target=all"
HOSTILE = f"leegstand?\n{FORGED}\r{FORGED}\x1b[2K\u2028{FORGED}\x85{FORGED}\u202eevil"
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) ")


class FakeClient:
    def __getattr__(self, name: str) -> object:
        return lambda **kw: {"ok": True, "user": {"locale": "nl-BE"}}


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """What the ``wieweet`` process writes to stderr: the logging its composition root set up (``wieweet -v``,
    as in a fresh process), written to a buffer instead."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []  # pytest's own capture handlers are put back below
    try:
        result = CliRunner().invoke(main, ["-v", "ask", "--help"])
        assert result.exit_code == 0, result.output
        assert len(root.handlers) == 1 and isinstance(root.handlers[0], logging.StreamHandler)
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        yield stream
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = saved
        root.setLevel(level)


def services() -> Services:
    database = Database("sqlite://")
    return Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))


def test_hostile_text_in_a_logged_error_stays_on_its_records_line(log: io.StringIO) -> None:
    svc = services()
    context = BoltContext(user_id=f"U0X\n{FORGED}", channel_id="C0WONEN01", wieweet_ref="ref1", **{VERIFIED: True})
    handle_error(svc, NotFoundError("no_person", f"no such person: {HOSTILE}"), {}, context, FakeClient())  # type: ignore[arg-type]
    handle_error(svc, ValueError(f"bad value {HOSTILE}"), {}, context, FakeClient())  # type: ignore[arg-type]
    lines = log.getvalue().splitlines()
    records = [line for line in lines if not line.startswith(CONTINUATION)]
    assert all(RECORD_START.match(line) for line in records), records
    domain = [line for line in records if "domain error ref=ref1" in line]
    assert len(domain) == 1 and f"no such person: leegstand?\\n{FORGED_AT} WARNING" in domain[0]
    assert f"\\r{FORGED_AT}" in domain[0] and "\\x1b[2K" in domain[0] and "\\u2028" in domain[0]
    assert "\\u202eevil" in domain[0] and "\\x85" in domain[0] and f"user=U0X\\n{FORGED_AT}" in domain[0]
    unhandled = [line for line in records if "unhandled error ref=ref1" in line]
    assert len(unhandled) == 1  # its traceback follows on continuation lines, the hostile message among them
    assert f"{CONTINUATION}ValueError: bad value leegstand?" in lines
    assert f"{CONTINUATION}{FORGED}" in lines  # a line of the exception's message: marked as a continuation
    assert not [line for line in lines if "refused" in line and line.startswith(FORGED_AT)]
    for line in lines:
        assert line.isprintable(), repr(line)


def test_the_wieweet_command_logs_through_the_one_line_formatter(log: io.StringIO) -> None:
    installed = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is log]
    assert [type(h.formatter) for h in installed] == [OneLineFormatter]
    logging.getLogger("wieweet.test").info("one %s two", "\n")
    assert log.getvalue().endswith(" INFO wieweet.test: one \\n two\n")


# a token-looking text with escape characters, as a proxy's page or an error's message may echo it (review51 #3)
LEAKY = "Proxy error\x1b[31m token xoxb-1111-2222-S3cretZZZ\n https://dienst:Geheim42@db.example/x?token=T0kenQ"
LEAKED = ("S3cretZZZ", "Geheim42", "T0kenQ", "\x1b")


def assert_masked(lines: list[str]) -> None:
    records = [line for line in lines if not line.startswith(CONTINUATION)]
    assert all(RECORD_START.match(line) for line in records), records
    for line in lines:
        assert line.isprintable() and not any(secret in line for secret in LEAKED), line


def test_no_logger_leaks_a_secret_in_its_message_or_traceback(log: io.StringIO) -> None:
    """Masked in the formatter: a library's line (slack_sdk's own), an argument, an exception's text and every line
    of its traceback, whoever logs it."""
    logging.getLogger("slack_sdk.web.base_client").error("Failed to decode Slack API response: %s", LEAKY)
    try:
        raise ValueError(LEAKY)
    except ValueError:
        logging.getLogger("some.library").exception("failed: %s", LEAKY)
    lines = log.getvalue().splitlines()
    assert_masked(lines)
    assert any("slack_sdk.web.base_client" in line and "xoxb-***" in line for line in lines), lines
    assert f"{CONTINUATION}ValueError: Proxy error\\x1b[31m token xoxb-***" in lines, lines
    assert any("dienst:***@db.example" in line and "token=***" in line for line in lines), lines


class Page(BaseHTTPRequestHandler):
    """A proxy's page, answered with 200, that echoes a token: not Slack's answer (not JSON)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = f"<html>{LEAKY}</html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_slack_sdks_own_error_line_for_a_page_not_slacks_is_masked(log: io.StringIO) -> None:
    """What `wieweet run` writes when a post is answered with a proxy's page: slack_sdk's ERROR line and the
    traceback logged with it, masked and one record each."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = WebClient(token="xoxb-123-456-abcdefabcdef", base_url=f"http://127.0.0.1:{server.server_address[1]}/")
        with pytest.raises(SlackApiError):
            try:
                client.chat_postMessage(channel="C0WONEN01", text="hallo")
            except SlackApiError:
                logging.getLogger("wieweet.test").exception("post failed")
                raise
    finally:
        server.shutdown()
        server.server_close()
    lines = log.getvalue().splitlines()
    assert_masked(lines)
    assert any(" ERROR slack_sdk.web.base_client: Failed to decode" in line for line in lines), lines
    assert any(" ERROR wieweet.test: post failed" in line for line in lines), lines
