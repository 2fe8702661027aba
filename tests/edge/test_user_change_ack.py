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
from sqlalchemy import func, select

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers.app import create_app
from handlers.services import Services
from storage.db import Database
from storage.models import SlackUser
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
    for n in range(3):
        emulator.add_user(f"U0SOMEONE{n}", name="iemand", real_name="Iemand", locale="nl-BE", team_id=team)
    before = len(emulator.calls_to("users.info"))
    responses = []
    with caplog.at_level(logging.WARNING):
        for n in range(3):  # three members change their status (a calendar app does it for everyone on the hour)
            body = {
                "type": "event_callback",
                "team_id": team,
                "event_id": f"Ev0STATUS0{n}",
                "event": {"type": "user_change", "user": {"id": f"U0SOMEONE{n}", "team_id": team, "deleted": False,
                                                          "profile": {"status_emoji": ":palm_tree:"}}},
            }  # fmt: skip
            responses.append(app.dispatch(BoltRequest(body=json.dumps(body), mode="socket_mode")).status)
        # the listeners run on the app's pool after the acknowledgement: wait for them before counting
        app._listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]
    unhandled = [r.getMessage()[:120] for r in caplog.records if "Unhandled request" in r.getMessage()]
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(SlackUser))
    database.dispose()
    assert (responses, unhandled) == ([200, 200, 200], [])
    # nothing looked up and nothing stored about people who merely changed their profile
    assert len(emulator.calls_to("users.info")) == before and stored == 0


def test_a_profile_change_outside_the_network_is_logged_once_per_person(
    emulator: SlackEmulator, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A person of another organisation in a Slack Connect channel changes their status every hour: the refusal is
    one WARNING per person per process, after that DEBUG (still refused, nothing looked up or stored)."""
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
    responses = []
    with caplog.at_level(logging.DEBUG, logger="wieweet.errors"):
        for n, who in enumerate(["U0OUTSIDE1", "U0OUTSIDE1", "U0OUTSIDE2", "U0OUTSIDE1"]):
            body = {
                "type": "event_callback",
                "team_id": team,
                "event_id": f"Ev0OUTSIDE{n}",
                "event": {"type": "user_change", "user": {"id": who, "team_id": "T0OTHER01", "deleted": False,
                                                          "profile": {"status_emoji": ":palm_tree:"}}},
            }  # fmt: skip
            responses.append(app.dispatch(BoltRequest(body=json.dumps(body), mode="socket_mode")).status)
        app._listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]
    database.dispose()
    refused = [
        (r.levelno, "U0OUTSIDE1" in r.getMessage())
        for r in caplog.records
        if r.name == "wieweet.errors" and "refused" in r.getMessage()
    ]
    assert responses == [200, 200, 200, 200]
    assert refused == [
        (logging.WARNING, True),
        (logging.DEBUG, True),
        (logging.WARNING, False),
        (logging.DEBUG, True),
    ]
