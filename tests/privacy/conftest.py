"""A small world with one person to export and erase: Lieve Vermeulen, expert and asker, in every table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.actors import Actor
from storage import register_repo
from storage.db import Database
from storage.models import (
    DigestSubscription,
    Feedback,
    KnowledgeGap,
    Practice,
    ProcessedEvent,
    Question,
    Routing,
    SearchLog,
    SlackUser,
    Visibility,
)
from tests.routing.conftest import ASKER, NOW, World, add_expert, world_fixture  # noqa: F401 (the routing suite's world fixture, its themes seeded)

LIEVE = "U0LIEVE01"
LIEVE_NAME = "Lieve Vermeulen"
LIEVE_EMAIL = "lieve.vermeulen@example.org"
BRAM = "U0BRAM001"
LATER = NOW + timedelta(hours=1)


@dataclass
class Ids:
    expert: int
    own_public: int  # Lieve's public question, answered by Bram: kept, anonymised
    own_private: int  # Lieve's private question: deleted
    answered_public: int  # Griet's public question, answered by Lieve: kept, answer anonymised
    declined_private: int  # Griet's private question, declined by Lieve
    practice: int
    still_open: int  # Griet's question sent to Lieve, not answered yet


def _routing_for(world: World, question_id: int, slack_id: str) -> int:
    with world.db.session() as s:
        if slack_id == LIEVE:  # staff ask her by hand, so she is asked whatever the ranking
            staff = Actor.slack("U0STAFF01", is_staff=True)
            return world.service.staff_assign(s, question_id=question_id, to_slack_id=slack_id, actor=staff, now=NOW).id
        routing = s.scalars(
            select(Routing).where(Routing.question_id == question_id, Routing.recipient_slack_id == slack_id)
        ).one()
        return routing.id


@pytest.fixture
def lieve(world: World) -> Ids:
    """Lieve's traces everywhere, made through the services where there is one."""
    with world.db.session() as s:
        expert = add_expert(
            s, LIEVE_NAME, organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"], slack=LIEVE
        )
        add_expert(s, "Bram Claes", organisation="Stad Kortrijk", expertise=["leegstandsheffing"], slack=BRAM)
        s.add(SlackUser(slack_user_id=LIEVE, locale="nl-BE", name=LIEVE_NAME, fetched_at=NOW))
        expert_id = expert.id
        # an audit entry about her profile (a change through the self-service core)
        register_repo.create_audit_log(
            s,
            actor=LIEVE,
            action="update",
            entity_type="expert",
            entity_key=LIEVE_EMAIL,
            before={"name": LIEVE_NAME, "email": LIEVE_EMAIL},
            after={"name": LIEVE_NAME, "email": LIEVE_EMAIL, "city": "Gent"},
            now=NOW,
        )
    world.load()
    svc = world.service
    own_public = world.ask(asker_slack_id=LIEVE, asker_name=LIEVE_NAME, text="Wie weet iets over leegstandsheffing?")
    own_private = world.ask(
        asker_slack_id=LIEVE,
        asker_name=LIEVE_NAME,
        text="Hoe int je een leegstandsheffing bij een faillissement?",
        visibility=Visibility.PRIVATE,
    )
    with world.db.session() as s:
        svc.answer(
            s,
            routing_id=_routing_for(world, own_public, BRAM),
            actor_slack_id=BRAM,
            text="Met een register.",
            now=LATER,
        )
    answered_public = world.ask(
        text="Leegstandsheffing op winkelpanden: wie heeft ervaring? Vraag het aan Lieve Vermeulen."
    )
    with world.db.session() as s:
        svc.answer(
            s,
            routing_id=_routing_for(world, answered_public, LIEVE),
            actor_slack_id=LIEVE,
            text="In Gent doen we dat zo. Groeten, Lieve Vermeulen (lieve.vermeulen@example.org)",
            now=LATER,
        )
    declined_private = world.ask(text="Leegstandsheffing en erfpacht?", visibility=Visibility.PRIVATE)
    with world.db.session() as s:
        svc.decline(
            s,
            routing_id=_routing_for(world, declined_private, LIEVE),
            actor_slack_id=LIEVE,
            reason="Niet mijn domein, groet Lieve Vermeulen",
            now=LATER,
        )
    still_open = world.ask(text="Wie weet iets over leegstandsheffing op tweede verblijven?")
    _routing_for(world, still_open, LIEVE)
    with world.db.session() as s:
        log = SearchLog(
            query="leegstandsheffing",
            user_slack_id=LIEVE,
            channel_id="C0WONEN01",
            results={"experts": [LIEVE_NAME]},
            created_at=NOW,
        )
        s.add(log)
        s.flush()
        s.add(Feedback(search_log_id=log.id, user_slack_id=LIEVE, vote=1, created_at=NOW))
        s.add(
            KnowledgeGap(
                query="zuurdesem", normalized="zuurdesem", asker_slack_id=LIEVE, source="slack", created_at=NOW
            )
        )
        s.add(DigestSubscription(channel_id="C0DIGEST1", created_by=LIEVE, created_at=NOW))
        s.add(ProcessedEvent(event_key=f"command:{LIEVE}:123", kind="command", received_at=NOW))
        practice = Practice(
            title="Leegstandsregister",
            city="Gent",
            summary="Contact: Lieve Vermeulen.",
            contact_email=LIEVE_EMAIL,
            contact_expert_id=expert_id,
            submitted_by=LIEVE,
        )
        s.add(practice)
        s.flush()
        practice_id = practice.id
    return Ids(
        expert=expert_id,
        own_public=own_public,
        own_private=own_private,
        answered_public=answered_public,
        declined_private=declined_private,
        practice=practice_id,
        still_open=still_open,
    )


def question(database: Database, question_id: int) -> Question | None:
    with database.session() as s:
        q = s.get(Question, question_id)
        if q is not None:
            _ = q.answers, q.routings
        return q


__all__ = ["ASKER", "BRAM", "LATER", "LIEVE", "LIEVE_EMAIL", "LIEVE_NAME", "NOW", "Ids", "question"]
