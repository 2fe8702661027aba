"""This app's id (``handlers.app.own_app_id``) and the check of a request's ``api_app_id`` against it
(``handlers.own_app``); end to end in tests/e2e/test_other_app.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import Settings, load_settings, read_settings
from bot.error_texts import error_text
from bot.errors import ConfigError
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


def given_app_services(emu: SlackEmulator, app_id: str) -> Services:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": emu.bot_token, "SLACK_API_URL": emu.api_url, "SLACK_APP_ID": f" {app_id} "}
    )
    return Services(settings=settings, db=None, knowledge=None)  # type: ignore[arg-type]


def test_slack_app_id_keeps_the_check_on_when_slack_does_not_say(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with SlackEmulator(app_id="A0WIEWEET1") as emu:  # its auth.test names no app, as Slack's often does not
        services = given_app_services(emu, "A0WIEWEET1")
        emu.fail_next("bots.info", error="missing_scope", times=5)
        create_app(services, http=True)
        assert services.home.network is not None and services.home.network.app_id == "A0WIEWEET1"
    assert "this app's id is unknown" not in caplog.text


def test_slack_app_id_that_slack_contradicts_refuses_to_start() -> None:
    with SlackEmulator(app_id="A0SOMEONEELSE") as emu:  # the token is another app's
        services = given_app_services(emu, "A0WIEWEET1")
        with pytest.raises(ConfigError) as refused:
            create_app(services, http=True)
    assert refused.value.code == "app_id_mismatch"
    assert refused.value.values == {"given": "A0WIEWEET1", "learned": "A0SOMEONEELSE"}
    assert error_text(refused.value, "en") == (
        "SLACK_APP_ID is A0WIEWEET1, but Slack says SLACK_BOT_TOKEN belongs to app A0SOMEONEELSE: the token is "
        "another app's, or SLACK_APP_ID is wrong. wieweet does not start."
    )
    assert "A0SOMEONEELSE" in (error_text(refused.value, "nl") or "")
    assert error_text(refused.value, "nl") != error_text(refused.value, "en")


def test_slack_app_id_that_slack_confirms_starts() -> None:
    with SlackEmulator(app_id="A0WIEWEET1") as emu:
        services = given_app_services(emu, "A0WIEWEET1")
        create_app(services, http=True)
        assert services.home.network is not None and services.home.network.app_id == "A0WIEWEET1"


@pytest.mark.parametrize("value", ["AAPP", "a0wieweet1", "B0WIEWEET1", "A0WIE WEET", "A0WIEWEET1,A0OTHER01"])
def test_a_malformed_slack_app_id_is_a_setting_to_fix(value: str) -> None:
    settings, problems = read_settings({"SLACK_APP_ID": value})
    assert settings.slack_app_id is None
    assert len(problems) == 1 and problems[0].startswith("SLACK_APP_ID must be an app id such as A0123ABCDE")


def test_an_unset_slack_app_id_is_learnt() -> None:
    assert read_settings({"SLACK_APP_ID": "  "}) == (Settings(), [])
