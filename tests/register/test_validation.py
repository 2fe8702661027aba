"""The one validation code path: records in, typed records or field errors out — no files, no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.error_texts import FIELD_ERROR_KEYS, field_error_text, problem_text
from bot.register.report import located
from bot.register.themes import ThemeResolver, shipped_themes
from bot.register.validation import (
    FieldError,
    ThemeRecord,
    language_codes,
    split_list,
    validate_expert,
    validate_practice,
    validate_theme,
)
from bot.text import mask_secrets, shown_value
from storage.models import Outcome

THEMES = ThemeResolver(
    [
        ThemeRecord("wonen", "Wonen en woonbeleid", "Housing", ("huisvesting", "leegstand")),
        ThemeRecord("europa", "Europa en EU-financiering", "Europe and EU funding", ("EU", "EFRO")),
        ThemeRecord("klimaat", "Klimaat, energie en milieu", "Climate, energy and environment", ("leegstand",)),
        ThemeRecord("publieke-ruimte", "Publieke ruimte en mobiliteit", "Public space and mobility", ("mobiliteit",)),
    ]
)
TODAY = date(2026, 11, 28)
EXPERT = {"name": "An Peeters", "email": "an@gent.be", "organisation": "Stad Gent"}
PRACTICE = {"title": "Wijkbudget", "summary": "Bewoners beslissen."}


def expert_errors(**values: str) -> list[FieldError]:
    record, errors = validate_expert({**EXPERT, **values}, themes=THEMES)
    assert (record is None) == bool(errors)
    return errors


def practice_errors(**values: str) -> list[FieldError]:
    record, errors = validate_practice({**PRACTICE, **values}, themes=THEMES, today=TODAY)
    assert (record is None) == bool(errors)
    return errors


def test_a_valid_expert_is_normalised() -> None:
    record, errors = validate_expert(
        {
            "name": "  An   Peeters ",
            "email": " An.Peeters@Gent.BE ",
            "slack_user_id": "U012AB3CD",
            "organisation": "Stad Gent",
            "expertise": "leegstand; heffing |leegstand",
            "themes": "HOUSING;wonen;europe and eu funding",
            "languages": "NL;en",
            "bio": "Regel 1\r\nRegel 2  ",
        },
        themes=THEMES,
    )
    assert errors == [] and record is not None
    assert record.name == "An Peeters" and record.email == "an.peeters@gent.be"
    assert record.expertise == ("leegstand", "heffing")  # repeated item dropped, order kept
    assert record.themes == ("europa", "wonen")  # labels resolve to keys, sorted, once
    assert record.languages == ("nl", "en") and record.bio == "Regel 1\nRegel 2"
    assert record.city == "" and record.slack_user_id == "U012AB3CD"


def test_missing_columns_count_as_empty_cells() -> None:
    _, errors = validate_expert({}, themes=THEMES)
    assert [(e.column, e.code) for e in errors] == [
        ("name", "missing"),
        ("email", "missing"),
        ("organisation", "missing"),
    ]
    assert all(e.message == "missing required value" for e in errors)


@pytest.mark.parametrize(
    ("values", "column", "code", "message", "suggestion"),
    [
        ({"email": "an@"}, "email", "bad_email", "'an@' is not a valid email address", None),
        ({"email": "an at gent.be"}, "email", "bad_email", "'an at gent.be' is not a valid email address", None),
        ({"slack_user_id": "an.peeters"}, "slack_user_id", "bad_slack_id", "'an.peeters' is not a Slack user id", None),
        ({"slack_user_id": "u012ab"}, "slack_user_id", "bad_slack_id", "did you mean 'U012AB'?", "U012AB"),
        ({"slack_user_id": "C012AB"}, "slack_user_id", "bad_slack_id", "is not a Slack user id", None),
        ({"languages": "nl;dutch"}, "languages", "bad_language", "'dutch' is not a two-letter language code", "nl"),
        ({"languages": "nld"}, "languages", "bad_language", "'nld' is not a two-letter language code", "nl"),
        ({"languages": "xx"}, "languages", "bad_language", "'xx' is not an ISO 639-1 language code (nl, en, fr)", None),
        ({"languages": "Vlaams"}, "languages", "bad_language", "did you mean 'nl'?", "nl"),
        ({"languages": "nl-BE"}, "languages", "bad_language", "did you mean 'nl'?", "nl"),
        ({"languages": "francais"}, "languages", "bad_language", "did you mean 'fr'?", "fr"),
        ({"languages": "klingon"}, "languages", "bad_language", "'klingon' is not a two-letter language code", None),
        ({"themes": "woonen"}, "themes", "unknown_theme", "unknown theme 'woonen' (did you mean 'wonen'?)", "wonen"),
        (
            {"themes": "leegstand"},  # a synonym of two themes
            "themes",
            "unknown_theme",
            "'leegstand' is a synonym of several themes (klimaat, wonen): write the one you mean",
            "klimaat",
        ),
        ({"themes": "xyzzy"}, "themes", "unknown_theme", "unknown theme 'xyzzy' (see `wieweet themes list`)", None),
        ({"name": "x" * 201}, "name", "too_long", "too long (201 characters, at most 200)", None),
        ({"role": "a\x00b"}, "role", "bad_characters", "control characters", None),
        ({"role": "a\x9bb"}, "role", "bad_characters", "control characters", None),  # C1 too (CSI)
    ],
)
def test_expert_field_errors(
    values: dict[str, str], column: str, code: str, message: str, suggestion: str | None
) -> None:
    errors = expert_errors(**values)
    assert len(errors) == 1, errors
    assert (errors[0].column, errors[0].code, errors[0].suggestion) == (column, code, suggestion)
    assert message in errors[0].message


def test_a_synonym_of_one_theme_is_stored_as_its_key() -> None:
    record, errors = validate_expert({**EXPERT, "themes": "Mobiliteit;huisvesting;wonen"}, themes=THEMES)
    assert errors == [] and record is not None
    assert record.themes == ("publieke-ruimte", "wonen")
    assert THEMES.synonym_notes("Mobiliteit;huisvesting;wonen") == [
        ("Mobiliteit", "publieke-ruimte"),
        ("huisvesting", "wonen"),
    ]


@pytest.mark.parametrize("code", ["nl", "en", "fr", "de", "tr", "ar", "pl", "ro", "zh", "ti", "so", "uk", "ru", "es"])
def test_iso_639_1_codes_are_accepted(code: str) -> None:
    record, errors = validate_expert({**EXPERT, "languages": code.upper()}, themes=THEMES)
    assert errors == [] and record is not None and record.languages == (code,)


def test_the_language_list_is_iso_639_1() -> None:
    codes = language_codes()
    assert 180 <= len(codes) <= 185  # ISO 639-1 has 183 current codes (CLDR also names the withdrawn "sh")
    assert {"nl", "en", "fr", "de", "yi", "zu"} <= codes and not {"xx", "qq", "zz", "iw", "in"} & codes


def test_every_problem_of_a_record_is_reported() -> None:
    errors = expert_errors(name="", email="nope", themes="woonen;klimaatt", languages="xyz")
    assert [e.column for e in errors] == ["name", "email", "languages", "themes", "themes"]


def test_a_valid_practice() -> None:
    record, errors = validate_practice(
        {
            **PRACTICE,
            "city": " Gent ",
            "themes": "Public space and mobility",
            "tags": "budget|buurt",
            "outcome": "Gemengd",
            "contact_email": "Wonen@Stad.Gent",
            "url": "https://stad.gent/wijkbudget?x=1",
            "year": "2018.0",  # as Excel may write a number
        },
        themes=THEMES,
        today=TODAY,
    )
    assert errors == [] and record is not None
    assert record.outcome is Outcome.MIXED and record.year == 2018 and record.city == "Gent"
    assert record.themes == ("publieke-ruimte",) and record.tags == ("budget", "buurt")
    assert record.contact_email == "wonen@stad.gent" and record.key == ("wijkbudget", "gent")


@pytest.mark.parametrize(
    ("word", "outcome"),
    [("good", Outcome.GOOD), ("GOED", Outcome.GOOD), ("mixed", Outcome.MIXED), ("gemengd", Outcome.MIXED),
     ("Failed", Outcome.FAILED), ("mislukt", Outcome.FAILED), ("", None)],
)  # fmt: skip
def test_outcomes_in_english_and_dutch(word: str, outcome: Outcome | None) -> None:
    record, _ = validate_practice({**PRACTICE, "outcome": word}, themes=THEMES, today=TODAY)
    assert record is not None and record.outcome is outcome


@pytest.mark.parametrize(
    ("values", "column", "code", "message"),
    [
        ({"title": ""}, "title", "missing", "missing required value"),
        ({"summary": "  "}, "summary", "missing", "missing required value"),
        ({"outcome": "super"}, "outcome", "unknown_outcome", "unknown outcome 'super' (use good, mixed or failed"),
        ({"outcome": "goeed"}, "outcome", "unknown_outcome", "did you mean 'goed'?"),
        ({"year": "1989"}, "year", "bad_year", "year 1989 is out of range (1990–2027)"),
        ({"year": "2028"}, "year", "bad_year", "year 2028 is out of range (1990–2027)"),
        ({"year": "twintig"}, "year", "bad_year", "'twintig' is not a year"),
        ({"year": "2019-05"}, "year", "bad_year", "'2019-05' is not a year"),
        ({"url": "ftp://x.be/a"}, "url", "bad_url", "'ftp://x.be/a' is not a web address"),
        ({"url": "www.gent.be"}, "url", "bad_url", "must start with https://"),
        ({"url": "https://"}, "url", "bad_url", "is not a web address"),
        ({"url": "http://intranet.local/x"}, "url", "insecure_url", "must start with https://, not http://"),
        ({"url": "https://gent.be@evil.example/x"}, "url", "url_credentials", "user name or password"),
        ({"url": "https://user:pw@gent.be/x"}, "url", "url_credentials", "user name or password"),
        ({"url": "https://:pw@gent.be/x"}, "url", "url_credentials", "user name or password"),
        ({"contact_email": "contact@"}, "contact_email", "bad_email", "'contact@' is not a valid email address"),
        ({"themes": "klimaatt"}, "themes", "unknown_theme", "unknown theme 'klimaatt' (did you mean 'klimaat'?)"),
    ],
)
def test_practice_field_errors(values: dict[str, str], column: str, code: str, message: str) -> None:
    errors = practice_errors(**values)
    assert len(errors) == 1, errors
    assert (errors[0].column, errors[0].code) == (column, code)
    assert message in errors[0].message


def test_a_url_problem_quotes_the_link_with_its_password_masked() -> None:
    (error,) = practice_errors(url="https://dienst:Geheim-2026@intranet.gent.be/doc")
    assert error.code == "url_credentials" and "Geheim" not in error.message
    assert error.message.startswith("'https://dienst:***@intranet.gent.be/doc' has a user name or password")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://dienst:Geheim@intranet.gent.be/doc", "https://dienst:***@intranet.gent.be/doc"),
        ("https://:Geheim@gent.be/x", "https://:***@gent.be/x"),
        ("https://ghp_Geheim@github.com/x", "https://***@github.com/x"),  # a user name alone may be a token
        ("see https://a.be/p?id=4&access_token=Geheim#top", "see https://a.be/p?id=4&access_token=***#top"),
        ("https://a.be/p?Password=Geheim;x=1", "https://a.be/p?Password=***;x=1"),
        ("xoxb-1234-5678-Geheim, xapp-1-A0-Geheim", "xoxb-***, xapp-***"),
        ("https://dienst:Ge@heim@intranet.gent.be/doc", "https://dienst:***@intranet.gent.be/doc"),  # an @ in it
        ("https://dienst:Ge/heim@intranet.gent.be/doc", "https://dienst:***@intranet.gent.be/doc"),  # a / in it
        ("https://dienst:Ge#heim@intranet.gent.be/doc", "https://dienst:***@intranet.gent.be/doc"),  # a # in it
        ("https://u:G/e@h@intranet.gent.be/p@q", "https://u:***@intranet.gent.be/p@q"),  # to the last @ before the host
        ("https://a.be/?next=https://u:Geheim@b.be/x", "https://a.be/?next=https://u:***@b.be/x"),  # a link in a link
        ("https://a.be/cb#access_token=Geheim", "https://a.be/cb#access_token=***"),  # OAuth: the token in the fragment
        ("https://hooks.slack.com/services/T000/B000/GeheimGeheim", "https://hooks.slack.com/services/***"),  # webhook
        ("https://hooks.slack.com/workflows/T000/A000/1/Geheim", "https://hooks.slack.com/workflows/***"),
        ("https://www.gent.be/wonen?id=4", "https://www.gent.be/wonen?id=4"),  # nothing secret: as it was
        ("https://medium.com/@jan", "https://medium.com/@jan"),  # an @ in the path is no user information
        ("https://a.be:8443/x@y", "https://a.be:8443/x@y"),  # nor after a port
        ("https://[::1]/a@b", "https://[::1]/a@b"),  # nor after an IPv6 address
        ("https://a.be/p?email=jan@gent.be", "https://a.be/p?email=jan@gent.be"),
        ("jan.peeters@gent.be", "jan.peeters@gent.be"),  # an e-mail address is what its line is about
    ],
)
def test_mask_secrets(text: str, shown: str) -> None:
    assert mask_secrets(text) == shown


def test_the_register_file_may_keep_http_links_but_never_a_user_name() -> None:
    """The staff's file (``allow_http``) keeps existing http links; a user name before the host never passes."""
    plain = {**PRACTICE, "url": "http://intranet.gent.be/x"}
    record, errors = validate_practice(plain, themes=THEMES, today=TODAY, allow_http=True)
    assert errors == [] and record is not None and record.url == "http://intranet.gent.be/x"
    tricked = {**PRACTICE, "url": "http://gent.be@evil.example/x"}
    _, errors = validate_practice(tricked, themes=THEMES, today=TODAY, allow_http=True)
    assert [(e.column, e.code) for e in errors] == [("url", "url_credentials")]
    _, errors = validate_practice({**PRACTICE, "url": "www.gent.be"}, themes=THEMES, today=TODAY, allow_http=True)
    assert [e.code for e in errors] == ["bad_url"]
    assert errors[0].message == "'www.gent.be' is not a web address (it must start with http:// or https://)"


def test_year_bounds_follow_today() -> None:
    assert practice_errors(year="1990") == [] and practice_errors(year="2027") == []
    record, _ = validate_practice({**PRACTICE, "year": "2028"}, themes=THEMES, today=date(2027, 1, 1))
    assert record is not None and record.year == 2028


@pytest.mark.parametrize(
    ("values", "column", "code", "suggestion"),
    [
        ({"key": "Zorg Thuis"}, "key", "bad_key", "zorg-thuis"),
        ({"key": "zorg_thuis"}, "key", "bad_key", "zorg-thuis"),
        ({"key": "x" * 41}, "key", "too_long", None),
        ({"label_nl": ""}, "label_nl", "missing", None),
        ({"label_en": ""}, "label_en", "missing", None),
    ],
)
def test_theme_errors(values: dict[str, str], column: str, code: str, suggestion: str | None) -> None:
    record, errors = validate_theme({"key": "zorg", "label_nl": "Zorg", "label_en": "Care", **values})
    assert record is None and [(e.column, e.code, e.suggestion) for e in errors] == [(column, code, suggestion)]


def test_a_valid_theme() -> None:
    record, errors = validate_theme({"key": "zorg-2", "label_nl": "Zorg", "label_en": "Care", "synonyms": "a; b|a"})
    assert errors == [] and record == ThemeRecord("zorg-2", "Zorg", "Care", ("a", "b"))


def test_shipped_vocabulary_has_the_contract_keys() -> None:
    keys = [t.key for t in shipped_themes()]
    assert keys[:13] == [
        "wonen", "gebiedsgericht", "europa", "stadsregio", "pps", "diversiteit", "klimaat",
        "publieke-ruimte", "economie", "innovatie", "sociaal", "financien", "organisatie",
    ]  # fmt: skip
    resolver = ThemeResolver(shipped_themes())
    assert resolver.resolve("Housing") == "wonen" and resolver.resolve("financiën en planning") == "financien"


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=";|"), min_size=1), max_size=6))
def test_split_list_round_trips_joined_items(items: list[str]) -> None:
    cleaned = split_list(";".join(items))
    assert split_list(";".join(cleaned)) == cleaned  # joining what was split gives the same list again
    assert all(item == " ".join(item.split()) and item for item in cleaned)


# --- invisible characters (issue 11): stripped from names and titles, never echoed --------------------------------

RLO, LRI, PDI, ZWSP, ZWJ, BOM, WJ = "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff", "\u2060"


def test_bidi_and_zero_width_characters_are_stripped_from_names_titles_and_lists() -> None:
    record, errors = validate_expert(
        {
            **EXPERT,
            "name": f"An{ZWSP} Pee{RLO}ters{PDI}",
            "organisation": f"{BOM}Stad{WJ} Gent",
            "role": f"{LRI}diensthoofd{PDI}",
            "expertise": f"leeg{ZWJ}stand; {ZWSP}; wonen{RLO}",
        },
        themes=THEMES,
    )
    assert errors == [] and record is not None
    assert (record.name, record.organisation, record.role) == ("An Peeters", "Stad Gent", "diensthoofd")
    assert record.expertise == ("leegstand", "wonen")
    practice, problems = validate_practice(
        {**PRACTICE, "title": f"Wijk{RLO}budget{ZWSP}", "summary": f"Bewoners{RLO} beslissen{ZWJ}."},
        themes=THEMES,
        today=TODAY,
    )
    assert problems == [] and practice is not None
    assert practice.title == "Wijkbudget"
    assert practice.summary == f"Bewoners beslissen{ZWJ}."  # long text keeps a joiner (emoji), never a reordering


@given(st.text(alphabet=st.sampled_from(["a", " ", RLO, LRI, PDI, ZWSP, ZWJ, BOM, WJ, "\u200f", "\u061c"])))
def test_no_name_keeps_an_invisible_character(name: str) -> None:
    record, _errors = validate_expert({**EXPERT, "name": f"An {name}"}, themes=THEMES)
    assert record is not None
    assert not any(ch in record.name for ch in (RLO, LRI, PDI, ZWSP, ZWJ, BOM, WJ, "\u200f", "\u061c"))


TOKEN = "xoxb-1234-5678-Geheim"


class _Row:
    line = 3


class _File:
    name = "experts.csv"


def _errors_quoting(column: str, value: str) -> list[FieldError]:
    if column == "key":
        return validate_theme({"key": value, "label_nl": "x", "label_en": "x"})[1]
    if column in {"outcome", "year", "url"}:
        return practice_errors(**{column: value})
    return expert_errors(**{column: value})


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("slack_user_id", TOKEN, "bad_slack_id"),
        ("slack_user_id", "Geheim " * 20, "bad_slack_id"),  # long: cut, not printed whole
        ("key", TOKEN, "bad_key"),
        ("email", TOKEN, "bad_email"),
        ("languages", TOKEN, "bad_language"),
        ("themes", TOKEN, "unknown_theme"),
        ("outcome", TOKEN, "unknown_outcome"),
        ("year", TOKEN, "bad_year"),
        ("url", "https://dienst:Geheim@intranet.gent.be/doc", "url_credentials"),
        ("url", f"https://a.be/{TOKEN}", None),  # a path is not refused: nothing to quote
    ],
)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_refused_value_is_quoted_with_its_secret(column: str, value: str, code: str | None, lang: str) -> None:
    errors = _errors_quoting(column, value)
    assert [e.code for e in errors if e.code != "too_long"] == ([code] if code else [])
    for error in errors:
        line = located(_File(), _Row(), column, error)  # type: ignore[arg-type]
        for shown in (error.message, str(line), problem_text(line, lang)):
            assert TOKEN not in shown and ":Geheim@" not in shown and "Geheim " * 10 not in shown, shown
        assert error.code in FIELD_ERROR_KEYS  # the reader's language, the value quoted by shown_value
        assert shown_value(value) in problem_text(line, lang)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_bad_slack_id_and_a_bad_key_read_in_the_readers_language(lang: str) -> None:
    [slack] = expert_errors(slack_user_id="u012ab3cd")
    [key] = validate_theme({"key": "Publieke Ruimte", "label_nl": "x", "label_en": "x"})[1]
    said = {"nl": ("Dit is geen Slack-gebruikers-id", "Gebruik kleine letters"), "en": ("This is not a Slack", "Use")}
    assert field_error_text(slack, lang).startswith(said[lang][0]) and "U012AB3CD" in field_error_text(slack, lang)
    assert field_error_text(key, lang).startswith(said[lang][1]) and "publieke-ruimte" in field_error_text(key, lang)


def test_a_theme_key_suggestion_never_repeats_a_secret() -> None:
    [error] = validate_theme({"key": TOKEN, "label_nl": "x", "label_en": "x"})[1]
    assert error.suggestion is None and "geheim" not in error.message.lower()
