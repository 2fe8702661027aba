"""``handlers.routing.require_reachable``: whom Slack says a person chosen by hand (passing a question on, staff
assigning it) belongs to decides, before anything is written; when Slack cannot say, nobody is chosen."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.network import Network
from bot.routing.errors import RoutingInputError
from handlers.routing import require_reachable
from handlers.services import HomeNetwork

HOME = Network.of(team_id="T0HOME001", enterprise_id="E0GRID001", allowed_teams=["T0ALLOWED"])


class Client:
    def __init__(self, user: dict[str, Any] | None = None, error: str | None = None, down: bool = False) -> None:
        self.user, self.error, self.down = user, error, down

    def users_info(self, **_kwargs: Any) -> dict[str, Any]:
        if self.down:
            raise TimeoutError("no answer")
        if self.error:
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="",
                req_args={},
                data={"ok": False, "error": self.error},
                headers={},
                status_code=200,
            )
            raise SlackApiError(self.error, response)
        return {"ok": True, "user": self.user}


def turn(client: Client, network: Network | None = HOME) -> Any:
    home = HomeNetwork()
    home.network = network
    return SimpleNamespace(client=client, services=SimpleNamespace(home=home))


def refusal(client: Client, network: Network | None = HOME) -> str | None:
    try:
        require_reachable(turn(client, network), "U0PICKED1", question_id=1)
    except RoutingInputError as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    "user",
    [
        {"id": "U0PICKED1", "team_id": "T0HOME001"},
        {"id": "U0PICKED1", "team_id": "T0ALLOWED"},
        {"id": "U0PICKED1", "team_id": "T0SISTER1", "enterprise_user": {"enterprise_id": "E0GRID001"}},
    ],
    ids=["home-team", "allowed-team", "same-grid"],
)
def test_people_of_the_network_may_be_chosen(user: dict[str, Any]) -> None:
    assert refusal(Client(user)) is None


@pytest.mark.parametrize(
    "user",
    [
        {"id": "U0PICKED1", "team_id": "T0OTHER01"},
        {"id": "U0PICKED1", "team_id": "T0OTHER01", "enterprise_user": {"enterprise_id": "E0OTHER01"}},
        {"id": "U0PICKED1"},
    ],
    ids=["other-team", "other-grid", "no-team"],
)
def test_people_of_another_organisation_are_refused(user: dict[str, Any]) -> None:
    assert refusal(Client(user)) == "ask_outside_network"


def test_nobody_is_chosen_before_the_network_is_known_or_while_slack_cannot_say() -> None:
    inside = {"id": "U0PICKED1", "team_id": "T0HOME001"}
    assert refusal(Client(inside), network=None) == "ask_outside_network"
    assert refusal(Client(down=True)) == "ask_unchecked"
    assert refusal(Client(error="ratelimited")) == "ask_unchecked"
    assert refusal(Client(error="user_not_found")) == "ask_unknown_user"
