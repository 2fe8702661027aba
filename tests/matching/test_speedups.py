"""The speed-ups of the matcher change no result: caches, shared analyses and shortcuts against plain references."""

from __future__ import annotations

import gc
import heapq
import random
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
import Stemmer as PyStemmerModule
from rapidfuzz import process
from rapidfuzz.distance import OSA

import bot.matching.engine as engine
from bot.matching import MatchConfig, Matcher, dense
from bot.matching.analysis import CompoundSplitter, Stemmer, fold, stopwords
from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc
from bot.matching.engine import _field_texts, _largest, _merge_reasons
from bot.matching.groups import Group, ParsedQuery, Variant
from bot.matching.index import Collection
from bot.matching.results import Reason, SearchResult
from bot.matching.semantic import NO_SIMILARITY, Similarity
from bot.matching.terms import Analyzer

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, expert, make_matcher
from .generated import QUERY_WORDS, field_doc, random_register


def test_largest_is_nlargest_with_ties_in_dict_order() -> None:
    rng = random.Random(3)
    for size in (0, 3, 50, 2500, 9000):
        for n in (1, 5, 20, 300):
            scores = {rng.randrange(10**6): rng.choice((0.1, 0.2, 0.25, rng.random())) for _ in range(size)}
            assert _largest(scores, n) == heapq.nlargest(n, scores.items(), key=lambda x: x[1])
            if scores:
                least = heapq.nlargest(n, scores.values())[-1]
                assert _largest(scores, n, least) == heapq.nlargest(n, scores.items(), key=lambda x: x[1])
    assert _largest({1: 1.0}, 0) == []


def test_reasons_follow_updates_between_searches_of_the_same_query() -> None:
    """The same query asked again after an update explains with the new postings and IDFs (nothing remembered
    from the first search is reused stale), as a freshly built matcher does."""
    query = "wie weet iets over leegstandsheffing en woningkwaliteit?"
    m = make_matcher()
    first = m.search(query)
    assert first.practices and all(h.reasons for h in first.practices)
    assert m.search(query) == first
    new = PracticeDoc(id=99, title="Woningkwaliteit en leegstandsheffing samen aangepakt", summary="Controle.")
    m.upsert_practice(new)
    fresh = Matcher(themes=THEMES, places=PLACES)
    fresh.build(experts=EXPERTS, practices=[*PRACTICES, new], answers=ANSWERS)
    after, want = m.search(query), fresh.search(query)
    assert 99 in [h.doc.id for h in after.practices]
    assert [(h.doc.id, h.reasons) for h in after.practices] == [(h.doc.id, h.reasons) for h in want.practices]
    assert [(h.doc.id, h.reasons) for h in after.experts] == [(h.doc.id, h.reasons) for h in want.experts]


def test_stemmer_without_pystemmer_cache_stems_the_same() -> None:
    ref = PyStemmerModule.Stemmer("dutch_porter")
    stem = Stemmer("dutch_porter")
    for w in ("woningen", "leegstandsheffingen", "gemeenten", "kwaliteit", "huizen", "woningen"):
        assert stem(w) == ref.stemWord(w)
    assert Stemmer("none")("woningen") == "woningen"


def test_analyzer_skips_stop_words_and_odd_tokens_also_from_its_cache() -> None:
    stem = Stemmer()
    analyzer = Analyzer(stem, CompoundSplitter(["woning", "kwaliteit"], stop=stopwords()))
    text = "de woningkwaliteit van de woning " + "x" * 61 + " a"
    first = analyzer.field_terms(text)
    second = analyzer.field_terms(text)  # every token now comes from the cache, stop words included
    assert first == second
    tf, n = first
    assert n == 2  # "de", "van", the 61-letter token and "a" are no words of the field
    assert "de" not in tf and "van" not in tf and "x" * 61 not in tf
    assert tf[stem("woning")] == 1.0 + 0.5  # the word itself and the compound part (part weight 0.5)


def test_analyzer_retries_a_word_without_parts_once_the_vocabulary_grew() -> None:
    stem = Stemmer()
    splitter = CompoundSplitter([], stop=stopwords())
    analyzer = Analyzer(stem, splitter)
    assert stem("heffing") not in analyzer.field_terms("leegstandheffing")[0]
    splitter.add_words(["leegstand", "heffing"])
    assert stem("heffing") in analyzer.field_terms("leegstandheffing")[0]


def test_shared_analysis_of_repeated_texts_keeps_documents_apart() -> None:
    """Within a build the same text is analysed once and its terms shared: removing or replacing one document
    must not touch the other's postings."""
    same = "Werkt aan leegstandsheffing en woningkwaliteit."
    experts = [
        expert(1, "Anouk", city="Gent", role="beleidsmedewerker", expertise=("wonen",), bio=same),
        expert(2, "Bram", city="Gent", role="beleidsmedewerker", expertise=("wonen",), bio=same),
    ]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=[], answers=[])
    before = {h.doc.id: h.score for h in m.search("leegstandsheffing").experts}
    assert set(before) == {1, 2} and before[1] == before[2]
    m.upsert_expert(expert(1, "Anouk", city="Gent", role="beleidsmedewerker", expertise=("wonen",), bio="Andere bio."))
    assert [h.doc.id for h in m.search("leegstandsheffing").experts] == [2]
    m.remove_expert(2)
    assert m.search("leegstandsheffing").experts == []


def test_top_shortcut_matches_a_full_sort_with_boosts_and_ties() -> None:
    """Practices: many documents, equal scores, a city boost. ``_top`` scores only those that can reach the top;
    the result must equal sorting every document."""
    practices = [
        PracticeDoc(
            id=i,
            title="Leegstandsheffing" if i % 3 else "Leegstandsheffing en woningkwaliteit",
            summary="Heffing op leegstaande panden." * (1 + i % 4),
            city="Gent" if i % 7 == 0 else "Kortrijk",
        )
        for i in range(1, 200)
    ]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=[], practices=practices, answers=[])
    for query in ("leegstandsheffing", "leegstandsheffing in Gent", "woningkwaliteit leegstand"):
        pq = m._parser.parse(query)
        kind = m._kinds["practice"]
        raw = {d: 0.5 + (d % 5) / 10 for d in kind.docs}  # many ties
        # with the meaning-based boosts too: some documents only found by meaning, some with ties
        sem = {d: (0.05 if d % 11 == 0 else 0.2) for d in kind.docs if d % 4 == 0}
        for sim in (NO_SIMILARITY, Similarity(sem, 0.9, 3.0, 8)):
            for limit in (1, 3, 5, 10):
                got = m._top(kind, dict(raw), 2.0, pq, limit=limit, sim=sim)
                scored = sorted(
                    ((x / 2.0 * m._boost(kind, d, pq) + sim.boosts.get(d, 0.0), d) for d, x in raw.items()),
                    key=lambda x: (-x[0], x[1]),
                )
                assert [(d, round(s, 4)) for d, _, s in got] == [(d, round(s, 4)) for s, d in scored[:limit]]


def test_build_restores_the_garbage_collector_state() -> None:
    m = Matcher(themes=THEMES, places=PLACES)
    experts = [expert(1, "Anouk", city="Gent", expertise=("wonen",))]
    assert gc.isenabled()
    m.build(experts=experts, practices=[], answers=[])
    assert gc.isenabled()
    gc.disable()
    try:
        m.build(experts=experts, practices=[], answers=[])
        assert not gc.isenabled()  # an application that turned it off keeps it off
    finally:
        gc.enable()


def test_build_counts_field_lengths_as_the_analysis_does() -> None:
    """The build sums the field lengths while it learns the vocabulary (pass 1) and then indexes each document as it
    is analysed: the sums must be what the analysis counts (stop words, one-letter and over-long tokens, accents,
    themes, the organisation field), else the index would differ from one built with the documents held at once."""
    odd = expert(
        3,
        "Chloé",
        city="Gent",
        role="Coördinator van de wijk A",
        expertise=("Leegstand", "x" * 61 + " woningkwaliteit", "ÉÉN plan"),
        bio="De stad en het OCMW: 3 x per jaar, a b c; Kinderopvang!",
        themes=("wonen", "zorg"),
    )
    practices = [
        PracticeDoc(id=1, title="Leegstandsheffing in Gent", summary="Een heffing op leegstaande panden.", tags=("a",)),
        PracticeDoc(id=2, title="", summary="", organisation="Stad Gent", themes=("wonen",)),
    ]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=[*EXPERTS, odd], practices=practices, answers=[])
    for name, kind in m._kinds.items():
        coll = kind.collection
        held = Collection(
            dict(zip(coll.fields, coll.weights, strict=True)),
            dict(zip(coll.fields, coll.b, strict=True)),
            k1=coll.k1,
            refresh_drift=coll.refresh_drift,
        )
        held.reset([(d, m._field_terms(doc)) for d, doc in kind.docs.items()])  # held at once, summed from them
        sums = [0] * len(coll.fields)
        for doc in kind.docs.values():
            m._doc_words(doc, sums)
        assert sums == held.len_sums, name  # pass 1 counts what the analysis counts (no fall-back needed)
        assert coll.len_sums == held.len_sums, name
        assert coll.averages() == held.averages() and coll.postings == held.postings, name


def test_a_collection_refuses_totals_the_documents_do_not_add_up_to() -> None:
    coll = Collection({"title": 1.0}, {"title": 0.75}, k1=1.2, refresh_drift=0.2)
    docs = [(1, [({"woning": 1.0}, 1)]), (2, [({"heffing": 2.0}, 2)])]
    coll.reset(iter(docs), totals=(2, [3]))
    assert coll.averages() == (1.5,) and set(coll.postings) == {"woning", "heffing"}
    with pytest.raises(ValueError, match="add up"):
        coll.reset(iter(docs), totals=(2, [4]))
    with pytest.raises(ValueError, match="add up"):
        coll.reset(iter(docs), totals=(3, [3]))


def test_strong_postings_follow_updates_in_the_postings_order() -> None:
    """The heavy-field postings are filtered from the postings only when first asked for; from then on every insert
    and removal keeps them equal (and in the same order, which breaks score ties) to a fresh filter."""
    coll = Collection({"title": 2.0, "text": 0.3}, {"title": 0.5, "text": 0.75}, k1=1.2, refresh_drift=0.2)
    rng = random.Random(5)
    words = ["woning", "heffing", "leegstand", "premie"]

    def doc() -> list[tuple[dict[str, float], int]]:
        return field_doc(rng, words)

    coll.reset((i, doc()) for i in range(1, 41))

    def fresh(term: str) -> list[tuple[int, float]]:
        return [(d, x) for d, x in coll.postings.get(term, {}).items() if x >= coll.strong_sat]

    asked = coll.strong_postings("woning")
    assert list(asked.items()) == fresh("woning") and asked  # the title field is heavy
    assert coll.strong_postings("woning") is asked  # filtered once
    assert coll.strong_postings("onbekend") == {}
    for step in range(200):
        d = rng.randint(1, 60)
        if step % 3 == 0:
            coll.remove(d)
        else:
            coll.add(d, doc())
        for w in ("woning", "premie"):  # one kept up to date since the start, one asked for midway
            if w == "woning" or step >= 100:
                assert list(coll.strong_postings(w).items()) == fresh(w)
    coll.reset((i, doc()) for i in range(1, 11))
    assert list(coll.strong_postings("woning").items()) == fresh("woning")


def _reference_repair(m: Matcher, word: str) -> str | None:
    """Matcher._repair as it was: candidates gathered by scanning every bucket in order."""
    n = len(word)
    if n < 5 or not word.isalpha() or word in m._common:
        return None
    max_d = 1 if n <= 8 else 2
    found: list[tuple[str, int, int]] = []
    for same_first in (True, False):
        choices: list[str] = []
        for (size, first), ws in m._buckets.items():
            if abs(size - n) <= max_d and (first == word[0]) == same_first:
                choices.extend(ws)
        if choices:
            found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=max_d, limit=25)
            if found:
                break
    best: tuple[tuple[float, int, int], str] | None = None
    for cand, dist, _ in found:
        df = m._surface_df.get(cand, 0)
        if df == 0 and cand not in m._lexicon.words and cand not in m._parser.qstop:
            continue
        key = (dist, 0 if cand[0] == word[0] else 1, -df)
        if best is None or key < best[0] or (key == best[0] and cand < best[1]):
            best = (key, cand)
    return best[1] if best else None


def test_typo_repair_scans_the_same_candidates_in_the_same_order() -> None:
    m = make_matcher()
    words = ["lestandsheffing", "wijkwerkng", "buurtbudgt", "ontharing", "eurpese", "abcde", "xwijkwerking"]
    words += ["huisvestng", "armoedebstrijding", "opstartn", "gentrification", "bwonersparticipatie"]
    m.upsert_expert(expert(90, "Nieuw", city="Gent", expertise=("wijkwerkingen", "buurtbudgetten", "ontharding")))
    for w in words:
        assert m._repair(w) == _reference_repair(m, w), w


def test_typo_repair_ties_do_not_depend_on_vocabulary_order() -> None:
    """``fietsx`` is one substitution from both "fietst" and "fietse", equally frequent: the same answer whichever
    word the register learnt first (before, the order of the vocabulary, i.e. string hashing, decided)."""
    repaired = set()
    for order in ((1, 2), (2, 1)):
        m = make_matcher()
        topics = {1: ("fietst",), 2: ("fietse",)}
        for n in order:
            m.upsert_expert(expert(900 + n, f"Expert {n}", city="Gent", expertise=topics[n]))
        repaired.add(m._repair("fietsx"))
    assert repaired == {"fietse"}


def test_typo_prefilter_finds_what_the_full_scan_finds() -> None:
    """The trigram pre-filter of the typo repair returns exactly the candidates (and order) of measuring every word
    of the lengths in reach: deletions, insertions, substitutions, transpositions, other first letters, misses."""
    rng = random.Random(11)
    letters = "abcdeeefghiijklmnnoprsttuvwz"
    vocab = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(4, 16))) for _ in range(4000)})
    vocab += ["woningkwaliteit", "woningkwaliteitscontrole", "leegstandsheffing", "leegstand", "wijkwerking"]
    # a crowded neighbourhood: more than 25 words within reach, so the cut and its tie order matter
    base = "stadsvernieuwing"
    vocab += sorted({base[:i] + c + base[i + 1 :] for i in range(1, len(base)) for c in "aeiou"} - {base})
    experts = [expert(i + 1, f"E{i}", expertise=tuple(vocab[i * 8 : i * 8 + 8])) for i in range(len(vocab) // 8 + 1)]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=[], answers=[])
    probes = [
        "woningkwalitiet",
        "leegstandheffing",
        "wijkwerkng",
        "xijkwerking",
        "zzzzzzzz",
        "abcde",
        base,
        "stdsvernieuwing",
    ]
    for w in rng.sample(vocab, 300):
        chars = list(w)
        i = rng.randrange(len(chars))
        op = rng.choice(("del", "ins", "sub", "swap", "two"))
        if op == "del" and len(chars) > 5:
            del chars[i]
        elif op == "ins":
            chars.insert(i, rng.choice(letters))
        elif op == "sub":
            chars[i] = rng.choice(letters)
        elif op == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == "two":
            chars[i] = rng.choice(letters)
            chars.insert(rng.randrange(len(chars)), rng.choice(letters))
        probes.append("".join(chars))
    for word in probes:
        if len(word) < 5:
            continue
        max_d = 1 if len(word) <= 8 else 2
        assert m._typo_candidates(word, max_d) == m._typo_candidates_scan(word, max_d), word


def _reference_together(
    coll: Collection, terms: tuple[str, ...], share: float
) -> tuple[dict[int, float], float] | None:
    """``Matcher._together`` as it was before its sums were unrolled: one ``sum()`` per document."""
    lists = [coll.postings.get(t) for t in terms]
    if not all(lists):
        return None
    ps = [p for p in lists if p]
    coefs = [share * coll.idf(t) for t in terms]
    docs: AbstractSet[int] = min(ps, key=len).keys()
    for p in ps:
        docs = docs & p.keys()
        if not docs:
            return None
    pairs = list(zip(ps, coefs, strict=True))
    return {d: sum(c * p[d] for p, c in pairs) for d in docs}, sum(coefs)


def test_together_unrolled_sums_are_the_plain_sums_in_the_same_order() -> None:
    """Two-, three- and four-word names: the same documents in the same order with the same floats (not merely
    close) as the plain per-document ``sum()``, and None where a word is missing or no document has them all."""
    rng = random.Random(11)
    coll = Collection({"a": 2.0, "b": 1.0}, {"a": 0.75, "b": 0.5}, k1=1.2, refresh_drift=0.5)
    words = [f"w{i}" for i in range(6)]
    docs = []
    for d in range(3000):
        fa = {w: float(rng.randint(1, 3)) for w in words if rng.random() < 0.45}
        fb = {w: float(rng.randint(1, 4)) for w in words if rng.random() < 0.3}
        docs.append((rng.randrange(10**6) * 7 + d, [(fa, rng.randint(1, 9)), (fb, rng.randint(3, 40))]))
    coll.reset(docs)
    cases = [tuple(rng.sample(words, n)) for n in (2, 3, 4) for _ in range(8)] + [
        ("w0", "absent"),
        ("w1", "w2", "nowhere"),
    ]
    for terms in cases:
        for share in (0.35 / len(terms), 0.7):
            got = Matcher._together(coll, terms, share)
            want = _reference_together(coll, terms, share)
            if want is None:
                assert got is None
                continue
            assert got is not None
            assert list(got[0].items()) == list(want[0].items())
            assert got[1] == want[1]
            assert len(got[0]) > 0


def _plain_reasons(m: Matcher, kind_name: str, doc_id: int, pq: ParsedQuery) -> tuple[Reason, ...]:
    """``Matcher._reasons`` as it was before the question's terms were indexed once per question: every group's
    variants and terms walked for every document, in order."""
    kind = m._kinds[kind_name]
    coll = kind.collection
    texts = _field_texts(kind.docs[doc_id])
    weights = dict(zip(coll.fields, coll.weights, strict=True))
    order = sorted((f for f, t in texts.items() if t), key=lambda f: -weights[f])

    def locate(term: str) -> tuple[str, str, bool] | None:
        for f in order:
            if f == "organisation" and term in m._generic_stems:
                continue  # the index leaves generic words out of the organisation field
            got = m._surfaces(texts[f])
            if term in got:
                return f, *got[term]
        return None

    scored: list[tuple[float, Reason]] = []
    repaired = dict(pq.repairs)
    for g in pq.groups:
        best: tuple[float, Reason] | None = None
        for v in g.variants:
            if v.whole and not all(doc_id in coll.postings.get(t, ()) for t in v.terms):
                continue
            for t in v.terms:
                p = coll.postings.get(t)
                if not p or doc_id not in p:
                    continue
                contrib = v.weight * coll.idf(t) * p[doc_id] / len(v.terms)
                if best is not None and contrib <= best[0]:
                    continue
                if v.kind == "theme":
                    theme = m._lexicon.themes.get(g.theme)
                    best = (
                        contrib,
                        Reason(t, "themes", "theme", g.original, v.target, theme.label_en if theme else ""),
                    )
                    continue
                where = locate(t)
                if where is None:
                    continue
                fname, surface, from_part = where
                if g.original in repaired:
                    rkind = "cognate" if g.original in pq.cognates else "typo"
                    reason = Reason(t, fname, rkind, g.original, repaired[g.original])
                elif v.rough:
                    reason = Reason(t, fname, "translation", g.original, v.target if v.whole else surface)
                elif v.kind == "synonym" and from_part and not v.whole:
                    reason = Reason(t, fname, "synonym_part", v.source or g.original, surface)
                elif v.kind in ("synonym", "related"):
                    reason = Reason(t, fname, v.kind, v.source or g.original, v.target if v.whole else surface)
                elif v.kind == "compound" or from_part:
                    reason = Reason(t, fname, "compound", g.original, surface)
                else:
                    reason = Reason(t, fname, "exact" if surface == g.word else "stem", g.original, surface)
                best = (contrib, reason)
        if best is not None:
            scored.append(best)
    scored.sort(key=lambda x: -x[0])
    reasons: list[Reason] = []
    seen: set[tuple[str, str]] = set()
    for _, r in scored:
        if (r.field, r.target) not in seen:
            seen.add((r.field, r.target))
            reasons.append(r)
    city = kind.city.get(doc_id)
    if city and city in pq.cities:
        reasons.append(Reason(fold(city), "city", "city", city, city))
    orgs = kind.orgs.get(doc_id)
    if orgs:
        reasons.extend(Reason(fold(o), "organisation", "organisation", o, o) for o in pq.organisations if o in orgs)
    return tuple(reasons[: m.config.max_reasons])


REASON_QUERIES = (
    "wie weet iets over leegstandsheffing en woningkwaliteit?",
    "sociaal verhuurkantoor in Gent",  # a multi-word synonym, a theme, a city
    "woonbeleid klimaat ontharding",  # themes expanded to their other names (many variants, ties between them)
    "leegstandsheffnig",  # a typo
    "EU-subsidies voor wijkwerking bij de VVSG",  # an organisation, a compound
    "housing policy",  # translations
)


def test_reasons_from_the_question_index_are_the_plain_walk() -> None:
    """Explaining a document from the question's terms indexed once (``_reason_plan``, only the document's own terms
    looked up) gives the reasons of the plain walk over every variant, for every document of every kind — also
    after an update changed postings and IDFs, and with or without a plan made beforehand."""
    m = make_matcher()
    new = PracticeDoc(id=99, title="Sociaal verhuurkantoor en leegstandsheffing", summary="Woonbeleid in Gent.")
    for step in range(2):
        compared = 0
        for query in REASON_QUERIES:
            pq = m.analyse(query)
            plan = m._reason_plan(pq)
            for kind_name, kind in m._kinds.items():
                for doc_id in kind.docs:
                    want = _plain_reasons(m, kind_name, doc_id, pq)
                    assert m._reasons(kind, doc_id, pq, plan) == want, (query, kind_name, doc_id)
                    assert m._reasons(kind, doc_id, pq) == want
                    compared += bool(want)
        assert compared > 20
        if step == 0:
            m.upsert_practice(new)
            m.remove_expert(EXPERTS[0].id)


def test_the_search_explains_its_hits_as_the_plain_walk_does() -> None:
    """The search's shared plan and its remembered expert explanations (the gap features read the best expert's)
    give every hit the reasons of the plain walk."""
    m = make_matcher()
    explained = 0
    for query in REASON_QUERIES:
        res = m.search(query)
        pq = m.analyse(query)
        for kind_name, hits in (("expert", res.experts), ("practice", res.practices), ("answer", res.answers)):
            for h in hits:
                want = _plain_reasons(m, kind_name, h.doc.id, pq)
                if kind_name == "expert":  # evidence (via a practice or answer, stale profile) is appended after
                    evidence = [r for r in h.reasons if r.kind in ("via", "meaning", "stale")]
                    assert h.reasons == _merge_reasons(want, evidence, m.config.max_reasons), (query, h.doc.id)
                    explained += len(want)
                else:
                    assert h.reasons in (want, (Reason("", "profile", "meaning", "", ""),)), (query, h.doc.id)
    assert explained > 10


def _plain_group_ideals(m: Matcher, kind_name: str, pq: ParsedQuery, *, evidence: bool) -> list[float]:
    """``Matcher._group_ideals`` without its one-term shortcut."""
    cfg = m.config
    coll = m._kinds[kind_name].collection
    others = [m._kinds["practice"], m._kinds["answer"]] if evidence else []
    ideals: list[float] = []
    for g in pq.groups:
        best, seen = 0.0, False
        for v in g.variants:
            present = [t for t in v.terms if t in coll.postings]
            if present and (not v.whole or len(present) == len(v.terms)):
                seen = True
                best = max(best, sum(coll.idf(t) for t in present) / len(v.terms))
        if not seen:
            for other, w in zip(others, (cfg.practice_evidence, cfg.answer_evidence), strict=False):
                for v in g.variants:
                    present = [t for t in v.terms if t in other.collection.postings]
                    if present and (not v.whole or len(present) == len(v.terms)):
                        seen = True
                        best = max(best, w * sum(other.collection.idf(t) for t in present) / len(v.terms))
        if not seen and not g.theme:
            best = cfg.unknown_word_idf * coll.max_idf()
        ideals.append(best)
    return ideals


def _plain_specificity(m: Matcher, g: Group) -> float:
    best = 0.0
    for kind in m._kinds.values():
        coll = kind.collection
        if not len(coll):
            continue
        top = coll.max_idf()
        for v in g.variants:
            if all(t in coll.postings for t in v.terms):
                best = max(best, sum(coll.idf(t) for t in v.terms) / len(v.terms) / top)
    return best * (0.2 if m._stem(g.word) in m._generic_stems else 1.0)


def _plain_known(m: Matcher, g: Group) -> bool:
    return any(t in k.collection.postings for k in m._kinds.values() for v in g.variants for t in v.terms)


def _check_weights(m: Matcher, pq: ParsedQuery) -> None:
    got = m._weights(pq)
    assert got.expert == _plain_group_ideals(m, "expert", pq, evidence=True)
    assert got.practice == _plain_group_ideals(m, "practice", pq, evidence=False)
    assert got.answer == _plain_group_ideals(m, "answer", pq, evidence=False)
    concepts = pq.groups[: pq.concepts]
    assert got.known == [_plain_known(m, g) for g in concepts]
    assert got.specificity == [_plain_specificity(m, g) if _plain_known(m, g) else 1.0 for g in concepts]


def test_ideals_and_specificity_are_the_plain_sums() -> None:
    """The ideals, known words and specificity made in one pass (``Matcher._weights``, most variants one term, each
    term's IDFs remembered) are the same floats as a pass per kind and per group summing over the variant's terms,
    for one-term and multi-word variants alike; a word only practices or answers have gives an expert their ideal."""
    m = make_matcher()
    experts = m._kinds["expert"].collection.postings
    multi = evidence = unknown = 0
    queries = (*REASON_QUERIES, "woonbeleid in Kortrijk", "xqzwrk en leegstandsheffing", "sluikstortcamera privacy")
    for query in queries:
        pq = m.analyse(query)
        multi += sum(len(v.terms) > 1 for g in pq.groups for v in g.variants)
        evidence += sum(all(t not in experts for v in g.variants for t in v.terms) for g in pq.groups)
        unknown += m._weights(pq).known.count(False)
        _check_weights(m, pq)
    assert multi and evidence > unknown > 0
    # a group whose only word in the register is a fragment of a multi-word synonym: known, without an ideal
    fragments = Group("x", "x", [Variant(("leegstandsheff", "xqzwrk"), 1.0, "synonym", "x", whole=True)], concepts=1)
    pq = ParsedQuery((fragments,), (), (), (), ("x",), (), concepts=1)
    assert m._weights(pq).known == [True]
    _check_weights(m, pq)
    # updates between questions move the IDFs: nothing remembered is read stale
    pq = m.analyse("leegstandsheffing en woningkwaliteit")
    for i in range(30):
        m.upsert_practice(PracticeDoc(id=500 + i, title=f"Leegstandsheffing {i}", summary="Woningkwaliteit."))
        _check_weights(m, pq)
    for i in range(0, 30, 2):
        m.remove_practice(500 + i)
        _check_weights(m, pq)
    m.upsert_answer(replace(ANSWERS[0], answer="leegstandsheffing woningkwaliteit"))
    _check_weights(m, pq)


def test_df_ratio_is_remembered_only_while_the_collections_stay_the_same() -> None:
    m = Matcher(themes=THEMES, places=PLACES)
    docs = [PracticeDoc(id=i, title=f"Ontharding {i}" if i % 2 else f"Fietsstraat {i}", summary="") for i in range(40)]
    m.build(experts=[], practices=docs, answers=[])

    def plain(term: str) -> float:
        return max(
            (k.collection.df(term) / len(k.collection) for k in m._kinds.values() if k.collection.df(term) >= 20),
            default=0.0,
        )

    term = m._stem("ontharding")
    assert m._df_ratio(term) == plain(term) == 0.5
    for i in range(40, 60):  # more documents with the word, then fewer
        m.upsert_practice(PracticeDoc(id=i, title=f"Ontharding {i}", summary=""))
    assert m._df_ratio(term) == plain(term) == 40 / 60
    for i in range(1, 20, 2):
        m.remove_practice(i)
    assert m._df_ratio(term) == plain(term) == 30 / 50
    m.build(experts=[], practices=docs[:10], answers=[])  # too few documents to tell
    assert m._df_ratio(term) == plain(term) == 0.0


def test_add_all_is_add_in_turn() -> None:
    rng = random.Random(5)
    words = [(w,) for w in ("a", "b", "c", "d", "e")] + [("a", "b"), ("c", "d")]
    for _ in range(200):
        start = [Variant(t, rng.choice((0.5, 0.7, 1.0)), "exact", "") for t in rng.sample(words, rng.randint(0, 4))]
        more = [Variant(rng.choice(words), rng.choice((0.4, 0.7, 0.9)), "related", str(i)) for i in range(8)]
        one, each = Group("w", "w", variants=list(start)), Group("w", "w", variants=list(start))
        one.add_all(more)
        for v in more:
            each.add(v)
        assert one.variants == each.variants


def test_theme_expansion_follows_the_index_and_the_themes() -> None:
    """A theme's other names are remembered per naming phrase: not once a change to the index makes another name
    known, or the themes are replaced; always what parsing without the memory gives."""
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=[], practices=[PracticeDoc(id=1, title="Klimaat en ontharding", summary="")], answers=[])
    parser = m._parser
    query = "wie weet iets over klimaat"

    def related() -> list[str]:
        got = parser.parse(query)
        parser.state = lambda: None  # the same parse, nothing remembered
        try:
            assert parser.parse(query) == got
        finally:
            parser.state = m._versions
        return sorted(v.target for g in got.groups for v in g.variants if v.kind == "related")

    first = related()
    assert "ontharding" in first and "milieu" not in first
    assert related() == first  # (remembered)
    m.upsert_practice(PracticeDoc(id=2, title="Energie in de wijk", summary="milieu"))
    assert sorted({*first, "energie", "milieu"}) == related()
    m.remove_practice(2)
    assert related() == first
    m.upsert_practice(PracticeDoc(id=3, title="Groendaken", summary=""))
    assert related() == first
    m.set_themes([replace(t, synonyms=(*t.synonyms, "groendaken")) if t.key == "klimaat" else t for t in THEMES])
    assert related() == sorted([*first, "groendaken"])
    assert parser._rings
    m.forget_erased()  # an erasure empties the memos of query terms, this one too
    assert not parser._rings
    assert related() == sorted([*first, "groendaken"])


def test_experts_ranked_by_bound_are_the_experts_ranked_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking the expert candidates in the order of the most they can reach and stopping below the ``limit``-th best
    rank (their availability, staleness and boosts not read) returns the experts that ranking every candidate does:
    ties, away and stale profiles, city boosts and evidence scores included."""
    experts, practices, answers = random_register(5, 150)
    rng = random.Random(5)
    old = datetime(2024, 1, 1, tzinfo=UTC)
    experts = [
        replace(
            e,
            availability=rng.choice(["available", "available", "away"]),
            consent=rng.choice(["confirmed", "confirmed", "pending"]),
            last_confirmed_at=rng.choice([None, old, datetime(2026, 1, 1, tzinfo=UTC)]),
        )
        for e in experts
    ]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=practices, answers=answers)
    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    queries = [" ".join(rng.sample(QUERY_WORDS, rng.randint(1, 3))) for _ in range(60)]
    ranked = 0
    for query in queries:
        for limit in (1, 3, 10):
            monkeypatch.setattr(engine, "_RANK_BY_BOUND", True)
            got = m.search(query, limit=limit, now=now)
            monkeypatch.setattr(engine, "_RANK_BY_BOUND", False)
            want = m.search(query, limit=limit, now=now)
            assert got == want, (query, limit)
            ranked += len(got.experts)
    assert ranked > 500


_NAMES = ("ontharding", "warmtenet", "groendaken", "hittestress", "zonnepanelen", "regenwater", "isolatie premie")
_PACK_THEMES = [replace(t, synonyms=_NAMES) if t.key == "klimaat" else t for t in THEMES]


def _pack_register(seed: int, n: int) -> tuple[list[ExpertDoc], list[PracticeDoc], list[AnswerDoc]]:
    """Documents naming several of a theme's other names at once, in fields of different weights."""
    rng = random.Random(seed)
    common = ["wonen", "stad", "beleid", "project", "wijk"]

    def words(k: int) -> str:
        return " ".join(rng.sample([*_NAMES, *common], k))

    experts = [expert(i, f"E{i}", role=words(2), expertise=(words(1),), bio=words(4)) for i in range(1, n + 1)]
    practices = [PracticeDoc(id=i, title=words(2), summary=words(5)) for i in range(1, n + 1)]
    answers = [AnswerDoc(id=i, question=words(2), answer=words(6)) for i in range(1, 2 * n + 1)]
    return experts, practices, answers


def _scores(m: Matcher, kind: str, query: str) -> tuple[dict[int, float], dict[int, int]]:
    pq = m._parser.parse(query)
    masks: dict[int, int] = {}
    raw = m._score(m._kinds[kind], pq.groups, k=5, boost_max=1.3, concepts=pq.concepts, masks=masks)
    return raw, masks


@pytest.mark.parametrize(("bulk", "arrays"), [(10**12, True), (0, True), (10**12, False)])
def test_packed_theme_names_score_as_name_by_name_up_to_rounding(
    bulk: int, arrays: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recognised theme's other names completed as one remembered vector (per document their best contribution)
    give each document the score that completing them name by name gives, up to the last bits, with the same
    concept masks; the vector is the names' per-document maximum (through the walk and the bulk path; made through
    arrays, or through dicts where ids cannot index arrays)."""
    monkeypatch.setattr(engine, "_BULK_MIN", bulk)
    if not arrays:
        monkeypatch.setattr(dense, "best_of", lambda *_: None)
    experts, practices, answers = _pack_register(3, 120)
    cfg = replace(MatchConfig(), common_df_min=10, rerank_depth=30)
    m = Matcher(themes=_PACK_THEMES, places=PLACES, config=cfg)
    m.build(experts=experts, practices=practices, answers=answers)
    packed_somewhere = 0
    for query in ("wie weet iets over klimaat en wonen?", "klimaat in de wijk", "klimaatbeleid project stad"):
        for kind in ("expert", "practice", "answer"):
            m.config = replace(cfg, theme_names_packed=False)
            each, each_masks = _scores(m, kind, query)
            m.config = cfg
            m._packs.clear()
            packed, packed_masks = _scores(m, kind, query)
            assert packed.keys() == each.keys() and packed_masks == each_masks, (query, kind)
            for d, x in each.items():
                assert packed[d] == pytest.approx(x, rel=1e-12, abs=1e-12)
            for _bound, (ids, vals), _bands in m._packs.get(kind, (0, 0, {}))[2].values():
                packed_somewhere += 1
                names = [g for g in m._parser.parse(query).groups if any(v.kind == "related" for v in g.variants)]
                coll = m._kinds[kind].collection
                want: dict[int, float] = {}
                for v in names[0].variants:
                    if v.kind != "related":
                        continue
                    share = v.weight / len(v.terms)
                    if v.whole:
                        got = m._together(coll, v.terms, share)
                        contrib = dict(got[0]) if got else {}
                    else:
                        terms = [(coll.postings[t], share * coll.idf(t)) for t in v.terms if coll.postings.get(t)]
                        contrib = Matcher._contrib(terms, None) if terms else {}
                    for d, x in contrib.items():
                        want[d] = max(want.get(d, x), x)
                assert dict(zip(ids.tolist(), vals.tolist(), strict=True)) == want
                assert list(ids) == sorted(want)
    assert packed_somewhere >= 6


@pytest.mark.parametrize("bulk", [10**12, 0])
def test_banded_theme_names_traverse_as_name_by_name(bulk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The candidate pass taking a theme's names a band at a time (their seek contributions in levels) tests the
    MaxScore stop at the same items, and gives the same documents in the same order, concept masks and scores to
    the last bit as taking them one by one; the walk and the bulk path give the same floats."""
    monkeypatch.setattr(engine, "_BULK_MIN", bulk)
    experts, practices, answers = _pack_register(6, 150)  # ("klimaat": the stop falls inside a run of names)
    cfg = replace(MatchConfig(), common_df_min=10, rerank_depth=30)
    m = Matcher(themes=_PACK_THEMES, places=PLACES, config=cfg)
    m.build(experts=experts, practices=practices, answers=answers)
    stops: list[int] = []
    runs: list[int] = []
    run_end = dense.run_end

    def counted(*args: object, **kw: object) -> int:
        j = run_end(*args, **kw)  # type: ignore[arg-type]
        runs.append(j - args[2])  # type: ignore[operator]
        return j

    monkeypatch.setattr(dense, "run_end", counted)
    for query in ("klimaat", "klimaat wonen", "wie weet iets over klimaat en wonen?", "klimaatbeleid project stad"):
        for kind in ("expert", "practice", "answer"):
            m.config = replace(cfg, theme_names_banded=False)
            m._packs.clear()
            each, each_masks = _scores(m, kind, query)
            each_stats = m.last_stats[kind]
            m.config = cfg
            m._packs.clear()
            got, got_masks = _scores(m, kind, query)
            assert m.last_stats[kind] == each_stats, (query, kind)  # the stop at the same item, the same counts
            stops.append(each_stats[1])
            assert list(got.items()) == list(each.items()) and got_masks == each_masks, (query, kind)  # to the bit
            for _bound, _vec, made in m._packs.get(kind, (0, 0, {}))[2].values():
                assert all(len(places) >= 2 for places in made)
            monkeypatch.setattr(engine, "_BULK_MIN", 10**12 - bulk)  # the other path: the same floats
            m._packs.clear()
            assert list(_scores(m, kind, query)[0].items()) == list(got.items())
            monkeypatch.setattr(engine, "_BULK_MIN", bulk)
    assert sum(n > 1 for n in runs) >= 6 and any(s > 0 for s in stops)


def test_a_band_is_its_names_raising_contributions_in_levels() -> None:
    """``dense.band_of``: per document the contributions of the band's names that raise the best of those before,
    the first of each in the first level (in the order merging the names one by one makes the documents appear
    in), the second in the second; the maximum is the last; remembered with the pack while its bands hold at most
    as many entries as the pack's vector. The walk's ``Matcher._band`` gives the same levels."""
    experts, practices, answers = _pack_register(6, 100)
    m = Matcher(themes=_PACK_THEMES, places=PLACES, config=replace(MatchConfig(), common_df_min=10))
    m.build(experts=experts, practices=practices, answers=answers)
    coll = m._kinds["answer"].collection
    names = [t for t in _NAMES if " " not in t and coll.postings.get(t)][:3]
    items = [dense.Item(1.0, 0, [], [(coll.postings[t], 0.5 + i)], True, ring=i) for i, t in enumerate(names)]
    ids = np.arange(len(items) * coll.id_bound, dtype=np.int32)  # room for every entry
    pack = dense.Item(1.0, 0, [], [], False, vec=(ids, np.zeros(len(ids))), bands={})
    for it in items:
        it.pack = pack
    want: dict[int, float] = {}
    steps: list[dict[int, float]] = []
    for it in items:
        for d, x in Matcher._contrib(it.seek, None).items():
            if x > want.get(d, -np.inf):
                n = sum(d in level for level in steps)
                steps += [{}] if n == len(steps) else []
                steps[n][d] = x
                want[d] = x
    st = dense._State(coll, 1)
    got = dense.band_of(st, items)
    assert [dict(zip(i.tolist(), x.tolist(), strict=True)) for i, x in got] == steps
    assert [list(level) for level in m._band(items)] == [list(level) for level in steps] and m._band(items) == steps
    assert len(items) >= 2 and len(steps) >= 2 and list(got[0][0]) == list(want)  # names that share documents
    assert list(pack.bands or {}) == [tuple(range(len(items)))]
    assert dense.band_of(st, items) is got  # remembered
    pack.vec = (ids[:1], np.zeros(1))  # no room: made again each time
    pack.bands = {}
    assert dense.band_of(st, items[:2]) is not dense.band_of(st, items[:2]) and not pack.bands


def test_a_band_ranks_a_near_tie_as_name_by_name() -> None:
    """Document 1 has names A (a) and B (b > a), document 2 only B. Name by name document 1 ends 1 ulp below
    document 2 ((0 + a) + b - a); the band's levels take the same steps, so the re-ranking cut keeps document 2,
    as name by name (one merge of the best, b, made it an exact tie kept by dict order: document 1)."""
    a, b = 0.9391491627785106, 1.320353400466723
    seek_a, seek_b = [({1: 1.0}, a)], [({1: 1.0, 2: 1.0}, b)]
    each_best: dict[int, float] = {}
    each: dict[int, float] = {}
    Matcher._traverse(seek_a, each_best, each)
    Matcher._traverse(seek_b, each_best, each)
    assert each[1] != each[2]  # the example holds
    m = Matcher.__new__(Matcher)
    band_best: dict[int, float] = {}
    band: dict[int, float] = {}
    for level in Matcher._band(m, [dense.Item(1.0, 0, [], seek_a, True), dense.Item(1.0, 0, [], seek_b, True)]):
        Matcher._merge(level, band_best, band)
    assert list(band.items()) == list(each.items()) and _largest(band, 1) == _largest(each, 1) == [(2, each[2])]


def test_packed_theme_names_follow_every_update_and_an_erasure() -> None:
    """The names' vector is remembered per kind while the collection is unchanged: after an insert, a removal or a
    replaced document the next search scores as a matcher that remembers none (made anew each question), and
    ``forget_erased`` empties the memo."""
    experts, practices, answers = _pack_register(4, 80)
    cfg = replace(MatchConfig(), common_df_min=10, rerank_depth=30)
    kept, fresh = (Matcher(themes=_PACK_THEMES, places=PLACES, config=cfg) for _ in range(2))
    for m in (kept, fresh):
        m.build(experts=experts, practices=practices, answers=answers)
    query = "wie weet iets over klimaat en wonen?"

    def both() -> SearchResult:
        fresh._packs.clear()
        got = kept.search(query, limit=5)
        assert fresh.search(query, limit=5) == got
        return got

    first = both()
    made = kept._packs["answer"][2]
    assert made and both() == first and kept._packs["answer"][2] is made  # read again, not made again
    updates = [
        lambda m: m.upsert_answer(AnswerDoc(id=900, question="groendaken hittestress", answer="regenwater " * 3)),
        lambda m: m.upsert_answer(AnswerDoc(id=900, question="zonnepanelen", answer="warmtenet ontharding")),
        lambda m: m.remove_answer(900),
        lambda m: m.upsert_practice(PracticeDoc(id=1, title="hittestress groendaken", summary="isolatie premie")),
        lambda m: m.remove_expert(2),
    ]
    before = first
    for update in updates:
        for m in (kept, fresh):
            update(m)
        after = both()
        assert after != before
        before = after
    assert kept._packs
    kept.forget_erased()
    assert not kept._packs and kept._pack_postings == 0
    assert both() == before
