"""Fixed dates around ISO week 2026-W48 and small helpers that write invented register data."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlalchemy.orm import Session

from storage.models import KnowledgeGap, Theme
from tests import factories

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


def seed_themes(session: Session) -> dict[str, Theme]:
    return factories.seed_themes(session, THEMES)


# this suite's defaults: everything happens in the week of the digest, about housing
add_expert = partial(factories.add_expert, created_at=IN_WEEK, themes=("wonen",))
add_question = partial(factories.add_question, created_at=IN_WEEK)
add_practice = partial(factories.add_practice, created_at=IN_WEEK)
_gap_askers = itertools.count(1)


def add_gap(session: Session, query: str, *, asker: str | None = None, **kw: Any) -> KnowledgeGap:
    """A gap asked in the digest's week by someone who asked nothing else (unless ``asker`` is given)."""
    kw.setdefault("created_at", IN_WEEK)
    return factories.add_gap(session, query, asker=asker or f"U0GAP{next(_gap_askers):04d}", **kw)


def blocks_json(messages: Sequence[Sequence[Block]]) -> str:
    return json.dumps([[b.to_dict() for b in m] for m in messages], ensure_ascii=False)


def all_dicts(messages: Sequence[Sequence[Block]]) -> list[dict[str, Any]]:
    return [b.to_dict() for m in messages for b in m]
