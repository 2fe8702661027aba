"""fixleft43b item 1: Slack refusing the app everywhere (``no_permission`` for a token-wide cause: an
organisation-wide app no longer granted this workspace) only after a digest of the week went out makes every later
refusal that channel's own, each failed for its week — and staff used to get one notice per channel: 20 subscribed
channels, 20 notices. Now a pass's channels refused so are told in one notice naming the first few and counting
the rest ("and 15 more", the count grouped in the reader's language), each channel still told at most once a
week."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.config import load_settings
from bot.staff_notices import DigestStopped
from digests.sender import SendStatus
from handlers.app import create_web_client
from handlers.blocks.digest_stopped import build_digest_stopped
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW
from tests.digests.test_lookup_fails import Passes, seed
from tests.digests.test_operator_refusals import notices
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator

CHANNELS = tuple(f"C0GRP{n:04d}" for n in range(21))
FIRST, REFUSED = CHANNELS[0], CHANNELS[1:]  # the first goes out; the 20 others are refused afterwards


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    for channel in CHANNELS:
        emu.add_channel(channel, name=channel.lower())
    yield emu
    emu.stop()


def passes_for(database: Database, emulator: SlackEmulator) -> Passes:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    return Passes(database, create_web_client(settings))


def test_an_app_wide_refusal_after_a_digest_went_out_is_one_notice_not_one_per_channel(
    database: Database, emulator: SlackEmulator
) -> None:
    seed(database, *CHANNELS)
    for channel in REFUSED:  # a passing error on Slack's side first: tried again once stale
        emulator.fail_next("chat.postMessage", error="internal_error", channel=channel, times=1)
    passes = passes_for(database, emulator)
    first = passes.run(NOW)
    assert first[FIRST].status is SendStatus.SENT  # the app may post: a digest of the week went out
    assert {first[c].status for c in REFUSED} == {SendStatus.RETRY}
    # then Slack refuses the app everywhere
    emulator.fail_next("chat.postMessage", error="no_permission", times=1000)
    later = passes.run(NOW + timedelta(minutes=11))
    assert {c: r.status for c, r in later.items()} == dict.fromkeys(REFUSED, SendStatus.FAILED)
    assert {run_of(database, c).status for c in REFUSED} == {DigestRunStatus.FAILED}
    [notice] = notices(database)  # one notice, not twenty
    assert (notice.refused, notice.held, notice.reason, notice.method) == (True, False, "no_permission", POST)
    named = (notice.channel_id, *notice.others)
    assert named == REFUSED[:5] and notice.more == 15  # bounded: the first five, the rest counted
    en = str(build_digest_stopped(notice, "en").blocks)
    nl = str(build_digest_stopped(notice, "nl").blocks)
    for text in (en, nl):
        assert all(f"<#{channel}>" in text for channel in named), text
        assert not any(channel in text for channel in REFUSED[5:]), text
        assert "digest." not in text  # translated, both languages
    assert "and 15 more" in en and "en nog 15 andere" in nl
    assert "whole app" in en and "subscription stays on" not in en and "subscriptions stay on" in en
    assert passes.run(NOW + timedelta(minutes=22)) == {}  # failed for the week: not asked, not told again
    assert len(notices(database)) == 1


def test_a_channel_refused_in_a_later_pass_of_the_week_is_told_once_on_its_own(
    database: Database, emulator: SlackEmulator
) -> None:
    """Each pass's channels are told together; a channel met by a later pass (its own schedule) is told then, and
    no channel twice."""
    seed(database, *CHANNELS[:3])
    emulator.fail_next("chat.postMessage", error="internal_error", channel=CHANNELS[1], times=1)
    emulator.fail_next("chat.postMessage", error="internal_error", channel=CHANNELS[2], times=2)
    passes = passes_for(database, emulator)
    assert passes.run(NOW)[CHANNELS[0]].status is SendStatus.SENT
    emulator.fail_next("chat.postMessage", error="no_permission", channel=CHANNELS[1], times=1000)
    second = passes.run(NOW + timedelta(minutes=11))
    assert (second[CHANNELS[1]].status, second[CHANNELS[2]].status) == (SendStatus.FAILED, SendStatus.RETRY)
    emulator.fail_next("chat.postMessage", error="no_permission", channel=CHANNELS[2], times=1000)
    assert passes.run(NOW + timedelta(minutes=22))[CHANNELS[2]].status is SendStatus.FAILED
    passes.run(NOW + timedelta(minutes=33))
    told = sorted((n.channel_id, n.others, n.more) for n in notices(database))
    assert told == [(CHANNELS[1], (), 0), (CHANNELS[2], (), 0)]
    en = str(build_digest_stopped(notices(database)[0], "en").blocks)
    assert "subscription stays on" in en and "more" not in en  # one channel: told as before


@pytest.mark.parametrize(("lang", "said"), [("en", "and 1,234 more"), ("nl", "en nog 1.234 andere")])
def test_the_count_of_the_channels_not_named_is_grouped_in_the_readers_language(lang: str, said: str) -> None:
    notice = DigestStopped(
        channel_id="C0GRP0001", others=("C0GRP0002",), more=1234, reason="no_permission", method=POST, refused=True
    )
    assert said in str(build_digest_stopped(notice, lang).blocks)


POST = "chat.postMessage"
