"""review51: when staff are told that Slack refuses digests with ``no_permission``. A digest that went out this week
(a run ``SENT``) shows the app may post, so two channels refused later are each their own refusal, not the app's;
and a channel's own refusal is told to staff too (once per channel per week), so a lone subscription's refusal,
whoever's it is, never shows only as an ERROR log line."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from digests.sender import SendStatus
from handlers.blocks.digest_stopped import build_digest_stopped
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW
from tests.digests.test_lookup_fails import seed
from tests.digests.test_no_permission_everywhere import DUE, due, emulator, notices, passes_for  # noqa: F401
from tests.digests.test_operator_refusals import errors
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator

PERIOD = "2026-W48"  # NOW's ISO week


@pytest.mark.usefixtures("due")
def test_a_digest_sent_this_week_makes_later_refusals_each_channels_own(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    for channel in DUE[:2]:  # a passing error on Slack's side first: tried again once stale
        emulator.fail_next("chat.postMessage", error="internal_error", channel=channel, times=1)
    passes = passes_for(database, emulator)
    first = passes.run(NOW)
    assert first[DUE[2]].status is SendStatus.SENT  # the app may post: C0DIGEST3's digest went out
    for channel in DUE[:2]:  # now both refuse for their own reasons (say, posting restricted to admins)
        emulator.fail_next("chat.postMessage", error="no_permission", channel=channel, times=1000)
    with caplog.at_level(logging.ERROR):
        later = passes.run(NOW + timedelta(minutes=11))
    assert {c: r.status for c, r in later.items()} == dict.fromkeys(DUE[:2], SendStatus.FAILED)
    assert not any("configuration needs fixing" in line for line in errors(caplog))
    assert [run_of(database, c).status for c in DUE] == [
        DigestRunStatus.FAILED,
        DigestRunStatus.FAILED,
        DigestRunStatus.SENT,
    ]
    told = notices(database)
    assert not any(n.held for n in told)  # never "the app is refused"
    assert [(n.channel_id, *n.others, n.reason, n.method, n.refused) for n in told] == [
        ("C0DIGEST1", "C0DIGEST2", "no_permission", "chat.postMessage", True),  # one notice naming both
    ]
    assert passes.run(NOW + timedelta(minutes=22)) == {}  # not asked again this week


def test_a_lone_channels_refusal_is_told_once_per_week(database: Database, emulator: SlackEmulator) -> None:  # noqa: F811
    seed(database, "C0DIGEST1")
    emulator.add_channel("C0DIGEST1", name="c0digest1")
    emulator.fail_next("chat.postMessage", error="no_permission", times=1000)  # the channel's, or the whole app's
    passes = passes_for(database, emulator)
    for minutes in (0, 11, 22):
        passes.run(NOW + timedelta(minutes=minutes))
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.FAILED
    told = notices(database)
    assert [(n.channel_id, n.reason, n.method, n.refused, n.held) for n in told] == [
        ("C0DIGEST1", "no_permission", "chat.postMessage", True, False)
    ]
    for lang in ("nl", "en"):  # says both readings: the channel's, or the app's, and that the subscription stays
        text = str(build_digest_stopped(told[0], lang).blocks)
        assert "C0DIGEST1" in text and "no_permission" in text
        assert "digest.refused" not in text  # translated, both languages
    en = str(build_digest_stopped(told[0], "en").blocks)
    assert "is stopped" not in en and "subscription stays on" in en and "whole app" in en


@pytest.mark.usefixtures("due")
def test_a_run_still_claimed_elsewhere_keeps_two_refusals_unconfirmed(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Two channels refused in a pass that could not ask the third (another replica's claim on it, not stale yet):
    the third could still go out, so staff are not told the app is refused; once it goes out, the two were each
    their channel's own."""
    with database.session() as s:
        assert digest_repo.claim_digest_run(s, channel_id=DUE[2], period=PERIOD, worker_id="other", now=NOW)
    for channel in DUE[:2]:
        emulator.fail_next("chat.postMessage", error="no_permission", channel=channel, times=1000)
    passes = passes_for(database, emulator)
    first = passes.run(NOW + timedelta(minutes=1))
    assert {c: r.status for c, r in first.items()} == dict.fromkeys(DUE[:2], SendStatus.RETRY)
    assert notices(database) == []  # not "Slack refuses every digest post": the third is still out there
    later = passes.run(NOW + timedelta(minutes=12))  # the other replica's claim went stale: this one takes it up
    assert later[DUE[2]].status is SendStatus.SENT
    assert {later[c].status for c in DUE[:2]} == {SendStatus.FAILED}
    assert [(n.channel_id, *n.others, n.refused, n.held) for n in notices(database)] == [(*DUE[:2], True, False)]
