"""A work-session invitation the inbox gives up on (Slack kept failing): the staff member's DM saying so is queued in
the outbox with the hold's release, not sent on the spot, so Slack failing it too loses nothing — the next outbox
pass delivers it, once, in the staff member's language. Against the Slack emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from handlers.inbox import InboxWorker
from handlers.inbox_job import MAX_ATTEMPTS
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import InboxRequest, OutboxMessage, ProposalStatus
from tests.clock import Clock
from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.emulator import SlackEmulator
from tests.needs.conftest import NOW, Network
from tests.needs.test_invite_retry import STAFF, due, proposal_id, proposal_state, submit_invite


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    emu.start()
    emu.add_user(STAFF, name="sam", real_name="Sam Carter", locale="en-GB")  # English; the network's default is Dutch
    yield emu
    emu.stop()


@pytest.fixture
def clock() -> Clock[datetime]:
    return Clock(NOW)


@pytest.fixture
def services(network: Network, clock: Clock[datetime]) -> Services:
    return Services(
        settings=Settings(staff_user_ids=frozenset({STAFF})),
        db=network.database,
        knowledge=network.knowledge,
        needs=network.service,
        clock=clock,
    )


def process(services: Services, client: WebClient, row: InboxRequest, *, after: timedelta) -> bool:
    worker = InboxWorker(services, client, threads=1)
    try:
        return worker.process(row, claim=f"test/{after}")
    finally:
        worker.pool.shutdown()


def outbox_pass(services: Services, client: WebClient) -> int:
    """One pass of the outbox sender; how many it claimed."""
    return OutboxSender(services, client).send_pending(worker_id="test-outbox").claimed


def given_up_dms(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(emulator.dm_channel_with(STAFF)) if "nobody was invited" in str(m["text"])]


def test_the_given_up_dm_failed_by_slack_is_delivered_on_the_next_outbox_pass(
    network: Network, services: Services, emulator: SlackEmulator, clock: Clock[datetime]
) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    proposal = proposal_id(network)
    while outbox_pass(services, client):  # what was queued before: the proposal for staff (by DM: no triage channel)
        pass
    submit_invite(services, proposal, "werksessie-katten")
    emulator.fail_next("conversations.invite", status=500, times=MAX_ATTEMPTS)
    finished = []
    for attempt in range(MAX_ATTEMPTS):
        after = timedelta(hours=attempt)
        (row,) = due(services.db, after=after)
        finished.append(process(services, client, row, after=after))
    assert finished[-1] is True  # given up after its last attempt
    assert proposal_state(network, proposal) == (ProposalStatus.OPEN, None)
    with services.db.session() as session:
        (queued,) = session.query(OutboxMessage).filter(OutboxMessage.dedupe_key.like("needs_invite_given_up:%")).all()
        assert queued.recipient_slack_id == STAFF and queued.dedupe_key.startswith(f"needs_invite_given_up:{proposal}:")
    assert given_up_dms(emulator) == []  # not sent by the inbox: queued

    emulator.fail_next("chat.postMessage", status=500, channel=emulator.dm_channel_with(STAFF))
    assert outbox_pass(services, client) == 1
    assert given_up_dms(emulator) == []  # Slack failed it: kept for the next pass

    clock.now = NOW + timedelta(hours=1)
    assert outbox_pass(services, client) == 1
    (told,) = given_up_dms(emulator)
    assert "<#" not in told["text"]  # the emulator has no conversations.archive: not claimed as archived
    assert "invite again" in told["text"] and "niemand" not in told["text"]  # in English: the staff member's

    clock.now = NOW + timedelta(hours=2)
    while outbox_pass(services, client):
        pass
    assert len(given_up_dms(emulator)) == 1  # once
