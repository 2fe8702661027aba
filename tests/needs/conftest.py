"""A small invented network: staff, experts in several cities, and questions about a few topics."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.knowledge import KnowledgeBase
from bot.needs import NeedsConfig, NeedsService
from bot.register.themes import ensure_default_themes
from storage.db import Database
from storage.models import (
    Answer,
    Availability,
    Consent,
    Expert,
    KnowledgeGap,
    Outcome,
    Practice,
    Question,
    QuestionStatus,
    Theme,
    Visibility,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday of ISO week 2026-W48, in 2026-Q4
STAFF = Actor.slack("USTAFF", is_staff=True)
OFFICIAL = Actor.slack("UOFFICIAL", is_staff=False)
_counter = itertools.count(1)


def _themes(session: Session, keys: Sequence[str]) -> list[Theme]:
    return [t for k in keys if (t := session.get(Theme, k)) is not None]


def add_expert(
    session: Session,
    name: str,
    *,
    slack: str | None,
    organisation: str,
    city: str,
    expertise: Sequence[str] = (),
    themes: Sequence[str] = (),
    consent: Consent = Consent.CONFIRMED,
    availability: Availability = Availability.AVAILABLE,
) -> Expert:
    n = next(_counter)
    expert = Expert(
        email=f"person{n}@example.org",
        name=name,
        slack_user_id=slack,
        organisation=organisation,
        city=city,
        role="beleidsmedewerker",
        expertise=list(expertise),
        consent=consent,
        availability=availability,
        last_confirmed_at=NOW - timedelta(days=10),
        created_at=NOW - timedelta(days=400),
        updated_at=NOW - timedelta(days=400),
        themes=_themes(session, themes),
    )
    session.add(expert)
    session.flush()
    return expert


def add_question(
    session: Session,
    text: str,
    *,
    asker: str | None,
    created_at: datetime,
    themes: Sequence[str] = ("wonen",),
    visibility: Visibility = Visibility.PUBLIC,
    channel_id: str | None = "CPUBLIC01",
    channel_is_private: bool = False,
    answered_at: datetime | None = None,
    answerer: Expert | None = None,
) -> Question:
    question = Question(
        text=text,
        asker_slack_id=asker,
        asker_name=f"Asker {asker}" if asker else "",
        visibility=visibility,
        status=QuestionStatus.ANSWERED if answered_at else QuestionStatus.ROUTED,
        channel_id=channel_id,
        channel_is_private=channel_is_private,
        created_at=created_at,
        updated_at=answered_at or created_at,
        answered_at=answered_at,
        themes=_themes(session, themes),
    )
    if answered_at is not None:
        question.answers.append(
            Answer(
                expert_id=answerer.id if answerer else None,
                answered_by_name=answerer.name if answerer else "Iemand",
                answered_by_slack_id=answerer.slack_user_id if answerer else None,
                organisation=answerer.organisation if answerer else "",
                text=f"Antwoord op: {text}",
                created_at=answered_at,
            )
        )
    session.add(question)
    session.flush()
    return question


def add_gap(
    session: Session,
    query: str,
    *,
    asker: str | None,
    created_at: datetime,
    themes: Sequence[str] = ("wonen",),
    channel_id: str | None = "CPUBLIC01",
) -> KnowledgeGap:
    gap = KnowledgeGap(
        query=query,
        normalized=" ".join(query.lower().split()),
        themes=list(themes),
        asker_slack_id=asker,
        channel_id=channel_id,
        created_at=created_at,
    )
    session.add(gap)
    session.flush()
    return gap


def add_practice(session: Session, title: str, *, summary: str, contact: Expert | None, city: str) -> Practice:
    practice = Practice(
        title=title,
        city=city,
        summary=summary,
        outcome=Outcome.GOOD,
        contact_expert_id=contact.id if contact else None,
        contact_email=contact.email if contact else "",
        created_at=NOW - timedelta(days=5),
        updated_at=NOW - timedelta(days=5),
        themes=_themes(session, ["wonen"]),
    )
    session.add(practice)
    session.flush()
    return practice


@dataclass
class Network:
    database: Database
    knowledge: KnowledgeBase
    service: NeedsService
    experts: dict[str, Expert] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)


VACANCY = [
    ("UGENT", "Wie weet iets over de leegstandsheffing op winkelpanden?"),
    ("UKORTRIJK", "Hoe innen jullie de leegstandsheffing op woningen?"),
    ("ULEUVEN", "leegstandsheffing: tarieven en vrijstellingen"),
    ("UAALST", "Heeft iemand ervaring met een leegstandsheffing voor winkels?"),
]


def build_network(database: Database, *, config: NeedsConfig | None = None) -> Network:
    with database.session() as session:
        ensure_default_themes(session, now=NOW - timedelta(days=500))
        experts = {
            "lead": add_expert(
                session,
                "An Peeters",
                slack="ULEAD",
                organisation="Stad Gent",
                city="Gent",
                expertise=["leegstandsheffing", "leegstand van woningen en winkels"],
                themes=["wonen"],
            ),
            "gent": add_expert(
                session,
                "Bart Maes",
                slack="UGENT",
                organisation="Stad Gent",
                city="Gent",
                expertise=["sportinfrastructuur"],
            ),
            "kortrijk": add_expert(
                session,
                "Chloé Claes",
                slack="UKORTRIJK",
                organisation="Stad Kortrijk",
                city="Kortrijk",
                expertise=["evenementen"],
            ),
            "leuven": add_expert(
                session,
                "Dries Willems",
                slack="ULEUVEN",
                organisation="Stad Leuven",
                city="Leuven",
                expertise=["archiefbeheer"],
            ),
            "aalst": add_expert(
                session,
                "Els Jacobs",
                slack="UAALST",
                organisation="Stad Aalst",
                city="Aalst",
                expertise=["begraafplaatsen"],
            ),
            "hidden": add_expert(
                session,
                "Fien Mertens",
                slack="UHIDDEN",
                organisation="Stad Genk",
                city="Genk",
                expertise=["leegstandsheffing"],
                availability=Availability.OPTED_OUT,
            ),
        }
        add_practice(
            session,
            "Leegstandsheffing op winkelpanden",
            summary="Een heffing op leegstaande winkelpanden in de binnenstad, met vrijstellingen bij renovatie.",
            contact=experts["lead"],
            city="Kortrijk",
        )
        questions: dict[str, Question] = {}
        for n, (asker, text) in enumerate(VACANCY):
            questions[f"vacancy{n}"] = add_question(
                session,
                text,
                asker=asker,
                created_at=NOW - timedelta(days=20 - n),
                answered_at=NOW - timedelta(days=19 - n) if n == 0 else None,
                answerer=experts["lead"] if n == 0 else None,
            )
        questions["anonymous"] = add_question(
            session,
            "Wie weet hoe je een leegstandsheffing op woningen int?",
            asker="UGENK",
            created_at=NOW - timedelta(days=10),
            visibility=Visibility.ANONYMOUS,
        )
        questions["private"] = add_question(
            session,
            "Leegstandsheffing in onze gemeente: vrijstellingen?",
            asker="UOOSTENDE",
            created_at=NOW - timedelta(days=9),
            visibility=Visibility.PRIVATE,
        )
        questions["cycling"] = add_question(
            session,
            "Wie heeft ervaring met fietsstraten in het centrum?",
            asker="UGENT",
            created_at=NOW - timedelta(days=8),
            themes=["publieke-ruimte"],
        )
        questions["cycling2"] = add_question(
            session,
            "fietsstraten invoeren: regels en signalisatie",
            asker="UKORTRIJK",
            created_at=NOW - timedelta(days=7),
            themes=["publieke-ruimte"],
        )
        experts_by_id = dict(experts)
    knowledge = KnowledgeBase(database)
    knowledge.load()
    service = NeedsService(knowledge, config=config)
    return Network(database, knowledge, service, experts_by_id, questions)


@pytest.fixture
def network(database: Database) -> Iterator[Network]:
    net = build_network(database)
    yield net
    net.knowledge.close()
