"""``Matcher.forget_erased``: after an erasure, nothing derived from a removed document stays, and what stays ranks
as before (and in the order of a matcher built without the document)."""

from __future__ import annotations

from bot.matching import Matcher
from bot.matching.engine import _trigrams
from tests.matching.conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert

ERASED = expert(
    99,
    "Zoë Vanderzwalm",
    city="Gent",
    role="beleidsmedewerker wonen",
    expertise=("leegstandsheffing", "kangoeroewonen"),
    themes=("wonen",),
    bio="Zoë Vanderzwalm werkt aan kangoeroewonen en zorgwonen in Gent.",
)
QUERIES = (
    "leegstandsheffing",
    "leegstandsheffnig",  # a typo
    "wie weet iets over kangoeroewonen",
    "zorgwonen in Gent",
    "vanderzwalm",
    "vanderzwalms kangoeroewonen",
    "woningkwaliteitscontrole Kortrijk",
    "buurtbudget",
    "Housing First",
    "svk",
)


def results(m: Matcher) -> list[str]:
    out = []
    for q in QUERIES:
        r = m.search(q, limit=10, today=TODAY)
        out.append(repr((q, r.terms, r.themes, r.gap, r.confidence, r.experts, r.practices, r.answers)))
    return out


def build(experts: list) -> Matcher:  # type: ignore[type-arg]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=PRACTICES, answers=ANSWERS)
    return m


def vocabulary(m: Matcher) -> set[str]:
    """The words the matcher's typo, compound and acronym vocabularies and its memos hold."""
    words = set(m._bucketed) | set(m._words) | set(m._sorted)
    words |= {w for ws in m._buckets.values() for w in ws}
    words |= set(m._splitter._parts) | set(m._splitter._cache) | set(m._splitter._top)
    words |= {w for ws in m._splitter.acronyms.values() for w in ws}
    words |= set(m._analyzer._cache) | set(m._stem._cache)
    words |= {t for entries in m._phrase_acronyms.values() for e in entries.values() for t in e.text.split()}
    words |= set(m._idfs_memo)  # the terms of the questions asked (her name among them, asked after her removal)
    words |= set(m._surfaces_memo) | {
        t for terms, _share in (k for k in (key[1:] for key in m._phrases)) for t in terms
    }
    return words


def test_forgetting_without_a_removal_changes_no_result() -> None:
    m = build([*EXPERTS, ERASED])
    before = results(m)
    m.forget_erased()
    assert results(m) == before
    m.forget_erased()  # twice: the same
    assert results(m) == before


def ranked(m: Matcher) -> list[tuple[list[int], list[int], list[int]]]:
    out = []
    for q in QUERIES:
        r = m.search(q, limit=10, today=TODAY)
        out.append(([h.doc.id for h in r.experts], [h.doc.id for h in r.practices], [h.doc.id for h in r.answers]))
    return out


def test_a_removed_document_leaves_no_word_and_ranks_as_before_forgetting() -> None:
    m = build([*EXPERTS, ERASED])
    results(m)
    assert "vanderzwalm" in vocabulary(m)
    m.remove_expert(ERASED.id)
    assert "vanderzwalm" in vocabulary(m)  # removing alone leaves the vocabularies and memos as they were
    removed = results(m)
    m.forget_erased()
    assert not {w for w in vocabulary(m) if "vanderzwalm" in w}
    grams = _trigrams("vanderzwalm")
    ids = {i for g in grams for i in m._grams.get(g, ())}
    assert all(m._words[i] != "vanderzwalm" for i in ids)
    assert results(m) == removed  # forgetting changes no score
    # the order of a build without her (the scores of an index updated in place differ a little from a fresh
    # build's, forgotten or not)
    assert ranked(m) == ranked(build(list(EXPERTS)))
