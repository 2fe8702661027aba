"""Reasons as a new user reads them (#13): the field named is the one the match came from, a fragment of a
multi-word synonym lends nothing, a phrase matched whole is shown whole, and a synonym found inside a document's
compound says so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc
from bot.matching.results import SearchResult
from bot.presenter import build_answer_view, result_to_json
from tests.matching.conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert, make_matcher


def build(experts: list[ExpertDoc], config: MatchConfig | None = None) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=config)
    m.build(experts=experts, practices=[], answers=[])
    return m


def reasons_of(result: SearchResult, name: str, lang: str = "nl") -> list[str]:
    hit = next(h for h in result.experts if h.doc.name == name)
    return [r.render(lang) for r in hit.reasons]


def all_reasons(result: SearchResult) -> list[str]:
    return [r.render("nl") for h in result.experts for r in h.reasons]


def test_a_generic_word_is_named_in_the_field_it_came_from() -> None:
    # "stad" is left out of the organisation field ("Stad Gent"); Hilde's posting comes from her bio
    hilde = expert(50, "Hilde", city="Gent", role="medewerker klimaat", expertise=("vergroening",),
                   bio="Maakte de hittekaart van de stad.")  # fmt: skip
    # (with context words on, "stad" beside "vergroening" is no reason at all: tests/matching/test_context_words.py)
    r = build([*EXPERTS, hilde], MatchConfig(context_words=False)).search("vergroening van de stad", today=TODAY)
    got = reasons_of(r, "Hilde")
    assert "stad — bio" in got
    assert not any(x.startswith("stad — organisatie") for x in got), got


def test_a_lone_word_of_a_multi_word_entry_is_a_rough_translation_not_a_synonym() -> None:
    # "centre" is only a fragment of "knowledge centre" and "public social welfare centre"
    jolien = expert(51, "Jolien", city="Gent", organisation="Kenniscentrum Vlaamse Steden", role="onderzoeker",
                    expertise=("stadsmonitor",))  # fmt: skip
    r = build([*EXPERTS, jolien]).search("who knows about the centre?", today=TODAY)
    assert not any("synoniem van centre" in x for x in all_reasons(r)), all_reasons(r)
    assert "kenniscentrum — organisatie (ruwe vertaling van centre)" in reasons_of(r, "Jolien")
    assert all(h.weak for h in r.experts)


def test_two_words_of_one_entry_still_translate_and_name_both() -> None:
    # "taxe" and "inoccupés" are both words of "taxe sur les immeubles inoccupés" (leegstandsheffing)
    r = build(EXPERTS).search("qui connaît la taxe sur les logements inoccupés?", today=TODAY)
    assert r.experts and r.experts[0].doc.name == "Anouk"
    assert "leegstandsheffing — expertise (synoniem van taxe inoccupes)" in reasons_of(r, "Anouk")


def test_a_phrase_matched_whole_is_shown_as_the_phrase() -> None:
    r = build(EXPERTS).search("anyone with experience of a social rental agency?", today=TODAY)
    got = reasons_of(r, "Emma", "en")
    assert "sociaal verhuurkantoor — expertise (synonym of social rental agency)" in got, got


def test_a_synonym_inside_a_document_compound_is_not_called_a_synonym_of_the_compound() -> None:
    # begroting is a synonym of meerjarenplan; burgerbegroting only holds it as a part
    evelien = expert(52, "Evelien", city="Gent", role="medewerker participatie", expertise=("burgerbegroting",))
    r = build([*EXPERTS, evelien]).search("meerjarenplanning", today=TODAY)
    got = reasons_of(r, "Evelien")
    assert "burgerbegroting — expertise (synoniem van meerjarenplanning)" not in got, got
    assert "burgerbegroting — expertise (bevat een synoniem van meerjarenplanning)" in got, got


def test_a_practice_linked_by_its_theme_alone_says_so() -> None:
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=EXPERTS, practices=PRACTICES, answers=ANSWERS)
    r = m.search("wonen", today=TODAY)
    view = build_answer_view(r, lang="nl")
    assert view.practices[0].reasons == ("alleen het thema: Wonen en woonbeleid",)
    assert result_to_json(r, limit=4, lang="en")["practices"][0]["reasons"] == ["only the theme: Housing"]
    # a practice that also matches a word of the question keeps the plain theme reason
    r = m.search("leegstandsheffing", today=TODAY)
    assert "alleen" not in " ".join(build_answer_view(r, lang="nl").practices[0].reasons)


def test_not_confirmed_since_names_the_local_day_of_the_last_confirmation() -> None:
    """31 July 22:30 UTC is 1 August 00:30 in Brussels (the default zone): the day read is the network's zone's."""
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    m = make_matcher()
    confirmed = datetime(2024, 7, 31, 22, 30, tzinfo=UTC)
    m.upsert_expert(expert(30, "Oud", city="Gent", expertise=("zwembadbeheer",), last_confirmed_at=confirmed))
    result = m.search("zwembadbeheer", now=now)

    def shown(**kw: Any) -> str:
        [oud] = build_answer_view(result, **kw).experts
        return " ".join(oud.reasons)

    assert "1 aug 2024" in shown(lang="nl") and "31 jul" not in shown(lang="nl")
    assert "31 Jul 2024" in shown(lang="en", tz=ZoneInfo("UTC"))  # a network in UTC
