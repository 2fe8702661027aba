"""A digest that fails to be built (a bug, the database, a library's error) is logged with its traceback, masked: the
head line names the exception's type and its text as the run records it (``bot.text.shown_text``), and the
traceback, whose last line quotes the error as it came (a token a library's error text holds), is masked by the
log's formatter (``bot.cli.logs.OneLineFormatter``), every line of it (fixsmall42 item 3; fixleft43b item 3: the
operator sees where it failed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from bot.cli.logs import CONTINUATION, LOG_FORMAT, OneLineFormatter
from digests import sender as sender_module
from digests.model import DigestData, SubscriptionView
from digests.sender import SendStatus, send_digest, send_due_digests
from storage.db import Database
from storage.models import DigestSubscription
from tests.digests.conftest import NOW, PERIOD, seed_themes

SECRET = "xoxb-4242-S3cretT0kenInError"
ODD = f"the library said \x1b[2J {SECRET}\nforged line"


class Broken(RuntimeError):
    pass


class RefusingOutlet:
    def render(self, data: DigestData, view: SubscriptionView, *, period: str) -> Sequence[str]:
        raise Broken(ODD)

    def post(self, channel_id: str, message: str) -> str:  # pragma: no cover - never reached
        raise AssertionError("nothing is posted")


def subscribed(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        s.add(DigestSubscription(channel_id="C0DIGEST1", weekday=0, hour=9, minute=0, themes=[], language="nl"))


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """pytest's capture, formatted as the composition root logs (``OneLineFormatter``): ``caplog.text`` is what the
    operator reads."""
    caplog.handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    return caplog


def assert_masked(caplog: pytest.LogCaptureFixture) -> None:
    records = [r for r in caplog.records if r.name.startswith("digests") and r.levelno >= logging.ERROR]
    assert records, caplog.records
    for record in records:
        assert record.exc_info is not None, record  # the traceback: where it failed
        line = record.getMessage()
        assert SECRET not in line and "\x1b" not in line and "\n" not in line, line
        assert "Broken" in line and "xoxb-***" in line, line  # what failed, masked
        shown = OneLineFormatter(LOG_FORMAT).format(record)
        head, *traceback = shown.split("\n")
        assert "Broken" in head and traceback[0] == f"{CONTINUATION}Traceback (most recent call last):", shown
        assert all(line.startswith(CONTINUATION) for line in traceback), shown  # no forged line
        assert any("raise Broken(ODD)" in line for line in traceback), shown  # where it was raised
        # the error as it came, masked and escaped; its own line break continues the traceback, forging nothing
        said = f"{CONTINUATION}{__name__}.Broken: the library said \\x1b[2J xoxb-***"
        assert traceback[-2:] == [said, f"{CONTINUATION}forged line"], shown
        assert SECRET not in shown and "\x1b" not in shown, shown
    assert SECRET not in caplog.text and "\nforged line" not in caplog.text and "Traceback" in caplog.text


def test_building_the_digest_fails(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    subscribed(database)
    with caplog.at_level(logging.DEBUG):
        result = send_digest(
            database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="w1", outlet=RefusingOutlet()
        )
    assert result.status is SendStatus.ERROR and SECRET not in result.error
    assert_masked(caplog)


def test_collecting_for_the_due_digests_fails(
    database: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribed(database)

    def broken(*_args: object, **_kwargs: object) -> DigestData:
        raise Broken(ODD)

    monkeypatch.setattr(sender_module, "collect_for", broken)
    with caplog.at_level(logging.DEBUG):
        results = send_due_digests(database, now=NOW, worker_id="w1", outlet=RefusingOutlet())
    assert [r.status for r in results] == [SendStatus.ERROR]
    assert_masked(caplog)
