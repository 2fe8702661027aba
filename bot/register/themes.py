"""The themes vocabulary: the shipped default, staff extensions, and resolving what people type to theme keys."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Theme

THEME_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
THEME_COLUMNS = ("key", "label_nl", "label_en", "synonyms")


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    key: str
    label_nl: str
    label_en: str
    synonyms: tuple[str, ...] = ()


def split_list(value: str) -> list[str]:
    """Split a list-valued cell on ``;`` or ``|``, trimming items and dropping empty ones (order kept)."""
    items = re.split(r"[;|]", value or "")
    seen: set[str] = set()
    result: list[str] = []
    for raw in items:
        item = raw.strip()
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            result.append(item)
    return result


def shipped_themes() -> list[ThemeSpec]:
    with resources.files("bot").joinpath("data/themes.csv").open(encoding="utf-8") as handle:
        return [
            ThemeSpec(
                key=row["key"].strip(),
                label_nl=row["label_nl"].strip(),
                label_en=row["label_en"].strip(),
                synonyms=tuple(split_list(row.get("synonyms") or "")),
            )
            for row in csv.DictReader(handle)
        ]


def ensure_default_themes(session: Session, *, now: datetime) -> int:
    """Seed the shipped vocabulary into an empty themes table. Returns how many themes were added."""
    if session.scalar(select(func.count()).select_from(Theme)):
        return 0
    for position, spec in enumerate(shipped_themes()):
        session.add(
            Theme(
                key=spec.key,
                label_nl=spec.label_nl,
                label_en=spec.label_en,
                synonyms=list(spec.synonyms),
                position=position,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return len(shipped_themes())


class ThemeResolver:
    """Maps what a spreadsheet or a person wrote (a key or a Dutch/English label, any case) to a theme key."""

    def __init__(self, themes: Iterable[Theme | ThemeSpec]) -> None:
        self._lookup: dict[str, str] = {}
        self._choices: dict[str, str] = {}
        for theme in themes:
            for name in (theme.key, theme.label_nl, theme.label_en):
                folded = name.strip().casefold()
                if folded:
                    self._lookup.setdefault(folded, theme.key)
                    self._choices.setdefault(name.strip(), theme.key)

    @classmethod
    def from_session(cls, session: Session) -> ThemeResolver:
        return cls(session.scalars(select(Theme).order_by(Theme.position, Theme.key)))

    def resolve(self, value: str) -> str | None:
        return self._lookup.get(value.strip().casefold())

    def suggest(self, value: str) -> str | None:
        """The closest key or label, for "did you mean …?" messages."""
        if not self._choices:
            return None
        best = process.extractOne(value.strip(), list(self._choices), scorer=fuzz.WRatio, processor=str.casefold)
        if best is None or best[1] < 60:
            return None
        return str(best[0])

    @property
    def keys(self) -> Sequence[str]:
        return sorted(set(self._lookup.values()))


def validate_theme_row(values: Mapping[str, str]) -> tuple[ThemeSpec | None, list[tuple[str, str]]]:
    """Validate one themes-file row: (spec, []) or (None, [(column, problem), ...])."""
    errors: list[tuple[str, str]] = []
    key = (values.get("key") or "").strip().lower()
    if not key:
        errors.append(("key", "missing required value"))
    elif not THEME_KEY.match(key):
        errors.append(("key", f"{key!r} is not a valid key (lower-case letters, digits and dashes, e.g. 'wonen')"))
    label_nl = (values.get("label_nl") or "").strip()
    label_en = (values.get("label_en") or "").strip()
    if not label_nl:
        errors.append(("label_nl", "missing required value"))
    if not label_en:
        errors.append(("label_en", "missing required value"))
    if errors:
        return None, errors
    return ThemeSpec(key, label_nl, label_en, tuple(split_list(values.get("synonyms") or ""))), []


def upsert_themes(session: Session, *, specs: Sequence[ThemeSpec], now: datetime) -> tuple[int, int, int]:
    """Add or update themes by key. Returns (added, changed, unchanged)."""
    existing = {t.key: t for t in session.scalars(select(Theme))}
    position = max((t.position for t in existing.values()), default=-1) + 1
    added = changed = unchanged = 0
    for spec in specs:
        theme = existing.get(spec.key)
        if theme is None:
            session.add(
                Theme(
                    key=spec.key,
                    label_nl=spec.label_nl,
                    label_en=spec.label_en,
                    synonyms=list(spec.synonyms),
                    position=position,
                    created_at=now,
                    updated_at=now,
                )
            )
            position += 1
            added += 1
        elif (theme.label_nl, theme.label_en, list(theme.synonyms)) != (
            spec.label_nl,
            spec.label_en,
            list(spec.synonyms),
        ):
            theme.label_nl, theme.label_en, theme.synonyms = spec.label_nl, spec.label_en, list(spec.synonyms)
            theme.updated_at = now
            changed += 1
        else:
            unchanged += 1
    session.flush()
    return added, changed, unchanged
