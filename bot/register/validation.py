"""One validation code path for register records (experts, practices, themes).

A file import calls these functions once per row; Slack modals (expert profile, practice submission, staff theme
editing) call the very same functions once per submission, so a value is accepted or refused by the same rule and
explained in the same words everywhere. The functions know nothing about files, row numbers or Slack: they take
one record as a mapping of column name to raw text and return either a typed record or a list of ``FieldError``
(the caller adds the location: "experts.csv: row 7, column email: ..." or an inline error under a modal field).

A column missing from the mapping is treated like an empty cell.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, Protocol
from urllib.parse import urlsplit

from babel import Locale
from babel.core import get_global
from email_validator import EmailNotValidError, validate_email
from rapidfuzz import fuzz, process

from bot.text import CONTROLS, is_slack_user_id, mask_secrets, shown_value, strip_bidi, strip_invisible
from storage.models import Outcome

EXPERT_COLUMNS: tuple[str, ...] = (
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
PRACTICE_COLUMNS: tuple[str, ...] = (
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
THEME_COLUMNS: tuple[str, ...] = ("key", "label_nl", "label_en", "synonyms")
EXPERT_REQUIRED: tuple[str, ...] = ("name", "email", "organisation")
PRACTICE_REQUIRED: tuple[str, ...] = ("title", "summary")
THEME_REQUIRED: tuple[str, ...] = ("key", "label_nl", "label_en")

THEME_KEY = re.compile(r"^[a-z0-9-]+$")
LIST_SEPARATORS = re.compile(r"[;|]")
MIN_YEAR = 1990

OUTCOMES: dict[str, Outcome] = {
    "good": Outcome.GOOD,
    "goed": Outcome.GOOD,
    "mixed": Outcome.MIXED,
    "gemengd": Outcome.MIXED,
    "failed": Outcome.FAILED,
    "mislukt": Outcome.FAILED,
}
# Longest value each column holds (the database column sizes).
MAX_LENGTH: dict[str, int] = {
    "name": 200,
    "email": 320,
    "slack_user_id": 32,
    "organisation": 200,
    "city": 100,
    "role": 200,
    "title": 300,
    "contact_email": 320,
    "url": 2000,
    "key": 40,
    "label_nl": 200,
    "label_en": 200,
}
MULTILINE = frozenset({"bio", "summary", "lessons"})
FORMAT_FREE = frozenset({"title"})  # one-line fields that lose every format character (Unicode Cf), not just the
# invisible ones ``bot.text`` lists: a title is compared with others and with the reserved work session titles


class ThemeLookup(Protocol):
    """What validation needs from the themes vocabulary (``bot.register.themes.ThemeResolver`` provides it)."""

    def resolve(self, value: str) -> str | None:
        """The theme key for a key, a label or a synonym of one theme (any case), or None."""

    def suggest(self, value: str) -> str | None:
        """The closest known key or label, for "did you mean …?"."""

    def synonym_owners(self, value: str) -> list[str]:
        """The keys of the themes that list ``value`` as a synonym."""


class AnyTheme:
    """A ``ThemeLookup`` that accepts every theme as written: for checking the rest of a form before the vocabulary
    is read (the service checks the themes against the database when it saves)."""

    def resolve(self, value: str) -> str | None:
        return value.strip() or None

    def suggest(self, value: str) -> str | None:
        return None

    def synonym_owners(self, value: str) -> list[str]:
        return []


ANY_THEME = AnyTheme()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field. ``code`` is stable (for tests and translations), ``message`` is English; a
    message quoting the value refused quotes it by ``bot.text.shown_value`` (cut, its secrets masked), as every
    output does."""

    column: str
    code: str  # missing | too_long | bad_characters | bad_email | bad_slack_id | bad_language | unknown_theme |
    # unknown_outcome | bad_year | bad_url | insecure_url | url_credentials | bad_key
    message: str
    suggestion: str | None = None
    value: str | None = None  # the value refused, as given (an import's problem line shows it: ``bot.error_texts``)
    bounds: tuple[int, int] | None = None  # a number refused for its range: the lowest and the highest accepted


@dataclass(frozen=True, slots=True)
class ExpertRecord:
    name: str
    email: str  # lower-case, the key
    slack_user_id: str | None
    organisation: str
    city: str
    role: str
    expertise: tuple[str, ...]
    themes: tuple[str, ...]  # theme keys, sorted
    languages: tuple[str, ...]
    bio: str


@dataclass(frozen=True, slots=True)
class PracticeRecord:
    title: str
    summary: str
    city: str
    organisation: str
    themes: tuple[str, ...]  # theme keys, sorted
    tags: tuple[str, ...]
    outcome: Outcome | None
    lessons: str
    contact_email: str  # lower-case, "" when none
    url: str
    year: int | None

    @property
    def key(self) -> tuple[str, str]:
        """The practice key (title, city), compared case-insensitively."""
        return practice_key(self.title, self.city)


@dataclass(frozen=True, slots=True)
class ThemeRecord:
    key: str
    label_nl: str
    label_en: str
    synonyms: tuple[str, ...]


def practice_key(title: str, city: str) -> tuple[str, str]:
    """Two practices with the same key are the same practice: title and city compared by ``comparable``."""
    return (comparable(title), comparable(city))


def strip_format(text: str) -> str:
    """``text`` without format characters (Unicode category Cf: soft hyphen, zero-width and bidi controls, the
    deprecated format characters U+206A–U+206F, tag characters, ...)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def comparable(text: str) -> str:
    """``text`` as it is compared with another title: NFKC (full-width letters, small and compatibility signs become
    the plain ones), case-folded, without format characters, whitespace runs as one space, trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(strip_format(folded).split())


# --- language codes ----------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def language_codes() -> frozenset[str]:
    """The ISO 639-1 two-letter language codes: those named in the CLDR data shipped with Babel (184)."""
    names = Locale("en").languages
    return frozenset(code for code in names if isinstance(code, str) and re.fullmatch("[a-z]{2}", code))


@functools.cache
def _language_hints() -> dict[str, str]:
    """What people write instead of a code → the code: names in Dutch, English and French (``Vlaams``, ``Dutch``,
    ``néerlandais``, also without accents), three-letter and deprecated codes (``nld``, ``fre``, ``iw``), regions
    (``nl-BE``)."""
    codes = language_codes()
    hints: dict[str, str] = {}
    for alias, target in get_global("language_aliases").items():
        base = target.split("_")[0]
        if base in codes:
            hints.setdefault(alias.casefold(), base)
    for locale in ("nl", "en", "fr"):
        for code, name in Locale(locale).languages.items():
            base = str(code).split("_")[0]
            if base in codes:
                hints.setdefault(name.casefold(), base)
                hints.setdefault(_fold(name), base)
    return hints


def suggest_language(value: str) -> str | None:
    """The ISO 639-1 code someone most likely meant by ``value`` (a language name, a longer code), or None."""
    text = value.strip().casefold()
    if text in language_codes():
        return text
    region = re.fullmatch(r"([a-z]{2})[-_][a-z0-9]{2,8}", text)
    if region and region.group(1) in language_codes():
        return region.group(1)
    hints = _language_hints()
    return hints.get(text) or hints.get(_fold(text))


# --- text helpers ------------------------------------------------------------------------------------------------


def split_list(value: str | None) -> list[str]:
    """Split a list-valued cell on ``;`` or ``|``: items trimmed, empty and repeated (any case) items dropped."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in LIST_SEPARATORS.split(value or ""):
        item = " ".join(strip_invisible(raw).split())
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            result.append(item)
    return result


def clean_text(value: str | None, *, multiline: bool = False) -> str:
    """One-line fields (names, titles, ...): invisible and reordering characters (``bot.text``) go, runs of
    whitespace become one space. Multi-line fields: reordering controls go, line endings become ``\\n``."""
    if not value:
        return ""
    if multiline:
        return strip_bidi(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return " ".join(strip_invisible(value).split())


def normalise_email(value: str) -> str:
    """A syntactically valid address, lower-cased; raises ``ValueError`` with the reason otherwise."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return str(result.normalized).lower()


class _Checker:
    """Collects field errors while reading one record."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    def error(
        self,
        column: str,
        code: str,
        message: str,
        suggestion: str | None = None,
        *,
        value: str | None = None,
        bounds: tuple[int, int] | None = None,
    ) -> None:
        self.errors.append(FieldError(column, code, message, suggestion, value, bounds))

    def raw(self, column: str) -> str:
        return self.values.get(column) or ""

    def text(self, column: str, *, required: bool = False) -> str:
        value = clean_text(self.raw(column), multiline=column in MULTILINE)
        if column in FORMAT_FREE:
            value = " ".join(strip_format(value).split())
        if required and not value:
            self.error(column, "missing", "missing required value")
        limit = MAX_LENGTH.get(column)
        if limit is not None and len(value) > limit:
            self.error(column, "too_long", f"too long ({len(value)} characters, at most {limit})", value=value)
        if CONTROLS.search(value):
            self.error(
                column,
                "bad_characters",
                "contains control characters (invisible characters that are not text)",
                value=value,
            )
        return value

    def items(self, column: str) -> list[str]:
        items = split_list(self.raw(column))
        if any(CONTROLS.search(item) for item in items):
            self.error(
                column,
                "bad_characters",
                "contains control characters (invisible characters that are not text)",
                value="; ".join(items),
            )
        return items

    def email(self, column: str, *, required: bool = False) -> str:
        raw = self.text(column, required=required)
        if not raw:
            return ""
        try:
            return normalise_email(raw)
        except ValueError as exc:
            self.error(column, "bad_email", f"{shown_value(raw)} is not a valid email address ({exc})", value=raw)
            return raw

    def themes(self, lookup: ThemeLookup, column: str = "themes") -> tuple[str, ...]:
        keys: set[str] = set()
        for item in self.items(column):
            key = lookup.resolve(item)
            if key is not None:
                keys.add(key)
                continue
            owners = lookup.synonym_owners(item)
            if len(owners) > 1:
                self.error(
                    column,
                    "unknown_theme",
                    f"{shown_value(item)} is a synonym of several themes ({', '.join(owners)}): write the one you mean",
                    owners[0],
                    value=item,
                )
                continue
            suggestion = lookup.suggest(item)
            hint = f" (did you mean {shown_value(suggestion)}?)" if suggestion else " (see `wieweet themes list`)"
            self.error(column, "unknown_theme", f"unknown theme {shown_value(item)}{hint}", suggestion, value=item)
        return tuple(sorted(keys))


# --- experts -----------------------------------------------------------------------------------------------------


def validate_expert(
    values: Mapping[str, str | None], *, themes: ThemeLookup
) -> tuple[ExpertRecord | None, list[FieldError]]:
    """Check one expert. Returns ``(record, [])`` or ``(None, errors)`` with every problem found."""
    check = _Checker(values)
    name = check.text("name", required=True)
    email = check.email("email", required=True)
    organisation = check.text("organisation", required=True)
    slack_user_id = check.text("slack_user_id") or None
    if slack_user_id is not None and not is_slack_user_id(slack_user_id):
        fixed = slack_user_id.upper()
        suggestion = fixed if is_slack_user_id(fixed) else None
        hint = f"; did you mean {shown_value(suggestion)}?" if suggestion else ""
        check.error(
            "slack_user_id",
            "bad_slack_id",
            f"{shown_value(slack_user_id)} is not a Slack user id "
            f"(like U012AB3CD; leave empty for someone outside Slack{hint})",
            suggestion,
            value=slack_user_id,
        )
    languages: list[str] = []
    for item in check.items("languages"):
        code = item.lower()
        if code in language_codes():
            if code not in languages:
                languages.append(code)
            continue
        suggestion = suggest_language(item)
        hint = f"; did you mean {shown_value(suggestion)}?" if suggestion else ""
        what = "an ISO 639-1 language code" if re.fullmatch(r"[a-z]{2}", code) else "a two-letter language code"
        message = f"{shown_value(item)} is not {what} (nl, en, fr{hint})"
        check.error("languages", "bad_language", message, suggestion, value=item)
    record = ExpertRecord(
        name=name,
        email=email,
        slack_user_id=slack_user_id,
        organisation=organisation,
        city=check.text("city"),
        role=check.text("role"),
        expertise=tuple(check.items("expertise")),
        themes=check.themes(themes),
        languages=tuple(languages),
        bio=check.text("bio"),
    )
    return (None, check.errors) if check.errors else (record, [])


# --- practices ---------------------------------------------------------------------------------------------------


def parse_outcome(value: str) -> Outcome | None:
    """``good``/``mixed``/``failed`` or Dutch ``goed``/``gemengd``/``mislukt``, any case; "" is no outcome."""
    text = value.strip().lower()
    if not text:
        return None
    if text not in OUTCOMES:
        raise ValueError(text)
    return OUTCOMES[text]


def validate_practice(
    values: Mapping[str, str | None], *, themes: ThemeLookup, today: date, allow_http: bool = False
) -> tuple[PracticeRecord | None, list[FieldError]]:
    """Check one practice. ``today`` (the network's local day, ``bot.i18n.local_day``) bounds the year (at most next
    year). The link must be https without a user name
    or password in it; ``allow_http``: plain http is accepted too (the staff's register file, and a stored link an
    edit leaves as it was)."""
    check = _Checker(values)
    title = check.text("title", required=True)
    summary = check.text("summary", required=True)
    raw_outcome = check.text("outcome")
    outcome: Outcome | None = None
    try:
        outcome = parse_outcome(raw_outcome)
    except ValueError:
        best = process.extractOne(raw_outcome.lower(), list(OUTCOMES), scorer=fuzz.ratio, score_cutoff=60)
        suggestion = str(best[0]) if best else None
        hint = f"; did you mean {shown_value(suggestion)}?" if suggestion else ""
        check.error(
            "outcome",
            "unknown_outcome",
            f"unknown outcome {shown_value(raw_outcome)} "
            f"(use good, mixed or failed, or goed, gemengd or mislukt{hint})",
            suggestion,
            value=raw_outcome,
        )
    contact_email = check.email("contact_email")
    url = check.text("url")
    problem = url_problem(url, allow_http=allow_http) if url else None
    if problem is not None:
        text = BAD_URL_ALLOWING_HTTP if problem == "bad_url" and allow_http else URL_PROBLEMS[problem]
        check.error("url", problem, text.format(url=shown_value(url)), value=url)
    raw_year = check.text("year")
    year: int | None = None
    if raw_year:
        match = re.fullmatch(r"(\d{1,4})(?:\.0+)?", raw_year)  # Excel may give 2019 as "2019.0"
        if match is None:
            message = f"{shown_value(raw_year)} is not a year (write it like 2019)"
            check.error("year", "bad_year", message, value=raw_year)
        else:
            year = int(match.group(1))
            if not MIN_YEAR <= year <= today.year + 1:
                check.error(
                    "year",
                    "bad_year",
                    f"year {year} is out of range ({MIN_YEAR}–{today.year + 1})",
                    value=raw_year,
                    bounds=(MIN_YEAR, today.year + 1),
                )
    record = PracticeRecord(
        title=title,
        summary=summary,
        city=check.text("city"),
        organisation=check.text("organisation"),
        themes=check.themes(themes),
        tags=tuple(check.items("tags")),
        outcome=outcome,
        lessons=check.text("lessons"),
        contact_email=contact_email,
        url=url,
        year=year,
    )
    return (None, check.errors) if check.errors else (record, [])


URL_PROBLEMS: Final = {
    "bad_url": "{url} is not a web address (it must start with https://)",
    "insecure_url": "{url} is not a secure web address (it must start with https://, not http://)",
    "url_credentials": "{url} has a user name or password before its site name (like https://name@site); "
    "give the address without it",
}
# ``bad_url`` where plain http is allowed (``allow_http``: the staff's register file)
BAD_URL_ALLOWING_HTTP: Final = "{url} is not a web address (it must start with http:// or https://)"


def url_problem(value: str, *, allow_http: bool = False) -> str | None:
    """Why ``value`` is not a link to publish (a code of ``URL_PROBLEMS``), or None: it must be a web address with a
    site name, https (plain http too when ``allow_http``), and nothing before the site name (``user:password@``,
    which makes ``https://gent.be@evil.example/`` open evil.example)."""
    if any(ch.isspace() for ch in value):
        return "bad_url"
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "bad_url"
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not host:
        return "bad_url"
    if "@" in parts.netloc:
        return "url_credentials"
    if scheme == "http" and not allow_http:
        return "insecure_url"
    return None


# --- themes ------------------------------------------------------------------------------------------------------


def validate_theme(values: Mapping[str, str | None]) -> tuple[ThemeRecord | None, list[FieldError]]:
    """Check one vocabulary entry: key ``[a-z0-9-]+`` (at most 40), both labels required, synonyms a list."""
    check = _Checker(values)
    key = check.text("key", required=True)
    if key and not THEME_KEY.match(key):
        fixed = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", key.lower())).strip("-")
        # no suggestion that would quote a secret pasted here (a token lower-cased is a valid key)
        suggestion = fixed if fixed and THEME_KEY.match(fixed) and mask_secrets(fixed) == fixed else None
        hint = f"; did you mean {shown_value(suggestion)}?" if suggestion else ""
        check.error(
            "key",
            "bad_key",
            f"{shown_value(key)} is not a valid theme key "
            f"(lower-case letters, digits and dashes, like publieke-ruimte{hint})",
            suggestion,
            value=key,
        )
    record = ThemeRecord(
        key=key,
        label_nl=check.text("label_nl", required=True),
        label_en=check.text("label_en", required=True),
        synonyms=tuple(check.items("synonyms")),
    )
    return (None, check.errors) if check.errors else (record, [])
