"""Plain, immutable documents the matching engine indexes.

The engine never sees ORM objects or Slack payloads: the storage layer turns rows into these documents
(see ``bot.matching.loader``) and the engine ranks them. That keeps matching testable on fixed data and usable
from the CLI, the console and Slack alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThemeDoc:
    """One entry of the themes vocabulary."""

    key: str
    label_nl: str
    label_en: str
    synonyms: tuple[str, ...] = ()  # synonyms and abbreviations, any language ("huisvesting", "housing", "SVK")


@dataclass(frozen=True, slots=True)
class PlaceDoc:
    """A city or organisation name the query parser recognises ("Gent", "OCMW Gent", "VVSG")."""

    name: str
    kind: str  # "city" or "organisation"
    aliases: tuple[str, ...] = ()
    city: str = ""  # for an organisation: the city it belongs to, if any


@dataclass(frozen=True, slots=True)
class ExpertDoc:
    id: int
    email: str
    name: str
    organisation: str
    city: str = ""
    role: str = ""
    expertise: tuple[str, ...] = ()  # free-text topics, one item each
    themes: tuple[str, ...] = ()  # theme keys
    languages: tuple[str, ...] = ()
    bio: str = ""
    slack_user_id: str | None = None
    availability: str = "available"  # "available" | "away" | "opted_out"
    away_until: date | None = None
    consent: str = "confirmed"  # "pending" | "confirmed" | "withdrawn"
    last_confirmed_at: datetime | None = None


def is_stale_profile(consent: str, last_confirmed_at: datetime | None, *, now: datetime, reconfirm_days: int) -> bool:
    """The one staleness rule (also behind ``bot.register.profiles.is_stale``): a profile is stale when the person
    has not confirmed their listing yet (consent pending), or last confirmed it more than ``reconfirm_days`` ago.
    Naive datetimes are taken as UTC."""
    if consent == "pending":
        return True
    if last_confirmed_at is None:
        return False
    return _utc(now) - _utc(last_confirmed_at) > timedelta(days=reconfirm_days)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class PracticeDoc:
    id: int
    title: str
    summary: str
    city: str = ""
    organisation: str = ""
    themes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    outcome: str | None = None  # "good" | "mixed" | "failed" | None
    lessons: str = ""
    url: str = ""
    year: int | None = None
    contact_expert_id: int | None = None
    contact_email: str = ""


@dataclass(frozen=True, slots=True)
class AnswerDoc:
    """An earlier answered question (only public ones are ever indexed)."""

    id: int  # the question id
    question: str
    answer: str
    expert_id: int | None = None
    answered_by: str = ""  # display name of who answered
    organisation: str = ""
    answered_at: datetime | None = None
    themes: tuple[str, ...] = ()
    url: str = ""  # permalink to the thread, when known
