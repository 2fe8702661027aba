"""Through the real app (create_app, every listener and the global middleware; Slack emulated): a ``user_change``
that is not a deactivation (a status emoji, a new title: Slack sends one for every member and every change) is
acknowledged quietly. Unmatched, Bolt would answer 404 and log "Unhandled request"; in Socket Mode a non-200 is not
acknowledged at all, and either way Slack retries it and counts a failed delivery. The network check reads the
person's team from the event itself, so no ``users.info`` call is made for it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from slack_bolt import BoltRequest

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers.app import create_app
from handlers.services import Services
from storage.db import Database
from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET
from tests.edge.hostile import start_emulator
from tests.emulator import SlackEmulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[SlackEmulator]:
    emu = start_emulator()
    yield emu
    emu.stop()


def test_a_status_change_is_acknowledged_quietly(
    emulator: SlackEmulator, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(f"sqlite:///{tmp_path}/w.db")
    settings = Settings(
        database_url=str(database.engine.url),
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=emulator.api_url,
    )
    services = Services(settings=settings, db=database, knowledge=KnowledgeBase(database))
    app = create_app(services, http=False)
    team = services.home.network.team_id if services.home.network else "T0HOME001"
    emulator.add_user("U0SOMEONE1", name="iemand", real_name="Iemand", locale="nl-BE", team_id=team)
    body = {
        "type": "event_callback",
        "team_id": team,
        "event_id": "Ev0STATUS01",
        "event": {"type": "user_change", "user": {"id": "U0SOMEONE1", "team_id": team, "deleted": False,
                                                  "profile": {"status_emoji": ":palm_tree:"}}},
    }  # fmt: skip
    before = len(emulator.calls_to("users.info"))
    with caplog.at_level(logging.WARNING):
        response = app.dispatch(BoltRequest(body=json.dumps(body), mode="socket_mode"))
    unhandled = [r.getMessage()[:120] for r in caplog.records if "Unhandled request" in r.getMessage()]
    database.dispose()
    assert (response.status, unhandled) == (200, [])
    assert len(emulator.calls_to("users.info")) == before
