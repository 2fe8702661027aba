"""Who is inside the network wieweet serves: a pure decision on ids Slack signed.

The network is the Slack team wieweet is installed in, the Enterprise Grid organisation that team belongs to (every
workspace of it), and the teams listed in ``WIEWEET_ALLOWED_TEAMS`` (a network spread over several workspaces).
Everyone else — people of another organisation in a Slack Connect channel — is outside: the register's people
consented to being found by the network, not by whoever shares a channel with it. So are the home team's guests
(Slack's single- and multi-channel guests, ``is_restricted``/``is_ultra_restricted``: a consultant, a supplier
invited into a few channels), unless ``WIEWEET_GUESTS_INSIDE`` lets them in (``Network.guests_inside``). Whether
someone is a guest only ``users.info`` says, never a request's payload.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.errors import setting_refused
from bot.text import shown_value

TEAM_ID = re.compile(r"^T[A-Z0-9]{2,20}$")


@dataclass(frozen=True, slots=True)
class Network:
    """The installation's team and Grid organisation (from ``auth.test``) and the allowed teams."""

    team_id: str
    enterprise_id: str | None = None
    allowed_teams: frozenset[str] = frozenset()
    guests_inside: bool = False  # WIEWEET_GUESTS_INSIDE: the teams' guests are inside too
    # this Slack app's id (``A…``, from ``bots.info`` at start; None: unknown, not checked): a request Slack signed
    # for another app (its ``api_app_id``) is not for wieweet (``handlers.own_app``)
    app_id: str | None = None

    @classmethod
    def of(
        cls,
        *,
        team_id: object,
        enterprise_id: object = None,
        allowed_teams: Iterable[str] = (),
        guests_inside: bool = False,
        app_id: object = None,
    ) -> Network:
        """From ``auth.test``'s ``team_id`` and ``enterprise_id`` and the app's id (missing or empty: none)."""
        return cls(
            team_id=str(team_id or ""),
            enterprise_id=str(enterprise_id) if enterprise_id else None,
            allowed_teams=frozenset(allowed_teams),
            guests_inside=guests_inside,
            app_id=str(app_id) if app_id else None,
        )


def is_guest(account: Mapping[str, object]) -> bool:
    """Whether Slack's ``users.info`` answer is of a guest (single- or multi-channel)."""
    return bool(account.get("is_restricted") or account.get("is_ultra_restricted"))


def guest_kept_out(network: Network, *, guest: bool) -> bool:
    """Whether a guest of a team inside ``network`` is outside all the same (``Network.guests_inside`` not set)."""
    return guest and not network.guests_inside


def is_inside(network: Network, *, team: str | None, enterprise: str | None = None, asked: bool = False) -> bool | None:
    """Whether a person of Slack team ``team`` (and Grid organisation ``enterprise``) is inside ``network``.

    ``team`` may be an organisation id (``E…``): Slack puts one in ``user_team`` for a person of a Grid
    organisation. From a request's payload (``asked`` False) the answer may be None: the payload does not say
    enough (no team, or a team other than the network's while the network is a Grid organisation, whose other
    workspaces are inside): ask Slack (``users.info``) and decide again with its answer (``asked``), where anything
    unknown is outside (fail closed).
    """
    if team and (team == network.team_id or team in network.allowed_teams):
        return True
    org = network.enterprise_id
    if org and org in (team, enterprise):
        return True
    if asked:
        return False
    if not team or (org and not team.startswith("E") and not enterprise):
        return None
    return False


def parse_allowed_teams(value: str | None) -> frozenset[str]:
    """``WIEWEET_ALLOWED_TEAMS``: Slack team ids (``T…``), comma-separated; anything else is refused at load."""
    if not value or not value.strip():
        return frozenset()
    teams = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    bad = [team for team in teams if not TEAM_ID.match(team)]
    if bad:
        shown = ", ".join(shown_value(team[:30]) for team in bad[:3])
        raise setting_refused(
            "bad_settings",
            f"WIEWEET_ALLOWED_TEAMS must list Slack team ids (T followed by capitals and digits), not {shown}",
            "setting_allowed_teams",
            values=shown,
        )
    return frozenset(teams)
