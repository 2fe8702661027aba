"""The channels a week's questions were asked in, looked up for the digests (``handlers.digest_sources``): Slack
is asked once per channel per pass, and when it cannot answer (rate limited: about 50 calls a minute, with 300
digests due at once) the database's knowledge decides, so a rate-limited week's digests do not quietly lose
questions. Private stays private, a channel nobody knows stays out (logged at WARNING with how many questions),
and no answer ever makes what is stored as private public."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import load_settings
from bot.privacy import get_stored_channel_privacy
from bot.privacy.channels import NOT_FOUND_WINDOW
from digests.sender import SendStatus
from handlers.app import create_web_client
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster, preview_digest
from handlers.digest_sources import SourceChannels
from storage import slack_repo
from storage.db import Database
from tests.digests.conftest import (
    IN_WEEK,
    NOW,
    add_expert,
    add_practice,
    add_question,
    blocks_json,
    local,
    seed_themes,
)
from tests.digests.test_lookup_fails import slack_error
from tests.digests.test_sending import subscribe
from tests.emulator import SlackEmulator

DIGESTS = ("C0DIGEST1", "C0DIGEST2", "C0DIGEST3")
PUBLIC_SOURCES = ("C1SRC0001", "C1SRC0002", "C1SRC0003", "C1SRC0004", "C1SRC0005")
GONE = "C1GONE001"  # the daily reconcile found it gone yesterday (not yet on enough days): unknown
MARKED = "C1MARKED1"  # turned private: the reconcile marked what was asked there
DONE = local(2026, 11, 19, 15)


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    for channel in (*DIGESTS, *PUBLIC_SOURCES, GONE):
        emu.add_channel(channel, name=channel.lower())
    emu.add_channel(MARKED, name="marked", is_private=True)
    yield emu
    emu.stop()


def mark_gone(database: Database, channel: str, days_ago: int) -> None:
    """What ``bot.privacy.reconcile_channel_privacy`` records when Slack does not show the channel."""
    day = NOW - timedelta(days=days_ago)
    with database.session() as s:
        slack_repo.create_processed_event(
            s, event_key=f"channel_not_found:{channel}:{day.date().isoformat()}", kind="channel_not_found", now=day
        )


def seed_week(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk een", url="https://example.org/p/1")
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        answer = [(an, "An Peeters", "U0AN")]
        for channel in PUBLIC_SOURCES:
            add_question(
                s, f"PUBLIEK uit {channel}", created_at=IN_WEEK, channel_id=channel, answered_at=DONE, answers=answer
            )
        add_question(s, "ONBEKEND kanaal", created_at=IN_WEEK, channel_id=GONE, answered_at=DONE, answers=answer)
        add_question(s, "ONBEKEND open", created_at=IN_WEEK, channel_id=GONE)
        add_question(s, "GEHEIM gemarkeerd", created_at=IN_WEEK, channel_id=MARKED, channel_is_private=True)
        # stored as public after the reconcile marked the channel: the channel is private, so this stays out too
        add_question(s, "GEHEIM later", created_at=IN_WEEK, channel_id=MARKED, answered_at=DONE, answers=answer)
    for channel in DIGESTS:
        subscribe(database, channel)
    mark_gone(database, GONE, days_ago=1)


def posted_text(emulator: SlackEmulator, channel: str) -> str:
    return json.dumps([m["blocks"] for m in emulator.messages(channel)], ensure_ascii=False)


def test_a_rate_limited_pass_uses_what_the_database_knows_and_asks_each_channel_once(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    seed_week(database)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    directory = ChannelDirectory()
    for channel in DIGESTS:  # asked before (cached a few minutes): not shared with another organisation
        assert directory.shared_outside_or_raise(client=client, channel_id=channel, now=NOW) is False
    mark = emulator.call_count
    emulator.limit_calls("conversations.info", calls=2, retry_after=60)  # Slack's limit beyond the client's wait
    poster = due_digests_poster(database, client, directory, clock=lambda: NOW)
    with caplog.at_level(logging.INFO):
        results = {r.channel_id: r for r in poster(NOW, "w1")}
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(DIGESTS, SendStatus.SENT)
    asked = [c.params.get("channel") for c in emulator.calls_to("conversations.info", since=mark)]
    # two answers, one 429, then no more this pass: the other channels answered from the database
    assert len(asked) == 3 and len(set(asked)) == 3
    assert [c.status for c in emulator.calls_to("conversations.info", since=mark)] == [200, 200, 429]
    for channel in DIGESTS:
        text = posted_text(emulator, channel)
        for source in PUBLIC_SOURCES:  # none lost to the rate limit
            assert f"PUBLIEK uit {source}" in text
        assert "ONBEKEND" not in text and "GEHEIM" not in text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "handlers.digest_sources"]
    assert len(warnings) == 1
    assert "2 public questions from 1 channel left out" in warnings[0].getMessage()
    assert GONE in warnings[0].getMessage()


def test_no_answer_makes_what_is_private_public(database: Database, emulator: SlackEmulator) -> None:
    seed_week(database)
    with database.session() as s:  # stored as private, though Slack says the channel is public now
        add_question(s, "GEHEIM opgeslagen", created_at=IN_WEEK, channel_id="C1SRC0001", channel_is_private=True)
        # stored as public, but Slack says the channel is private now
        add_question(s, "GEHEIM volgens Slack", created_at=IN_WEEK, channel_id="C1NOWPRIV")
    emulator.add_channel("C1NOWPRIV", name="nowpriv", is_private=True)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    poster = due_digests_poster(database, client, ChannelDirectory(), clock=lambda: NOW)
    results = poster(NOW, "w1")
    assert {r.status for r in results} == {SendStatus.SENT}
    asked = [c.params.get("channel") for c in emulator.calls_to("conversations.info")]
    sources = [c for c in asked if c not in DIGESTS]
    assert len(sources) == len(set(sources))  # once per pass, not once per digest
    for channel in DIGESTS:
        text = posted_text(emulator, channel)
        assert "PUBLIEK uit C1SRC0001" in text and "ONBEKEND kanaal" in text  # Slack answered: found, public
        assert "GEHEIM" not in text


def test_what_the_database_knows_about_a_channel(database: Database) -> None:
    with database.session() as s:
        add_question(s, "publiek", created_at=IN_WEEK, channel_id="C1PUBLIC1")
        add_question(s, "publiek", created_at=IN_WEEK, channel_id="C1MIXED01")
        add_question(s, "geheim", created_at=IN_WEEK, channel_id="C1MIXED01", channel_is_private=True)
        add_question(s, "publiek", created_at=IN_WEEK, channel_id="C1GONE001")
        add_question(s, "publiek", created_at=IN_WEEK, channel_id="C1LONGAGO")
    mark_gone(database, "C1GONE001", days_ago=1)
    mark_gone(database, "C1LONGAGO", days_ago=NOT_FOUND_WINDOW.days + 1)
    with database.session() as s:
        known = {
            c: get_stored_channel_privacy(s, channel_id=c, now=NOW)
            for c in ("C1PUBLIC1", "C1MIXED01", "C1GONE001", "C1LONGAGO", "C1NEVER01")
        }
    assert known == {"C1PUBLIC1": False, "C1MIXED01": True, "C1GONE001": None, "C1LONGAGO": False, "C1NEVER01": None}


class FakeSlack:
    """``conversations.info``: an error from ``errors`` (popped per channel), else a public channel."""

    def __init__(self, **errors: SlackApiError | OSError) -> None:
        self.errors = dict(errors)
        self.asked: list[str] = []

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        self.asked.append(channel)
        error = self.errors.pop(channel, None)
        if error is not None:
            raise error
        return {"ok": True, "channel": {"id": channel, "is_channel": True}}


def test_each_failure_answers_as_it_should(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    with database.session() as s:
        for channel in ("C1DOWN001", "C1TIMEOUT", "C1NOTFOUN", "C1LIMITED", "C1AFTER01", "C1AFTER02"):
            add_question(s, "publiek", created_at=IN_WEEK, channel_id=channel)
    at = [NOW]
    slack = FakeSlack(
        C1DOWN001=slack_error("internal_error", 500),
        C1TIMEOUT=TimeoutError("timed out"),
        C1NOTFOUN=slack_error("channel_not_found", 200),
        C1LIMITED=slack_error("ratelimited", 429, retry_after=30),
    )
    sources = SourceChannels(database, cast(WebClient, slack), ChannelDirectory(), now=NOW, clock=lambda: at[0])
    # Slack's side failing: the database says public; not found: Slack's answer, left out
    assert [sources(c) for c in ("C1DOWN001", "C1TIMEOUT", "C1NOTFOUN")] == [False, False, True]
    assert sources("C1LIMITED") is False  # rate limited: the database
    assert sources("C1AFTER01") is False and slack.asked[-1] == "C1LIMITED"  # not asked before Slack's wait
    at[0] = NOW + timedelta(seconds=31)
    assert sources("C1AFTER02") is False and slack.asked[-1] == "C1AFTER02"  # asked again once it passed
    assert [sources(c) for c in ("C1DOWN001", "C1NOTFOUN")] == [False, True]  # answered once per pass
    assert slack.asked.count("C1DOWN001") == 1 and slack.asked.count("C1NOTFOUN") == 1
    sources.left_out({1: "C1NOTFOUN", 2: "C1NOTFOUN", 3: "C1PRIVATE"})  # what the digests would have quoted
    with caplog.at_level(logging.WARNING):
        assert sources.report() == 2  # C1PRIVATE: Slack said private, not a channel nobody could vouch for
    assert sources.unknown == {"C1NOTFOUN"} and "C1NOTFOUN" in caplog.text


def test_the_warning_counts_only_the_questions_this_weeks_digests_would_have_quoted(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = "C1NOWHERE"  # Slack does not show it the bot, and the database does not know it: left out
    with database.session() as s:
        seed_themes(s)
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        answer = [(an, "An Peeters", "U0AN")]
        add_question(s, "WEG beantwoord", channel_id=nowhere, answered_at=DONE, answers=answer)
        add_question(s, "WEG open", channel_id=nowhere)
        # not this week's digests' to quote: asked and answered long ago, or on a theme nobody subscribed to
        for week in range(1, 6):
            old = local(2026, 9, 1) + timedelta(weeks=week)
            add_question(s, "WEG oud", created_at=old, channel_id=nowhere, answered_at=old, answers=answer)
        add_question(s, "WEG europa", channel_id=nowhere, themes=("europa",), answered_at=DONE, answers=answer)
        add_question(s, "PUBLIEK", channel_id=PUBLIC_SOURCES[0], answered_at=DONE, answers=answer)
    for channel in DIGESTS:
        subscribe(database, channel, themes=["wonen"])
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    poster = due_digests_poster(database, client, ChannelDirectory(), clock=lambda: NOW)
    with caplog.at_level(logging.WARNING):
        assert {r.status for r in poster(NOW, "w1")} == {SendStatus.SENT}
    for channel in DIGESTS:
        text = posted_text(emulator, channel)
        assert "PUBLIEK" in text and "WEG" not in text
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "handlers.digest_sources"]
    # the two the digests would have quoted, once though three digests quote them; not the 8 stored there
    assert "2 public questions from 1 channel left out" in warning.getMessage()
    assert nowhere in warning.getMessage()


def test_the_preview_and_the_weekly_pass_agree_when_slack_fails(database: Database, emulator: SlackEmulator) -> None:
    """``/wieweet digest voorbeeld`` asks about the questions' channels the way the weekly pass does: when Slack
    cannot answer, both use what the database knows, so the preview shows what will be posted."""
    seed_week(database)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    directory = ChannelDirectory()
    for channel in DIGESTS:  # asked before (cached a few minutes): not shared with another organisation
        assert directory.shared_outside_or_raise(client=client, channel_id=channel, now=NOW) is False
    emulator.limit_calls("conversations.info", calls=0, retry_after=60)  # Slack answers no look-up now
    preview = preview_digest(
        database, channel_id=DIGESTS[0], now=NOW, default_language="nl", slack=(client, ChannelDirectory())
    )
    results = due_digests_poster(database, client, directory, clock=lambda: NOW)(NOW, "w1")
    assert {r.status for r in results} == {SendStatus.SENT}
    shown, posted = blocks_json(preview.messages), posted_text(emulator, DIGESTS[0])
    for text in (shown, posted):
        assert [source for source in PUBLIC_SOURCES if f"PUBLIEK uit {source}" in text] == list(PUBLIC_SOURCES)
        assert "ONBEKEND" not in text and "GEHEIM" not in text


def test_a_preview_refused_by_slack_does_not_promise_a_weekly_run(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A preview meets the same configuration refusal as the weekly pass, but has no run to keep due: its ERROR line
    says what the preview used instead, not that "the week's digests stay due", and it tells staff nothing."""
    seed_week(database)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-revoked-token", "SLACK_API_URL": emulator.api_url})
    )
    with caplog.at_level(logging.INFO):
        preview = preview_digest(
            database, channel_id=DIGESTS[0], now=NOW, default_language="nl", slack=(client, ChannelDirectory())
        )
    assert preview.messages  # still shown, from what the database knows
    [said] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "invalid_auth" in said and "this preview used what the database knows" in said
    assert "stay due" not in said
