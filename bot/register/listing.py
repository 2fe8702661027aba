"""The registers read for people: experts and practices listed by theme and city, one expert's profile.

Part of ``bot.register.service`` (import from there).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.errors import NotFoundError, Problem
from bot.register.themes import ThemeResolver
from bot.text import shown_value
from storage import register_repo as repo
from storage.models import Expert, Practice


def resolve_theme(session: Session, value: str) -> str:
    """The theme key for a key or label; ``NotFoundError`` (with the closest theme suggested) otherwise, said in the
    operator's language (``bot.operator_texts``)."""
    resolver = ThemeResolver.for_session(session)
    key = resolver.resolve(value)
    if key is None:
        suggestion = resolver.suggest(value)
        hint = f" (did you mean {shown_value(suggestion)}?)" if suggestion else "; see `wieweet themes list`"
        english = f"unknown theme {shown_value(value)}{hint}"
        said = {"value": shown_value(value), **({"close": shown_value(suggestion)} if suggestion else {})}
        raise NotFoundError(
            "unknown_theme", Problem(english, "theme_filter_close" if suggestion else "theme_filter", said)
        )
    return key


def list_experts(session: Session, *, theme: str | None = None, city: str | None = None) -> list[Expert]:
    """Experts ordered by email, optionally only those with a theme (key or label) and/or in a city (any case)."""
    key = resolve_theme(session, theme) if theme else None
    return repo.list_experts(session, theme=key, city=city or None)


def list_practices(session: Session, *, theme: str | None = None, city: str | None = None) -> list[Practice]:
    """Practices ordered by (city, title), optionally filtered like ``list_experts``."""
    key = resolve_theme(session, theme) if theme else None
    return repo.list_practices(session, theme=key, city=city or None)


@dataclass(frozen=True, slots=True)
class ExpertProfile:
    expert: Expert
    practices: list[Practice]  # practices that name this expert as their contact


def get_expert_profile(session: Session, *, email: str) -> ExpertProfile:
    expert = repo.get_expert_by_email(session, email=email)
    if expert is None:
        shown = shown_value(email.strip().lower())
        raise NotFoundError("no_expert", f"no expert with email {shown} in the register", values={"email": shown})
    return ExpertProfile(expert=expert, practices=repo.list_practices_for_expert(session, expert_id=expert.id))
