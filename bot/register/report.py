"""What an import reports, and the checks every register import shares (header, locating errors)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rapidfuzz import fuzz, process

from bot.errors import Count, ImportFailed, Problem
from bot.register.files import RawRow, RegisterFile
from bot.register.validation import FieldError
from bot.text import counted, noun, shown_value

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while an import writes (the CLI draws a bar on a terminal)."""
R = TypeVar("R")
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class RecordChange:
    key: str  # the record's key as people read it: an email, "title (city)", a theme key
    action: str  # "added" | "changed"
    fields: tuple[str, ...] = ()  # for "changed": the columns whose value changes


@dataclass
class ImportReport:
    kind: str  # experts | practices | themes
    file: str
    dry_run: bool
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: list[RecordChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. unknown columns, ignored
    notes: list[str] = field(default_factory=list)  # e.g. team mailboxes kept as plain contact addresses
    # rows whose record was not merged as it stood, e.g. a Slack account not kept (``bot.register.identity``)
    conflicts: list[str] = field(default_factory=list)
    # rows of people who asked to be forgotten (``bot.register.erased``): skipped, or listed again on request
    erased: list[str] = field(default_factory=list)
    erased_people: int = 0  # of those, rows of an erased person
    erased_slack_ids: int = 0  # ... rows giving an expert already listed an erased person's Slack id

    @property
    def total(self) -> int:
        return self.added + self.changed + self.unchanged

    def compare(
        self, key: str, current: Mapping[str, Any] | None, values: Mapping[str, Any], *, also: Sequence[str] = ()
    ) -> list[str] | None:
        """The fields an import writes of one record: every field of a new one (``current`` None), else those
        whose value differs (plus ``also``); counted as added or changed. None, counted unchanged, when none."""
        if current is None:
            self.record_added(key)
            return list(values)
        changed = [k for k, v in values.items() if current[k] != v] + list(also)
        if not changed:
            self.unchanged += 1
            return None
        self.record_changed(key, changed)
        return changed

    def record_added(self, key: str) -> None:
        self.added += 1
        self.changes.append(RecordChange(key, "added"))

    def record_changed(self, key: str, fields: Sequence[str]) -> None:
        self.changed += 1
        self.changes.append(RecordChange(key, "changed", tuple(fields)))


def located(file: RegisterFile, row: RawRow, column: str, problem: str | FieldError) -> Problem:
    """The one format of every row problem: ``file: row N, column C: problem`` (the problem a ``Problem`` or a form
    field's error, said in the reader's language)."""
    message = problem.message if isinstance(problem, FieldError) else problem
    values = {"file": file.name, "row": row.line, "column": column, "problem": problem}
    return Problem(f"{file.name}: row {row.line}, column {column}: {message}", "at_cell", values)


def locate(file: RegisterFile, row: RawRow, error: FieldError) -> Problem:
    return located(file, row, error.column, error)


def check_header(
    file: RegisterFile, *, known: Sequence[str], required: Sequence[str], report: ImportReport
) -> list[str]:
    """Refuse a header without the required columns; warn about unknown ones. Returns the known columns present.

    Unknown columns are ignored with a warning (naming the closest known column when it looks like a typo).
    """
    unknown = [c for c in file.columns if c not in known]
    missing = [c for c in required if c not in file.columns]
    if missing and not set(file.columns) & set(known):  # no column name at all: a title row above the header?
        held = ", ".join(shown_value(cell) for cell in file.header if cell)[:200]
        raise ImportFailed(
            "missing_columns",
            Problem(
                f"{file.name}: row 1 holds {held or 'nothing'}, not the column names; expected: {','.join(known)}. "
                "Row 1 must be the header: delete the rows above the header (a title, a date) and import again",
                "title_above_header",
                {"file": file.name, "held": held or "-", "known": ",".join(known)},
            ),
        )
    if missing:
        hints = tuple(_missing_hint(c, _closest(c, unknown)) for c in missing)
        raise ImportFailed(
            "missing_columns",
            Problem(
                f"{file.name}: the header (row 1) lacks the required {noun(len(hints), 'column')} {', '.join(hints)}; "
                f"the columns are: {','.join(known)}",
                "missing_columns",
                {"file": file.name, "missing": hints, "known": ",".join(known)},
            ),
        )
    for column in unknown:
        guess = _closest(column, [c for c in known if c not in file.columns])
        shown, known_guess = shown_value(column), repr(guess)  # a header cell; the guess, a known column's name
        values = {"file": file.name, "column": shown, "guess": known_guess}
        if guess:
            line = f"{file.name}: unknown column {shown} ignored (did you mean {known_guess}?)"
            report.warnings.append(Problem(line, "unknown_column_guess", values))
        else:
            report.warnings.append(Problem(f"{file.name}: unknown column {shown} ignored", "unknown_column", values))
    if not file.rows:
        raise ImportFailed(
            "no_rows",
            Problem(f"{file.name}: no data rows below the header; nothing to import", "no_rows", {"file": file.name}),
        )
    return [c for c in known if c in file.columns]


def duplicate_key(key: str, other: int) -> Problem:
    """A record's key (an e-mail address, a theme key) given again in a later row."""
    shown = shown_value(key)
    return Problem(f"duplicate key {shown} (also in row {other})", "duplicate_key", {"key": shown, "other": other})


def duplicate_practice(title: str, city: str | None, other: int) -> Problem:
    """A practice (its title in its city) given again in a later row."""
    shown_title, shown_city = shown_value(title), shown_value(city or "")
    values = {"title": shown_title, "city": shown_city, "other": other}
    if city:
        line = f"duplicate key: {shown_title} in {shown_city} is also in row {other}"
        return Problem(line, "duplicate_practice", values)
    line = f"duplicate key: {shown_title} (no city) is also in row {other}"
    return Problem(line, "duplicate_practice_no_city", values)


def _missing_hint(column: str, found: str | None) -> Problem:
    """A required column missing from the header, with the unknown column that looks like it."""
    if found:  # a header cell that looks like the column
        shown = shown_value(found)
        return Problem(f"{column!r} (found {shown})", "missing_column_found", {"column": repr(column), "found": shown})
    return Problem(repr(column), "missing_column", {"column": repr(column)})


def extra_cells_error(file: RegisterFile, row: RawRow) -> Problem:
    """Cells to the right of the header: most often a value with an unquoted delimiter that shifted the row."""
    shown = ", ".join(shown_value(cell) for cell in row.extra[:3])
    where = f"{file.name}: row {row.line}"
    count, columns = Count(len(row.extra)), len(file.columns)  # the count said as the reader groups thousands
    values = {"file": file.name, "row": row.line, "count": count, "columns": columns, "shown": shown}
    if file.delimiter:
        return Problem(
            f"{where}: {counted(len(row.extra), 'cell')} more than the {counted(len(file.columns), 'column')} of the "
            f"header ({shown}); "
            f"a value containing {file.delimiter!r} must be in double quotes",
            "extra_cells_quote",
            {**values, "delimiter": repr(file.delimiter)},
        )
    return Problem(
        f"{where}: {counted(len(row.extra), 'cell')} to the right of the last column of the header ({shown})",
        "extra_cells",
        values,
    )


class SynonymNotes:
    """Collects the themes written as a synonym (``mobiliteit``) that an import stores as their key."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], list[int]] = {}  # (synonym folded, key) -> rows
        self._written: dict[tuple[str, str], str] = {}  # the first spelling seen

    def add(self, row: RawRow, found: Sequence[tuple[str, str]]) -> None:
        for written, key in found:
            self._written.setdefault((written.casefold(), key), written)
            self._rows.setdefault((written.casefold(), key), []).append(row.line)

    def report_to(self, report: ImportReport, file: RegisterFile) -> None:
        for entry, lines in sorted(self._rows.items(), key=lambda item: (item[1][0], item[0])):
            written, key = self._written[entry], entry[1]
            rows = ", ".join(str(n) for n in lines)
            report.notes.append(
                Problem(
                    f"{file.name}: row{'s' if len(lines) > 1 else ''} {rows}, column themes: {written} → {key} "
                    "(a synonym, stored as the theme key)",
                    "synonym_rows" if len(lines) > 1 else "synonym_row",
                    {"file": file.name, "rows": rows, "written": written, "key": key},
                )
            )


def fail_if_errors(errors: list[str], file: RegisterFile) -> None:
    if errors:
        raise ImportFailed(
            "invalid_rows",
            f"{file.name}: {counted(len(errors), 'problem')} found, nothing was imported",
            errors=list(errors),
        )


def _closest(name: str, candidates: Sequence[str]) -> str | None:
    if not candidates:
        return None
    best = process.extractOne(name, list(candidates), scorer=fuzz.ratio, score_cutoff=70)
    return str(best[0]) if best else None


def valid_rows(
    file: RegisterFile,
    validate: Callable[[Mapping[str, str | None]], tuple[R | None, list[FieldError]]],
    errors: list[str],
) -> Iterator[tuple[RawRow, R]]:
    """The rows ``validate`` accepts, in file order; the problems of every row (extra cells, invalid fields) go to
    ``errors``, located by file, row and column."""
    for row in file.rows:
        if row.extra:
            errors.append(extra_cells_error(file, row))
        record, problems = validate(row.values)
        errors.extend(locate(file, row, e) for e in problems)
        if record is not None:
            yield row, record


def one_by_one(plans: Sequence[P], progress: Progress | None) -> Iterator[P]:
    """The plans in order; ``progress`` hears of each once the caller's loop has written it."""
    for done, plan in enumerate(plans, start=1):
        yield plan
        if progress is not None:
            progress(done, len(plans))
