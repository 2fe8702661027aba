"""A proposal dismissed or marked done on the command line: its posts for staff (the triage post, their DM copies)
are recorded in that transaction and rendered by the job runner as closed — a status line naming who, no buttons —
as a click in Slack shows it at once. ``needs done --summary`` gives the practice its summary, as Slack's form does.
Through the real command line, needs service and refresher (Slack's answers recorded, not called)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bot.actors import Actor
from bot.cli import main
from bot.directory import cache_user
from bot.privacy.channels import REFRESH_DELAY
from handlers import ids
from handlers.needs_refresh import ProposalRefresher
from storage.models import NeedProposal, Practice, ProposalStatus
from tests.clock import Clock
from tests.needs.conftest import Network
from tests.needs.test_queued_proposal import TRIAGE, _queued
from tests.needs.test_refresh_durable import LATER, FlakySlack, _pending, _posted, _services

NOTES = "https://intranet.example.org/werksessie-leegstand"


def _cli(network: Network, *args: str, by: str = "Anna Smet") -> str:
    url = network.database.engine.url.render_as_string(hide_password=False)
    named = ["--by", by] if by else []
    result = CliRunner().invoke(main, ["--database", url, *named, "needs", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _rendered_once(network: Network, clock: Clock[datetime], proposal_id: int) -> str:
    """What one job pass after the command shows in the proposal's triage post."""
    assert _pending(network) == [proposal_id]  # recorded by the command itself
    slack = FlakySlack(down=False)
    clock.now = datetime.now(UTC) + REFRESH_DELAY  # the command line acted at the real time
    assert ProposalRefresher(_services(network, clock), slack).refresh_due() == 1  # type: ignore[arg-type]
    (update,) = slack.updates
    assert (update["channel"], update["ts"]) == (TRIAGE, "1.1")
    assert _pending(network) == []
    return repr(update["blocks"]) + str(update["text"])


def test_a_proposal_dismissed_on_the_command_line_is_shown_dismissed_by_whom_without_buttons(
    network: Network,
) -> None:
    proposal_id, _ = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    dismissed = _cli(network, "dismiss", str(proposal_id), "--reason", "planned")
    assert f"voorstel #{proposal_id} afgewezen" in dismissed  # WIEWEET_LANGUAGE: Dutch unless set
    shown = _rendered_once(network, clock, proposal_id)
    assert "Afgewezen door Anna Smet." in shown
    assert ids.ACTION_NEEDS_DISMISS not in shown and ids.ACTION_NEEDS_INVITE not in shown
    assert ids.ACTION_NEEDS_DONE not in shown


def test_a_proposal_marked_done_on_the_command_line_is_shown_done_and_keeps_the_summary_given(
    network: Network,
) -> None:
    proposal_id, _ = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    output = _cli(network, "done", str(proposal_id), "--notes", NOTES, "--summary", "Wat we afspraken over leegstand")
    assert f"voorstel #{proposal_id} afgerond; praktijk #" in output and "wacht op goedkeuring" in output
    with network.database.session() as session:
        proposal = session.get(NeedProposal, proposal_id)
        assert proposal is not None and proposal.status is ProposalStatus.DONE
        practice = session.get(Practice, proposal.practice_id)
        assert practice is not None and practice.summary == "Wat we afspraken over leegstand"
    shown = _rendered_once(network, clock, proposal_id)
    assert "Afgerond door Anna Smet" in shown and NOTES in shown
    assert ids.ACTION_NEEDS_DONE not in shown and ids.ACTION_NEEDS_DISMISS not in shown


def test_without_an_operator_name_the_post_says_staff_did_it_from_the_command_line_not_the_server_account(
    network: Network,
) -> None:
    proposal_id, _ = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    _cli(network, "dismiss", str(proposal_id), "--reason", "planned", by="")
    with network.database.session() as session:
        proposal = session.get(NeedProposal, proposal_id)
        assert proposal is not None and proposal.decided_by.startswith("cli:")  # the audit keeps the account
    shown = _rendered_once(network, clock, proposal_id)
    assert "Afgewezen door iemand van het kenniscentrum (via de opdrachtregel)." in shown
    assert "cli:" not in shown


@pytest.mark.parametrize(
    ("holder", "shown"),
    [("ULEAD", "An Peeters"), ("UCACHED", "Cato Claes"), ("UNOBODY", "UNOBODY")],
    ids=["in the register", "a stored Slack user", "unknown"],
)
@pytest.mark.parametrize("command", ["dismiss", "done"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_close_refused_while_an_invitation_is_under_way_names_the_holder_not_a_slack_mention(
    network: Network, command: str, holder: str, shown: str, language: str
) -> None:
    """The refusal reads as in Slack, in the operator's language (WIEWEET_LANGUAGE, Dutch unless set), with the person
    inviting by their name (the register's, else the stored Slack profile's, else their id) where Slack shows a
    mention; exit 1, nothing changed."""
    proposal_id, _ = _queued(network)
    now = datetime.now(UTC)  # the command line acts at the real time: the hold stands then
    with network.database.session() as session:
        cache_user(session, user_id="UCACHED", locale="nl-BE", name="Cato Claes", now=now)
        staff = Actor.slack(holder, is_staff=True)
        network.service.plan_invite(session, actor=staff, proposal_id=proposal_id, now=now, holder="needs_invite:V1")
    url = network.database.engine.url.render_as_string(hide_password=False)
    args = [command, str(proposal_id)] + (["--notes", NOTES] if command == "done" else [])
    env = {"WIEWEET_LANGUAGE": language}
    result = CliRunner().invoke(main, ["--database", url, "--by", "Anna Smet", "needs", *args], env=env)
    assert result.exit_code == 1, result.output
    assert "<@" not in result.output
    if language == "en":
        assert f"error: {shown} is inviting the people to this work session right now" in result.output
        assert f"or ask {shown}." in result.output and "nothing was changed" in result.output
    else:
        assert f"error: {shown} nodigt de mensen voor deze werksessie op dit moment uit" in result.output
        assert f"of vraag het {shown}." in result.output and "er is niets veranderd" in result.output
    with network.database.session() as session:
        proposal = session.get(NeedProposal, proposal_id)
        assert proposal is not None and proposal.status is ProposalStatus.OPEN
