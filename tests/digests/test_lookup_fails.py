"""Before each digest post, Slack is asked whether the channel is shared with another organisation
(``conversations.info``). A look-up that fails is no answer: a rate limit or an error on Slack's side is tried again
later (after Slack's Retry-After), a channel that is gone is turned off and staff are told once, and only a channel
Slack confirms is shared fails for the week (logged at ERROR). With 300 channels due at once and the look-up limited
to 50 a minute (Slack's Tier 3), every channel gets its digest that week."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select

from bot.config import load_settings
from digests.sender import SendResult, SendStatus
from handlers.app import create_web_client
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster
from handlers.services import NO_RETRY_AFTER_WAIT
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus, OutboxKind, OutboxMessage
from tests.digests.conftest import NOW, add_practice, seed_themes
from tests.digests.test_sending import run_of, subscribe
from tests.emulator import SlackEmulator


def slack_error(error: str, status: int, retry_after: int | None = None) -> SlackApiError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/conversations.info",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers,
        status_code=status,
    )
    return SlackApiError(f"The request failed: {error}", response)


class Slack:
    """``conversations.info`` answers from ``infos`` (an exception is raised; a dict is the channel) or as a plain
    public channel; ``chat.postMessage`` posts everywhere."""

    def __init__(self, **infos: SlackApiError | dict[str, Any]) -> None:
        self.infos = dict(infos)
        self.posted: list[str] = []
        self.info_calls: list[str] = []

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        self.info_calls.append(channel)
        answer = self.infos.get(channel, {"id": channel, "is_channel": True})
        if isinstance(answer, SlackApiError):
            raise answer
        return {"ok": True, "channel": answer}

    def chat_postMessage(self, **kw: Any) -> dict[str, Any]:
        self.posted.append(kw["channel"])
        return {"ok": True, "ts": f"1764000000.{len(self.posted):06d}"}

    def chat_getPermalink(self, **_kw: Any) -> dict[str, Any]:
        return {"permalink": "https://example.slack.com/x"}


def seed(database: Database, *channels: str) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk een", url="https://example.org/p/1")
    for channel in channels:
        subscribe(database, channel)


class Passes:
    """The job runner's digest passes on an injected clock (``at`` moves it), as one replica."""

    def __init__(self, database: Database, client: Any, worker: str = "w1") -> None:
        self.at = NOW
        self.worker = worker
        self.poster = due_digests_poster(database, client, ChannelDirectory(), clock=lambda: self.at)

    def run(self, at: datetime) -> dict[str, SendResult]:
        self.at = at
        return {r.channel_id: r for r in self.poster(at, self.worker)}


def stopped_notices(database: Database) -> list[OutboxMessage]:
    with database.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST_STOPPED)))


def is_active(database: Database, channel: str) -> bool:
    with database.session() as s:
        subscription = digest_repo.get_subscription(s, channel_id=channel)
        assert subscription is not None
        return subscription.active


def test_a_rate_limited_lookup_is_tried_again_after_slacks_wait_and_posted_that_week(database: Database) -> None:
    seed(database, "C0DIGEST1", "C0DIGEST2")
    slack = Slack(C0DIGEST1=slack_error("ratelimited", 429, retry_after=45))
    passes = Passes(database, slack)
    first = passes.run(NOW)
    # Slack's limit is the method's, not the channel's: the pass asks no more and puts the next channel off too
    assert {c: r.status for c, r in first.items()} == {"C0DIGEST1": SendStatus.RETRY, "C0DIGEST2": SendStatus.RETRY}
    assert "ratelimited" in first["C0DIGEST1"].error and "shared" not in first["C0DIGEST1"].error
    assert slack.info_calls == ["C0DIGEST1"] and slack.posted == []
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.CLAIMED
    del slack.infos["C0DIGEST1"]  # Slack answers again
    assert passes.run(NOW + timedelta(seconds=44)) == {}  # not before Slack asked
    later = passes.run(NOW + timedelta(seconds=46))
    assert {c: (r.status, r.resumed) for c, r in later.items()} == {
        "C0DIGEST1": (SendStatus.SENT, True),
        "C0DIGEST2": (SendStatus.SENT, True),
    }
    assert slack.posted == ["C0DIGEST1", "C0DIGEST2"]
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.SENT


@pytest.mark.parametrize("status,error", [(503, "service_unavailable"), (500, "internal_error"), (200, "fatal_error")])
def test_a_lookup_failing_on_slacks_side_is_tried_again_later(database: Database, status: int, error: str) -> None:
    seed(database, "C0DIGEST1")
    slack = Slack(C0DIGEST1=slack_error(error, status))
    passes = Passes(database, slack)
    assert passes.run(NOW)["C0DIGEST1"].status is SendStatus.RETRY
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.CLAIMED and slack.posted == []
    del slack.infos["C0DIGEST1"]
    assert passes.run(NOW + timedelta(minutes=11))["C0DIGEST1"].status is SendStatus.SENT
    assert slack.posted == ["C0DIGEST1"] and is_active(database, "C0DIGEST1")


@pytest.mark.parametrize("error", ["channel_not_found", "is_archived"])
def test_a_channel_gone_at_the_lookup_is_turned_off_and_staff_are_told_once(database: Database, error: str) -> None:
    seed(database, "C0DIGEST1", "C0DIGEST2")
    slack = Slack(C0DIGEST1=slack_error(error, 200))
    passes = Passes(database, slack)
    results = passes.run(NOW)
    assert results["C0DIGEST1"].status is SendStatus.FAILED and error in results["C0DIGEST1"].error
    assert "shared" not in results["C0DIGEST1"].error
    assert slack.posted == ["C0DIGEST2"]
    assert is_active(database, "C0DIGEST1") is False and is_active(database, "C0DIGEST2") is True
    [notice] = stopped_notices(database)
    assert notice.payload == {
        "channel_id": "C0DIGEST1",
        "reason": error,
        "held": False,
        "needed": "",
        "method": "",
        "source": False,
        "questions": 0,
        "refused": False,
        "others": [],
        "more": 0,
        "told_with": "",
    }
    assert set(passes.run(NOW + timedelta(days=7))) == {"C0DIGEST2"}  # not tried again next week
    assert len(stopped_notices(database)) == 1


def test_only_a_channel_slack_confirms_shared_fails_for_the_week_and_the_operator_is_told(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seed(database, "C0SHARED1")
    slack = Slack(C0SHARED1={"id": "C0SHARED1", "is_channel": True, "is_ext_shared": True})
    passes = Passes(database, slack)
    with caplog.at_level(logging.WARNING):
        result = passes.run(NOW)["C0SHARED1"]
    assert result.status is SendStatus.FAILED and "shared with another organisation" in result.error
    assert run_of(database, "C0SHARED1").status is DigestRunStatus.FAILED and slack.posted == []
    assert is_active(database, "C0SHARED1") and stopped_notices(database) == []  # it may be unshared again
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "C0SHARED1" in errors[0].getMessage()
    assert "shared with another organisation" in errors[0].getMessage()


def test_a_lookup_refused_for_good_is_tried_again_and_logged_as_an_error(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seed(database, "C0DIGEST1")
    slack = Slack(C0DIGEST1=slack_error("missing_scope", 200))
    with caplog.at_level(logging.WARNING):
        assert Passes(database, slack).run(NOW)["C0DIGEST1"].status is SendStatus.RETRY
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.CLAIMED and is_active(database, "C0DIGEST1")
    assert any(r.levelno >= logging.ERROR and "missing_scope" in r.getMessage() for r in caplog.records)


class Tier3Slack(Slack):
    """``conversations.info`` at Slack's Tier 3: 50 calls a minute (of the injected clock), then 429 with a
    Retry-After until the minute ends (beyond the client's own wait)."""

    def __init__(self, clock: Passes | None = None) -> None:
        super().__init__()
        self.passes = clock
        self.window: tuple[datetime, int] = (NOW, 0)
        self.refused = 0

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        assert self.passes is not None
        at = self.passes.at
        start, used = self.window
        if at - start >= timedelta(minutes=1):
            start, used = at, 0
        self.window = (start, used + 1)
        if used >= 50:
            self.refused += 1
            wait = 60 - int((at - start).total_seconds())
            raise slack_error("ratelimited", 429, retry_after=wait)
        return super().conversations_info(channel=channel)


def test_300_channels_due_at_once_with_the_lookup_rate_limited_all_get_their_digest_that_week(
    database: Database,
) -> None:
    channels = [f"C0D{n:06d}" for n in range(300)]
    seed(database, *channels)
    slack = Tier3Slack()
    passes = Passes(database, slack)
    slack.passes = passes
    statuses: dict[str, SendStatus] = {}
    at = NOW
    for _minute in range(10):
        before = slack.refused
        for channel, result in passes.run(at).items():
            statuses[channel] = result.status
        assert slack.refused - before <= 1  # once Slack said wait, the pass asks no more
        at += timedelta(seconds=61)
    assert SendStatus.FAILED not in statuses.values()
    assert sorted(slack.posted) == channels  # every channel, once
    with database.session() as s:
        runs = digest_repo.list_digest_runs(s, period="2026-W48")
    assert {run.status for run in runs.values()} == {DigestRunStatus.SENT} and len(runs) == 300


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    emu.add_channel("C0DIGEST1", name="wonen")
    yield emu
    emu.stop()


def test_the_real_client_a_long_rate_limit_is_tried_again_and_a_deleted_channel_stopped(
    database: Database, emulator: SlackEmulator
) -> None:
    seed(database, "C0DIGEST1", "C0DELETED")  # C0DELETED: not in Slack (any more)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    passes = Passes(database, create_web_client(settings))
    emulator.fail_next("conversations.info", status=429, retry_after=60, channel="C0DIGEST1")  # beyond the client's
    first = passes.run(NOW)
    assert first["C0DIGEST1"].status is SendStatus.RETRY and "ratelimited" in first["C0DIGEST1"].error
    assert first["C0DELETED"].status is SendStatus.FAILED and "channel_not_found" in first["C0DELETED"].error
    assert is_active(database, "C0DELETED") is False and len(stopped_notices(database)) == 1
    assert emulator.messages("C0DIGEST1") == []
    assert passes.run(NOW + timedelta(seconds=59)) == {}
    assert passes.run(NOW + timedelta(seconds=61))["C0DIGEST1"].status is SendStatus.SENT
    assert len(emulator.messages("C0DIGEST1")) == 1


@pytest.mark.parametrize("method", ["conversations.info", "chat.postMessage"])
def test_a_rate_limit_without_retry_after_waits_as_briefly_as_slack_sdk_and_says_so(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    seed(database, "C0DIGEST1")
    # no retry in-process (the real client's would sleep): Slack's bare 429 reaches the pass
    client = WebClient(token="xoxb-digest-test", base_url=emulator.api_url, retry_handlers=[])
    passes = Passes(database, client)
    emulator.fail_next(method, status=429, retry_after_header=False, channel="C0DIGEST1")
    with caplog.at_level(logging.WARNING):
        first = passes.run(NOW)["C0DIGEST1"]
    assert first.status is SendStatus.RETRY and "no Retry-After" in first.error
    assert f"rate limited without a Retry-After: waiting {NO_RETRY_AFTER_WAIT} s" in caplog.text
    assert emulator.messages("C0DIGEST1") == []
    assert passes.run(NOW + timedelta(seconds=NO_RETRY_AFTER_WAIT - 1)) == {}  # not before
    # tried again within seconds, not when the claim turns stale (10 minutes)
    later = passes.run(NOW + timedelta(seconds=NO_RETRY_AFTER_WAIT + 1))["C0DIGEST1"]
    assert later.status is SendStatus.SENT and len(emulator.messages("C0DIGEST1")) == 1
