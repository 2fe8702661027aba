"""This app's id (``handlers.app.own_app_id``) and the check of a request's ``api_app_id`` against it
(``handlers.own_app``); end to end in tests/e2e/test_other_app.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from handlers.app import create_app, own_app_id
from handlers.own_app import other_app
from handlers.services import Services
from tests.emulator import SlackEmulator


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"type": "event_callback", "api_app_id": "A0OTHER"}, "A0OTHER"),
        ({"command": "/wieweet", "api_app_id": "A0OTHER"}, "A0OTHER"),
        ({"type": "block_actions", "api_app_id": "A0OURS"}, None),
        ({"type": "block_actions"}, None),  # none named: goes on
        ({"type": "block_actions", "api_app_id": ""}, None),
        ({"type": "block_actions", "api_app_id": ["A0OTHER"]}, None),  # not an id
    ],
)
def test_only_another_named_app_is_dropped(body: dict[str, Any], named: str | None) -> None:
    assert other_app(body, "A0OURS") == named
    assert other_app(body, None) is None  # this app's id unknown: nothing is told apart


def services_for(emu: SlackEmulator) -> Services:
    settings = Settings(slack_bot_token=emu.bot_token, slack_api_url=emu.api_url)
    return Services(settings=settings, db=None, knowledge=None)  # type: ignore[arg-type]


def test_the_app_learns_its_id_at_start() -> None:
    with SlackEmulator(app_id="A0WIEWEET") as emu:
        services = services_for(emu)
        create_app(services, http=True)
        assert services.home.network is not None and services.home.network.app_id == "A0WIEWEET"
        assert [c.params.get("bot") for c in emu.calls_to("bots.info")] == [emu.bot_id]


def test_auth_tests_app_id_is_taken_without_asking_bots_info() -> None:
    with SlackEmulator() as emu:
        client = create_app(services_for(emu), http=True).client
        mark = emu.call_count
        assert own_app_id(client, {"app_id": "A0GIVEN", "bot_id": emu.bot_id}) == "A0GIVEN"
        assert emu.calls[mark:] == []


def test_an_unknown_app_id_checks_nothing_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with SlackEmulator() as emu:
        services = services_for(emu)
        emu.fail_next("bots.info", error="missing_scope", times=5)
        create_app(services, http=True)  # the app starts all the same
        assert services.home.network is not None and services.home.network.app_id is None
    assert "could not learn this app's id from bots.info" in caplog.text
    assert own_app_id(WebClient(), {}) is None  # no bot id: nothing to ask
