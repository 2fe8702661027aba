"""The themes vocabulary: the shipped default, staff extensions, and resolving what people write to theme keys.

Theme keys are a contract (register files, digests and tests use them); labels and synonyms are curated by staff
with ``wieweet themes import``. In register files a theme may be written as its key, its Dutch or English label
or a synonym, in any case. A synonym counts only when it belongs to one theme (``mobiliteit`` → publieke-ruimte);
it is stored as that theme's key and imports say so in a note. A synonym of several themes (``participatie``)
is refused with a suggestion, like any unknown theme.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from bot.errors import Problem
from bot.register.files import RawRow, RegisterFile, parse_csv, read_register_file
from bot.register.report import (
    ImportReport,
    check_header,
    duplicate_key,
    fail_if_errors,
    locate,
    located,
    valid_rows,
)
from bot.register.validation import THEME_COLUMNS, THEME_REQUIRED, ThemeRecord, split_list, validate_theme
from bot.text import shown_value
from storage import register_repo as repo
from storage.models import Theme

SUGGESTION_CUTOFF = 70


class _ThemeLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def label_nl(self) -> str: ...
    @property
    def label_en(self) -> str: ...
    @property
    def synonyms(self) -> Iterable[str]: ...


@functools.cache
def shipped_themes() -> tuple[ThemeRecord, ...]:
    """The vocabulary shipped in ``bot/data/themes.csv`` (validated like any themes file)."""
    data = resources.files("bot").joinpath("data/themes.csv").read_bytes()
    file = parse_csv(data, name="bot/data/themes.csv")
    records: list[ThemeRecord] = []
    for row in file.rows:
        record, errors = validate_theme(row.values)
        if record is None:
            raise RuntimeError(f"shipped themes vocabulary is invalid: {[locate(file, row, e) for e in errors]}")
        records.append(record)
    return tuple(records)


def theme_snapshot(theme: Theme | ThemeRecord) -> dict[str, object]:
    return {
        "key": theme.key,
        "label_nl": theme.label_nl,
        "label_en": theme.label_en,
        "synonyms": list(theme.synonyms),
    }


def ensure_default_themes(session: Session, *, now: datetime) -> int:
    """Seed the shipped vocabulary when the themes table is empty. Returns how many themes were added."""
    if repo.count_themes(session):
        return 0
    defaults = shipped_themes()
    for position, record in enumerate(defaults):
        repo.create_theme(
            session,
            key=record.key,
            label_nl=record.label_nl,
            label_en=record.label_en,
            synonyms=list(record.synonyms),
            position=position,
            now=now,
        )
    session.flush()
    return len(defaults)


class ThemeResolver:
    """Maps what a spreadsheet or a person wrote (a key, or a Dutch or English label; any case) to a theme key."""

    def __init__(self, themes: Iterable[_ThemeLike]) -> None:
        self._lookup: dict[str, str] = {}
        self._choices: dict[str, str] = {}  # key or label as written -> key, for suggestions
        self._synonyms: dict[str, set[str]] = {}
        for theme in themes:
            for raw in (theme.key, theme.label_nl, theme.label_en):
                name = raw.strip()
                if name:
                    self._lookup.setdefault(name.casefold(), theme.key)
                    self._choices.setdefault(name, theme.key)
            for synonym in theme.synonyms:
                self._synonyms.setdefault(synonym.strip().casefold(), set()).add(theme.key)

    @classmethod
    def for_session(cls, session: Session) -> ThemeResolver:
        """The vocabulary in the database, or the shipped default while the themes table is still empty."""
        themes = repo.list_themes(session)
        return cls(themes) if themes else cls(shipped_themes())

    def resolve(self, value: str) -> str | None:
        """The theme key for a key, a label or a synonym of one theme (any case); None otherwise."""
        folded = value.strip().casefold()
        return self._lookup.get(folded) or self.resolve_synonym(value)

    def resolve_synonym(self, value: str) -> str | None:
        """The theme key when ``value`` is not a key or label but a synonym of exactly one theme."""
        folded = value.strip().casefold()
        if folded in self._lookup:
            return None
        owners = self._synonyms.get(folded, set())
        return next(iter(owners)) if len(owners) == 1 else None

    def synonym_owners(self, value: str) -> list[str]:
        """The keys of the themes that list ``value`` as a synonym (sorted)."""
        return sorted(self._synonyms.get(value.strip().casefold(), set()))

    def synonym_notes(self, value: str | None) -> list[tuple[str, str]]:
        """``(synonym as written, theme key)`` for each item of a themes cell that resolves through a synonym."""
        notes: list[tuple[str, str]] = []
        for item in split_list(value):
            key = self.resolve_synonym(item)
            if key is not None:
                notes.append((item, key))
        return notes

    def suggest(self, value: str) -> str | None:
        """The theme key that ``value`` most likely means (a synonym of one theme, or a near-miss key or label)."""
        folded = value.strip().casefold()
        owners = self._synonyms.get(folded, set())
        if len(owners) == 1:
            return next(iter(owners))
        if not self._choices or not folded:
            return None
        best = process.extractOne(
            value.strip(),
            list(self._choices),
            scorer=fuzz.WRatio,
            processor=str.casefold,
            score_cutoff=SUGGESTION_CUTOFF,
        )
        return str(best[0]) if best else None

    @property
    def keys(self) -> list[str]:
        return sorted(set(self._lookup.values()))


# --- themes import -----------------------------------------------------------------------------------------------


def import_themes(session: Session, *, path: Path, actor: str, now: datetime, dry_run: bool = False) -> ImportReport:
    """Add or update themes by key from a ``key,label_nl,label_en,synonyms`` file: all or nothing.

    The shipped vocabulary is seeded first on an empty database. A file without a ``synonyms`` column leaves the
    synonyms alone. No theme is deleted or renamed. Every added or changed theme gets an audit log row.
    """
    file = read_register_file(path)
    report = ImportReport(kind="themes", file=file.name, dry_run=dry_run)
    present = check_header(file, known=THEME_COLUMNS, required=THEME_REQUIRED, report=report)
    if not dry_run:
        ensure_default_themes(session, now=now)
    current: dict[str, ThemeRecord] = {
        t.key: ThemeRecord(t.key, t.label_nl, t.label_en, tuple(t.synonyms)) for t in repo.list_themes(session)
    } or {t.key: t for t in shipped_themes()}

    records, errors = _read_theme_rows(file)
    has_synonyms = "synonyms" in present
    errors.extend(_name_clashes(file, records, current, has_synonyms))
    fail_if_errors(errors, file)

    position = max((t.position for t in repo.list_themes(session)), default=len(current) - 1) + 1
    for _row, record in records:
        before = current.get(record.key)
        after = _merge(before, record, has_synonyms)
        if before is None:
            report.record_added(record.key)
            if not dry_run:
                _add_theme(session, after, position=position, actor=actor, now=now)
                position += 1
            continue
        changed = [f for f in ("label_nl", "label_en", "synonyms") if getattr(before, f) != getattr(after, f)]
        if not changed:
            report.unchanged += 1
            continue
        report.record_changed(record.key, changed)
        if not dry_run:
            _update_theme(session, before, after, actor=actor, now=now)
    if not dry_run:
        session.flush()
    return report


def _read_theme_rows(file: RegisterFile) -> tuple[list[tuple[RawRow, ThemeRecord]], list[str]]:
    """The file's valid theme rows (a key once only) and every problem found in them."""
    errors: list[str] = []
    records: list[tuple[RawRow, ThemeRecord]] = []
    seen: dict[str, int] = {}
    for row, record in valid_rows(file, validate_theme, errors):
        if record.key in seen:
            errors.append(located(file, row, "key", duplicate_key(record.key, seen[record.key])))
            continue
        seen[record.key] = row.line
        records.append((row, record))
    return records, errors


def _name_clashes(
    file: RegisterFile,
    records: list[tuple[RawRow, ThemeRecord]],
    current: dict[str, ThemeRecord],
    has_synonyms: bool,
) -> list[str]:
    """A key or label must name one theme only, or "Housing" in a register file could mean two things."""
    final = dict(current)
    for _row, record in records:
        final[record.key] = _merge(final.get(record.key), record, has_synonyms)
    owners: dict[str, set[str]] = {}
    for entry in final.values():
        for name in (entry.key, entry.label_nl, entry.label_en):
            owners.setdefault(name.casefold(), set()).add(entry.key)
    errors: list[str] = []
    for row, record in records:
        for column in ("key", "label_nl", "label_en"):
            name = getattr(record, column)
            others = sorted(owners.get(name.casefold(), set()) - {record.key})
            if others:
                shown, theme = shown_value(name), shown_value(others[0])
                taken = Problem(
                    f"{shown} already names theme {theme}; names must be unique",
                    "theme_name_taken",
                    {"name": shown, "theme": theme},
                )
                errors.append(located(file, row, column, taken))
    return errors


def _add_theme(session: Session, after: ThemeRecord, *, position: int, actor: str, now: datetime) -> None:
    theme = repo.create_theme(
        session,
        key=after.key,
        label_nl=after.label_nl,
        label_en=after.label_en,
        synonyms=list(after.synonyms),
        position=position,
        now=now,
    )
    _audit_import(session, key=after.key, before=None, after=theme_snapshot(theme), actor=actor, now=now)


def _update_theme(session: Session, before: ThemeRecord, after: ThemeRecord, *, actor: str, now: datetime) -> None:
    theme = repo.update_theme(
        session,
        key=after.key,
        label_nl=after.label_nl,
        label_en=after.label_en,
        synonyms=list(after.synonyms),
        now=now,
    )
    _audit_import(
        session, key=after.key, before=theme_snapshot(before), after=theme_snapshot(theme), actor=actor, now=now
    )


def _audit_import(
    session: Session, *, key: str, before: dict[str, object] | None, after: dict[str, object], actor: str, now: datetime
) -> None:
    """A theme added or changed by an import, in the audit log (its values before, None when new, and after)."""
    repo.create_audit_log(
        session,
        actor=actor,
        action="import",
        entity_type="theme",
        entity_key=key,
        before=before,
        after=after,
        now=now,
    )


def _merge(before: ThemeRecord | None, record: ThemeRecord, has_synonyms: bool) -> ThemeRecord:
    if before is None or has_synonyms:
        return record
    return ThemeRecord(record.key, record.label_nl, record.label_en, before.synonyms)
