"""A small register of invented experts, a real KnowledgeBase over it, and the routing service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.routing import BusinessCalendar, RoutingPolicy, RoutingService
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.db import Database
from storage.models import Availability, Consent, Expert, OutboxKind, OutboxMessage, Theme, Timer
from tests import factories

BRUSSELS = ZoneInfo("Europe/Brussels")
# Monday 23 November 2026, 10:00 in Brussels (09:00 UTC): a plain business day.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BRUSSELS).astimezone(UTC)
ASKER = "UASKER001"
ASKER_NAME = "Griet Verhoeven"

THEMES = [
    ("wonen", "Wonen en woonbeleid", "Housing", ["huisvesting", "housing", "leegstand", "leegstandsheffing"]),
    ("gebiedsgericht", "Gebiedsgericht werken", "Area-based working", ["wijkwerking", "buurtwerk"]),
    ("europa", "Europa en EU-financiering", "Europe and EU funding", ["EFRO", "ESF", "EU"]),
    ("klimaat", "Klimaat, energie en milieu", "Climate, energy and environment", ["ontharding"]),
]

QUESTION = "Wie weet iets over de leegstandsheffing?"


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BRUSSELS).astimezone(UTC)


def seed_themes(session: Session) -> dict[str, Theme]:
    return factories.seed_themes(session, THEMES)


def add_expert(
    session: Session,
    name: str,
    *,
    organisation: str,
    expertise: list[str],
    themes: tuple[str, ...] | list[str] = ("wonen",),
    slack: str | None = "auto",
    consent: Consent = Consent.CONFIRMED,
    availability: Availability = Availability.AVAILABLE,
    away_until: date | None = None,
    max_open: int = 3,
    languages: list[str] | None = None,
    city: str = "",
) -> Expert:
    slack_id = f"U{name.upper().replace(' ', '')[:8]}" if slack == "auto" else slack
    theme_rows = list(session.scalars(select(Theme).where(Theme.key.in_(list(themes))))) if themes else []
    expert = Expert(
        email=f"{name.lower().replace(' ', '.')}@example.org",
        name=name,
        organisation=organisation,
        city=city,
        role="beleidsmedewerker",
        expertise=expertise,
        languages=languages or ["nl"],
        slack_user_id=slack_id,
        consent=consent,
        availability=availability,
        away_until=away_until,
        max_open_questions=max_open,
        themes=theme_rows,
    )
    session.add(expert)
    session.flush()
    return expert


class World:
    """The database, a knowledge base over it and a routing service, plus small helpers for tests."""

    def __init__(self, database: Database, policy: RoutingPolicy | None = None) -> None:
        self.db = database
        self.policy = policy or RoutingPolicy()
        self.calendar = BusinessCalendar()
        self.kb = KnowledgeBase(database)
        self.service = RoutingService(knowledge=self.kb, policy=self.policy, calendar=self.calendar)

    def load(self) -> None:
        self.kb.load()

    def with_policy(self, **changes: Any) -> RoutingService:
        self.policy = replace(self.policy, **changes)
        self.service = RoutingService(knowledge=self.kb, policy=self.policy, calendar=self.calendar)
        return self.service

    def ask(self, *, now: datetime = NOW, **kw: Any) -> int:
        kw.setdefault("asker_slack_id", ASKER)
        kw.setdefault("asker_name", ASKER_NAME)
        kw.setdefault("text", QUESTION)
        kw.setdefault("theme_keys", ["wonen"])
        kw.setdefault("channel_id", "C0WONEN01")
        kw.setdefault("thread_ts", "1700000000.000100")
        with self.db.session() as s:
            return self.service.ask_question(s, now=now, **kw).id

    def outbox(self, kind: OutboxKind | None = None, question_id: int | None = None) -> list[OutboxMessage]:
        with self.db.session() as s:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            if question_id is not None:
                query = query.where(OutboxMessage.question_id == question_id)
            return list(s.scalars(query))

    def unreachable_sender(self, *, now: datetime) -> OutboxSender:
        """An outbox sender at ``now`` whose Slack does not answer (nothing listens at its address)."""
        services = Services(settings=Settings(), db=self.db, knowledge=self.kb, clock=lambda: now, routing=self.service)
        return OutboxSender(services, WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/"))

    def pending_timers(self) -> list[Timer]:
        with self.db.session() as s:
            return list(s.scalars(select(Timer).where(Timer.done_at.is_(None)).order_by(Timer.due_at, Timer.id)))


@pytest.fixture(name="world")
def world_fixture(database: Database) -> Iterator[World]:
    """The routing world with its themes (a test module outside this folder imports ``world_fixture`` for it)."""
    w = World(database)
    with database.session() as s:
        seed_themes(s)
    yield w
    w.kb.close()


def seed_housing(world: World, *, extra: bool = True) -> dict[str, int]:
    """Four housing experts in three organisations (plus a Europe expert); returns name -> expert id."""
    with world.db.session() as s:
        experts = [
            add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"]),
            add_expert(s, "Chloe", organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"]),
            add_expert(s, "Anouk", organisation="Stad Kortrijk", expertise=["leegstandsheffing"], themes=["wonen"]),
        ]
        if extra:
            experts.append(
                add_expert(
                    s,
                    "Dries",
                    organisation="Stad Antwerpen",
                    expertise=["leegstandsheffing"],
                    themes=["wonen"],
                    languages=["en"],
                )
            )
            experts.append(add_expert(s, "Emma", organisation="VVSG", expertise=["EFRO-projecten"], themes=["europa"]))
        ids = {e.name: e.id for e in experts}
    world.load()
    return ids


def slack_of(name: str) -> str:
    return f"U{name.upper()[:8]}"
