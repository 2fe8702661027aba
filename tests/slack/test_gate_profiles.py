"""The network check on Slack's ``user_change`` (sent for every profile change of every member): in a Grid
organisation a sister workspace's member is recognised by the organisation the event names, so a flood of status
changes costs no ``users.info``; where the payload does not decide, the check asks Slack nothing and leaves the
event to its listener (which confirms a deactivation itself, retried from the inbox), so a rate limit never drops
a deactivation."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.config import Settings
from bot.network import Network
from handlers.network import NetworkGate, claimed_enterprise
from handlers.services import Services
from tests.slack.test_network import GateClient

GRID = Network.of(team_id="T0HOME", enterprise_id="E0ORG")


def _user_change(n: int, team: str, enterprise: str | None, *, deleted: bool = False) -> dict[str, Any]:
    user: dict[str, Any] = {"id": f"U0SIS{n:05d}", "team_id": team, "deleted": deleted, "profile": {"status_text": "x"}}
    if enterprise:
        user["enterprise_user"] = {"enterprise_id": enterprise, "teams": [team]}
    return {
        "type": "event_callback",
        "event_id": f"Ev{n:06d}",
        "team_id": "T0HOME",
        "enterprise_id": "E0ORG",  # the installation's organisation: the same for a partner's profile
        "authorizations": [{"enterprise_id": "E0ORG", "team_id": "T0HOME", "is_bot": True}],
        "event": {"type": "user_change", "user": user},
    }


def _run(bodies: list[dict[str, Any]], client: GateClient) -> int:
    """The gate on each body; how many it let through to the listeners."""
    services = Services(settings=Settings(default_language="nl"), db=None, knowledge=None)  # type: ignore[arg-type]
    gate = NetworkGate(services, GRID)
    passed = 0
    for body in bodies:
        request = BoltRequest(body=body, mode="socket_mode")
        request.context["client"] = client
        request.context["bot_user_id"] = "UBOT"
        if gate(request, BoltResponse(status=200), lambda: BoltResponse(status=200, body="passed")).body == "passed":
            passed += 1
    gate._pool.shutdown()
    return passed


def test_profile_changes_of_a_sister_workspace_pass_without_asking_slack() -> None:
    client = GateClient(team="T0SISTER")
    bodies = [_user_change(n, "T0SISTER", "E0ORG", deleted=n % 10 == 0) for n in range(200)]
    assert _run(bodies, client) == 200
    assert [name for name, _ in client.calls] == []


def test_a_partner_organisations_profile_change_is_refused_without_asking_slack() -> None:
    client = GateClient(team="T0PART")
    assert _run([_user_change(1, "T0PART", "E0PARTNER", deleted=True)], client) == 0
    assert client.calls == []  # nothing said to anyone either: nobody sent it


def test_an_undecided_deactivation_under_a_rate_limit_reaches_its_listener() -> None:
    # no organisation in the profile: the payload does not say; users.info would be rate-limited
    client = GateClient(error="ratelimited")
    bodies = [_user_change(n, "T0ELSE", None, deleted=True) for n in range(20)]
    assert _run(bodies, client) == 20  # none acknowledged and dropped: the listener confirms it (inbox, retried)
    assert client.calls == []


def test_the_organisation_is_read_from_the_persons_profile_only() -> None:
    assert claimed_enterprise(_user_change(1, "T0SISTER", "E0ORG")) == "E0ORG"
    assert claimed_enterprise(_user_change(1, "T0SISTER", None)) is None  # the envelope's organisation is not theirs
    assert claimed_enterprise({"type": "event_callback", "event": {"type": "user_change", "user": "U1"}}) is None
    assert claimed_enterprise({"type": "block_actions", "user": {"id": "U1", "enterprise_user": {}}}) is None
