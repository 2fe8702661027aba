"""A source channel Slack refuses to tell about (``no_permission``, or another refusal that is no passing failure)
leaves its questions out of the week's digests, as a channel nobody can vouch for; staff are told once per week per
channel and error, naming the channel only as a mention (a private channel's name never reaches the triage channel
or a digest), how many questions were left out and what to do. The pass decides whose refusal it is by its digest
channels' (``handlers.digest_held.HeldRefusals``): when Slack refuses them as the whole app's, every look-up of the
pass is that refusal (one notice for the week, once a pass confirms it), not one per source channel (fixleft42b item
1); else each source channel's refusal is its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from bot.config import load_settings
from digests.sender import SendResult, SendStatus
from handlers.app import create_web_client
from handlers.blocks.digest_stopped import build_digest_stopped
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster
from storage.db import Database
from tests.digests.conftest import NOW
from tests.digests.test_operator_refusals import notices
from tests.digests.test_source_lookup import DIGESTS, PUBLIC_SOURCES, emulator, posted_text, seed_week  # noqa: F401
from tests.emulator import SlackEmulator

INFO = "conversations.info"
REFUSED = PUBLIC_SOURCES[0]


def poster_for(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> Callable[[datetime, str], list[SendResult]]:
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    return due_digests_poster(database, client, ChannelDirectory(), clock=lambda: NOW)


@pytest.mark.parametrize("error", ["no_permission", "team_access_not_granted"])
def test_a_source_channel_refused_is_told_to_staff_once_by_mention(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    error: str,
) -> None:
    seed_week(database)
    emulator.fail_next(INFO, error=error, channel=REFUSED, times=100)
    results = {r.channel_id: r for r in poster_for(database, emulator)(NOW, "w1")}
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(DIGESTS, SendStatus.SENT)
    for channel in DIGESTS:  # left out, and the digest says nothing of it
        text = posted_text(emulator, channel)
        assert f"PUBLIEK uit {REFUSED}" not in text and REFUSED not in text
        assert f"PUBLIEK uit {PUBLIC_SOURCES[1]}" in text
    [notice] = notices(database)
    assert (notice.channel_id, notice.reason, notice.method, notice.source) == (REFUSED, error, INFO, True)
    assert notice.questions == 1 and not notice.held
    for lang in ("nl", "en"):
        rendered = build_digest_stopped(notice, lang)
        shown = rendered.text + json.dumps([b.to_dict() for b in rendered.blocks], ensure_ascii=False)
        assert f"<#{REFUSED}>" in shown and error in shown and INFO in shown
        assert ("left out" if lang == "en" else "blijven buiten") in rendered.text, rendered.text
        assert REFUSED.lower() not in shown  # the channel's name (the emulator's) is never looked up or shown
    # another process, the same week: Slack refuses again, staff are not told again
    poster_for(database, emulator)(NOW + timedelta(minutes=11), "w2")
    assert len(notices(database)) == 1


def test_every_look_up_refused_is_the_apps_refusal_not_one_notice_per_source_channel(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    seed_week(database)
    """Every look-up refused, the digest channels' too: the source channels' refusals are part of the pass's
    refusal, not each channel's. Staff hear of it once, by the "digests held" notice, and only once a pass confirms
    it (review51 item 5): the first pass held a digest channel without asking, so it could still be a false alarm."""
    emulator.fail_next(INFO, error="no_permission", times=1000)
    poster_for(database, emulator)(NOW, "w1")
    assert notices(database) == []  # not confirmed yet: no notice, of the pass or of a source channel
    later = NOW + timedelta(minutes=11)  # the next pass (another process: it asks every source channel again)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    due_digests_poster(database, client, ChannelDirectory(), clock=lambda: later)(later, "w2")
    told = notices(database)
    assert [(n.source, n.held, n.method) for n in told] == [(False, True, INFO)], told


def test_source_refusals_with_no_digest_refused_are_each_channels_own(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """review51 item 5: every source channel's look-up refused, no digest channel refused (their posts only fail
    for a passing reason: nothing went out): no "digests held" notice (no digest is held for it), but each source
    channel told once, its questions left out, as a lone refusal is: in one notice naming them (fixleft44a item 2)."""
    seed_week(database)
    for channel in PUBLIC_SOURCES:
        emulator.fail_next(INFO, error="no_permission", channel=channel, times=100)
    emulator.fail_next("chat.postMessage", error="internal_error", times=100)
    results = poster_for(database, emulator)(NOW, "w1")
    assert {r.status for r in results} == {SendStatus.RETRY}
    told = notices(database)
    assert not any(n.held for n in told)
    [notice] = told
    assert (notice.source, notice.method, notice.more) == (True, INFO, 0)
    assert sorted((notice.channel_id, *notice.others)) == sorted(PUBLIC_SOURCES)
