"""Who is inside the network (``bot.network``), the payload's team (``handlers.network.claimed_team``), the
``users.info`` look-up behind them (``LocaleCache.person``) and the ``WIEWEET_ALLOWED_TEAMS`` setting."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.config import Settings, read_settings
from bot.errors import ConfigError
from bot.network import Network, is_inside, parse_allowed_teams
from digests.errors import PermanentPostError
from handlers.after_ack import AckThen, after_ack
from handlers.app import create_app
from handlers.channels import is_shared_outside
from handlers.digest_post import not_shared_outside
from handlers.network import NetworkGate, claimed_team
from handlers.services import LocaleCache, Services, SlackUnavailableError
from storage.db import Database
from tests.emulator import SlackEmulator

HOME = Network.of(team_id="T0HOME", allowed_teams=["T0ALLY"])
HOME_WITH_GUESTS = Network.of(team_id="T0HOME", allowed_teams=["T0ALLY"], guests_inside=True)
GRID = Network.of(team_id="T0HOME", enterprise_id="E0ORG")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_installations_team_and_the_allowed_teams_are_inside() -> None:
    assert is_inside(HOME, team="T0HOME") is True
    assert is_inside(HOME, team="T0ALLY") is True
    assert is_inside(HOME, team="T0ALLY", asked=True) is True


def test_another_team_is_outside_without_asking_slack_when_the_network_is_no_grid_organisation() -> None:
    assert is_inside(HOME, team="T0OTHER") is False
    assert is_inside(HOME, team="E0ORG") is False  # an organisation the network is not
    assert is_inside(HOME, team="T0OTHER", enterprise="E0ORG") is False


def test_the_grid_organisation_is_inside_by_its_id_in_the_payload_or_from_users_info() -> None:
    assert is_inside(GRID, team="E0ORG") is True  # Slack's ``user_team`` of a mention can be the organisation
    assert is_inside(GRID, team="T0SISTER", enterprise="E0ORG") is True
    assert is_inside(GRID, team="T0SISTER") is None  # another workspace: maybe of the organisation, ask Slack
    assert is_inside(GRID, team="T0SISTER", enterprise="E0OTHER") is False
    assert is_inside(GRID, team="E0OTHER") is False


def test_missing_fields_ask_slack_and_stay_outside_when_slack_does_not_say() -> None:
    assert is_inside(HOME, team=None) is None
    assert is_inside(HOME, team="") is None
    assert is_inside(HOME, team=None, asked=True) is False
    assert is_inside(GRID, team=None, enterprise=None, asked=True) is False
    assert is_inside(Network.of(team_id=None), team="", asked=True) is False  # no team at all: nobody inside


def test_network_from_auth_test() -> None:
    assert Network.of(team_id="T0HOME", enterprise_id=None) == Network("T0HOME", None, frozenset())
    assert Network.of(team_id="T0HOME", enterprise_id="").enterprise_id is None


@pytest.mark.parametrize(
    ("body", "team"),
    [
        ({"type": "block_actions", "user": {"id": "U1", "team_id": "T0X"}, "team": {"id": "T0HOME"}}, "T0X"),
        ({"type": "view_submission", "user": {"id": "U1", "team_id": "T0X"}}, "T0X"),
        ({"type": "event_callback", "team_id": "T0HOME", "event": {"user": "U1", "team": "T0X"}}, "T0X"),
        (
            {"type": "event_callback", "event": {"user": "U1", "team": "T0HOME", "user_team": "E0X"}},
            "E0X",
        ),
        ({"type": "event_callback", "team_id": "T0HOME", "event": {"type": "app_home_opened", "user": "U1"}}, None),
        ({"command": "/wieweet", "team_id": "T0HOME", "user_id": "U1"}, None),  # the workspace, not the person's
        ({"type": "shortcut", "user": {"id": "U1"}}, None),
    ],
)
def test_the_team_a_payload_gives(body: dict[str, Any], team: str | None) -> None:
    assert claimed_team(body) == team


def test_allowed_teams_setting_is_read_and_checked() -> None:
    settings, problems = read_settings({"WIEWEET_ALLOWED_TEAMS": " T0ALLY, T0SECOND ;T0THIRD"})
    assert problems == [] and settings.allowed_teams == {"T0ALLY", "T0SECOND", "T0THIRD"}
    assert read_settings({})[0].allowed_teams == frozenset()
    _settings, problems = read_settings({"WIEWEET_ALLOWED_TEAMS": "T0ALLY,acme.slack.com"})
    assert len(problems) == 1 and "WIEWEET_ALLOWED_TEAMS" in problems[0] and "acme.slack.com" in problems[0]
    with pytest.raises(ConfigError):
        parse_allowed_teams("E0ORG")  # an organisation is not a team: its workspaces are inside by auth.test


@pytest.mark.parametrize(("value", "inside"), [(None, False), ("true", True), ("false", False)])
def test_the_guests_setting_reaches_the_network_the_app_checks_against(value: str | None, inside: bool) -> None:
    """``WIEWEET_GUESTS_INSIDE`` (default: guests are outside) is read into the settings and the app's network."""
    settings, problems = read_settings({} if value is None else {"WIEWEET_GUESTS_INSIDE": value})
    assert problems == [] and settings.guests_inside is inside
    with SlackEmulator() as emu:
        settings = replace(settings, slack_bot_token=emu.bot_token, slack_api_url=emu.api_url)
        services = Services(settings=settings, db=None, knowledge=None)  # type: ignore[arg-type]
        create_app(services, http=True)
    assert services.home.network is not None and services.home.network.guests_inside is inside
    assert read_settings({"WIEWEET_GUESTS_INSIDE": "soms"})[1]  # not a yes or no: refused at start


class FakeClient:
    def __init__(self, user: dict[str, Any] | None = None, error: str | None = None) -> None:
        self.user, self.error, self.calls = user, error, 0

    def users_info(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.error:
            response = SlackResponse(
                client=None,
                http_verb="GET",
                api_url="",
                req_args={},
                data={"ok": False, "error": self.error},
                headers={},
                status_code=200,
            )
            raise SlackApiError("failed", response)
        return {"user": self.user}


def test_person_is_looked_up_once_and_shares_the_profile_with_the_language() -> None:
    cache = LocaleCache()
    client = FakeClient(
        {"id": "U1", "team_id": "T0SISTER", "locale": "en-GB", "enterprise_user": {"enterprise_id": "E0ORG"}}
    )
    person = cache.person(client=client, user_id="U1", now=NOW)  # type: ignore[arg-type]
    assert (person.team, person.enterprise, person.locale, person.known) == ("T0SISTER", "E0ORG", "en-GB", True)
    assert cache.person(client=client, user_id="U1", now=NOW) == person  # type: ignore[arg-type]
    assert cache._fetch(client=client, user_id="U1", now=NOW) == ("en-GB", "")  # type: ignore[arg-type]
    assert client.calls == 1


def test_a_french_locale_gets_english_and_a_flemish_one_dutch() -> None:
    cache = LocaleCache("nl")
    for user_id, locale, expected in (("U1", "fr-FR", "en"), ("U2", "nl-BE", "nl"), ("U3", "", "nl")):
        client = FakeClient({"id": user_id, "team_id": "T0HOME", "locale": locale})
        cache._fetch(client=client, user_id=user_id, now=NOW)  # type: ignore[arg-type]
        assert cache.cached(user_id) == expected, locale


def test_person_unknown_to_slack_is_not_known_and_other_errors_raise() -> None:
    assert not LocaleCache().person(client=FakeClient(error="user_not_found"), user_id="U1", now=NOW).known  # type: ignore[arg-type]
    with pytest.raises(SlackUnavailableError):
        LocaleCache().person(client=FakeClient(error="missing_scope"), user_id="U1", now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("info", "outside"),
    [
        ({"is_channel": True}, False),
        ({"is_channel": True, "is_private": True}, False),
        ({"is_channel": True, "is_ext_shared": True}, True),
        ({"is_channel": True, "is_pending_ext_shared": True}, True),
        ({"is_channel": True, "is_shared": True}, True),
        ({"is_channel": True, "is_shared": True, "is_org_shared": True}, False),  # the Grid organisation's own
        ({"is_mpim": True, "is_ext_shared": True}, True),
        ({"is_im": True, "is_ext_shared": True}, False),  # the asker's own DM with the bot
    ],
)
def test_which_conversations_people_outside_read(info: dict[str, Any], outside: bool) -> None:
    assert is_shared_outside(info) is outside


def test_a_digest_is_never_posted_in_a_channel_that_became_shared() -> None:
    posted: list[str] = []

    def post(channel: str, _blocks: list[Any], _text: str) -> str:
        posted.append(channel)
        return "1.0"

    guarded = not_shared_outside(post, lambda channel: channel == "C0SHARED")
    assert guarded("C0OWN", [], "digest") == "1.0"
    with pytest.raises(PermanentPostError):
        guarded("C0SHARED", [], "digest")
    assert posted == ["C0OWN"]


class GateClient:
    """What the gate may call on Slack: users.info (a fixed person), and the calls that tell a refused person."""

    def __init__(self, team: str | None = "T0OTHER", error: str | None = None, guest: str | None = None) -> None:
        self.team, self.error, self.guest = team, error, guest  # guest: "is_restricted" or "is_ultra_restricted"
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("users.info", kwargs))
        if self.error:
            return FakeClient(error=self.error).users_info()
        user = {"id": kwargs["user"], "team_id": self.team, "locale": "en-GB"}
        return {"user": user | ({self.guest: True} if self.guest else {})}

    def conversations_open(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("conversations.open", kwargs))
        return {"channel": {"id": "D0DM"}}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postMessage", kwargs))
        return {"ok": True}

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postEphemeral", kwargs))
        return {"ok": True}


def gate_run(body: dict[str, Any], client: GateClient, network: Network = HOME) -> tuple[BoltResponse | None, bool]:
    """The gate on one request: its response (None when it let the request through) and whether it did."""
    settings = Settings(default_language="nl")
    services = Services(settings=settings, db=None, knowledge=None)  # type: ignore[arg-type]
    gate = NetworkGate(services, network)
    request = BoltRequest(body=body, mode="socket_mode")
    request.context["client"] = client
    request.context["bot_user_id"] = "UBOT"
    passed: list[bool] = []

    def next_() -> BoltResponse:
        passed.append(True)
        return BoltResponse(status=200, body="")

    response = gate(request, BoltResponse(status=200), next_)
    after_ack(response)  # as the adapters do once the ack is sent (``handlers.after_ack``)
    gate._pool.shutdown()  # the message to the refused person has been sent
    return (None if passed else response), bool(passed)


def test_gate_lets_the_network_through_without_asking_slack_when_guests_are_let_in() -> None:
    client = GateClient()
    body = {"type": "block_actions", "user": {"id": "U1", "team_id": "T0HOME"}, "actions": []}
    assert gate_run(body, client, HOME_WITH_GUESTS) == (None, True)
    assert gate_run({"type": "event_callback", "event": {"type": "message", "subtype": "channel_join"}}, client)[1]
    assert client.calls == []


@pytest.mark.parametrize("kind", ["is_restricted", "is_ultra_restricted"])
def test_gate_keeps_a_guest_of_the_home_team_out_unless_guests_are_let_in(kind: str) -> None:
    """Before, a guest's click passed on the payload's team alone: a guest could search the register. Only
    ``users.info`` says who is a guest, so a click of the home team asks it (once per person, cached); a guest gets
    the message people outside get, a member goes through."""
    body = {"type": "block_actions", "user": {"id": "U1", "team_id": "T0HOME"}, "actions": []}
    member = GateClient(team="T0HOME")
    assert gate_run(body, member) == (None, True)
    assert [name for name, _ in member.calls] == ["users.info"]
    guest = GateClient(team="T0HOME", guest=kind)
    response, passed = gate_run(body, guest)
    assert not passed and response is not None
    assert [name for name, _ in guest.calls] == ["users.info", "conversations.open", "chat.postMessage"]
    assert "members of the network" in guest.calls[-1][1]["text"]  # the outsiders' message, in their language
    assert gate_run(body, GateClient(team="T0HOME", guest=kind), HOME_WITH_GUESTS) == (None, True)
    home_tab = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1", "tab": "home"}}
    _, passed = gate_run(home_tab, quiet := GateClient(team="T0HOME", guest=kind))
    assert not passed and [name for name, _ in quiet.calls][:1] == ["users.info"]


def test_gate_refuses_a_modal_an_options_list_and_a_closed_modal_from_outside() -> None:
    client = GateClient()
    submission = {"type": "view_submission", "user": {"id": "U9", "team_id": "T0OTHER"}, "view": {"id": "V1"}}
    response, passed = gate_run(submission, client)
    assert not passed and response is not None and response.status == 200
    assert json.loads(response.body) == {"response_action": "clear"}
    assert [name for name, _ in client.calls] == ["conversations.open", "chat.postMessage"]  # told by DM
    assert "netwerk" in client.calls[-1][1]["text"]
    options, _ = gate_run({"type": "block_suggestion", "user": {"id": "U9", "team_id": "T0OTHER"}}, GateClient())
    assert options is not None and json.loads(options.body) == {"options": []}
    closed, _ = gate_run({"type": "view_closed", "user": {"id": "U9", "team_id": "T0OTHER"}}, quiet := GateClient())
    assert closed is not None and closed.body == "" and quiet.calls == []


def test_gate_asks_slack_for_a_command_and_answers_in_the_ack() -> None:
    command = {"command": "/wieweet", "text": "wie weet", "team_id": "T0HOME", "user_id": "U9", "channel_id": "C1"}
    response, passed = gate_run(command, client := GateClient(team="T0OTHER"))
    assert not passed and response is not None
    assert json.loads(response.body)["response_type"] == "ephemeral"
    assert "members of the network" in json.loads(response.body)["text"]  # in the person's language (users.info)
    assert [name for name, _ in client.calls] == ["users.info"]
    assert gate_run(command, GateClient(team="T0ALLY"))[1]  # an allowed team: through
    assert not gate_run(command, GateClient(error="user_not_found"))[1]  # unknown to Slack: outside
    unsure, passed = gate_run(command, GateClient(error="ratelimited"))  # no decision: acked, told to try again
    assert not passed and unsure is not None and "nagaan wie je bent" in json.loads(unsure.body)["text"]


def test_gate_keeps_a_form_open_it_could_not_check_and_ignores_a_redelivery() -> None:
    settings = Settings(default_language="nl")
    services = Services(settings=settings, db=None, knowledge=None)  # type: ignore[arg-type]
    clock = [0.0]
    gate = NetworkGate(services, HOME, clock=lambda: clock[0])
    submission = {"type": "view_submission", "trigger_id": "1.2.3", "user": {"id": "U9"}, "view": {"id": "V1"}}

    def run(client: GateClient) -> BoltResponse:
        request = BoltRequest(body=submission, mode="socket_mode")
        request.context["client"] = client
        request.context["bot_user_id"] = "UBOT"
        return gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed"))

    pushed = json.loads(run(GateClient(error="internal_error")).body)
    assert pushed["response_action"] == "push" and "nagaan wie je bent" in json.dumps(pushed["view"])
    again = run(quiet := GateClient(team="T0HOME"))  # the same delivery again, Slack answering now: nothing more
    assert again.body == "" and quiet.calls == []
    clock[0] = 601.0  # long after: the same trigger is no redelivery any more (never, in practice)
    assert run(GateClient(team="T0HOME")).body == "passed"
    gate._pool.shutdown()


def test_a_redelivery_of_a_request_told_could_not_check_is_ignored_by_another_replica_too(database: Database) -> None:
    settings = Settings(default_language="nl")
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    replicas = [  # two processes on one database: what one told, the other knows
        NetworkGate(
            Services(settings=settings, db=database, knowledge=None, clock=lambda: now), HOME, database=database
        )  # type: ignore[arg-type]
        for _ in range(2)
    ]
    command = {"command": "/wieweet", "text": "wie weet", "trigger_id": "9.8.7", "user_id": "U9", "channel_id": "C1"}

    def run(gate: NetworkGate, body: dict[str, Any], client: GateClient) -> BoltResponse:
        request = BoltRequest(body=body, mode="socket_mode")
        request.context["client"] = client
        request.context["bot_user_id"] = "UBOT"
        return gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed"))

    told = run(replicas[0], command, GateClient(error="internal_error"))
    assert "nagaan wie je bent" in json.loads(told.body)["text"]
    after_ack(told)  # the adapter sent the ack (the message itself): only now is the request noted as told
    replicas[0]._pool.shutdown()  # what it told is noted (after the ack, on its own pool)
    again = run(replicas[1], command, quiet := GateClient(team="T0HOME"))  # Slack's retry reaches the other one
    assert again.body == "" and quiet.calls == []
    other = {**command, "trigger_id": "9.8.8"}  # a request of the person's own: checked as usual
    assert run(replicas[1], other, GateClient(team="T0HOME")).body == "passed"
    for gate in replicas:
        gate._pool.shutdown()


def test_a_member_made_a_guest_is_kept_out_by_every_replica_within_minutes() -> None:
    """Before, the team and guest status were kept as long as the language (7 days): Slack's ``user_change`` reaches
    one process, and another let the new guest in for up to a week. Now they are kept for ``ACCESS_TTL``: the
    process that got the event refuses at once, every other one once it asks Slack again (within 10 minutes),
    without asking Slack more than once per person in between."""
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    clock = [start]
    settings = Settings(default_language="nl")
    replicas = [
        NetworkGate(Services(settings=settings, db=None, knowledge=None, clock=lambda: clock[0]), HOME)  # type: ignore[arg-type]
        for _ in range(2)
    ]
    client = GateClient(team="T0HOME")  # a member

    def passes(gate: NetworkGate, body: dict[str, Any]) -> bool:
        request = BoltRequest(body=body, mode="socket_mode")
        request.context["client"] = client
        request.context["bot_user_id"] = "UBOT"
        return gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed")).body == "passed"

    def looked_up() -> int:
        return sum(name == "users.info" for name, _ in client.calls)

    click = {"type": "block_actions", "user": {"id": "U1", "team_id": "T0HOME"}, "actions": []}
    assert passes(replicas[0], click) and passes(replicas[1], click)  # both know U1 as a member
    assert looked_up() == 2
    client.guest = "is_restricted"  # staff make U1 a guest; Slack sends the user_change once, to replica 0
    change = {"type": "event_callback", "event": {"type": "user_change", "user": {"id": "U1", "team_id": "T0HOME"}}}
    passes(replicas[0], change)
    clock[0] = start + timedelta(minutes=1)
    assert not passes(replicas[0], click)  # the process that got the event asks again at once: refused
    assert passes(replicas[1], click) and looked_up() == 3  # the other still has its answer of a minute ago
    clock[0] = start + timedelta(minutes=10)
    assert not passes(replicas[1], click)  # ... for 10 minutes at most, then it asks Slack again
    assert looked_up() == 4
    for gate in replicas:
        gate._pool.shutdown()  # the refused person's messages are sent


def test_the_refused_persons_message_waits_for_the_ack() -> None:
    """The gate answers before any listener; what it says to the person goes to Slack only once the adapter sent the
    ack (``handlers.after_ack``): nothing before, the message after (fixsmall42 item 4)."""
    settings = Settings(default_language="nl")
    gate = NetworkGate(Services(settings=settings, db=None, knowledge=None), HOME)  # type: ignore[arg-type]
    client = GateClient(error="internal_error")  # Slack cannot say who is acting
    mention = {"type": "event_callback", "event": {"type": "app_mention", "user": "U9", "channel": "C1", "ts": "1.2"}}
    request = BoltRequest(body=mention, mode="socket_mode")
    request.context.update(client=client, bot_user_id="UBOT", user_id="U9", channel_id="C1")
    response = gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed"))
    assert isinstance(response, AckThen) and response.body == ""
    assert gate._pool._held == 2  # places kept for the message and its note, but nothing handed to a thread yet
    assert [name for name, _ in client.calls] == ["users.info"]  # the check's own look-up: nothing said yet
    after_ack(response)
    gate._pool.shutdown()
    assert [name for name, _ in client.calls] == ["users.info", "chat.postEphemeral"]
