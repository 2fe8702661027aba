"""The command line's exit codes, one convention for every subcommand (the README's "Exit codes"): 2 when the command
line is wrong — usage, a malformed value, an id or record that does not exist; 1 when it was understood but cannot be
done — the record's state, another's change first, a rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.actors import NotAuthorized
from bot.cli import EXIT_BAD_INPUT, EXIT_REFUSED, exit_code
from bot.errors import ConfigError, ImportFailed, NotFoundError, QueryError, WieweetError
from bot.needs.core import NoShareableWording, ProposalClosed
from bot.needs.periods import InvalidPeriod
from bot.privacy.erasure import ErasureIncomplete
from bot.register.profiles import ProfileChanged, ProfileStateError
from bot.register.submissions import AlreadyModerated, PracticeChanged
from bot.restore import NotQueued, OpenQuestionTimers
from bot.routing import StaleActionError
from storage.db import Database
from storage.models import NeedProposal, NeedTopic, ProposalStatus
from tests.cli import wieweet

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


REFUSALS: list[WieweetError] = [
    ProposalClosed(message="closed"),
    NoShareableWording(message="private"),
    ProfileStateError(message="approved already"),
    ProfileChanged(message="edited since"),
    AlreadyModerated(message="approved already"),
    PracticeChanged(message="edited since"),
    StaleActionError(message="closed"),
    NotQueued(message="sent already"),
    OpenQuestionTimers(message="no timer left"),
    ErasureIncomplete(message="still found"),
    NotAuthorized("do it"),
]
BAD_INPUT: list[WieweetError] = [
    NotFoundError("no_topic", "no topic #9"),
    ConfigError(message="bad setting"),
    QueryError(message="empty"),
    InvalidPeriod(message="invalid period"),
    ImportFailed("no_file", "x.csv: no such file"),  # bad rows are the import commands' own exit 1
    WieweetError("anything", "any other domain error"),
]


@pytest.mark.parametrize("error", REFUSALS, ids=lambda e: type(e).__name__)
def test_a_refusal_exits_1(error: WieweetError) -> None:
    assert exit_code(error) == EXIT_REFUSED == 1


@pytest.mark.parametrize("error", BAD_INPUT, ids=lambda e: type(e).__name__)
def test_bad_input_and_an_unknown_record_exit_2(error: WieweetError) -> None:
    assert exit_code(error) == EXIT_BAD_INPUT == 2


def _dismissed_proposal(db: Database) -> int:
    with db.session() as s:
        topic = NeedTopic(label="leegstand", created_at=NOW, updated_at=NOW)
        s.add(topic)
        s.flush()
        proposal = NeedProposal(
            topic_id=topic.id,
            status=ProposalStatus.DISMISSED,
            window_start=NOW,
            window_end=NOW,
            decided_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(proposal)
        s.commit()
        return proposal.id


@pytest.mark.parametrize(
    "args",
    [
        ["question", "show", "999999"],
        ["question", "close", "999999", "--reason", "x"],
        ["question", "assign", "999999", "--expert", "nobody@example.org"],
        ["queued", "discard", "--message", "999999"],
        ["queued", "discard", "--timer", "999999"],
        ["register", "available", "nobody@example.org"],
        ["privacy", "export", "--email", "nobody@example.org"],
        ["register", "show", "nobody@example.org"],
        ["needs", "recruit", "999999"],
        ["needs", "dismiss", "999999"],
        ["needs", "done", "999999", "--notes", "https://example.org/notes"],
    ],
    ids=lambda args: " ".join(args[:3]),
)
def test_an_id_that_does_not_exist_exits_2_in_every_subcommand(database: Database, args: list[str]) -> None:
    done = wieweet(database, *args)
    assert done.exit_code == 2, done.output
    assert done.output.startswith("error: ") and len(done.output.strip().splitlines()) == 1, done.output
    assert "Traceback" not in done.output


@pytest.mark.parametrize("command", ["dismiss", "done"])
def test_a_proposal_decided_already_is_a_refusal_exit_1(database: Database, command: str) -> None:
    proposal = _dismissed_proposal(database)
    extra = ["--notes", "https://example.org/notes"] if command == "done" else []
    done = wieweet(database, "needs", command, str(proposal), *extra)
    assert done.exit_code == 1, done.output
    # in the words staff read in Slack, not the developer's message
    assert "error: Dit voorstel is al afgewezen of afgerond." in done.output, done.output  # WIEWEET_LANGUAGE: nl
    assert f"voorstel #{proposal}" not in done.output
