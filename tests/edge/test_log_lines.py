"""Log forging: text from outside (a question, a name, a payload's value, an exception's message) cannot make a log
line of its own. Logged through the real global error handler, with the handler and formatter the composition root
(``wieweet``) installs: every record is one physical line, continued only by marked traceback lines."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from slack_bolt import BoltContext

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
