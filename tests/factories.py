"""Invented register rows written straight into a session: experts, questions (with answers), gaps, practices.

Shared by the suites that need a small world of data (digests, knowledge needs); each suite fixes its own dates
and defaults with ``functools.partial`` in its conftest. Every row is flushed, so its id is known.

The ``*_row`` builders give the same rows as column values, for a bulk insert (``bench/digest_bench.py`` writes
tens of thousands); ``add_*`` make them ORM objects with their themes and answers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

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

_counter = itertools.count(1)


def seed_themes(session: Session, themes: Sequence[tuple[str, str, str, list[str]]]) -> dict[str, Theme]:
    """The themes (key, Dutch label, English label, synonyms), in this order, by key."""
    out = {}
    for position, (key, nl, en, synonyms) in enumerate(themes):
        theme = Theme(key=key, label_nl=nl, label_en=en, synonyms=synonyms, position=position)
        session.add(theme)
        out[key] = theme
    session.flush()
    return out


def themes_of(session: Session, keys: Sequence[str]) -> list[Theme]:
    """The themes with these keys (unknown keys left out)."""
    return [t for k in keys if (t := session.get(Theme, k)) is not None]


def expert_row(
    name: str,
    *,
    email: str,
    created_at: datetime,
    slack: str | None = None,
    organisation: str = "Stad Gent",
    city: str = "Gent",
    role: str = "beleidsmedewerker",
    expertise: Sequence[str] = (),
    consent: Consent = Consent.CONFIRMED,
    availability: Availability = Availability.AVAILABLE,
    last_confirmed_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """An expert's columns (the rest: the schema's defaults)."""
    return {
        "email": email,
        "name": name,
        "slack_user_id": slack,
        "organisation": organisation,
        "city": city,
        "role": role,
        "expertise": list(expertise),
        "consent": consent,
        "availability": availability,
        "last_confirmed_at": last_confirmed_at,
        "created_at": created_at,
        "updated_at": updated_at or created_at,
    }


def add_expert(
    session: Session,
    name: str,
    *,
    created_at: datetime,
    slack: str | None = None,
    organisation: str = "Stad Gent",
    city: str = "Gent",
    role: str = "beleidsmedewerker",
    expertise: Sequence[str] = (),
    themes: Sequence[str] = (),
    consent: Consent = Consent.CONFIRMED,
    availability: Availability = Availability.AVAILABLE,
    last_confirmed_at: datetime | None = None,
) -> Expert:
    n = next(_counter)
    row = expert_row(
        name,
        email=f"expert{n}@example.org",
        created_at=created_at,
        slack=slack,
        organisation=organisation,
        city=city,
        role=role,
        expertise=expertise,
        consent=consent,
        availability=availability,
        last_confirmed_at=last_confirmed_at,
    )
    expert = Expert(**row, themes=themes_of(session, themes))
    session.add(expert)
    session.flush()
    return expert


def question_row(
    text: str,
    *,
    created_at: datetime,
    thread_ts: str,
    asker: str | None = None,
    answered_at: datetime | None = None,
    status: QuestionStatus | None = None,
    visibility: Visibility = Visibility.PUBLIC,
    channel_id: str | None = "C1PUBLIC01",
    channel_is_private: bool = False,
) -> dict[str, Any]:
    """A question's columns: asked by Slack user ``asker``, answered when ``answered_at`` is given (else open)."""
    return {
        "text": text,
        "asker_slack_id": asker,
        "asker_name": f"Asker {asker}" if asker else "",
        "visibility": visibility,
        "status": status or (QuestionStatus.ANSWERED if answered_at else QuestionStatus.OPEN),
        "channel_id": channel_id,
        "channel_is_private": channel_is_private,
        "thread_ts": thread_ts,
        "created_at": created_at,
        "updated_at": answered_at or created_at,
        "answered_at": answered_at,
    }


def answer_row(
    question_text: str,
    *,
    expert_id: int | None,
    name: str,
    slack_id: str | None,
    organisation: str,
    created_at: datetime,
    permalink: str = "",
) -> dict[str, Any]:
    """An answer's columns (its question's id left to the caller)."""
    return {
        "expert_id": expert_id,
        "answered_by_name": name,
        "answered_by_slack_id": slack_id,
        "organisation": organisation,
        "text": f"Antwoord op: {question_text}",
        "created_at": created_at,
        "permalink": permalink,
    }


def add_question(
    session: Session,
    text: str,
    *,
    created_at: datetime,
    asker: str | None = None,
    themes: Sequence[str] = ("wonen",),
    answered_at: datetime | None = None,
    answerer: Expert | None = None,
    answers: Sequence[tuple[Expert | None, str, str | None]] = (),
    status: QuestionStatus | None = None,
    visibility: Visibility = Visibility.PUBLIC,
    channel_id: str | None = "C1PUBLIC01",
    channel_is_private: bool = False,
    thread_ts: str | None = None,
    permalink: str = "",
) -> Question:
    """A question by Slack user ``asker``; ``answers`` as (expert, name, Slack id), ``answerer`` one more answer
    by that expert (each answered at ``answered_at``, else when asked)."""
    n = next(_counter)
    row = question_row(
        text,
        created_at=created_at,
        thread_ts=thread_ts or f"1763000000.{n:06d}",
        asker=asker,
        answered_at=answered_at,
        status=status,
        visibility=visibility,
        channel_id=channel_id,
        channel_is_private=channel_is_private,
    )
    question = Question(**row, themes=themes_of(session, themes))
    by = [*answers, (answerer, answerer.name, answerer.slack_user_id)] if answerer is not None else list(answers)
    for expert, name, slack_id in by:
        question.answers.append(
            Answer(
                **answer_row(
                    text,
                    expert_id=expert.id if expert else None,
                    name=name,
                    slack_id=slack_id,
                    organisation=expert.organisation if expert else "",
                    created_at=answered_at or created_at,
                    permalink=permalink,
                )
            )
        )
    session.add(question)
    session.flush()
    return question


def gap_row(
    query: str,
    *,
    created_at: datetime,
    asker: str | None = None,
    themes: Sequence[str] = ("wonen",),
    channel_id: str | None = "C1PUBLIC01",
    channel_is_private: bool = False,
    normalized: str | None = None,
) -> dict[str, Any]:
    """A knowledge gap's columns; ``normalized`` the query's words in lower case unless given (gaps of one
    wording)."""
    return {
        "query": query,
        "normalized": " ".join(query.lower().split()) if normalized is None else normalized,
        "themes": list(themes),
        "asker_slack_id": asker,
        "channel_id": channel_id,
        "channel_is_private": channel_is_private,
        "created_at": created_at,
    }


def add_gap(
    session: Session,
    query: str,
    *,
    created_at: datetime,
    asker: str | None = None,
    themes: Sequence[str] = ("wonen",),
    channel_id: str | None = "C1PUBLIC01",
    channel_is_private: bool = False,
) -> KnowledgeGap:
    gap = KnowledgeGap(
        **gap_row(
            query,
            created_at=created_at,
            asker=asker,
            themes=themes,
            channel_id=channel_id,
            channel_is_private=channel_is_private,
        )
    )
    session.add(gap)
    session.flush()
    return gap


def practice_row(
    title: str,
    *,
    created_at: datetime,
    city: str = "Gent",
    summary: str = "Samenvatting.",
    updated_at: datetime | None = None,
    outcome: Outcome | None = Outcome.GOOD,
    url: str = "",
    contact_expert_id: int | None = None,
    contact_email: str = "",
) -> dict[str, Any]:
    """A practice's columns (the rest: the schema's defaults)."""
    return {
        "title": title,
        "city": city,
        "summary": summary,
        "outcome": outcome,
        "url": url,
        "contact_expert_id": contact_expert_id,
        "contact_email": contact_email,
        "created_at": created_at,
        "updated_at": updated_at or created_at,
    }


def add_practice(
    session: Session,
    title: str,
    *,
    created_at: datetime,
    city: str = "Gent",
    summary: str = "Samenvatting.",
    themes: Sequence[str] = ("wonen",),
    updated_at: datetime | None = None,
    outcome: Outcome | None = Outcome.GOOD,
    url: str = "",
    contact: Expert | None = None,
) -> Practice:
    row = practice_row(
        title,
        created_at=created_at,
        city=city,
        summary=summary,
        updated_at=updated_at,
        outcome=outcome,
        url=url,
        contact_expert_id=contact.id if contact else None,
        contact_email=contact.email if contact else "",
    )
    practice = Practice(**row, themes=themes_of(session, themes))
    session.add(practice)
    session.flush()
    return practice
