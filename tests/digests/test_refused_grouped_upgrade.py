"""review53 item 5: during a rolling upgrade a replica of the release before grouped notices of refused digest
channels reads a grouped notice as the notice of its first channel only (it ignores ``others`` and ``more``, as
``msgspec.convert`` ignores unknown fields): the other channels, whose week had failed already, were never told.
Now each channel after the first is also queued on its own, under its own key, due an hour later
(``told_with``): an old replica tells each channel by that copy; this release ends the copies once it sent the
grouped notice, and sends them on their own when an old replica sent the grouped notice as its first channel's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from bot.config import Settings, load_settings
from bot.knowledge import KnowledgeBase
from bot.staff_notices import DigestStopped
from digests.subscriptions import GROUPED_WAIT, TOLD_WITH, tell_channels_refused
from handlers.app import create_web_client
from handlers.blocks.digest_stopped import build_digest_stopped
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import outbox_repo
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage
from tests.digests.conftest import NOW, PERIOD
from tests.digests.test_operator_refusals import notices
from tests.emulator import SlackEmulator

TRIAGE = "C0TRIAGE01"
CHANNELS = tuple(f"C0UPG{n:04d}" for n in range(8))
POST = "chat.postMessage"


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestStoppedBefore:
    """``DigestStopped`` as the release before grouped notices knew it (no ``others``, ``more``, ``told_with``)."""

    channel_id: str
    reason: str = ""
    held: bool = False
    needed: str = ""
    method: str = ""
    source: bool = False
    questions: int = 0
    refused: bool = False


def _rows(database: Database) -> list[OutboxMessage]:
    with database.session() as s:
        rows = s.query(OutboxMessage).filter(OutboxMessage.kind == OutboxKind.DIGEST_STOPPED)
        return sorted(rows, key=lambda row: row.id)


def _told(database: Database) -> None:
    with database.session() as s:
        tell_channels_refused(s, channel_ids=CHANNELS, error="no_permission", method=POST, period=PERIOD, now=NOW)


def test_a_replica_of_the_release_before_tells_every_channel_of_a_grouped_notice(database: Database) -> None:
    _told(database)
    [grouped] = notices(database)  # this release: one notice
    assert (grouped.channel_id, *grouped.others) == CHANNELS[:5] and grouped.more == 3
    # what an old replica's outbox pass reads of every row due by then (unknown fields ignored, as msgspec does)
    rows = _rows(database)
    assert all(row.next_attempt_at <= NOW + GROUPED_WAIT for row in rows)
    read: list[Any] = [msgspec.convert(row.payload, type=DigestStoppedBefore) for row in rows]
    assert sorted(notice.channel_id for notice in read) == sorted(CHANNELS)  # each channel told, once
    assert all((n.refused, n.reason, n.method) == (True, "no_permission", POST) for n in read)
    for notice in read:  # and said as the old release said it: that channel's digest refused
        shown = str(build_digest_stopped(DigestStopped(**asdict(notice)), "en").blocks)
        assert f"<#{notice.channel_id}>" in shown and "and 3 more" not in shown
    # the copies wait: the grouped notice goes first
    copies = [row for row in rows if row.payload.get("told_with")]
    assert len(copies) == len(CHANNELS) - 1
    assert {row.next_attempt_at for row in copies} == {NOW + GROUPED_WAIT}
    assert {row.payload["told_with"] for row in copies} == {CHANNELS[0]}


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    emu.add_channel(TRIAGE, name="triage")
    yield emu
    emu.stop()


class Outbox:
    """This release's outbox pass on an injected clock."""

    def __init__(self, database: Database, emulator: SlackEmulator, *, triage: str | None = TRIAGE) -> None:
        self.at = NOW
        settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
        services = Services(
            settings=Settings(triage_channel_id=triage),
            db=database,
            knowledge=KnowledgeBase(database),
            clock=lambda: self.at,
        )
        self.sender = OutboxSender(services, create_web_client(settings))

    def run(self, at: datetime) -> int:
        self.at = at
        return self.sender.send_pending(worker_id="new").sent


def test_this_release_sends_the_grouped_notice_and_ends_the_copies(database: Database, emulator: SlackEmulator) -> None:
    _told(database)
    outbox = Outbox(database, emulator)
    assert outbox.run(NOW) == 1
    [posted] = emulator.messages(TRIAGE)
    assert all(f"<#{channel}>" in str(posted) for channel in CHANNELS[:5]) and "en nog 3 andere" in str(posted)
    ended = [row for row in _rows(database) if row.payload.get("told_with")]
    assert [(row.ended_reason, row.sent_at) for row in ended] == [(TOLD_WITH, None)] * (len(CHANNELS) - 1)
    assert outbox.run(NOW + GROUPED_WAIT + timedelta(minutes=1)) == 0  # told once
    assert len(emulator.messages(TRIAGE)) == 1


def test_a_grouped_notice_an_old_replica_sent_as_its_first_channels_leaves_the_others_told_on_their_own(
    database: Database, emulator: SlackEmulator
) -> None:
    _told(database)
    with database.session() as s:  # an old replica sent it (naming only its first channel): no copy ended
        first = outbox_repo.get_outbox_message_keyed(s, dedupe_key=f"digest_channel_refused:{PERIOD}:{CHANNELS[0]}")
        assert first is not None
        first.sent_at, first.sent_ts, first.sent_channel_id = NOW, "1.0", TRIAGE
    outbox = Outbox(database, emulator)
    assert outbox.run(NOW + timedelta(minutes=5)) == 0  # the copies wait
    assert outbox.run(NOW + GROUPED_WAIT) == len(CHANNELS) - 1
    posted = [str(message) for message in emulator.messages(TRIAGE)]
    for channel in CHANNELS[1:]:  # each told on its own, once
        assert sum(f"<#{channel}>" in text for text in posted) == 1


def test_a_grouped_notice_given_up_reaches_staff_grouped_without_its_copies(
    database: Database, emulator: SlackEmulator
) -> None:
    """No triage channel: the grouped notice is given up at once (staff get it by DM, grouped): its copies end."""
    _told(database)
    outbox = Outbox(database, emulator, triage=None)
    assert outbox.run(NOW) == 0
    rows = _rows(database)
    assert rows[0].failed_at is not None
    assert [row.ended_reason for row in rows[1:]] == [TOLD_WITH] * (len(CHANNELS) - 1)
    assert outbox.run(NOW + GROUPED_WAIT) == 0 and emulator.calls_to(POST) == []
