"""The one message catalogue (bot/locale/<lang>/LC_MESSAGES/wieweet.po) and Babel formatting.

The catalogue checks run on the real catalogues and, to show they can fail, on broken copies in a temporary
directory: every message in every language, the same ``{placeholders}``, every plural form filled, and Babel's
extraction (with the project's babel.cfg) finding exactly the catalogue's keys at literal call sites.
"""

from __future__ import annotations

import ast
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from bot import i18n
from bot.error_texts import error_text
from bot.errors import QueryError, WieweetError
from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LOCALE_DIR,
    Messages,
    format_clock,
    format_date,
    format_duration,
    format_list,
    language_name,
    placeholders,
    t,
    tn,
    weekday_name,
)
from bot.matching.results import Reason
from handlers.blocks.home import HomeData, build_home_view
from handlers.blocks.routing import build_ask_confirmation

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bot", "handlers", "digests")
TEXT_FUNCTIONS = {"t": 1, "tn": 2, "N_": 1}  # name -> how many leading arguments are message ids


def po_path(directory: Path, lang: str) -> Path:
    return directory / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def read_catalogue(directory: Path, lang: str) -> Catalog:
    with po_path(directory, lang).open("rb") as file:
        return read_po(file, locale=lang)


def write_catalogue(directory: Path, lang: str, catalog: Catalog) -> None:
    po_path(directory, lang).parent.mkdir(parents=True, exist_ok=True)
    with po_path(directory, lang).open("wb") as file:
        write_po(file, catalog, sort_output=True, no_location=True)


def _key(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _forms(string: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if string is None:
        return ("",)
    return (string,) if isinstance(string, str) else tuple(string)


def catalogue_problems(directory: Path) -> list[str]:
    """Everything that makes the catalogues in ``directory`` incomplete or inconsistent, one line each."""
    languages = i18n.catalogue_languages(directory)
    catalogues = {lang: read_catalogue(directory, lang) for lang in languages}
    reference = {_key(m.id): m for m in catalogues[DEFAULT_LANGUAGE] if m.id}
    problems: list[str] = []
    for lang, catalog in catalogues.items():
        messages = {_key(m.id): m for m in catalog if m.id}
        problems += [f"{lang}: {key} is missing" for key in sorted(set(reference) - set(messages))]
        problems += [f"{lang}: {key} is not in {DEFAULT_LANGUAGE}" for key in sorted(set(messages) - set(reference))]
        for key in sorted(set(reference) & set(messages)):
            message, base = messages[key], reference[key]
            forms = _forms(message.string)
            if message.pluralizable != base.pluralizable:
                problems.append(f"{lang}: {key} is {'plural' if message.pluralizable else 'singular'} here only")
                continue
            if message.fuzzy:
                problems.append(f"{lang}: {key} is marked fuzzy")
            if not all(form.strip() for form in forms):
                problems.append(f"{lang}: {key} has an empty text")
            if message.pluralizable and len(forms) != catalog.num_plurals:
                problems.append(f"{lang}: {key} has {len(forms)} plural forms, the language has {catalog.num_plurals}")
            try:
                fields = frozenset().union(*(placeholders(form) for form in forms))
                expected = frozenset().union(*(placeholders(form) for form in _forms(base.string)))
            except ValueError as exc:  # an unbalanced brace
                problems.append(f"{lang}: {key} is not a valid format string ({exc})")
                continue
            if fields != expected:
                problems.append(f"{lang}: {key} has placeholders {sorted(fields)}, nl {sorted(expected)}")
    return problems


def extracted_messages() -> dict[str, tuple[bool, str]]:
    """What ``pybabel extract -F babel.cfg`` finds: key -> (has plural forms, first place found)."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    found: dict[str, tuple[bool, str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords={}, callback=None
    ):
        found.setdefault(_key(message), (not isinstance(message, str), f"{filename}:{lineno}"))
    return found


# --- the catalogues ------------------------------------------------------------------------------------------------


def test_the_languages_are_the_catalogues_present() -> None:
    assert LANGUAGES == ("nl", "en")
    assert Messages().languages == LANGUAGES


def test_every_message_exists_in_every_language_with_the_same_placeholders() -> None:
    assert catalogue_problems(LOCALE_DIR) == []


def test_extraction_finds_exactly_the_catalogue() -> None:
    """Every key in the code is in the catalogue (and with plural forms where the code asks for them); every
    key in the catalogue is used somewhere, so a key built at run time would show up as unused."""
    found = extracted_messages()
    catalogue = {_key(m.id): m.pluralizable for m in read_catalogue(LOCALE_DIR, DEFAULT_LANGUAGE) if m.id}
    assert len(found) > 350  # the extractor really read the sources
    assert [f"{key} ({where})" for key, (_, where) in sorted(found.items()) if key not in catalogue] == []
    assert sorted(set(catalogue) - set(found)) == []
    assert [key for key, (plural, _) in found.items() if catalogue.get(key, plural) != plural] == []


def _text_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TEXT_FUNCTIONS:
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def _built(node: ast.expr) -> bool:
    """An f-string, a concatenation or a ``.format``/``%`` anywhere in the expression."""
    return any(
        isinstance(sub, ast.JoinedStr | ast.BinOp)
        or (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in {"format", "join"})
        for sub in ast.walk(node)
    )


def test_no_key_is_built_at_run_time() -> None:
    """A key is a literal (or a variable holding one from an ``N_`` table): no f-string, concatenation or format."""
    bad = []
    for where, call in _text_calls():
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        ids = call.args[: TEXT_FUNCTIONS[name]]
        if any(_built(arg) for arg in ids) or (name == "N_" and not all(isinstance(a, ast.Constant) for a in ids)):
            bad.append(where)
    assert bad == []


def test_every_call_fills_the_placeholders_of_its_text() -> None:
    """``t("key", lang, name=...)`` passes every ``{field}`` the text uses (in every language and plural form)."""
    texts: dict[str, set[str]] = {}
    for lang in LANGUAGES:
        for message in read_catalogue(LOCALE_DIR, lang):
            if message.id:
                for form in _forms(message.string):
                    texts.setdefault(_key(message.id), set()).update(placeholders(form))
    missing = []
    for where, call in _text_calls():
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        key = call.args[0] if call.args else None
        if name == "N_" or not isinstance(key, ast.Constant) or any(k.arg is None for k in call.keywords):
            continue  # a key from a table, or **values: checked where the table's texts are rendered
        given = {k.arg for k in call.keywords if k.arg}
        if texts.get(str(key.value), set()) - given:
            missing.append(f"{where} {key.value}: {sorted(texts[str(key.value)] - given)}")
    assert missing == []


# --- the checks fail on broken catalogues ----------------------------------------------------------------------------


@pytest.fixture
def locale_copy(tmp_path: Path) -> Path:
    shutil.copytree(LOCALE_DIR, tmp_path / "locale")
    return tmp_path / "locale"


def test_a_missing_text_a_changed_placeholder_and_a_lost_plural_form_are_reported(locale_copy: Path) -> None:
    english = read_catalogue(locale_copy, "en")
    english.delete("routing.btn_claim")
    english["routing.asked_by"].string = "Asked by {naam}"
    others = english.get(("digest.others", "digest.others_plural"))
    assert others is not None
    others.string = ("{count} other", "")
    write_catalogue(locale_copy, "en", english)
    assert catalogue_problems(locale_copy) == [
        "en: routing.btn_claim is missing",
        "en: digest.others has an empty text",
        "en: routing.asked_by has placeholders ['naam'], nl ['name']",
    ]


def test_adding_a_language_is_adding_one_file(locale_copy: Path) -> None:
    """A French catalogue dropped next to the others is a language: listed, used, checked, and where a text is
    not translated yet the reader gets Dutch rather than a key."""
    french = read_catalogue(locale_copy, "en")
    french.locale = "fr"  # type: ignore[assignment]
    for message in french:
        if message.id and message.id not in {"routing.btn_claim", "digest.colleagues"}:
            message.string = ("", "") if message.pluralizable else ""
    french["routing.btn_claim"].string = "Je réponds"
    colleagues = french.get(("digest.colleagues", "digest.colleagues_plural"))
    assert colleagues is not None
    colleagues.string = ("{count} collègue", "{count} collègues")
    write_catalogue(locale_copy, "fr", french)

    assert i18n.catalogue_languages(locale_copy) == ("nl", "en", "fr")
    messages = Messages(locale_copy)
    assert messages.text("routing.btn_claim", "fr", {}) == "Je réponds"
    assert messages.text("routing.btn_decline", "fr", {}) == "Niet mijn domein"  # not translated yet: Dutch
    assert messages.plural("digest.colleagues", "digest.colleagues_plural", 2, "fr", {"count": 2}) == "2 collègues"
    problems = catalogue_problems(locale_copy)
    assert "fr: routing.btn_decline has an empty text" in problems
    assert not any(p.startswith(("nl:", "en:")) for p in problems)


def test_a_catalogue_without_the_default_language_is_refused(tmp_path: Path) -> None:
    shutil.copytree(LOCALE_DIR / "en", tmp_path / "en")
    with pytest.raises(FileNotFoundError, match="default language 'nl'"):
        Messages(tmp_path)


# --- looking texts up ---------------------------------------------------------------------------------------------


def test_texts_plurals_and_fallbacks() -> None:
    assert t("routing.asked_by", "nl", name="An") == "Gesteld door An"
    assert t("routing.asked_by", "en", name="An") == "Asked by An"
    assert t("routing.asked_by", "de", name="An") == "Gesteld door An"  # no German catalogue: Dutch
    for n, nl, en in ((1, "een collega", "a colleague"), (2, "2 collega's", "2 colleagues")):
        assert tn("digest.colleagues", "digest.colleagues_plural", n, "nl", count=n) == nl
        assert tn("digest.colleagues", "digest.colleagues_plural", n, "en", count=n) == en
    assert tn("digest.open_days", "digest.open_days_plural", 1, "nl", days=1) == "1 dag open"
    assert tn("digest.open_days", "digest.open_days_plural", 0, "en", days=0) == "open for 0 days"
    with pytest.raises(KeyError):
        t("no.such_key", "nl")
    with pytest.raises(KeyError, match="plural"):
        t("digest.colleagues", "nl")
    with pytest.raises(KeyError):
        tn("routing.asked_by", "routing.asked_by_plural", 2, "nl")


def test_language_codes() -> None:
    assert i18n.normalise_language("en-GB") == "en"
    assert i18n.normalise_language("nl_BE") == "nl"
    assert i18n.normalise_language("fr-FR") == "nl"
    assert i18n.normalise_language(None) == "nl"
    assert i18n.language_of("fr") is None
    assert [language_name(code) for code in LANGUAGES] == ["Nederlands", "English"]


@pytest.mark.parametrize(
    ("locale", "default", "expected"),
    [
        ("nl-BE", "nl", "nl"),
        ("nl-NL", "en", "nl"),  # Flemish and Dutch users read Dutch, whatever the default
        ("en-GB", "nl", "en"),
        ("fr-FR", "nl", "en"),  # "aide" opens help; Dutch is not what a French-speaking user reads best
        ("fr-BE", "nl", "en"),
        ("de-DE", "nl", "en"),
        ("ja-JP", "nl", "en"),
        ("", "nl", "nl"),  # no locale: the default language
        (None, "en", "en"),
    ],
)
def test_a_slack_locale_without_a_catalogue_reads_english(locale: str | None, default: str, expected: str) -> None:
    assert i18n.locale_language(locale, default) == expected


# --- formatting with Babel ----------------------------------------------------------------------------------------


def test_dates_weekdays_times_and_lists() -> None:
    day = date(2026, 3, 5)
    assert (format_date(day, "nl"), format_date(day, "nl", year=True)) == ("5 mrt", "5 mrt 2026")
    assert (format_date(day, "en"), format_date(day, "en", year=True)) == ("5 Mar", "5 Mar 2026")
    moment = datetime(2026, 11, 16, 9, tzinfo=ZoneInfo("Europe/Brussels"))
    assert format_date(moment, "nl") == "16 nov"
    assert [weekday_name(i, "nl") for i in (0, 4, 6)] == ["maandag", "vrijdag", "zondag"]
    assert [weekday_name(i, "en") for i in (0, 4, 6)] == ["Monday", "Friday", "Sunday"]
    assert format_clock(9, 5, "nl") == format_clock(9, 5, "en") == "09:05"
    assert format_list(["A", "B", "C"], "nl") == "A, B en C"
    assert format_list(["A", "B", "C"], "en") == "A, B and C"
    assert format_list(["A"], "nl") == "A" and format_list([], "nl") == ""


@pytest.mark.parametrize(
    ("seconds", "nl", "en"),
    [(1, "1 m", "1m"), (59 * 60, "59 m", "59m"), (3 * 3600, "3 u", "3h"), (50 * 3600, "2 d, 2 u", "2d 2h")],
)
def test_durations(seconds: float, nl: str, en: str) -> None:
    assert (format_duration(seconds, "nl"), format_duration(seconds, "en")) == (nl, en)


def test_locales_are_parsed_once() -> None:
    assert i18n.locale("nl") is i18n.locale("nl")
    assert str(i18n.locale("nl")) == "nl_BE" and str(i18n.locale("en")) == "en_GB"
    assert str(i18n.locale("xx")) == "nl_BE"  # an unknown language formats like the default


# --- where plurals, lists and error texts changed ------------------------------------------------------------------


def test_the_staff_line_on_the_home_tab_counts_in_singular_and_plural() -> None:
    def staff_line(stale: int, pending: int, lang: str) -> str:
        view = build_home_view(HomeData(profile=None, is_staff=True, stale_count=stale, pending_count=pending), lang)
        contexts = [b["elements"][0]["text"] for b in view.to_dict()["blocks"] if b["type"] == "context"]
        return next(text for text in contexts if "wieweet beheer" in text or "wieweet admin" in text)

    assert staff_line(1, 1, "nl") == (
        "Kenniscentrum: 1 profiel te bevestigen, 1 wacht op goedkeuring — `/wieweet beheer`"
    )
    assert staff_line(3, 2, "nl") == (
        "Kenniscentrum: 3 profielen te bevestigen, 2 wachten op goedkeuring — `/wieweet beheer`"
    )
    assert staff_line(1, 0, "en") == "Knowledge centre: 1 profile to confirm, 0 awaiting approval — `/wieweet admin`"


def test_an_error_code_without_a_text_leaves_the_message_to_the_caller() -> None:
    assert error_text(WieweetError("no_such_code", "raw"), "nl") is None
    assert error_text(QueryError("empty"), "en") == t("query.empty", "en")
    assert error_text(QueryError("too_long"), "nl") is None  # no values to fill {length} and {limit}


def test_people_in_a_sentence_are_a_list_of_the_language() -> None:
    assert build_ask_confirmation(["An", "Bert", "Carla"], "nl", escalated=False).startswith(
        "Bedankt! Je vraag is gesteld aan An, Bert en Carla."
    )
    assert "sent to An, Bert and Carla." in build_ask_confirmation(["An", "Bert", "Carla"], "en", escalated=False)


def test_match_reasons_read_as_before() -> None:
    cases = [
        (Reason("x", "expertise", "exact", "leegstand", "leegstandsheffing"), "leegstandsheffing — expertise", None),
        (Reason("x", "themes", "theme", "", "Wonen", "Housing"), "thema: Wonen", "theme: Housing"),
        (
            Reason("x", "tags", "synonym", "svk", "sociaal verhuurkantoor"),
            "sociaal verhuurkantoor — tags (synoniem van svk)",
            "sociaal verhuurkantoor — tags (synonym of svk)",
        ),
        (Reason("x", "profile", "stale", "", ""), "profiel nog niet bevestigd", "profile not confirmed yet"),
        (Reason("x", "profile", "stale", "", "2025-01-02"), "profiel niet bevestigd sinds 2025-01-02", None),
        (Reason("x", "city", "city", "", "Gent"), "Gent — stad", "Gent — city"),
        (Reason("x", "unknownfield", "exact", "", "woning"), "woning — unknownfield", None),
    ]
    for reason, nl, en in cases:
        assert reason.render("nl") == nl
        if en is not None:
            assert reason.render("en") == en
