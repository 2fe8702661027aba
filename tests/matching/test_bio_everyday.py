"""A word common in the register's bios (by how many experts' bios hold it) weighs less as evidence in a bio than in
an expertise item, role or title (round 29, ``MatchConfig.bio_everyday_factor``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert

TOPICS = (
    "zwembaden",
    "fietspaden",
    "bibliotheken",
    "begraafplaatsen",
    "marktpleinen",
    "speelpleinen",
    "sporthallen",
    "jeugdhuizen",
    "kinderboerderijen",
    "containerparken",
    "muziekscholen",
    "wijkcentra",
    "parkeergarages",
    "zonnepanelen",
    "hondenweides",
    "skateparken",
    "volkstuinen",
    "schoolroutes",
    "deelfietsen",
    "laadpalen",
)
# twenty experts whose bios say "gezinnen" (an everyday word of this register's bios), each with a topic of their own
FAMILIES = [
    expert(100 + i, f"Gezin{i}", city="Gent", role="consulent", bio=f"Helpt gezinnen met {TOPICS[i]}.")
    for i in range(20)
]
# gezinnen in her expertise, not in her bio
LIES = expert(130, "Lies", city="Gent", role="consulent", expertise=("gezinnen",), bio="Houdt van koken.")
# a word only one bio holds
TOM = expert(131, "Tom", city="Gent", role="consulent", bio="Kent alles van glasvezel.")
REGISTER = [*EXPERTS, *FAMILIES, LIES, TOM]


def matcher(factor: float, experts: list[ExpertDoc] | None = None) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), bio_everyday_factor=factor))
    m.build(experts=experts if experts is not None else REGISTER, practices=PRACTICES, answers=ANSWERS)
    return m


def weight(m: Matcher, word: str, doc_id: int) -> float:
    return m._kinds["expert"].collection.postings[m._stem(word)][doc_id]


def scores(m: Matcher, question: str) -> dict[str, float]:
    return {h.doc.name: h.score for h in m.search(question, limit=40, today=TODAY).experts}


def test_off_by_default() -> None:
    assert MatchConfig().bio_everyday_factor == 1.0


def test_a_word_common_in_bios_weighs_less_there_and_as_before_in_an_expertise_item() -> None:
    before, after = matcher(1.0), matcher(0.5)
    # 20 of 31 bios hold gezinnen: more than 5 %
    assert after._bio_df[after._stem("gezinnen")] == 20
    assert weight(after, "gezinnen", 100) < weight(before, "gezinnen", 100)
    assert weight(after, "gezinnen", LIES.id) == weight(before, "gezinnen", LIES.id)
    # a bio word few bios hold keeps its weight, as does the same bio's rare word
    assert weight(after, "glasvezel", TOM.id) == weight(before, "glasvezel", TOM.id)
    assert weight(after, "zwembaden", 100) == weight(before, "zwembaden", 100)
    # so the expert who lists the word leads further ahead of the ones whose bio only uses it
    b, a = scores(before, "wie weet iets over gezinnen"), scores(after, "wie weet iets over gezinnen")
    assert a["Gezin0"] / a["Lies"] < b["Gezin0"] / b["Lies"]


def test_a_register_with_few_bios_is_left_as_it_is() -> None:
    few = [*EXPERTS, *FAMILIES[:5]]
    assert len(few) < MatchConfig().bio_everyday_min
    assert weight(matcher(0.5, few), "gezinnen", 100) == weight(matcher(1.0, few), "gezinnen", 100)


def test_updates_count_the_bios_as_a_build_does() -> None:
    changed = replace(FAMILIES[0], bio="Kent alles van glasvezel.")
    extra = expert(140, "Nieuw", city="Gent", role="consulent", bio="Helpt gezinnen met kabelnetten.")
    m, plain = matcher(0.5), matcher(1.0)
    for each in (m, plain):
        each.upsert_expert(changed)
        each.remove_expert(FAMILIES[1].id)
        each.upsert_expert(extra)
    fresh = matcher(0.5, [*EXPERTS, changed, *FAMILIES[2:], LIES, TOM, extra])
    assert m._bio_df == fresh._bio_df
    assert m._bio_terms == fresh._bio_terms
    # the added bio's everyday word weighs the factor's share (the lengths' snapshot is the same in both)
    assert weight(m, "gezinnen", extra.id) == pytest.approx(weight(plain, "gezinnen", extra.id) / 2, abs=0.06)
    assert weight(m, "kabelnetten", extra.id) == weight(plain, "kabelnetten", extra.id)
    # a withdrawn consent takes the bio out of the counts too
    m.upsert_expert(replace(extra, consent="withdrawn"))
    assert extra.id not in m._bio_terms


def test_the_reason_still_names_the_bio() -> None:
    for factor in (1.0, 0.5):
        hits = matcher(factor).search("wie weet iets over gezinnen en zwembaden", limit=40, today=TODAY).experts
        first = next(h for h in hits if h.doc.name == "Gezin0")
        assert ("bio", "gezinnen") in [(r.field, r.target) for r in first.reasons]


def test_switched_off_no_bio_is_counted() -> None:
    m = matcher(1.0)
    assert not m._bio_df
    assert not m._bio_terms
