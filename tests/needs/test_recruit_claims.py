"""Recruiting expertise for a topic nobody covers, the once-per-topic claim, and determinism across databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.actors import Actor, NotAuthorized
from bot.errors import NotFoundError
from bot.needs.model import NOT_COVERED
from storage import needs_repo, proposal_repo
from storage.db import Database
from storage.models import AuditLog, Expert, OutboxKind, OutboxMessage, Visibility
from tests.needs.conftest import NOW, OFFICIAL, STAFF, Network, add_expert, add_question, build_network


def _rats(network: Network) -> int:
    """A topic nobody covers; Els Jacobs answered one of its questions (a private one: not searchable knowledge)."""
    with network.database.session() as session:
        for n, (asker, text) in enumerate(
            [
                ("UGENT", "Wie weet iets over rattenbestrijding in rioleringen?"),
                ("ULEUVEN", "rattenbestrijding in de riolering: ervaringen?"),
            ]
        ):
            add_question(
                session,
                text,
                asker=asker,
                created_at=NOW - timedelta(days=5 - n),
                themes=["klimaat"],
                answered_at=NOW - timedelta(days=4 - n) if n == 0 else None,
                answerer=network.experts["aalst"] if n == 0 else None,
                visibility=Visibility.PRIVATE if n == 0 else Visibility.PUBLIC,
            )
        network.service.update_topics(session, now=NOW)
        topic = next(t for t in needs_repo.list_need_topics(session) if "rattenbestrijding" in t.label.lower())
        return topic.id


def test_recruiting_suggests_who_answered_and_asks_them_once(network: Network) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
    assert plan.coverage == NOT_COVERED
    assert [c.name for c in plan.candidates] == ["Els Jacobs"]
    assert plan.candidates[0].reason == "answered a question on this topic"  # a private question is not quoted
    expert_id = plan.candidates[0].expert_id
    assert expert_id is not None
    with network.database.session() as session:
        first = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
    with network.database.session() as session:
        again = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        messages = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).all()
        audits = session.query(AuditLog).filter_by(entity_type="need_topic", action="recruit").count()
    assert first[0].queued and not again[0].queued
    assert len(messages) == 1 and messages[0].recipient_slack_id == "UAALST"
    assert messages[0].payload["label"] and audits == 2


def test_recruiting_refuses_forged_candidates_and_non_staff(network: Network) -> None:
    topic_id = _rats(network)
    with network.database.session() as session, pytest.raises(NotFoundError):
        network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[network.experts["hidden"].id], now=NOW
        )
    with network.database.session() as session, pytest.raises(NotAuthorized):
        network.service.ask_to_add_expertise(session, actor=OFFICIAL, topic_id=topic_id, expert_ids=[], now=NOW)
    with network.database.session() as session:
        assert session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).count() == 0


def test_the_claim_admits_one_live_proposal_per_topic(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        topic_id = needs_repo.list_need_topics(session)[0].id
    claims = []
    for worker in ("replica-a", "replica-b"):
        with network.database.session() as session:
            claimed = proposal_repo.claim_need_proposal(
                session,
                topic_id=topic_id,
                window_start=NOW - timedelta(weeks=8),
                window_end=NOW,
                organisations=3,
                questions=4,
                worker_id=worker,
                now=NOW,
            )
            claims.append(claimed.claimed_by if claimed else None)
    assert claims == ["replica-a", None]


def test_same_data_same_topics_on_another_database(network: Network, tmp_path: Path) -> None:
    other_db = Database(f"sqlite:///{tmp_path / 'other.db'}")
    other = build_network(other_db)
    try:
        views = []
        for net in (network, other):
            with net.database.session() as session:
                net.service.update_topics(session, now=NOW)
                labels = {t.id: t.label for t in needs_repo.list_need_topics(session)}
                assigned = needs_repo.list_need_assignments(session)
                texts = {f"q:{q.id}": q.text for q in net.questions.values()}
                views.append(sorted((texts[k], labels[v]) for k, v in assigned.items()))
        assert views[0] == views[1]
    finally:
        other.knowledge.close()
        other_db.dispose()


def test_a_topic_asked_only_privately_has_no_label_and_cannot_be_recruited_for(network: Network) -> None:
    with network.database.session() as session:
        add_expert(session, "Gert Wouters", slack="UGERT", organisation="Stad Genk", city="Genk")
        for n in range(2):
            add_question(
                session,
                "Wie weet iets over drones voor dakinspecties?",
                asker="UGERT",
                created_at=NOW - timedelta(days=n + 1),
                visibility=Visibility.PRIVATE,
                themes=[],
            )
        network.service.update_topics(session, now=NOW)
        topic = next(t for t in needs_repo.list_need_topics(session) if not t.label)
    with network.database.session() as session, pytest.raises(Exception, match="private"):
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic.id, expert_ids=[], now=NOW)


def test_the_person_asked_adds_the_topic_to_their_profile_others_cannot(network: Network) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW)
    asked = Actor.slack("UAALST", is_staff=False)
    with network.database.session() as session, pytest.raises(NotAuthorized):  # not sent yet: nothing to answer
        network.service.add_topic_to_profile(session, actor=asked, topic_id=topic_id, now=NOW)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.sent_at, message.sent_channel_id, message.sent_ts = NOW, "DAALST", "1700000000.000100"
    for someone in (Actor.slack("UGENT", is_staff=False), STAFF):  # not asked about this topic (staff neither)
        with network.database.session() as session, pytest.raises(NotAuthorized):
            network.service.add_topic_to_profile(session, actor=someone, topic_id=topic_id, now=NOW)
    with network.database.session() as session, pytest.raises(NotAuthorized):  # asked about another topic only
        network.service.add_topic_to_profile(session, actor=asked, topic_id=topic_id + 1000, now=NOW)
    with network.database.session() as session:
        assert network.service.expertise_request_refs(session, actor=asked, topic_id=topic_id) == [
            {"channel_id": "DAALST", "message_ts": "1700000000.000100"}
        ]
        label = network.service.add_topic_to_profile(session, actor=asked, topic_id=topic_id, now=NOW)
        network.service.add_topic_to_profile(session, actor=asked, topic_id=topic_id, now=NOW)  # twice: once
    with network.database.session() as session:
        expertise = session.get(Expert, expert_id).expertise
        audits = session.query(AuditLog).filter_by(entity_type="expert", action="add_topic").count()
    assert "rattenbestrijding" in label.lower()
    assert expertise == ["begraafplaatsen", label] and audits == 1
