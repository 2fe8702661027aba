"""fixleft43b item 2: two channels refused with ``no_permission`` for their own reasons (posting there limited to
admins), while nothing went out yet that week, look in every pass just like a refusal of the whole app: they were
held and asked again every 10 minutes all week, with no cap. Now a week's digests held so are held for
``HELD_AT_MOST`` (24 hours) from the week's first refusal held at most (review53: not from the "digests held"
notice, which a pass may never confirm, ``test_held_not_told``): a pass after that, with still no digest of the
week out, takes each refusal as its channel's own — it fails its week and staff are told so, once, in one notice —
and nothing is asked again that week."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from digests.refusals import HELD_AT_MOST
from digests.sender import SendStatus
from handlers.blocks.digest_stopped import build_digest_stopped
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW
from tests.digests.test_lookup_fails import seed
from tests.digests.test_no_permission_everywhere import DUE, emulator, errors, notices, passes_for  # noqa: F401
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator

POST, INFO = "chat.postMessage", "conversations.info"
TWO = DUE[:2]


@pytest.mark.parametrize("method", [POST, INFO])
def test_two_channels_held_for_their_own_refusals_fail_their_week_once_held_long_enough(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed(database, *TWO)
    for channel in TWO:
        emulator.add_channel(channel, name=channel.lower())
        emulator.fail_next(method, error="no_permission", channel=channel, times=1000)
    passes = passes_for(database, emulator)
    first = passes.run(NOW)  # both refused, nothing else due: taken for the whole app's, staff told at once
    assert {c: r.status for c, r in first.items()} == dict.fromkeys(TWO, SendStatus.RETRY)
    [held] = notices(database)
    assert (held.held, held.reason, held.method) == (True, "no_permission", method)
    # the notice says how long they wait: 24 hours, in the reader's words
    assert "within 24 hours of the first refusal" in build_digest_stopped(held, "en").text
    assert "binnen 24 uur na de eerste weigering" in build_digest_stopped(held, "nl").text
    # within the bound: still held, asked again, nothing more told
    within = passes.run(NOW + HELD_AT_MOST - timedelta(minutes=1))
    assert {c: r.status for c, r in within.items()} == dict.fromkeys(TWO, SendStatus.RETRY)
    assert len(notices(database)) == 1
    # no digest of the week went out since, nothing else confirmed it: each refusal is its channel's own
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        capped = passes.run(NOW + HELD_AT_MOST + timedelta(minutes=10))
    assert {c: r.status for c, r in capped.items()} == dict.fromkeys(TWO, SendStatus.FAILED)
    assert [run_of(database, c).status for c in TWO] == [DigestRunStatus.FAILED] * 2
    assert not any("configuration needs fixing" in line for line in errors(caplog))
    assert any("held for 24 h" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    told = [n for n in notices(database) if n.refused]
    assert [(n.channel_id, *n.others, n.reason, n.method, n.held) for n in told] == [
        (*TWO, "no_permission", method, False)
    ]
    assert "whole app" in str(build_digest_stopped(told[0], "en").blocks)
    mark = emulator.call_count
    assert passes.run(NOW + HELD_AT_MOST + timedelta(minutes=21)) == {}  # failed for the week: not asked again
    assert emulator.call_count == mark and len(notices(database)) == 2  # nor told again


def test_the_bound_counts_from_the_weeks_first_refusal_not_from_each_pass(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Passes all day long, each refusing the channels again, do not move the bound: it counts from the first."""
    seed(database, *TWO)
    for channel in TWO:
        emulator.add_channel(channel, name=channel.lower())
    emulator.fail_next(POST, error="no_permission", times=10_000)
    passes = passes_for(database, emulator)
    at, statuses = NOW, set()
    while at < NOW + HELD_AT_MOST:
        statuses |= {r.status for r in passes.run(at).values()}
        at += timedelta(hours=2, minutes=11)
    assert statuses == {SendStatus.RETRY} and len(notices(database)) == 1
    assert {r.status for r in passes.run(at).values()} == {SendStatus.FAILED}
