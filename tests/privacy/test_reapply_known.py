"""After a restore, ``reapply_erasures`` looks for erased people wherever the erasure's sweep would find them, not in
a list of "person" columns of its own: someone known in the restored copy only by a digest they set up, a staff
action on a question, an export of their data, a work-session proposal they decided on, or a request in the
restored inbox is erased again (``people_erased`` counts those with anything stored; the inbox's requests go)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.cli import main
from bot.inbox import record_request
from bot.privacy import erase_person, export_erasures, reapply_erasures
from storage import inbox_repo, privacy_repo, register_repo
from storage.db import Database
from storage.enums import PERSONAL_DATA_ENTITY, ProposalStatus
from storage.models import DigestSubscription, Expert, NeedProposal, NeedTopic, ProcessedEvent, Question, QuestionEvent
from tests.factories import add_expert, add_question, seed_themes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLI = Actor.cli("root")
ANNA = "U0ANNAAN1"
OTHER = "U0OTHER01"  # someone else, whose question staff acted on

Trace = Callable[[Session], None]


def _digest(s: Session) -> None:
    s.add(DigestSubscription(channel_id="C0DIGEST2", created_by=ANNA, created_at=NOW, updated_at=NOW))


def _staff_event(s: Session) -> None:
    question = s.scalars(select(Question).where(Question.asker_slack_id == OTHER)).one()
    s.add(QuestionEvent(question_id=question.id, to_status="escalated", actor=f"staff:{ANNA}", at=NOW))


def _export_row(s: Session) -> None:  # staff exported her data: keyed by her Slack id
    register_repo.create_audit_log(
        s,
        actor="cli:root",
        action="export",
        entity_type=PERSONAL_DATA_ENTITY,
        entity_key=ANNA,
        before=None,
        after={"searches": 0},
        now=NOW,
    )


def _proposal(s: Session) -> None:
    topic = NeedTopic(label="deelsteps", created_at=NOW, updated_at=NOW)
    s.add(topic)
    s.flush()
    s.add(
        NeedProposal(
            topic_id=topic.id,
            status=ProposalStatus.DISMISSED,
            window_start=NOW,
            window_end=NOW,
            decided_by=ANNA,
            decided_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
    )


def _joined_key(s: Session) -> None:  # her id in a key joined by an underscore: the ledger's finder reads it there
    s.add(ProcessedEvent(event_key=f"share_{ANNA}:1.2", kind="action", received_at=NOW))


TRACES = [
    pytest.param(_digest, id="digest-created-by"),
    pytest.param(_staff_event, id="staff-question-event"),
    pytest.param(_export_row, id="audit-keyed-by-slack-id"),
    pytest.param(_proposal, id="proposal-decided-by"),
]


def _erased_with_ledger(database: Database) -> dict[str, Any]:
    """Anna asked a question and was erased; the ledger exported. Returns it."""
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        add_question(s, "Wie kent deelsteps?", created_at=NOW, asker=ANNA)
        add_question(s, "Wie kent leegstand?", created_at=NOW, asker=OTHER)
    with database.session() as s:
        erase_person(session=s, actor=CLI, slack_user_id=ANNA, now=NOW)
    with database.session() as s:
        return export_erasures(session=s, actor=CLI, now=NOW)


@pytest.mark.parametrize("trace", TRACES)
def test_reapply_erases_someone_known_only_there(database: Database, trace: Trace) -> None:
    ledger = _erased_with_ledger(database)
    with database.session() as s:  # what a backup taken before her erasure brings back: that one trace
        trace(s)
    with database.session() as s:
        assert ANNA in privacy_repo.list_identities_stored(s)[1]
        report = reapply_erasures(session=s, actor=CLI, ledger=ledger, now=NOW)
    assert (report.people_erased, report.slack_user_ids) == (1, [ANNA])
    with database.session() as s:
        assert ANNA not in privacy_repo.list_identities_stored(s)[1]
    with database.session() as s:  # twice does nothing more
        assert reapply_erasures(session=s, actor=CLI, ledger=ledger, now=NOW).people_erased == 0


def test_reapply_redacts_what_it_matched_where_the_erasure_does_not_look(database: Database) -> None:
    """The ledger's finder reads key columns too and takes an id as bounded by letters and digits only; a trace of
    hers found so but not by the erasure's rules (``share_U0…``: her id joined to a word) is redacted all the same."""
    ledger = _erased_with_ledger(database)
    with database.session() as s:
        _joined_key(s)
    with database.session() as s:
        report = reapply_erasures(session=s, actor=CLI, ledger=ledger, now=NOW)
    assert (report.people_erased, report.traces_swept, report.slack_user_ids) == (0, 1, [ANNA])
    with database.session() as s:
        assert ANNA not in privacy_repo.list_identities_stored(s)[1]
        assert s.scalars(select(ProcessedEvent.event_key)).all() == ["share_[erased]:1.2"]
        audit = register_repo.list_audit_log(s, limit=1)[0]
        assert audit.action == "reapply_erasures" and audit.after is not None and audit.after["traces_swept"] == 1
    with database.session() as s:  # twice does nothing more
        again = reapply_erasures(session=s, actor=CLI, ledger=ledger, now=NOW)
    assert (again.people_erased, again.traces_swept) == (0, 0)


def test_reapply_on_the_command_line_drops_a_restored_inbox_request_of_theirs(
    database: Database, tmp_path: Path
) -> None:
    ledger = _erased_with_ledger(database)
    file = tmp_path / "erasures.json"
    file.write_text(json.dumps(ledger))
    record_request(  # a restored inbox: her "search" request, which would run again at start
        database,
        request_key="command:U0ANNAAN1:1",
        kind="command",
        payload={"text": "deelsteps"},
        user_id=ANNA,
        now=NOW,
    )
    result = CliRunner().invoke(main, ["--database", database.url, "privacy", "erasures", "reapply", str(file)])
    assert result.exit_code == 0, result.output
    assert "opnieuw gewiste personen: 0" in result.output  # nothing else of hers was stored
    assert "verzoeken van hen uit de inbox verwijderd: 1" in result.output
    with database.inbox_session() as s:
        assert inbox_repo.list_inbox_user_ids(s) == []


@pytest.mark.parametrize(
    "text", ["mail 'jan.peeters@gent.be'", "contact:-jan.peeters@gent.be", "zie ..jan.peeters@gent.be"]
)
def test_an_address_in_quotes_or_after_a_dash_is_found_as_it_is(database: Database, text: str) -> None:
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        add_question(s, f"Wie kent deelsteps? {text}", created_at=NOW, asker=OTHER)
    with database.session() as s:
        assert "jan.peeters@gent.be" in privacy_repo.list_identities_stored(s)[0]


_AROUND = "Mail anna@gent.be. Of 'anna@gent.be' of jan.anna@gent.be, o'anna@gent.be, anna@gent.be.nl, -anna@gent.be"
_AROUND_ERASED = "Mail [erased]. Of '[erased]' of jan.anna@gent.be, o'anna@gent.be, anna@gent.be.nl, -[erased]"


def _addresses_and_text(database: Database) -> tuple[list[str], str]:
    with database.session() as s:
        emails = sorted(e for e in s.scalars(select(Expert.email)) if e)
        text = s.scalars(select(Question.text).where(Question.asker_slack_id == OTHER)).one()
    return emails, text


def test_erasure_and_reapply_leave_an_address_that_merely_ends_in_theirs(database: Database) -> None:
    """Only a whole address is theirs: a colleague's ``jan.anna@gent.be`` (a key column too) is not ``anna@gent.be``,
    nor is ``o'anna@gent.be`` or ``anna@gent.be.nl``; in quotes, after a dash or before a sentence's dot it is."""
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        add_expert(s, "Anna", created_at=NOW).email = "anna@gent.be"
        add_expert(s, "Jan", created_at=NOW).email = "jan.anna@gent.be"
        add_question(s, f"Wie kent deelsteps? {_AROUND}", created_at=NOW, asker=OTHER)
        s.commit()
    with database.session() as s:
        erase_person(session=s, actor=CLI, email="anna@gent.be", now=NOW)
        s.commit()
    assert _addresses_and_text(database) == (["jan.anna@gent.be"], f"Wie kent deelsteps? {_AROUND_ERASED}")
    with database.session() as s:
        ledger = export_erasures(session=s, actor=CLI, now=NOW)
        s.commit()
    with database.session() as s:  # the restored copy: Anna and the question's text back
        add_expert(s, "Anna", created_at=NOW).email = "anna@gent.be"
        s.scalars(select(Question).where(Question.asker_slack_id == OTHER)).one().text = f"Wie kent? {_AROUND}"
        s.commit()
    with database.session() as s:
        reapply_erasures(session=s, actor=CLI, ledger=ledger, now=NOW)
        s.commit()
    assert _addresses_and_text(database) == (["jan.anna@gent.be"], f"Wie kent? {_AROUND_ERASED}")
