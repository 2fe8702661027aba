"""One check decides whether an account Slack describes is of the network (``handlers.deactivated.account_inside``),
on every path that acts on what ``users.info`` says: a person chosen by hand (staff assigning someone outside the
register, an expert passing a question on), Slack's ``user_change`` (a deactivation, a reactivation) and the job
runner's recheck of a mark. A Grid member of our organisation in a sister workspace is inside on each; a member of
another organisation is outside on each, whatever the event claimed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

import handlers.profile_change
import handlers.reactivations
import handlers.routing
from bot.network import Network
from bot.routing.errors import RoutingInputError
from bot.routing.service import PersonGone
from handlers.deactivated import account_admitted, account_inside
from handlers.profile_change import handle_profile_change
from handlers.reactivations import RECHECK_AFTER, RecentMarksCheck
from handlers.routing import require_reachable
from handlers.services import HomeNetwork

HOME = Network.of(team_id="T0HOME001", enterprise_id="E0GRID001")
USER = "U0PERSON1"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

OUR_GRID = {"team_id": "T0SISTER1", "enterprise_user": {"enterprise_id": "E0GRID001"}}  # a sister workspace
OUR_ORG_WIDE = {"team_id": "E0GRID001", "enterprise_user": {"enterprise_id": "E0GRID001"}}  # the organisation's
OTHER_GRID = {"team_id": "T0OTHER01", "enterprise_user": {"enterprise_id": "E0OTHER01"}}  # another organisation
ACCOUNTS = pytest.mark.parametrize(
    ("account", "inside"),
    [(OUR_GRID, True), (OUR_ORG_WIDE, True), (OTHER_GRID, False)],
    ids=["our-grid-member", "our-org-wide-member", "another-grid-member"],
)


def test_every_path_uses_the_one_check() -> None:
    for module in (handlers.profile_change, handlers.reactivations):
        assert module.account_inside is account_inside, module.__name__
    assert handlers.routing.account_admitted is account_admitted  # account_inside, and guests kept out


def _home(network: Network | None = HOME) -> HomeNetwork:
    home = HomeNetwork()
    home.network = network
    return home


def picked(account: dict[str, Any], network: Network | None = HOME) -> bool:
    """Staff's hand-pick (or a forward): True when the person may be chosen."""
    client = mock.Mock()
    client.users_info.return_value = {"ok": True, "user": {"id": USER, **account}}
    turn = SimpleNamespace(client=client, services=SimpleNamespace(home=_home(network)))
    try:
        require_reachable(turn, USER, question_id=1)  # type: ignore[arg-type]
    except RoutingInputError as exc:
        assert exc.code == "ask_outside_network"
        return False
    return True


def user_change(account: dict[str, Any], *, deleted: bool, network: Network | None = HOME) -> bool:
    """Slack's ``user_change``, whose event names a sister workspace and no organisation (undecided by the payload):
    True when it acted on the account (a deactivation handled, a mark cleared)."""
    turn = mock.MagicMock(now=NOW, job=None)
    turn.body = {"event": {"type": "user_change", "user": {"id": USER, "team_id": "T0SISTER1", "deleted": deleted}}}
    turn.services.home = _home(network)
    turn.services.routing_service.return_value.person_deactivated.return_value = PersonGone(
        moved=[4], marked=True, withdrawn=[], escalated=[]
    )
    turn.client.users_info.return_value = {"ok": True, "user": {"id": USER, "deleted": deleted, **account}}
    with (
        mock.patch("handlers.deactivated.show_changes"),
        mock.patch("handlers.profile_change.make_available_again") as clear,
    ):
        handle_profile_change(turn)
    acted = turn.services.routing_service.return_value.person_deactivated.called or clear.called
    assert acted is (turn.outcome != "outside"), turn.outcome
    return bool(acted)


def rechecked(account: dict[str, Any], network: Network | None = HOME) -> bool:
    """The job runner's look at a recent mark of an account Slack now says is active: True when it is cleared."""
    client = mock.Mock()
    client.users_info.return_value = {"ok": True, "user": {"id": USER, "deleted": False, **account}}
    services = SimpleNamespace(db=mock.MagicMock(), marked_away=mock.Mock(), clock=lambda: NOW, home=_home(network))
    with (
        mock.patch("handlers.reactivations.list_marked_away_since", return_value=[(USER, NOW - RECHECK_AFTER)]),
        mock.patch("handlers.reactivations.make_available_again") as clear,
    ):
        cleared = RecentMarksCheck(services, client)()  # type: ignore[arg-type]
    assert (cleared == [USER]) is clear.called
    return cleared == [USER]


@ACCOUNTS
def test_a_hand_pick_is_decided_by_the_one_check(account: dict[str, Any], inside: bool) -> None:
    assert account_inside(HOME, account) is inside
    assert picked(account) is inside


@ACCOUNTS
def test_a_user_change_is_decided_by_the_one_check(account: dict[str, Any], inside: bool) -> None:
    assert user_change(account, deleted=True) is inside
    assert user_change(account, deleted=False) is inside


@ACCOUNTS
def test_a_recheck_of_a_mark_is_decided_by_the_one_check(account: dict[str, Any], inside: bool) -> None:
    assert rechecked(account) is inside


GUEST_KINDS = pytest.mark.parametrize("kind", ["is_restricted", "is_ultra_restricted"])


@GUEST_KINDS
def test_a_guest_of_the_home_team_cannot_be_chosen_unless_guests_are_let_in(kind: str) -> None:
    """Before, a guest (a consultant invited into a few channels) counted as inside and could be passed a question.
    Their deactivation is still acted on (their register entry is marked as anyone's)."""
    guest = {"team_id": "T0HOME001", kind: True}
    assert picked({"team_id": "T0HOME001"}) is True
    assert picked(guest) is False
    assert picked(guest, network=Network.of(team_id="T0HOME001", guests_inside=True)) is True
    assert account_admitted(HOME, guest) is False and account_inside(HOME, guest) is True
    assert user_change(guest, deleted=True) is True


def test_no_network_known_yet_nobody_is_inside_on_any_path() -> None:
    assert account_inside(None, OUR_GRID) is False
    assert picked(OUR_GRID, network=None) is False
    assert user_change(OUR_GRID, deleted=True, network=None) is False
    assert rechecked(OUR_GRID, network=None) is False
