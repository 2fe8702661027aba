"""review54 finding 3: a grouped notice of refused channels (digest channels, or source channels) is queued with a
copy for each other channel it names or counts, due ``GROUPED_WAIT`` later, for a replica of the release before
grouped notices. This release never sends a copy while the grouped notice is its to send: not when the grouped
notice went out only after that hour (Slack out of reach, a backlog: claimed in one outbox batch with its copies),
nor when a copy comes due while the grouped notice waits for its retry. Staff get one notice, not one per channel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from digests.subscriptions import GROUPED_WAIT, TOLD_WITH
from storage import outbox_repo
from storage.db import Database
from tests.digests.conftest import NOW
from tests.digests.test_refused_grouped_upgrade import CHANNELS, TRIAGE, Outbox, _rows, _told
from tests.digests.test_source_refused_grouped import SOURCES, _told_sources
from tests.emulator import SlackEmulator

TOLD: dict[str, tuple[Callable[[Database], None], int]] = {
    "digest channels": (_told, len(CHANNELS)),
    "source channels": (_told_sources, len(SOURCES)),
}


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    emu.add_channel(TRIAGE, name="triage")
    yield emu
    emu.stop()


@pytest.mark.parametrize("told", TOLD)
def test_a_grouped_notice_sent_after_the_hour_is_the_only_notice(
    database: Database, emulator: SlackEmulator, told: str
) -> None:
    tell, channels = TOLD[told]
    tell(database)  # eight channels: the grouped notice and seven copies
    outbox = Outbox(database, emulator)
    assert outbox.run(NOW + GROUPED_WAIT + timedelta(minutes=1)) == 1  # one batch: the notice and its copies
    assert len(emulator.messages(TRIAGE)) == 1
    copies = [row for row in _rows(database) if row.payload.get("told_with")]
    assert len(copies) == channels - 1
    assert [(row.ended_reason, row.sent_at, row.claimed_by) for row in copies] == [(TOLD_WITH, None, None)] * len(
        copies
    )
    assert outbox.run(NOW + 2 * GROUPED_WAIT) == 0 and len(emulator.messages(TRIAGE)) == 1


@pytest.mark.parametrize("told", TOLD)
def test_a_copy_due_while_its_grouped_notice_waits_for_a_retry_is_not_sent(
    database: Database, emulator: SlackEmulator, told: str
) -> None:
    tell, _ = TOLD[told]
    tell(database)
    with database.session() as s:  # the grouped notice failed and waits for its retry, beyond the copies' hour
        grouped = next(row for row in outbox_repo.list_queued_outbox_messages(s) if not row.payload.get("told_with"))
        grouped.next_attempt_at, grouped.attempts = NOW + 3 * GROUPED_WAIT, 3
    outbox = Outbox(database, emulator)
    assert outbox.run(NOW + GROUPED_WAIT + timedelta(minutes=1)) == 0
    assert emulator.messages(TRIAGE) == []
    assert outbox.run(NOW + 3 * GROUPED_WAIT) == 1 and len(emulator.messages(TRIAGE)) == 1
