"""A small invented network: staff, experts in several cities, and questions about a few topics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import pytest

from bot.actors import Actor
from bot.knowledge import KnowledgeBase
from bot.needs import NeedsConfig, NeedsService
from bot.needs.analysis import Concepts
from bot.needs.grouping import GroupItem, Vector
from bot.register.themes import ensure_default_themes
from storage.db import Database
from storage.models import Availability, Expert, Question, Visibility
from tests import factories

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday of ISO week 2026-W48, in 2026-Q4
STAFF = Actor.slack("USTAFF", is_staff=True)
OFFICIAL = Actor.slack("UOFFICIAL", is_staff=False)


# this suite's defaults: people listed long ago and confirmed recently, practices added last week
add_expert = partial(
    factories.add_expert, created_at=NOW - timedelta(days=400), last_confirmed_at=NOW - timedelta(days=10)
)
add_question = factories.add_question
add_practice = partial(factories.add_practice, created_at=NOW - timedelta(days=5))


def unit(*values: float) -> Vector:
    vec = np.asarray(values, dtype=np.float32)
    return vec / np.linalg.norm(vec)


class ToyVectors:
    """Toy questions for the grouping tests: each an 80-dimensional meaning vector made of (axis, value) parts
    (axes below 40) and a noise axis of its own (40 + its number), and words of its own (no shared terms)."""

    def __init__(self) -> None:
        self.vectors: list[list[float]] = []

    def add(self, parts: Sequence[tuple[int, float]], noise: float = 0.6) -> None:
        v = [0.0] * 80
        for axis, x in parts:
            v[axis] = x
        v[40 + len(self.vectors)] = noise
        self.vectors.append(v)

    def items(self) -> list[GroupItem]:
        """The questions ``q:0``, ``q:1``, ... in the order added (unit vectors, language "nl")."""
        return [
            GroupItem(f"q:{i}", (i,), Concepts({f"w{i}": 1.0}, (f"w{i}",), ()), f"t{i}", unit(*v), "nl")
            for i, v in enumerate(self.vectors)
        ]


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
