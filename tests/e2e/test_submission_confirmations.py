"""Confirmations of modal submissions run from the inbox go through the recorded confirmations (``Turn.tell``,
``Turn.dm`` …: saved on the inbox row before the commit, sent from there once it committed), never a raw
after-commit call: a kill -9 between the commit and the notice neither loses it nor sends it twice. On SQLite and
PostgreSQL, against the Slack emulator, with the real inbox worker in this process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers import ids, inbox
from handlers.digests import handle_digest_submission
from handlers.errors import VERIFIED
from handlers.forms import DigestForm
from handlers.listener import listener
from handlers.services import Services
from storage.db import Database
from storage.models import DigestSubscription
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BOT_TOKEN, run_pending
from tests.emulator import SlackEmulator


class Killed(BaseException):
    """kill -9 at this point: nothing after it runs."""


@pytest.fixture
def services(database: Database) -> Iterator[Services]:
    knowledge = KnowledgeBase(database)
    yield Services(settings=Settings(), db=database, knowledge=knowledge)
    knowledge.close()


def submit_digest(services: Services, client: WebClient) -> None:
    body = {
        "type": "view_submission",
        "user": {"id": NL_USER, "name": "griet"},
        "view": {
            "id": "VDIGEST1",
            "hash": "h1",
            "callback_id": ids.VIEW_DIGEST,
            "private_metadata": json.dumps({"channel_id": CHANNEL}),
            "blocks": [],
            "state": {
                "values": {
                    ids.BLOCK_DIGEST_DAY: {
                        ids.INPUT_DIGEST_DAY: {"type": "static_select", "selected_option": {"value": "tue"}}
                    },
                    ids.BLOCK_DIGEST_TIME: {ids.INPUT_DIGEST_TIME: {"type": "timepicker", "selected_time": "10:30"}},
                }
            },
        },
    }
    context = BoltContext(user_id=NL_USER)
    context[VERIFIED] = True
    ack = Ack()
    serve = listener(
        services, "view", handle_digest_submission, form=DigestForm, deferred=True, callback_id=ids.VIEW_DIGEST
    )
    serve(ack=ack, body=body, client=client, context=context, respond=None)
    assert ack.response is not None and ack.response.status == 200


def subscriptions(database: Database) -> int:
    with database.session() as session:
        return len(session.query(DigestSubscription).filter_by(channel_id=CHANNEL).all())


def test_the_digest_notice_survives_a_kill_between_the_commit_and_the_notice(
    database: Database, emulator: SlackEmulator, services: Services
) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    submit_digest(services, client)
    with (
        mock.patch("handlers.recorded.send_confirmations", side_effect=Killed),
        pytest.raises(Killed),
    ):
        run_pending(services, client, "hostA:1:aaa")
    assert subscriptions(database) == 1  # committed before the kill
    assert emulator.ephemerals(user=NL_USER, channel=CHANNEL) == []
    assert run_pending(services, client, "hostB:2:bbb", after=inbox.STALE_AFTER + timedelta(seconds=1)) == 1
    [notice] = emulator.ephemerals(user=NL_USER, channel=CHANNEL)  # sent once, from the record
    assert "10:30" in str(notice.get("text"))
    assert subscriptions(database) == 1
    assert run_pending(services, client, "hostC:3:ccc", after=timedelta(hours=1)) == 0
