"""``wieweet digest --send-due`` with Slack out of reach — nothing listening, a proxy's page that is not Slack's answer
— says so in the one line the other commands that need Slack say (``handlers.slack_settings.slack_unreachable``:
``register check-slack``, ``import experts``), in the operator's language, and exits as they do (2): no ERROR line of
its own, no "[error] could not be built" per channel, no traceback. Nothing is marked sent or failed for the week:
the pass stops at the first call Slack does not answer, the run it was sending is given up at once (not left
claimed for the stale timeout) and the next run sends every digest (fixleft44a item 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.config import load_settings
from bot.errors import ConfigError
from digests.errors import ServiceUnreachableError
from digests.sender import SendStatus
from handlers.app import create_web_client
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster, send_due_digests
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW, PERIOD
from tests.digests.test_cli import NOW_ARG, emulator, seeded, wieweet  # noqa: F401
from tests.digests.test_sending import seed_busy_week, subscribe
from tests.digests.test_source_lookup import seed_week
from tests.emulator import SlackEmulator
from tests.register.test_check_slack_unreachable import (  # noqa: F401
    SAID,
    WHY,
    composition_root_logging,
    page_server,
)
from tests.test_cli_operator import closed_port

CHANNELS = ("C0DIGEST1", "C0DIGEST2", "C0DIGEST3")


def send_due(database: Database, url: str, language: str) -> tuple[int, list[str]]:
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url, "WIEWEET_LANGUAGE": language}
    result = wieweet(database.url, "digest", "--send-due", NOW_ARG, env=env)  # a traceback would raise here
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def runs(database: Database) -> dict[str, DigestRunStatus]:
    with database.session() as s:
        return {channel: run.status for channel, run in digest_repo.list_digest_runs(s, period="2026-W48").items()}


def subscribed(database: Database) -> None:
    for channel in CHANNELS:
        assert wieweet(database.url, "digest", "subscribe", "--channel", channel).exit_code == 0


def assert_one_line(code: int, lines: list[str], url: str, language: str, why: str) -> None:
    assert code == 2 and len(lines) == 1, lines  # as `register check-slack` and `import experts`
    [line] = lines
    assert line.startswith(SAID[language].format(url=url)), line
    assert WHY[why][language == "en"] in line, line
    assert "S3cretT0ken" not in line and "\x1b" not in line and "Traceback" not in line, line


def assert_sent_next_run(database: Database, emulator: SlackEmulator) -> None:  # noqa: F811
    """Nothing was finished for the week, and nothing waits for a stale claim: the next run sends them all."""
    assert not {s for s in runs(database).values() if s is not DigestRunStatus.CLAIMED}, runs(database)
    for channel in CHANNELS:
        emulator.add_channel(channel, name=channel.lower())
    code, lines = send_due(database, emulator.api_url, "en")
    assert code == 0, lines
    said = [line.split()[:3] for line in lines if line.startswith(CHANNELS)]  # not the source channels' warning
    assert sorted(said) == [[channel, "2026-W48", "[sent]"] for channel in CHANNELS], lines
    assert set(runs(database).values()) == {DigestRunStatus.SENT}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_nothing_listening(seeded: Database, emulator: SlackEmulator, language: str) -> None:  # noqa: F811
    subscribed(seeded)
    url = f"http://127.0.0.1:{closed_port()}/api/"
    assert_one_line(*send_due(seeded, url, language), url, language, "refused")
    assert_sent_next_run(seeded, emulator)


@pytest.mark.parametrize(("page_server", "why"), [(502, "status"), (200, "not_json")], indirect=["page_server"])
def test_an_answer_that_is_not_slacks(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    page_server: str,  # noqa: F811
    why: str,
) -> None:
    """A proxy's error page (502), or a page answered with 200: not Slack's answer."""
    subscribed(seeded)
    assert_one_line(*send_due(seeded, page_server, "en"), page_server, "en", why)
    assert_sent_next_run(seeded, emulator)


class GoneAfter:
    """Posts ``reached`` messages, then Slack is out of reach."""

    def __init__(self, reached: int) -> None:
        self.reached, self.posts = reached, 0

    def post(self, channel: str, blocks: list[Block], text: str) -> str:
        if self.posts >= self.reached:
            said = ConfigError("unreachable", "cannot reach Slack at http://slack.invalid/api/: no connection")
            raise ServiceUnreachableError(said)
        self.posts += 1
        return f"1764000000.{self.posts:06d}"


def test_the_pass_stops_at_the_first_call_slack_does_not_answer(database: Database) -> None:
    """What went out before is kept and said (the exception's ``results``); the run being sent is given up at once
    (stale: the next pass takes it up, however soon, after the others), the ones after it are not even claimed."""
    seed_busy_week(database, practices=3)
    for channel in CHANNELS:
        subscribe(database, channel)
    with pytest.raises(ServiceUnreachableError) as raised:
        send_due_digests(database, now=NOW, worker_id="w1", post=GoneAfter(1).post)
    assert [(r.channel_id, r.status) for r in raised.value.results] == [(CHANNELS[0], SendStatus.SENT)]
    assert "cannot reach Slack" in str(raised.value)
    with database.session() as s:
        held = digest_repo.list_digest_runs(s, period=PERIOD)
    assert sorted(held) == list(CHANNELS[:2])  # the third was never claimed
    assert held[CHANNELS[1]].status is DigestRunStatus.CLAIMED and held[CHANNELS[1]].parts_sent == []
    again = send_due_digests(database, now=NOW + timedelta(minutes=1), worker_id="w2", post=GoneAfter(10).post)
    # the run given up goes after the others (review54: a channel whose call keeps failing does not hold them up)
    assert [(r.channel_id, r.status) for r in again] == [(c, SendStatus.SENT) for c in (CHANNELS[2], CHANNELS[1])]


def test_the_source_channels_are_not_each_asked_once_slack_is_out_of_reach(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass's first call is a source channel's look-up: Slack out of reach stops the pass there, not after a
    look-up of every source channel (each waiting for its connection to fail) and then a post; nothing claimed."""
    seed_week(database)  # five public source channels, and digest channels to post in
    asked: list[str] = []
    original = WebClient.conversations_info

    def counted(self: WebClient, *, channel: str, **kw: Any) -> Any:
        asked.append(channel)
        return original(self, channel=channel, **kw)

    monkeypatch.setattr(WebClient, "conversations_info", counted)
    url = f"http://127.0.0.1:{closed_port()}/api/"
    client = create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url}))
    with pytest.raises(ServiceUnreachableError) as raised:
        due_digests_poster(database, client, ChannelDirectory(), clock=lambda: NOW)(NOW, "w1")
    assert len(asked) == 1 and raised.value.results == []
    assert "cannot reach Slack" in str(raised.value)
    with database.session() as s:
        assert digest_repo.list_digest_runs(s, period=PERIOD) == {}


def test_json_lines_then_the_one_line(seeded: Database) -> None:  # noqa: F811
    """``--send-due --json``: the same one line (stderr) and exit code, no JSON object for a digest not tried."""
    subscribed(seeded)
    url = f"http://127.0.0.1:{closed_port()}/api/"
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url, "WIEWEET_LANGUAGE": "en"}
    result = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.strip().startswith(SAID["en"].format(url=url)), result.stderr
