"""One validation code path for register records.

File imports call these per row; Slack modals (expert profile, practice submission) call the very same
functions per submission, so a value is accepted or refused with the same rule and the same words everywhere.
The functions know nothing about files or row numbers: they return field errors, the caller adds the location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email

from bot.register.themes import ThemeResolver, split_list
from storage.models import Outcome

EXPERT_COLUMNS = (
    "name",
    "email",
    "slack_user_id",
    "organisation",
    "city",
    "role",
    "expertise",
    "themes",
    "languages",
    "bio",
)
PRACTICE_COLUMNS = (
    "title",
    "summary",
    "city",
    "organisation",
    "themes",
    "tags",
    "outcome",
    "lessons",
    "contact_email",
    "url",
    "year",
)
EXPERT_REQUIRED = ("name", "email", "organisation")
PRACTICE_REQUIRED = ("title", "summary")

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
LANGUAGE = re.compile(r"^[a-z]{2}$")
URL = re.compile(r"^https?://[^\s<>|\"]+\.[^\s<>|\"]+$", re.IGNORECASE)
OUTCOMES = {
    "good": Outcome.GOOD,
    "goed": Outcome.GOOD,
    "mixed": Outcome.MIXED,
    "gemengd": Outcome.MIXED,
    "failed": Outcome.FAILED,
    "mislukt": Outcome.FAILED,
}
MIN_YEAR = 1990
LIMITS = {
    "name": 200,
    "organisation": 200,
    "city": 100,
    "role": 200,
    "title": 300,
    "email": 320,
    "contact_email": 320,
    "url": 2000,
}


@dataclass(frozen=True, slots=True)
class FieldError:
    column: str
    code: str  # missing | bad_email | bad_slack_id | unknown_theme | unknown_outcome | bad_year | bad_url | ...
    message: str
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class ExpertRecord:
    name: str
    email: str
    slack_user_id: str | None
    organisation: str
    city: str
    role: str
    expertise: tuple[str, ...]
    themes: tuple[str, ...]
    languages: tuple[str, ...]
    bio: str


@dataclass(frozen=True, slots=True)
class PracticeRecord:
    title: str
    summary: str
    city: str
    organisation: str
    themes: tuple[str, ...]
    tags: tuple[str, ...]
    outcome: Outcome | None
    lessons: str
    contact_email: str
    url: str
    year: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.title, self.city)


def _text(values: Mapping[str, str], column: str) -> str:
    return (
        " ".join((values.get(column) or "").split())
        if column not in {"bio", "summary", "lessons"}
        else ((values.get(column) or "").strip())
    )


def _required(values: Mapping[str, str], columns: tuple[str, ...], errors: list[FieldError]) -> None:
    for column in columns:
        if not _text(values, column):
            errors.append(FieldError(column, "missing", "missing required value"))


def _lengths(values: Mapping[str, str], errors: list[FieldError]) -> None:
    for column, limit in LIMITS.items():
        value = _text(values, column)
        if len(value) > limit:
            errors.append(FieldError(column, "too_long", f"too long ({len(value)} characters, at most {limit})"))


def normalise_email(value: str) -> str:
    """A syntactically valid address, lower-cased; raises ValueError with the reason otherwise."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return str(result.normalized).lower()


def _email(values: Mapping[str, str], column: str, errors: list[FieldError]) -> str:
    raw = _text(values, column)
    if not raw:
        return ""
    try:
        return normalise_email(raw)
    except ValueError as exc:
        errors.append(FieldError(column, "bad_email", f"{raw!r} is not a valid email address ({exc})"))
        return raw


def _themes(values: Mapping[str, str], resolver: ThemeResolver, errors: list[FieldError]) -> tuple[str, ...]:
    keys: list[str] = []
    for item in split_list(values.get("themes") or ""):
        key = resolver.resolve(item)
        if key is None:
            suggestion = resolver.suggest(item)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else " (see `wieweet themes list`)"
            errors.append(FieldError("themes", "unknown_theme", f"unknown theme {item!r}{hint}", suggestion))
        elif key not in keys:
            keys.append(key)
    return tuple(keys)


def validate_expert(
    values: Mapping[str, str], *, themes: ThemeResolver
) -> tuple[ExpertRecord | None, list[FieldError]]:
    errors: list[FieldError] = []
    _required(values, EXPERT_REQUIRED, errors)
    _lengths(values, errors)
    email = _email(values, "email", errors)
    slack_user_id = _text(values, "slack_user_id") or None
    if slack_user_id and not SLACK_USER_ID.match(slack_user_id):
        errors.append(
            FieldError("slack_user_id", "bad_slack_id", f"{slack_user_id!r} is not a Slack user id (like U012AB3CD)")
        )
    languages: list[str] = []
    for item in split_list(values.get("languages") or ""):
        code = item.lower()
        if not LANGUAGE.match(code):
            errors.append(
                FieldError("languages", "bad_language", f"{item!r} is not a two-letter language code (nl, en, fr)")
            )
        elif code not in languages:
            languages.append(code)
    theme_keys = _themes(values, themes, errors)
    if errors:
        return None, errors
    return (
        ExpertRecord(
            name=_text(values, "name"),
            email=email,
            slack_user_id=slack_user_id,
            organisation=_text(values, "organisation"),
            city=_text(values, "city"),
            role=_text(values, "role"),
            expertise=tuple(split_list(values.get("expertise") or "")),
            themes=theme_keys,
            languages=tuple(languages),
            bio=_text(values, "bio"),
        ),
        [],
    )


def validate_practice(
    values: Mapping[str, str], *, themes: ThemeResolver, today: date
) -> tuple[PracticeRecord | None, list[FieldError]]:
    errors: list[FieldError] = []
    _required(values, PRACTICE_REQUIRED, errors)
    _lengths(values, errors)
    raw_outcome = _text(values, "outcome").lower()
    outcome = OUTCOMES.get(raw_outcome) if raw_outcome else None
    if raw_outcome and outcome is None:
        errors.append(
            FieldError(
                "outcome",
                "unknown_outcome",
                f"unknown outcome {raw_outcome!r} (use good, mixed or failed; goed, gemengd or mislukt)",
            )
        )
    contact_email = _email(values, "contact_email", errors)
    url = _text(values, "url")
    if url and not URL.match(url):
        errors.append(
            FieldError("url", "bad_url", f"{url!r} is not a web address (it must start with http:// or https://)")
        )
    raw_year = _text(values, "year")
    year: int | None = None
    if raw_year:
        try:
            year = int(float(raw_year)) if re.fullmatch(r"\d{4}(\.0+)?", raw_year) else int(raw_year)
        except ValueError:
            errors.append(FieldError("year", "bad_year", f"{raw_year!r} is not a year"))
        else:
            if not MIN_YEAR <= year <= today.year + 1:
                errors.append(
                    FieldError("year", "bad_year", f"year {year} is out of range ({MIN_YEAR}–{today.year + 1})")
                )
    theme_keys = _themes(values, themes, errors)
    if errors:
        return None, errors
    return (
        PracticeRecord(
            title=_text(values, "title"),
            summary=_text(values, "summary"),
            city=_text(values, "city"),
            organisation=_text(values, "organisation"),
            themes=theme_keys,
            tags=tuple(split_list(values.get("tags") or "")),
            outcome=outcome,
            lessons=_text(values, "lessons"),
            contact_email=contact_email,
            url=url,
            year=year,
        ),
        [],
    )
