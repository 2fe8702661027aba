"""fixleft44a item 2: source channels Slack refuses to tell about (their questions left out of the week's digests)
were told to staff one notice per channel: with many channels, many notices. Now a pass's source channels refused so
are told in one notice naming the first few and counting the rest ("and 2 more", counts grouped in the reader's
language), with the questions left out in all; each channel still told at most once a week, and a channel refused
only in a later pass of the week is told then, on its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from bot.outbox import StaffDM
from bot.staff_notices import DigestStopped
from digests.subscriptions import GROUPED_WAIT, SHOWN_CHANNELS, TOLD_WITH, tell_sources_refused
from handlers.blocks.digest_stopped import build_digest_stopped
from handlers.blocks.staffdm import build_staff_dm
from storage.db import Database
from storage.models import OutboxKind
from tests.digests.conftest import IN_WEEK, NOW, PERIOD, add_expert, add_question, local
from tests.digests.test_operator_refusals import notices
from tests.digests.test_refused_grouped_upgrade import TRIAGE, DigestStoppedBefore, Outbox, _rows
from tests.digests.test_source_lookup import DIGESTS, DONE, GONE, MARKED, PUBLIC_SOURCES, seed_week
from tests.digests.test_source_refused_notice import INFO, poster_for
from tests.emulator import SlackEmulator

EXTRA = ("C1SRC0006", "C1SRC0007", "C1SRC0008")
SOURCES = (*PUBLIC_SOURCES, *EXTRA)
REFUSED, LATER = SOURCES[:7], SOURCES[7]


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    for channel in (*DIGESTS, *SOURCES, GONE):
        emu.add_channel(channel, name=channel.lower())
    emu.add_channel(MARKED, name="marked", is_private=True)
    yield emu
    emu.stop()


def rendered(notice: DigestStopped, lang: str) -> str:
    shown = build_digest_stopped(notice, lang)
    return shown.text + json.dumps([b.to_dict() for b in shown.blocks], ensure_ascii=False)


def test_a_pass_tells_its_refused_source_channels_in_one_notice(
    database: Database,
    emulator: SlackEmulator,
) -> None:
    seed_week(database)
    with database.session() as s:
        bo = add_expert(s, "Bo Janssens", slack="U0BO", created_at=local(2026, 1, 1))
        answer = [(bo, "Bo Janssens", "U0BO")]
        for channel in EXTRA:
            add_question(
                s, f"PUBLIEK uit {channel}", created_at=IN_WEEK, channel_id=channel, answered_at=DONE, answers=answer
            )
    for channel in REFUSED:
        emulator.fail_next(INFO, error="no_permission", channel=channel, times=100)
    emulator.fail_next("chat.postMessage", error="internal_error", channel=DIGESTS[0], times=1)  # due again later
    poster_for(database, emulator)(NOW, "w1")
    [notice] = notices(database)  # one notice, not seven
    assert (notice.source, notice.reason, notice.method, notice.questions) == (True, "no_permission", INFO, 7)
    named = (notice.channel_id, *notice.others)
    assert len(named) == SHOWN_CHANNELS and set(named) < set(REFUSED) and notice.more == 2
    en, nl = rendered(notice, "en"), rendered(notice, "nl")
    for text in (en, nl):
        assert all(f"<#{channel}>" in text for channel in named), text
        assert not any(channel in text for channel in set(REFUSED) - set(named)), text
        assert "digest." not in text and "no_permission" in text and INFO in text  # translated, the code kept
    assert "and 2 more" in en and "en nog 2 andere" in nl
    assert "left out" in en and "(7 so far)" in en

    # a later pass of the week (another process, the digest tried again): the same refusals are not told again; one
    # that only starts now is told, on its own
    emulator.fail_next(INFO, error="no_permission", channel=LATER, times=100)
    later = NOW + timedelta(minutes=11)
    poster_for(database, emulator)(later, "w2")
    told = notices(database)
    assert len(told) == 2, told
    [new] = [n for n in told if n.channel_id == LATER]
    assert (new.others, new.more, new.questions) == ((), 0, 1)
    assert "<#C1SRC0008>" in rendered(new, "en") and "more" not in rendered(new, "en")


def test_the_counts_are_grouped_in_the_readers_language() -> None:
    notice = DigestStopped(
        channel_id="C1SRC0001",
        reason="no_permission",
        method=INFO,
        source=True,
        questions=5678,
        others=("C1SRC0002",),
        more=1234,
    )
    assert "and 1,234 more" in rendered(notice, "en") and "5,678" in rendered(notice, "en")
    assert "en nog 1.234 andere" in rendered(notice, "nl") and "5.678" in rendered(notice, "nl")


def _told_sources(database: Database) -> None:
    with database.session() as s:
        tell_sources_refused(
            s, refused=dict.fromkeys(SOURCES, 2), error="no_permission", method=INFO, period=PERIOD, now=NOW
        )


def test_a_replica_of_the_release_before_tells_every_source_channel_of_a_grouped_notice(database: Database) -> None:
    """During a rolling upgrade a replica of the release before reads a grouped notice as its first channel's only
    (unknown fields ignored): each other channel is also queued on its own, due an hour later, as for the refused
    digest channels' notice (``test_refused_grouped_upgrade``)."""
    _told_sources(database)
    [grouped] = notices(database)
    assert (grouped.channel_id, *grouped.others) == SOURCES[:5] and grouped.more == 3 and grouped.questions == 16
    rows = _rows(database)
    read: list[Any] = [msgspec.convert(row.payload, type=DigestStoppedBefore) for row in rows]
    assert sorted(notice.channel_id for notice in read) == sorted(SOURCES)  # each channel told, once
    assert all((n.source, n.reason, n.method) == (True, "no_permission", INFO) for n in read)
    copies = [row for row in rows if row.payload.get("told_with")]
    assert {row.next_attempt_at for row in copies} == {NOW + GROUPED_WAIT} and len(copies) == len(SOURCES) - 1
    for row in copies:  # said as the old release said it: that channel's questions left out, its own count
        before = msgspec.convert(row.payload, type=DigestStoppedBefore)
        shown = str(build_digest_stopped(DigestStopped(**asdict(before)), "en").blocks)
        assert f"<#{row.payload['channel_id']}>" in shown and "more" not in shown and "(2 so far)" in shown


@pytest.fixture
def triage() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    emu.add_channel(TRIAGE, name="triage")
    yield emu
    emu.stop()


def test_this_release_sends_the_grouped_source_notice_and_ends_the_copies(
    database: Database, triage: SlackEmulator
) -> None:
    _told_sources(database)
    outbox = Outbox(database, triage)
    assert outbox.run(NOW) == 1
    [posted] = triage.messages(TRIAGE)
    assert all(f"<#{channel}>" in str(posted) for channel in SOURCES[:5]) and "en nog 3 andere" in str(posted)
    ended = [row for row in _rows(database) if row.payload.get("told_with")]
    assert [(row.ended_reason, row.sent_at) for row in ended] == [(TOLD_WITH, None)] * (len(SOURCES) - 1)
    assert outbox.run(NOW + GROUPED_WAIT + timedelta(minutes=1)) == 0  # told once
    assert len(triage.messages(TRIAGE)) == 1


def test_a_staff_dm_standing_in_for_a_grouped_notice_says_channels() -> None:
    """No triage channel: the grouped notice reaches staff by DM, whose subject speaks of several channels."""
    grouped = DigestStopped(
        channel_id=SOURCES[0], reason="no_permission", method=INFO, source=True, others=SOURCES[1:3]
    )
    alone = DigestStopped(channel_id=SOURCES[0], reason="no_permission", method=INFO, source=True)
    for notice, en, nl in (
        (grouped, "Questions of several channels", "Vragen uit meerdere kanalen"),
        (alone, "Questions of a channel", "Vragen uit een kanaal"),
    ):
        dm = StaffDM(original_kind=OutboxKind.DIGEST_STOPPED, original=asdict(notice))
        assert en in build_staff_dm(dm, build_digest_stopped(notice, "en"), "en").text
        assert nl in build_staff_dm(dm, build_digest_stopped(notice, "nl"), "nl").text
