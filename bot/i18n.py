"""User-facing text and locale-aware formatting: one gettext catalogue per language, read with Babel.

The texts live in ``bot/locale/<language>/LC_MESSAGES/wieweet.po`` (the one catalogue; see the README's
"Texts and languages"). Message ids are stable dotted keys (``"routing.btn_claim"``); both the Dutch and the English
file carry real text. The languages are the catalogues present: adding a language is adding one ``.po`` file.

- ``t(key, lang, **values)``: the text in ``lang`` (falling back to Dutch), ``str.format`` placeholders filled in.
- ``tn(key, key_plural, n, lang, **values)``: the plural form for ``n`` (ngettext; the forms and the rule that picks
  one come from the catalogue's ``Plural-Forms`` header).
- ``N_(key)``: marks a key kept in a table (an enum value -> key mapping) so that extraction finds it.
- ``format_date``, ``format_clock``, ``format_list``, ``format_duration``, ``weekday_name``, ``language_name``:
  Babel (CLDR) formatting in the language's locale, e.g. ``nl`` -> ``nl_BE``.

Every key is a literal at its call site (or in an ``N_`` table), so ``pybabel extract`` finds them all; the tests
check that each extracted key exists in every catalogue with the same placeholders. Code, comments and logs stay in
English; only what users read is here. The ``.po`` files are read when the first text is needed (Babel's reader,
compiled in memory for Python's ``gettext``), so an installed or editable checkout needs no build step.
"""

from __future__ import annotations

import gettext
import io
import math
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, format_time, get_day_names
from babel.lists import format_list as _babel_format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.units import format_unit

DOMAIN = "wieweet"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "nl"

# The conventions dates, lists and durations follow per UI language: Flemish Dutch, and European English (day
# before month, no serial comma) for the network's English speakers. A language not listed uses its own CLDR data.
FORMAT_LOCALES: Mapping[str, str] = {"nl": "nl_BE", "en": "en_GB"}


def catalogue_languages(directory: Path = LOCALE_DIR) -> tuple[str, ...]:
    """The languages with a catalogue in ``directory``: the default first, then alphabetical."""
    found = {path.parents[1].name for path in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found, key=lambda code: (code != DEFAULT_LANGUAGE, code)))


LANGUAGES: tuple[str, ...] = catalogue_languages()


def N_(key: str) -> str:  # noqa: N802 - the gettext name for "mark for extraction, translate later"
    """``key`` unchanged: marks a message id stored in a table, so ``pybabel extract`` finds it."""
    return key


def placeholders(text: str) -> frozenset[str]:
    """The ``str.format`` field names in ``text`` (``"{name} asked {count}"`` -> ``{"name", "count"}``)."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field is not None)


class Messages:
    """The catalogues of one locale directory, compiled for ``gettext``; other languages fall back to the default."""

    def __init__(self, directory: Path = LOCALE_DIR, default: str = DEFAULT_LANGUAGE) -> None:
        self.directory = directory
        self.default = default
        self.languages = catalogue_languages(directory)
        if default not in self.languages:
            raise FileNotFoundError(f"no {DOMAIN}.po catalogue for the default language {default!r} in {directory}")
        base, ids = self._compile(default)
        self._singular = frozenset(i for i in ids if isinstance(i, str))
        self._plural = frozenset(i[0] for i in ids if isinstance(i, tuple))
        self._translations: dict[str, gettext.GNUTranslations] = {default: base}
        for language in self.languages:
            if language != default:
                translations, _ = self._compile(language)
                translations.add_fallback(base)  # an empty or fuzzy text falls back to the default language's
                self._translations[language] = translations
        # the singular texts resolved once per language (fallback included): a look-up is one dict access
        self._texts = {
            language: {key: translations.gettext(key) for key in self._singular}
            for language, translations in self._translations.items()
        }

    def _compile(self, language: str) -> tuple[gettext.GNUTranslations, list[str | tuple[str, ...]]]:
        """Read ``<language>/LC_MESSAGES/wieweet.po`` with Babel and compile it in memory for ``gettext``."""
        with (self.directory / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
            catalog = read_po(file, locale=language, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        ids = [m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id]
        return gettext.GNUTranslations(buffer), ids

    def _for(self, lang: str) -> gettext.GNUTranslations:
        return self._translations.get(lang) or self._translations[self.default]

    def has(self, key: str) -> bool:
        return key in self._singular

    def text(self, key: str, lang: str, values: Mapping[str, object]) -> str:
        texts = self._texts.get(lang) or self._texts[self.default]
        try:
            text = texts[key]
        except KeyError:
            plural = " (it has plural forms)" if key in self._plural else ""
            raise KeyError(f"no message {key!r} in the catalogue{plural}") from None
        return text.format(**values)  # a placeholder without a value raises KeyError rather than showing "{name}"

    def plural(self, key: str, key_plural: str, n: int, lang: str, values: Mapping[str, object]) -> str:
        if key not in self._plural:
            raise KeyError(f"no plural message {key!r} in the catalogue")
        return self._for(lang).ngettext(key, key_plural, n).format(**values)


@cache
def messages() -> Messages:
    """The package's catalogues, read once (on the first text needed)."""
    return Messages()


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to Dutch), ``str.format`` placeholders filled from ``values``."""
    return messages().text(key, lang, values)


def tn(key: str, key_plural: str, n: int, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The plural form of ``key`` for ``n`` in ``lang`` (ngettext), placeholders filled from ``values``."""
    return messages().plural(key, key_plural, n, lang, values)


def has_text(key: str) -> bool:
    """Whether ``key`` is a (singular) message in the catalogue."""
    return messages().has(key)


def language_of(value: str | None) -> str | None:
    """The UI language (one with a catalogue) of a Slack locale ("en-GB", "nl-BE") or language code, else None."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


# what a Slack user whose locale has no catalogue reads ("fr-FR", "de-DE"): such a user chose another language than
# Dutch, and reads English better than Dutch; Flemish and Dutch locales ("nl-BE", "nl-NL") have Dutch
FOREIGN_LANGUAGE = "en"


def locale_language(locale: str | None, default: str) -> str:
    """The UI language of a Slack user with ``locale``: its own when there is a catalogue for it ("nl-BE": nl,
    "en-GB": en), English for any other ("fr-FR"), ``default`` when Slack gave none."""
    if not locale or not locale.strip():
        return default
    return language_of(locale) or (FOREIGN_LANGUAGE if FOREIGN_LANGUAGE in LANGUAGES else default)


def normalise_language(value: str | None) -> str:
    """Map a Slack locale ("en-GB", "nl-BE") or language code to a UI language, the default when there is none."""
    return language_of(value) or DEFAULT_LANGUAGE


# --- formatting (Babel / CLDR) --------------------------------------------------------------------------------------


@cache
def locale(lang: str) -> Locale:
    """The Babel locale whose conventions ``lang`` follows (cached: parsing a locale is not free)."""
    return Locale.parse(FORMAT_LOCALES.get(lang, lang if lang in LANGUAGES else FORMAT_LOCALES[DEFAULT_LANGUAGE]))


# the zone a moment's day is read in when the caller names none: ``Settings.timezone``'s default
DEFAULT_ZONE = ZoneInfo("Europe/Brussels")


def local_day(value: date | datetime, tz: tzinfo | None = None) -> date:
    """The day a moment falls on in ``tz`` (the network's zone, ``Settings.timezone``; ``DEFAULT_ZONE`` when None),
    as the digest reads it: a question asked at 00:30 in Brussels is of that day, not the UTC day before. A stored
    moment without a zone is UTC; a date is itself."""
    if not isinstance(value, datetime):
        return value
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(tz or DEFAULT_ZONE).date()


def format_date(value: date | datetime, lang: str, *, year: bool = False, tz: tzinfo | None = None) -> str:
    """Day and abbreviated month ("16 nov", "16 Nov"), with the year if asked ("16 nov 2026"); a moment's local day
    (``local_day``: in ``tz``)."""
    return _format_day(local_day(value, tz), lang, year)


class ThemeLabels(Protocol):
    """A theme with its two labels (a stored theme, a theme record, a digest's theme)."""

    @property
    def label_nl(self) -> str: ...
    @property
    def label_en(self) -> str: ...


def theme_label(theme: ThemeLabels, lang: str) -> str:
    """A theme's label in ``lang``: the English one for English (when it has one), else the Dutch one (the themes
    have these two; another language falls back to Dutch, as its untranslated texts do)."""
    return theme.label_en if lang == "en" and theme.label_en else theme.label_nl


def format_stored_date(value: str | None, lang: str) -> str:
    """A date kept as ISO text (a message's stored payload: "2026-11-30") as users read dates ("30 Nov 2026");
    text that is no date is returned as it is."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return format_date(day, lang, year=True)


@lru_cache(maxsize=4096)  # a digest formats the same few days over and over
def _format_day(day: date, lang: str, year: bool) -> str:
    return format_skeleton("yMMMd" if year else "MMMd", day, locale=locale(lang))


@lru_cache(maxsize=4096)
def format_clock(hour: int, minute: int, lang: str) -> str:
    """A time of day as the locale writes it ("09:00")."""
    return format_time(time(hour, minute), "short", locale=locale(lang))


@cache
def _weekday_names(lang: str) -> tuple[str, ...]:
    names = get_day_names("wide", context="format", locale=locale(lang))
    return tuple(str(names[day]) for day in range(7))


def weekday_name(weekday: int, lang: str) -> str:
    """The name of a weekday (0 = Monday) as used in a sentence: "maandag", "Monday"."""
    return _weekday_names(lang)[weekday]


def format_list(items: Sequence[str], lang: str) -> str:
    """A list in a sentence: "A, B en C", "A, B and C"."""
    return _babel_format_list(list(items), locale=locale(lang))


def format_number(value: int, lang: str) -> str:
    """A count as ``lang`` groups its thousands: "8.000", "8,000"."""
    return format_decimal(value, locale=locale(lang))


def format_tenths(value: float, lang: str) -> str:
    """A figure to one decimal as ``lang`` writes it ("4,5" and "1.234,0" in Dutch; "4.5", "1,234.0" in English)."""
    return format_decimal(value, format="#,##0.0", locale=locale(lang))


MIB = 1024 * 1024


def format_size(size: int, lang: str) -> str:
    """A file's size in ``lang``'s number format: in MB (of 1024 × 1024 bytes) with one decimal from a tenth of one
    ("2.048,0 MB", "2,048.0 MB"), else in bytes ("900 bytes")."""
    if size >= MIB // 10:
        return f"{format_decimal(size / MIB, format='#,##0.0', locale=locale(lang))} MB"
    return f"{format_decimal(size, locale=locale(lang))} bytes"


def format_duration(seconds: float, lang: str) -> str:
    """A compact duration: minutes under an hour ("45 m"), hours under a day ("5 u"), else days and hours
    ("1 d, 2 u"): CLDR's narrow units joined as a unit list."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return _duration(0, 0, minutes, lang)
    days, hours = divmod(round(seconds / 3600), 24)
    return _duration(days, hours, 0, lang)


@lru_cache(maxsize=4096)
def _duration(days: int, hours: int, minutes: int, lang: str) -> str:
    parts = [
        format_unit(amount, unit, length="narrow", locale=locale(lang))
        for unit, amount in (("duration-day", days), ("duration-hour", hours), ("duration-minute", minutes))
        if amount
    ]
    return _babel_format_list(parts, style="unit-narrow", locale=locale(lang))


def language_name(lang: str) -> str:
    """A language's name in that language, as a person picking it looks for it: "Nederlands", "English"."""
    name = Locale.parse(lang).get_language_name(lang) or lang
    return name[:1].upper() + name[1:]
