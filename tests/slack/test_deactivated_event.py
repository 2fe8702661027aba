"""``user_change``: only a deactivation of a person inside the network acts (by the team id in the event's user, as
the network check reads it); any other change, a malformed user, or a person of another organisation (Slack
Connect) changes nothing and asks the routing service nothing."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from bot.network import Network
from bot.routing.service import PersonGone
from handlers.deactivated import handle_user_change, is_deactivation
from handlers.profile_change import handle_profile_change

HOME = Network(team_id="T0HOME001", enterprise_id="E0ORG0001")
GONE = PersonGone(moved=[4], marked=True, withdrawn=[7, 8], escalated=[8])


def _turn(user: Any) -> mock.MagicMock:
    turn = mock.MagicMock()
    turn.body = {"event": {"type": "user_change", "user": user}}
    turn.services.home.network = HOME
    turn.services.routing_service.return_value.person_deactivated.return_value = GONE
    return turn


@pytest.mark.parametrize(
    "user",
    [
        {"id": "U0GONE001", "team_id": "T0HOME001", "deleted": False, "is_restricted": True},  # made a guest
        {"id": "U0GONE001", "team_id": "T0HOME001"},
        {"id": "U0GONE001\n", "team_id": "T0HOME001", "deleted": True},
        {"id": "U0GONE001", "team_id": "T0OTHER01", "deleted": True},  # another organisation (Slack Connect)
        {"id": "U0GONE001", "deleted": True},  # no team: not ours
        {"id": "U0GONE001", "team_id": "T0OTHER01", "deleted": True, "enterprise_user": {"enterprise_id": "E0X"}},
        "U0GONE001",
        None,
    ],
)
def test_nothing_but_a_deactivation_inside_the_network_acts(user: Any) -> None:
    turn = _turn(user)
    handle_user_change(turn)
    turn.services.routing_service.return_value.person_deactivated.assert_not_called()
    turn.queued_messages.assert_not_called()


@pytest.mark.parametrize(
    "user",
    [
        {"id": "U0GONE001", "team_id": "T0HOME001", "deleted": True},
        {"id": "U0GONE001", "team_id": "T0SISTER1", "deleted": True, "enterprise_user": {"enterprise_id": "E0ORG0001"}},
    ],
)
def test_a_deactivation_inside_the_network_acts(user: dict[str, Any]) -> None:
    turn = _turn(user)
    assert is_deactivation(turn.body)
    with mock.patch("handlers.deactivated.show_changes") as show_changes:
        handle_user_change(turn)
    # the staff posts of 8 rendered again once committed, as after a DM refused (the proposals: by the job runner)
    show_changes.assert_called_once_with(turn, GONE, now=turn.now)
    assert turn.outcome == "moved on 1, marked away True, withdrawn 2 (1 escalated)"
    turn.services.routing_service.return_value.person_deactivated.assert_called_once_with(
        turn.session, slack_user_id="U0GONE001", reason="deleted", now=turn.now
    )
    turn.queued_messages.assert_called_once_with()


@pytest.mark.parametrize(
    ("at_slack", "outcome"),
    [
        ({"team_id": "T0SISTER1", "enterprise_user": {"enterprise_id": "E0ORG0001"}}, "moved on"),  # the network's
        ({"team_id": "T0OTHER01", "enterprise_user": {"enterprise_id": "E0OTHER01"}}, "outside"),  # of another
    ],
)
def test_a_grid_deactivation_is_decided_on_what_slack_says_now(at_slack: dict[str, Any], outcome: str) -> None:
    """The event names a sister workspace's team but no organisation (undecided by the payload): ``users.info``
    confirms the deactivation and names the organisation, and that answer decides inside or outside."""
    event_user = {"id": "U0GONE001", "team_id": "T0SISTER1", "deleted": True}
    turn = _turn(event_user)
    turn.job = None
    turn.client.users_info.return_value = {"ok": True, "user": {"id": "U0GONE001", "deleted": True, **at_slack}}
    with mock.patch("handlers.deactivated.show_changes"):
        handle_profile_change(turn)
    assert turn.outcome.startswith(outcome)
    called = turn.services.routing_service.return_value.person_deactivated.called
    assert called is (outcome != "outside")
