"""What the digest pass logs of Slack's error text is masked and on one line, as what it records is
(``bot.text.shown_text``): an error answer that quotes a token, or carries escape characters or a line break, never
reaches the log as it came (fixleft42b item 5)."""

from __future__ import annotations

import logging

import pytest

from bot.config import load_settings
from handlers.app import create_web_client
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster
from storage.db import Database
from tests.digests.conftest import NOW
from tests.digests.test_source_lookup import DIGESTS, PUBLIC_SOURCES, emulator, seed_week  # noqa: F401
from tests.emulator import SlackEmulator

ODD = "odd\x1b[2J\x07 xoxb-4242-S3cretT0kenInAnswer\nforged line"


def digest_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith(("digests", "handlers"))]


@pytest.mark.parametrize(
    ("method", "channel"),
    [
        ("conversations.info", PUBLIC_SOURCES[0]),  # a source channel's look-up
        ("conversations.info", DIGESTS[0]),  # the look-up before a post
        ("chat.postMessage", DIGESTS[0]),  # the post
        ("chat.getPermalink", None),
    ],
)
@pytest.mark.parametrize("status", [200, 500])
def test_slacks_error_text_is_logged_masked_on_one_line(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    method: str,
    channel: str | None,
    status: int,
) -> None:
    seed_week(database)
    emulator.fail_next(method, error=ODD, status=status, channel=channel, times=100)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    poster = due_digests_poster(database, client, ChannelDirectory(), clock=lambda: NOW)
    with caplog.at_level(logging.DEBUG):
        poster(NOW, "w1")
    said = digest_lines(caplog)
    quoting = [line for line in said if "odd" in line]
    assert quoting or method == "chat.getPermalink", said  # Slack's error is said (the permalink's: at INFO)
    for line in said:
        assert "S3cretT0ken" not in line and "\x1b" not in line and "\x07" not in line, line
        assert "\n" not in line, line
    assert all("xoxb-***" in line for line in quoting), quoting
