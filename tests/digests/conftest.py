"""Fixed dates around ISO week 2026-W48 and small helpers that write invented register data."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlalchemy.orm import Session

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

BRUSSELS = ZoneInfo("Europe/Brussels")


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A Brussels wall-clock time as aware UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=BRUSSELS).astimezone(UTC)


PERIOD = "2026-W48"  # Monday 23 November 2026
WINDOW_START = local(2026, 11, 16, 9)  # a Monday 09:00 subscription's digest of W48 covers [W47 09:00, W48 09:00)
WINDOW_END = local(2026, 11, 23, 9)
IN_WEEK = local(2026, 11, 18, 10)
NOW = local(2026, 11, 23, 9, 5)

THEMES = [
    ("wonen", "Wonen en woonbeleid", "Housing", ["huisvesting", "leegstand"]),
    ("europa", "Europa en EU-financiering", "Europe and EU funding", ["EU", "EFRO"]),
    ("klimaat", "Klimaat, energie en milieu", "Climate, energy and environment", ["ontharding"]),
    ("gebiedsgericht", "Gebiedsgericht werken", "Area-based working", ["wijkwerking"]),
]

_counter = itertools.count(1)


def seed_themes(session: Session) -> dict[str, Theme]:
    themes = {}
    for position, (key, nl, en, synonyms) in enumerate(THEMES):
        theme = Theme(key=key, label_nl=nl, label_en=en, synonyms=synonyms, position=position)
        session.add(theme)
        themes[key] = theme
    session.flush()
    return themes


def _themes(session: Session, keys: Sequence[str]) -> list[Theme]:
    return [session.get(Theme, k) for k in keys if session.get(Theme, k) is not None]  # type: ignore[misc]


def add_expert(
    session: Session,
    name: str,
    *,
    slack: str | None = None,
    themes: Sequence[str] = ("wonen",),
    created_at: datetime = IN_WEEK,
    availability: Availability = Availability.AVAILABLE,
    consent: Consent = Consent.CONFIRMED,
    organisation: str = "Stad Gent",
    city: str = "Gent",
    role: str = "beleidsmedewerker",
) -> Expert:
    n = next(_counter)
    expert = Expert(
        email=f"expert{n}@example.org",
        name=name,
        slack_user_id=slack,
        organisation=organisation,
        city=city,
        role=role,
        availability=availability,
        consent=consent,
        created_at=created_at,
        updated_at=created_at,
        themes=_themes(session, themes),
    )
    session.add(expert)
    session.flush()
    return expert


def add_question(
    session: Session,
    text: str,
    *,
    themes: Sequence[str] = ("wonen",),
    created_at: datetime = IN_WEEK,
    answered_at: datetime | None = None,
    status: QuestionStatus | None = None,
    visibility: Visibility = Visibility.PUBLIC,
    channel_id: str | None = "CPUBLIC01",
    channel_is_private: bool = False,
    thread_ts: str | None = None,
    answers: Sequence[tuple[Expert | None, str, str | None]] = (),
    permalink: str = "",
) -> Question:
    n = next(_counter)
    question = Question(
        text=text,
        visibility=visibility,
        status=status or (QuestionStatus.ANSWERED if answered_at else QuestionStatus.OPEN),
        channel_id=channel_id,
        channel_is_private=channel_is_private,
        thread_ts=thread_ts or f"1763000000.{n:06d}",
        created_at=created_at,
        updated_at=answered_at or created_at,
        answered_at=answered_at,
        themes=_themes(session, themes),
    )
    for expert, name, slack_id in answers:
        question.answers.append(
            Answer(
                expert_id=expert.id if expert else None,
                answered_by_name=name,
                answered_by_slack_id=slack_id,
                organisation=expert.organisation if expert else "",
                text=f"Antwoord op: {text}",
                created_at=answered_at or created_at,
                permalink=permalink,
            )
        )
    session.add(question)
    session.flush()
    return question


def add_practice(
    session: Session,
    title: str,
    *,
    city: str = "Gent",
    themes: Sequence[str] = ("wonen",),
    created_at: datetime = IN_WEEK,
    updated_at: datetime | None = None,
    outcome: Outcome | None = Outcome.GOOD,
    url: str = "",
) -> Practice:
    practice = Practice(
        title=title,
        city=city,
        summary="Samenvatting.",
        outcome=outcome,
        url=url,
        created_at=created_at,
        updated_at=updated_at or created_at,
        themes=_themes(session, themes),
    )
    session.add(practice)
    session.flush()
    return practice


def add_gap(
    session: Session,
    query: str,
    *,
    themes: Sequence[str] = ("wonen",),
    created_at: datetime = IN_WEEK,
    channel_id: str | None = "CPUBLIC01",
    channel_is_private: bool = False,
) -> KnowledgeGap:
    gap = KnowledgeGap(
        query=query,
        normalized=" ".join(query.lower().split()),
        themes=list(themes),
        channel_id=channel_id,
        channel_is_private=channel_is_private,
        created_at=created_at,
    )
    session.add(gap)
    session.flush()
    return gap


def blocks_json(messages: Sequence[Sequence[Block]]) -> str:
    return json.dumps([[b.to_dict() for b in m] for m in messages], ensure_ascii=False)


def all_dicts(messages: Sequence[Sequence[Block]]) -> list[dict[str, Any]]:
    return [b.to_dict() for m in messages for b in m]
