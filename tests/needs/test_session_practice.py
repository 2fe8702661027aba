"""Each work session's notes become a practice of its own: a topic proposed again after its first session can be
marked done again, and no member can take the title of a session's practice in advance (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.actors import Actor
from bot.i18n import format_date
from bot.needs import NeedsConfig
from bot.register import submissions
from bot.register.profiles import InvalidRecord
from storage.db import Database
from storage.models import Practice, ProposalStatus
from tests.needs.conftest import NOW, STAFF, VACANCY, Network, add_question, build_network

MEMBER = Actor.slack("UGENT", is_staff=False)


def practice_title(network: Network, practice_id: int | None) -> str:
    with network.database.session() as session:
        found = session.get(Practice, practice_id)
        assert found is not None
        return found.title


def test_a_topic_proposed_again_gets_a_second_practice(network: Network) -> None:
    with network.database.session() as session:
        first = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    with network.database.session() as session:
        done = network.service.complete_proposal(
            session, actor=STAFF, proposal_id=first.id, notes_url="https://example.org/verslag-1", now=NOW
        )
    later = NOW + timedelta(days=10)
    with network.database.session() as session:  # the same organisations ask again after the session
        for n, (asker, text) in enumerate(VACANCY):
            add_question(session, text + " (opnieuw)", asker=asker, created_at=NOW + timedelta(days=2 + n))
    with network.database.session() as session:
        second = next(
            v
            for v in network.service.propose_sessions(session, now=later, worker_id="a")
            if v.topic_id == first.topic_id
        )
    assert second.id != first.id and second.label == first.label
    with network.database.session() as session:
        again = network.service.complete_proposal(
            session, actor=STAFF, proposal_id=second.id, notes_url="https://example.org/verslag-2", now=later
        )
    assert again.status == ProposalStatus.DONE and again.practice_id not in (None, done.practice_id)
    titles = {practice_title(network, done.practice_id), practice_title(network, again.practice_id)}
    assert titles == {
        submissions.work_session_title(first.id, NOW.date(), first.label, "nl"),
        submissions.work_session_title(second.id, later.date(), second.label, "nl"),
    }


def test_a_session_practice_is_written_in_the_networks_language(database: Database) -> None:
    network = build_network(database, config=NeedsConfig(language="en"))
    try:
        with network.database.session() as session:
            view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
        with network.database.session() as session:
            done = network.service.complete_proposal(
                session, actor=STAFF, proposal_id=view.id, notes_url="https://example.org/notes", now=NOW
            )
        with network.database.session() as session:
            practice = session.get(Practice, done.practice_id)
            assert practice is not None
            title, summary = practice.title, practice.summary
    finally:
        network.knowledge.close()
    assert title == f"Work session #{view.id} ({format_date(NOW, 'en', year=True)}): {view.label}"
    assert summary.startswith(f"Notes of the network's work session on '{view.label}', proposed after ")
    assert "Werksessie" not in title and "vragen" not in summary and "questions from" in summary


def test_a_member_cannot_take_the_title_of_a_session_practice_in_advance(network: Network) -> None:
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    assert view.label
    base = {"summary": "Ons eigen verslag.", "city": "", "url": "https://gent.be/x"}
    with network.database.session() as session:  # the title the notes were once given: no longer the session's
        submissions.submit_practice(
            session, actor=MEMBER, values={**base, "title": f"Werksessie: {view.label}"}, now=NOW
        )
    for day, lang in ((NOW, "nl"), (NOW + timedelta(days=1), "nl"), (NOW, "en")):  # reserved for staff, any language
        title = submissions.work_session_title(view.id, day.date(), view.label, lang)
        with network.database.session() as session, pytest.raises(InvalidRecord) as raised:
            submissions.submit_practice(session, actor=MEMBER, values={**base, "title": title}, now=NOW)
        assert [e.code for e in raised.value.errors] == ["title_reserved"]
    with network.database.session() as session:
        done = network.service.complete_proposal(
            session, actor=STAFF, proposal_id=view.id, notes_url="https://example.org/verslag", now=NOW
        )
    assert done.status == ProposalStatus.DONE
    title = submissions.work_session_title(view.id, NOW.date(), view.label, "nl")
    assert practice_title(network, done.practice_id) == title


@pytest.mark.parametrize(
    ("url", "code"),
    [("http://intranet.local/verslag", "insecure_url"), ("https://example.org@evil.example/x", "url_credentials")],
)
def test_session_notes_must_be_an_https_link_without_a_user_name(network: Network, url: str, code: str) -> None:
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    with network.database.session() as session, pytest.raises(InvalidRecord) as raised:
        network.service.complete_proposal(session, actor=STAFF, proposal_id=view.id, notes_url=url, now=NOW)
    assert [(e.column, e.code) for e in raised.value.errors] == [("url", code)]
