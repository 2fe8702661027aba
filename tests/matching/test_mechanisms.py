"""Mechanisms beyond the basics: acronyms, cognates, glossary fallbacks, theme expansion, pruning."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bot.config import read_settings
from bot.knowledge import KnowledgeBase
from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc, PlaceDoc, PracticeDoc, ThemeDoc
from bot.matching.wordlist import common_words
from storage.db import Database

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert
from .generated import QUERY_WORDS, random_register
from .test_semantic import _seed


def names(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.doc.name for h in hits]


def build(
    experts: list[ExpertDoc],
    *,
    themes: list[ThemeDoc] | None = None,
    config: MatchConfig | None = None,
    places: list[PlaceDoc] | None = None,
) -> Matcher:
    m = Matcher(themes=themes if themes is not None else THEMES, places=places or PLACES, config=config)
    m.build(experts=experts, practices=PRACTICES, answers=ANSWERS)
    return m


class TestAcronyms:
    def test_initials_of_compound_parts(self) -> None:
        m = build([*EXPERTS, expert(40, "Raf", city="Genk", expertise=("wijkgezondheidscentrum",))])
        r = m.search("WGC", today=TODAY)
        assert names(r.experts)[0] == "Raf"
        assert r.experts[0].reasons[0].kind == "synonym"

    def test_initials_of_a_multi_word_expertise_item(self) -> None:
        m = build([*EXPERTS, expert(41, "Sien", city="Aalst", expertise=("lokaal woonoverleg",))])
        assert names(m.search("LWO", today=TODAY).experts)[0] == "Sien"

    def test_initials_of_a_title_head_even_when_the_register_has_the_acronym(self) -> None:
        # "Community Land Trust" is only the head of the title (before the colon), and "CLT" itself is in the register
        # (another profile mentions it in passing): a question in capitals still meets the phrase it spells
        elke = expert(45, "Elke", city="Turnhout", role="woonbeleid", bio="Werkt rond betaalbare eigendom.")
        jan = expert(46, "Jan", city="Turnhout", expertise=("regiovorming",), bio="Volgt ook het CLT-debat.")
        trust = PracticeDoc(
            90,
            "Community Land Trust: de grond blijft van de gemeenschap",
            "Gezinnen kopen de woning, de grond blijft in handen van een stichting.",
            city="Turnhout",
            contact_expert_id=45,
        )
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=[*EXPERTS, elke, jan], practices=[*PRACTICES, trust], answers=ANSWERS)
        r = m.search("CLT", today=TODAY)
        assert names(r.experts)[0] == "Elke"
        assert r.practices[0].doc.title.startswith("Community Land Trust")
        assert any(v.target == "community land trust" for g in m._parser.parse("CLT").groups for v in g.variants)
        # typed in lower case, a word the register contains is the word itself, not an acronym
        assert not any(v.kind == "synonym" for g in m._parser.parse("clt").groups for v in g.variants)

    def test_a_shouted_question_reads_only_its_non_words_as_acronyms(self) -> None:
        # "GAS" spells Gemeentelijke Administratieve Sancties, but "gas" is also a word the register has: in a
        # question with lower case its capitals mean the acronym; in one typed all in capitals they say nothing
        fines = PracticeDoc(91, "Gemeentelijke administratieve sancties", "Boetes voor sluikstort.", city="Gent")
        energy = expert(47, "Wout", city="Gent", expertise=("gas en elektriciteit",))
        heap = expert(48, "Lies", city="Gent", expertise=("community land trust",), bio="Volgt ook het CLT-debat.")
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=[*EXPERTS, energy, heap], practices=[*PRACTICES, fines], answers=ANSWERS)

        def expansions(query: str) -> set[str]:
            return {v.target for g in m._parser.parse(query).groups for v in g.variants if v.kind == "synonym"}

        sanctions = "gemeentelijke administratieve sancties"
        assert sanctions in expansions("Wie weet iets over de GAS-boetes of GAS")
        assert sanctions not in expansions("WIE WEET IETS OVER GAS EN ELEKTRICITEIT")
        assert "community land trust" in expansions("WIE KENT EEN CLT")  # no word at all: still an acronym

    def test_known_words_are_not_read_as_acronyms(self) -> None:
        m = build([*EXPERTS, expert(42, "Tuur", city="Gent", expertise=("energiebudget", "buurt"))])
        r = m.search("buurt", today=TODAY)
        assert all(
            v.kind != "synonym" or "energie" not in v.target
            for g in m._parser.parse("buurt").groups
            for v in g.variants
        )
        assert r.experts


class TestCognatesAndTranslations:
    def test_cognate_of_an_unknown_foreign_word(self) -> None:
        # three edits apart (too far for typo repair), but a long shared prefix
        m = build([*EXPERTS, expert(43, "Jasper", city="Antwerpen", expertise=("criminaliteit", "woonmobiliteit"))])
        r = m.search("criminality", today=TODAY)
        assert names(r.experts)[0] == "Jasper"
        first = r.experts[0].reasons[0]
        assert first.kind == "cognate"
        assert first.render("en") == "criminality ≈ criminaliteit — expertise"

    def test_close_foreign_word_is_repaired(self) -> None:
        m = build([*EXPERTS, expert(44, "Jana", city="Antwerpen", expertise=("gentrificatie",))])
        r = m.search("gentrification", today=TODAY)
        assert names(r.experts)[0] == "Jana"
        assert r.experts[0].reasons[0].kind in ("typo", "cognate")

    def test_unknown_word_inside_a_multi_word_glossary_entry(self, matcher: Matcher) -> None:
        # "inoccupés" only occurs in multi-word entries ("immeubles inoccupés") of the leegstand groups
        r = matcher.search("inoccupés", today=TODAY)
        assert names(r.experts)[0] == "Anouk"
        assert r.experts[0].reasons[0].kind == "translation"  # a lone word of the entry: a rough translation

    def test_unknown_theme_synonym_expands_to_the_theme(self) -> None:
        themes = [replace(THEMES[0], synonyms=(*THEMES[0].synonyms, "huurwoningen", "Wohnungsbau")), *THEMES[1:]]
        m = build(EXPERTS, themes=themes)
        r = m.search("Wohnungsbau", today=TODAY)
        assert r.themes == ("wonen",)
        assert "Emma" in names(r.experts)[:3]  # via "huurwoningen", another name of the theme

    def test_known_specific_term_does_not_expand_to_its_whole_theme(self, matcher: Matcher) -> None:
        variants = [v for g in matcher._parser.parse("ontharding").groups for v in g.variants]
        assert not any(v.kind == "related" and "klimaat" in v.target for v in variants)
        variants = [v for g in matcher._parser.parse("klimaat").groups for v in g.variants]
        assert any(v.kind == "related" and v.target == "ontharding" for v in variants)

    def test_a_theme_named_by_two_words_expands_once_with_the_option(self) -> None:
        def related(m: Matcher, query: str) -> list[tuple[str, list[str]]]:
            groups = m._parser.parse(query).groups
            return [(g.original, sorted(v.target for v in g.variants if v.kind == "related")) for g in groups]

        each, once = build(EXPERTS, config=MatchConfig(theme_names_once=False)), build(EXPERTS)
        # "gebiedsgericht werken" (the theme's label, two words): the other names under both words, or once
        ring = related(each, "gebiedsgericht werken")[0][1]
        assert ring and related(each, "gebiedsgericht werken")[:2] == [("gebiedsgericht", ring), ("werken", ring)]
        assert related(once, "gebiedsgericht werken")[:2] == [("gebiedsgericht", ring), ("werken", [])]
        # a theme named by its label and by its words again ("klimaat", "milieu"): once in all
        assert sum(bool(r) for _, r in related(each, "klimaat energie en milieu")) == 3
        assert sum(bool(r) for _, r in related(once, "klimaat energie en milieu")) == 1
        # a specific term only boosts its theme; the theme's name after it still expands
        got = related(once, "ontharding en klimaat")
        assert got[0] == ("ontharding", []) and got[1][1]
        assert once.search("gebiedsgericht werken", today=TODAY).themes == ("gebiedsgericht",)

    @pytest.mark.skipif(not common_words(), reason="pyspellchecker not installed: no common-word list")
    def test_real_words_are_not_repaired_into_place_names(self) -> None:
        places = [*PLACES, PlaceDoc("Leuven", "city", ("Louvain",))]
        m = build(EXPERTS, places=places)
        r = m.search("mensen die op straat leven", today=TODAY)
        assert r.cities == ()
        assert m.search("onthardng", today=TODAY).experts[0].doc.name == "Dries"  # a typo is still repaired
        # ... but "ontharing" is a word (hair removal), however rare: no typo of "ontharding" (test_real_words.py)
        assert m.analyse("ontharing").repairs == ()


class TestPlaces:
    def test_generic_alias_is_ignored(self) -> None:
        places = [PlaceDoc("Antwerpen", "city", ("'t Stad", "Antwerp"))]
        m = build(EXPERTS, places=places)
        assert m.search("stad in de wijk", today=TODAY).cities == ()
        assert m.search("wijkwerking Antwerp", today=TODAY).cities == ("Antwerpen",)


class TestPruning:
    """MaxScore with look-up completion must give the exact top k where it claims to (rare terms only)."""

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_top_k_equals_exhaustive_scoring(self, seed: int) -> None:
        experts, practices, answers = random_register(seed, 150)
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=experts, practices=practices, answers=answers)
        rng = random.Random(seed)
        for _ in range(25):
            pq = m._parser.parse(" ".join(rng.sample(QUERY_WORDS, rng.randint(1, 4))))
            for kind in m._kinds.values():
                fast = m._score(kind, pq.groups, k=5, boost_max=1.3)
                full = m._score(kind, pq.groups, k=10**9, boost_max=1.3)
                top_fast = sorted(fast.items(), key=lambda x: (-x[1], x[0]))[:5]
                top_full = sorted(full.items(), key=lambda x: (-x[1], x[0]))[:5]
                assert [round(s, 9) for _, s in top_fast] == [round(s, 9) for _, s in top_full]
                # and after the query-term coverage factor (which only lowers scores) as well
                fm: dict[int, int] = {}
                gm: dict[int, int] = {}
                fast = m._score(kind, pq.groups, k=5, boost_max=1.3, concepts=pq.concepts, masks=fm)
                full = m._score(kind, pq.groups, k=10**9, boost_max=1.3, concepts=pq.concepts, masks=gm)
                m._cover(fast, fm, pq.concepts)
                m._cover(full, gm, pq.concepts)
                top_fast = sorted(fast.items(), key=lambda x: (-x[1], x[0]))[:5]
                top_full = sorted(full.items(), key=lambda x: (-x[1], x[0]))[:5]
                assert [round(s, 9) for _, s in top_fast] == [round(s, 9) for _, s in top_full]

    def test_common_terms_and_depth_bound_the_work(self) -> None:
        experts, practices, answers = random_register(4, 300)
        cfg = replace(MatchConfig(), common_df=0.01, common_df_min=10, rerank_depth=20)
        m = Matcher(themes=THEMES, places=PLACES, config=cfg)
        m.build(experts=experts, practices=practices, answers=answers)
        r = m.search("wonen beleid leegstandsheffing", today=TODAY)
        assert r.experts
        _, _, _, seen, scored = m.last_stats["answer"]
        assert scored <= max(20, 5) < seen


class TestRefresh:
    def test_drifting_lengths_renormalise_and_match_a_full_build(self) -> None:
        base = [expert(i, f"P{i}", city="Gent", expertise=("ontharding",), bio="kort") for i in range(1, 4)]
        grown = [
            expert(
                i,
                f"P{i}",
                city="Gent",
                expertise=("ontharding", "warmtenet"),
                bio="een veel langere bio over ontharding, warmtenetten en klimaat " * (i % 5 + 1),
            )
            for i in range(4, 40)
        ]
        inc = Matcher(themes=THEMES, places=PLACES)
        inc.build(experts=base, practices=[], answers=[])
        for e in grown:
            inc.upsert_expert(e)
        full = Matcher(themes=THEMES, places=PLACES)
        full.build(experts=base + grown, practices=[], answers=[])
        for q in ("ontharding", "warmtenet", "klimaat ontharding"):
            a = [(h.doc.id, h.score) for h in inc.search(q, limit=10, today=TODAY).experts]
            b = [(h.doc.id, h.score) for h in full.search(q, limit=10, today=TODAY).experts]
            assert [x for x, _ in a] == [x for x, _ in b], q


def _coverage_register(config: MatchConfig | None = None) -> Matcher:
    return build(
        [
            *EXPERTS,
            # one query word, everywhere
            expert(
                30,
                "Xavier",
                city="Gent",
                expertise=("sluikstorten", "sluikstortbeleid", "sluikstortcamera's"),
                role="sluikstortcoördinator",
                bio="sluikstorten",
            ),
            # both query words, less prominently
            expert(31, "Yara", city="Gent", expertise=("scholen",), role="medewerker sluikstorten"),
            expert(32, "Zeno", city="Gent", expertise=("scholen",)),
            expert(33, "Zoe", city="Gent", expertise=("scholen", "onderwijs")),
            *(expert(40 + i, f"S{i}", city="Gent", expertise=("scholen",)) for i in range(6)),
        ],
        config=config,
    )


class TestCoverage:
    def test_matching_more_query_concepts_wins(self) -> None:
        r = _coverage_register().search("sluikstorten bij scholen", today=TODAY)
        assert names(r.experts)[:2] == ["Yara", "Xavier"]

    def test_without_coverage_one_strong_word_would_win(self) -> None:
        r = _coverage_register(replace(MatchConfig(), coverage_weight=0.0)).search(
            "sluikstorten bij scholen", today=TODAY
        )
        assert names(r.experts)[0] == "Xavier"

    def test_full_coverage_is_not_penalised(self) -> None:
        plain = _coverage_register(replace(MatchConfig(), coverage_weight=0.0))
        covered = _coverage_register()
        a = {h.doc.name: h.score for h in plain.search("sluikstorten bij scholen", today=TODAY).experts}
        b = {h.doc.name: h.score for h in covered.search("sluikstorten bij scholen", today=TODAY).experts}
        assert b["Yara"] == a["Yara"]
        assert b["Xavier"] == pytest.approx(a["Xavier"] * 0.75, abs=1e-3)

    def test_a_theme_is_no_concept_of_its_own(self) -> None:
        m = build(EXPERTS)
        pq = m._parser.parse("huisvesting voor kwetsbare gezinnen")
        assert pq.concepts == 3
        theme_groups = [g for g in pq.groups if g.theme]
        assert theme_groups and all(g.concepts == 1 for g in theme_groups)  # named by "huisvesting", word 0


class TestCountOnce:
    @staticmethod
    def _groups_with(pq: object, term: str) -> list[str]:
        return [g.original for g in pq.groups if any(term in v.terms for v in g.variants)]  # type: ignore[attr-defined]

    def test_a_shared_compound_part_counts_for_one_word(self) -> None:
        m = build(EXPERTS)
        stem = m._stem("leegstand")
        pq = m._parser.parse("leegstandsheffing leegstand")
        # the word itself owns the term; the compound's expansion no longer carries it
        assert self._groups_with(pq, stem) == ["leegstand"]
        heffing = next(g for g in pq.groups if g.original == "leegstandsheffing")
        compound = [v for v in heffing.variants if v.kind == "compound"]
        assert compound and all(stem not in v.terms for v in compound)
        assert compound[0].weight == pytest.approx(MatchConfig().query_part_weight / 2)  # per-term share kept

    def test_a_document_with_only_the_shared_part_covers_one_concept(self) -> None:
        m = build([*EXPERTS, expert(50, "Lea", city="Gent", expertise=("leegstand",))])
        r = m.search("leegstandsheffing leegstand", today=TODAY)
        lea = next(h for h in r.experts if h.doc.name == "Lea")
        only = next(h for h in m.search("leegstand", today=TODAY).experts if h.doc.name == "Lea")
        assert lea.score < only.score  # half the concepts, and no second credit for the same word
        assert names(r.experts)[0] in {"Anouk", "Fien"}

    def test_a_phrase_synonym_stands_for_the_whole_phrase(self) -> None:
        m = build(EXPERTS)
        pq = m._parser.parse("sociaal verhuurkantoor")
        svk = [g.original for g in pq.groups if not g.theme and any(v.terms == ("svk",) for v in g.variants)]
        assert svk == ["sociaal", "verhuurkantoor"]


class TestGlossaryAdditions:
    """Shipped vocabulary added for misses on the dev part of the evaluation set (domain terms, not query copies)."""

    @pytest.mark.parametrize(
        ("query", "expertise"),
        [
            ("personen zonder vaste verblijfplaats", "dakloosheid"),
            ("réaffectation des églises", "herbestemming van kerken"),
            ("Nederlands als tweede taal", "taalbeleid"),
            ("ongeschiktverklaring", "verkrotting"),
            ("budget participatif", "participatief budgetteren"),
        ],
    )
    def test_found_through_the_glossary(self, query: str, expertise: str) -> None:
        m = build([*EXPERTS, expert(60, "Wim", city="Gent", expertise=(expertise,))])
        r = m.search(query, today=TODAY)
        assert names(r.experts)[:1] == ["Wim"]
        # the reason names the expertise, reached through the glossary (or through a part the words share)
        assert any(x.field == "expertise" and x.kind in ("synonym", "compound") for x in r.experts[0].reasons)


class TestPracticeContactFloor:
    """The person behind a practice that answers the question ranks at least as high as that practice matches: not
    below someone whose profile names only a part of the question (round 11)."""

    EVALUATOR = expert(50, "Arne", city="Gent", role="onderzoeker", expertise=("beleidsevaluatie", "effectmeting"))
    RESEARCHER = expert(51, "Joris", city="Leuven", role="onderzoeker", expertise=("bestuurskunde",))
    MERGERS = PracticeDoc(
        50,
        "Evaluatie van de gemeentefusies",
        "Wat de vrijwillige fusies opleverden, vijf jaar later.",
        city="Leuven",
        contact_expert_id=51,
    )

    def search(self, config: MatchConfig | None = None) -> list[str]:
        m = Matcher(themes=THEMES, places=PLACES, config=config)
        m.build(
            experts=[*EXPERTS, self.EVALUATOR, self.RESEARCHER], practices=[*PRACTICES, self.MERGERS], answers=ANSWERS
        )
        return names(m.search("gemeentefusie evaluatie", today=TODAY).experts)

    def test_contact_of_a_practice_covering_the_question_comes_first(self) -> None:
        assert self.search()[:2] == ["Joris", "Arne"]

    def test_without_the_floor_a_partial_profile_match_wins(self) -> None:
        # what the floor corrects: the practice counted only as a fifth of its score (practice_evidence)
        assert self.search(MatchConfig(contact_floor=0.0))[:2] == ["Arne", "Joris"]

    def test_weak_is_relative_to_the_best_score_after_the_floor(self) -> None:
        # the floor lifts Joris far above the best lexical score (Arne's): "weak" (below weak_ratio of the best score
        # for the question) reads the best score the ranking used, not the one before the floor
        mergers = expert(52, "Mira", city="Brugge", role="adviseur", expertise=("gemeentefusies",))
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(
            experts=[*EXPERTS, self.EVALUATOR, self.RESEARCHER, mergers],
            practices=[*PRACTICES, self.MERGERS],
            answers=ANSWERS,
        )
        r = m.search("gemeentefusie evaluatie", today=TODAY)
        assert not r.gap
        hits = {h.doc.name: h for h in r.experts}
        assert names(r.experts)[0] == "Joris" and not hits["Joris"].weak
        ratio = MatchConfig().weak_ratio
        for name in ("Arne", "Mira"):  # above weak_ratio of the lexical best, below it of the best after the floor
            assert ratio * r.confidence <= hits[name].score < ratio * hits["Joris"].score
            assert hits[name].weak

    def test_the_gap_decision_reads_the_scores_before_the_floor(self) -> None:
        results = []
        for cfg in (MatchConfig(), MatchConfig(contact_floor=0.0)):
            m = Matcher(themes=THEMES, places=PLACES, config=cfg)
            m.build(
                experts=[*EXPERTS, self.EVALUATOR, self.RESEARCHER],
                practices=[*PRACTICES, self.MERGERS],
                answers=ANSWERS,
            )
            results.append(m.search("gemeentefusie evaluatie", today=TODAY))
        with_floor, without = results
        assert with_floor.gap_features == without.gap_features
        assert with_floor.confidence == without.confidence


def test_the_theme_names_setting_reaches_the_index(database: Database) -> None:
    """WIEWEET_THEME_NAMES_ONCE (on by default) is the search's MatchConfig.theme_names_once."""
    assert read_settings({})[0].theme_names_once is True
    assert MatchConfig().theme_names_once is True
    assert read_settings({"WIEWEET_THEME_NAMES_ONCE": "false"})[0].theme_names_once is False
    _seed(database)
    for once in (False, True):
        kb = KnowledgeBase(database, theme_names_once=once)
        kb.load()
        assert kb.matcher is not None and kb.matcher.config.theme_names_once is once
        kb.close()
