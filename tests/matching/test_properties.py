"""Property: any unicode input to ``search`` returns a result or raises QueryError — never anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.matching import Matcher, SearchResult

from .conftest import TODAY, make_matcher

_MATCHER: Matcher = make_matcher()

_words = st.sampled_from(
    [
        "wie",
        "weet",
        "leegstandsheffing",
        "wijkwerkng",
        "Kortrijk",
        "SVK",
        "woning",
        "kwaliteitscontrole",
        "the",
        "qui",
        "connaît",
        "Sint-Niklaas",
        "OCMW",
        "🙂",
        "\x00",
        "ĳ",
        "ß",
        "\u0301",
        "-",
        "'",
        "日本",
    ]
)
_mixed = st.lists(st.one_of(_words, st.text(max_size=12)), max_size=30).map(" ".join)


def _check(query: str) -> None:
    try:
        result = _MATCHER.search(query, today=TODAY)
    except QueryError as exc:
        assert exc.code in {"empty", "only_stopwords", "too_long", "no_words"}
        return
    assert isinstance(result, SearchResult)
    assert result.query == query
    for hit in result.experts:
        assert hit.score >= 0.0
        for reason in hit.reasons:
            assert reason.render("nl") and reason.render("en")
    if result.gap:
        assert all(h.weak for h in result.experts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_arbitrary_unicode(query: str) -> None:
    _check(query)


@settings(max_examples=300, deadline=None)
@given(_mixed)
def test_word_soup(query: str) -> None:
    _check(query)


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1000, max_size=1200))
def test_long_input_is_bounded(query: str) -> None:
    _check(query)


def test_ten_thousand_characters_is_a_clear_error() -> None:
    try:
        _MATCHER.search("leegstand " * 1000, today=TODAY)
    except QueryError as exc:
        assert exc.code == "too_long"
    else:  # pragma: no cover
        raise AssertionError("expected too_long")
