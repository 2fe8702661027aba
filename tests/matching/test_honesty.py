"""Honest answers: reasons that name a real concept of the question, "weak" relative to the question, and the
calibrated "nobody knows" decision."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.i18n import t
from bot.matching import MatchConfig, Matcher
from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc
from bot.matching.gapmodel import (
    ALL_FEATURES,
    CALIBRATED_FEATURES,
    LEXICAL_FEATURES,
    SEMANTIC_FEATURES,
    WHOLE_FEATURES,
    GapModel,
    shipped_models,
    validated,
)
from bot.matching.results import SearchResult
from bot.presenter import build_answer_view, render_text, result_to_json
from tests.matching.conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert


def build(experts: list[ExpertDoc], practices: list[PracticeDoc] = (), answers: list[AnswerDoc] = ()) -> Matcher:  # type: ignore[assignment]
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=practices, answers=answers)
    return m


def reasons_of(result: SearchResult, name: str) -> list[str]:
    hit = next(h for h in result.experts if h.doc.name == name)
    return [r.render("en") for r in hit.reasons]


class TestMultiWordSynonyms:
    """A single word of a multi-word synonym is no evidence ("lokale — bio (synonym of housing)")."""

    def test_a_fragment_neither_matches_nor_is_a_reason(self) -> None:
        # "sociaal verhuurkantoor" is another name of the housing theme; Ivo only has "sociale"
        ivo = expert(40, "Ivo", city="Gent", role="medewerker", bio="Werkt in de sociale dienst.")
        m = build([*EXPERTS, ivo])
        r = m.search("who knows about housing?", today=TODAY)
        assert "Ivo" not in [h.doc.name for h in r.experts]
        for hit in r.experts:
            for reason in hit.reasons:
                assert reason.target not in {"sociale", "sociaal", "verhuurkantoor"}, reason

    def test_the_whole_phrase_is_evidence_and_is_shown_whole(self) -> None:
        m = build(EXPERTS)
        r = m.search("who knows about housing?", today=TODAY)
        assert any("sociaal verhuurkantoor — expertise" in x for x in reasons_of(r, "Emma"))

    def test_fragments_are_not_query_variants_that_score(self) -> None:
        m = build(EXPERTS)
        pq = m._parser.parse("housing")
        multi = [v for g in pq.groups for v in g.variants if len(v.terms) > 1 and v.kind in ("synonym", "related")]
        assert multi and all(v.whole for v in multi)


class TestGenericWords:
    """Generic compound parts (beleid, stad, dienst, plan …) and organisation-name words are no topical evidence."""

    def test_generic_compound_part_finds_nobody(self) -> None:
        finance = expert(41, "Jan", city="Gent", role="directeur financiën en beleid", expertise=("budgetbeleid",))
        m = build([*EXPERTS, finance])
        r = m.search("jeugdbeleid", today=TODAY)
        assert "Jan" not in [h.doc.name for h in r.experts]
        pq = m._parser.parse("jeugdbeleid")
        assert not any(m._stem("beleid") in v.terms for g in pq.groups for v in g.variants if v.kind != "exact")

    def test_organisation_name_word_is_no_evidence(self) -> None:
        # every conftest expert works for a "Stad X"; none is about renewal
        m = build(EXPERTS)
        r = m.search("stadsvernieuwing", today=TODAY)
        assert r.experts == [] or all(h.weak for h in r.experts)
        for hit in r.experts:
            assert not any(x.field == "organisation" for x in hit.reasons)
        r = m.search("stad", today=TODAY)
        for hit in r.experts:
            assert not any(x.field == "organisation" and x.target.lower() == "stad" for x in hit.reasons)

    def test_generic_part_names_no_theme(self) -> None:
        m = build(EXPERTS)
        assert m.search("stadsvernieuwing", today=TODAY).themes == ()

    def test_the_specific_part_still_counts(self) -> None:
        youth = expert(42, "Kim", city="Gent", role="jeugdconsulent", expertise=("jeugdwerk",))
        m = build([*EXPERTS, youth])
        r = m.search("jeugdbeleid", today=TODAY)
        assert [h.doc.name for h in r.experts][:1] == ["Kim"]
        assert any("jeugd" in x for x in reasons_of(r, "Kim"))


class TestEveryResultHasAReason:
    @pytest.mark.parametrize(
        "query",
        [
            "leegstandsheffing",
            "buurtbudget",
            "sluikstorten",
            "wijkwerking in Gent",
            "EU funding for housing",
            "zwerfvuil",
        ],
    )
    def test_experts_practices_and_answers(self, query: str) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        r = m.search(query, today=TODAY)
        assert r.experts or r.practices or r.answers
        for hit in [*r.experts, *r.practices, *r.answers]:
            assert hit.reasons, (query, hit.doc)

    def test_answers_name_the_concept_and_field(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        r = m.search("zwerfvuil bij scholen", today=TODAY)
        assert r.answers
        assert {x.field for x in r.answers[0].reasons} & {"question", "answer"}
        assert any(x.target.startswith("zwerfvuil") for x in r.answers[0].reasons)

    def test_answer_reasons_are_shown_and_in_the_json(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        r = m.search("zwerfvuil bij scholen", today=TODAY)
        text = render_text(build_answer_view(r, lang="en"))
        answers_part = text.split(t("answer.answers", "en").upper())[1]
        assert f"{t('answer.why', 'en')}: " in answers_part and "zwerfvuil — question" in answers_part
        data = result_to_json(r, limit=5, lang="en")
        assert data["answers"] and all(a["reasons"] for a in data["answers"])


class TestWeakIsRelative:
    """Adding a context word the register knows does not demote an expert who covers the question's core."""

    def test_context_word_keeps_the_core_expert_strong(self) -> None:
        inner = expert(43, "Lars", city="Gent", role="centrummanager", expertise=("binnenstad", "winkelleegstand"))
        m = build([*EXPERTS, inner])
        plain = m.search("leegstandsheffing?", today=TODAY)
        context = m.search("leegstandsheffing in de binnenstad?", today=TODAY)
        for r in (plain, context):
            assert not r.gap
            hit = next(h for h in r.experts if h.doc.name == "Anouk")
            assert not hit.weak, r.query

    def test_far_below_the_best_is_weak(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        r = m.search("leegstandsheffing", today=TODAY)
        best = max(h.score for h in r.experts)
        for h in r.experts:
            if h.score < 0.3 * best:
                assert h.weak


class TestGapModel:
    def test_the_shipped_models_have_the_documented_features(self) -> None:
        models = shipped_models()
        # the lexical model never looks at the meaning (it decides while the vectors are missing)
        assert set(models["lexical"].features) <= set(LEXICAL_FEATURES) | {"uncovered", "foreign"}
        assert set(models["semantic"].features) <= set(ALL_FEATURES)
        # the semantic model reads the meaning (from the mixed similarity, the whole texts' cosines, or both)
        meaning = (set(SEMANTIC_FEATURES) - set(LEXICAL_FEATURES)) | set(WHOLE_FEATURES.values())
        assert set(models["semantic"].features) & (meaning | set(CALIBRATED_FEATURES))
        for model in models.values():
            assert 0.0 < model.threshold < 1.0

    def test_the_decision_is_the_calibrated_probability(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        for q in ("leegstandsheffing", "drones voor de brandweer", "kernenergie en reactoren", "wijkwerking"):
            r = m.search(q, today=TODAY)
            assert 0.0 <= r.gap_probability <= 1.0
            assert r.gap == (r.gap_probability >= shipped_models()["lexical"].threshold), q
            assert set(r.gap_features) >= set(ALL_FEATURES)

    def test_known_topic_versus_unknown_topic(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        assert not m.search("leegstandsheffing", today=TODAY).gap
        unknown = m.search("sterilisatie van zwerfkatten", today=TODAY)
        assert unknown.gap and all(h.weak for h in unknown.experts)

    def test_uncovered_is_the_most_specific_concept_the_best_expert_misses(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        covered = m.search("leegstandsheffing", today=TODAY).gap_features
        assert covered["uncovered"] == 0.0
        # one word the register knows well, one it lacks entirely (as specific as a word can be)
        partial = m.search("leegstandsheffing zwerfkatten", today=TODAY).gap_features
        assert partial["uncovered"] == 1.0
        assert partial["coverage"] > 0.0
        assert m.search("sterilisatie van zwerfkatten", today=TODAY).gap_features["uncovered"] == 1.0

    def test_coverage_known_leaves_out_the_words_no_document_contains(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)
        full = m.search("leegstandsheffing", today=TODAY).gap_features
        assert full["coverage_known"] == pytest.approx(full["coverage"])
        assert full["coverage_known"] > 0.5
        # a word the register lacks entirely is missed by everyone: it pulls coverage down, not coverage_known
        partial = m.search("leegstandsheffing zwerfkatten", today=TODAY).gap_features
        assert partial["unknown"] == 0.5
        assert partial["coverage"] < full["coverage"] / 2
        assert partial["coverage_known"] == pytest.approx(full["coverage_known"])
        # nothing the register knows: nothing covered
        assert m.search("sterilisatie van zwerfkatten", today=TODAY).gap_features["coverage_known"] == 0.0

    def test_foreign_is_the_share_of_concepts_that_are_no_dutch_word(self) -> None:
        m = build(EXPERTS, PRACTICES, ANSWERS)

        def foreign(q: str) -> float:
            return m.search(q, today=TODAY).gap_features["foreign"]

        assert foreign("wie weet iets over leegstandsheffing op winkelpanden?") == 0.0
        assert foreign("who knows about the vacancy tax on empty shops?") == 1.0
        assert foreign("qui connaît la taxe sur les logements inoccupés ?") == 1.0
        assert foreign("leegstandsheffing housing") == 0.5  # one Dutch concept, one English
        # a typo of a Dutch word is read as repaired: no other language
        assert m.search("leegstandsheffng", today=TODAY).terms == ("leegstandsheffng→leegstandsheffing",)
        assert foreign("leegstandsheffng") == 0.0

    def test_more_coverage_lowers_the_probability(self) -> None:
        for model in shipped_models().values():
            base = dict.fromkeys(model.features, 0.3)
            for feature in {"confidence", "coverage", "core"} & set(model.features):
                assert model.probability({**base, feature: 0.9}) < model.probability({**base, feature: 0.1}), feature

    def test_probability_is_a_logistic_of_standardised_features(self) -> None:
        model = GapModel(("a", "b"), (2.0, -1.0), 0.5, (1.0, 0.0), (2.0, 1.0))
        assert model.probability({"a": 1.0, "b": 0.0}) == pytest.approx(1 / (1 + 2.718281828459045**-0.5))
        assert GapModel.from_json(model.to_json()) == model

    def test_a_model_with_mismatched_lists_is_refused(self) -> None:
        with pytest.raises(ValueError, match="2 features but 1 coefficients"):
            GapModel(("a", "b"), (2.0,), 0.5, (1.0, 0.0), (2.0, 1.0))

    def test_a_shipped_model_naming_an_unknown_feature_fails_at_load(self) -> None:
        model = GapModel(("confidence", "confidenec"), (1.0, 1.0), 0.0, (0.0, 0.0), (1.0, 1.0))
        with pytest.raises(ValueError, match="does not compute: confidenec"):
            validated("semantic", model)
        for name, shipped in shipped_models().items():
            assert validated(name, shipped) is shipped

    def test_without_a_model_the_raw_threshold_decides(self) -> None:
        m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), gap_model=False, gap_threshold=0.0))
        m.build(experts=EXPERTS, practices=[], answers=[])
        assert not m.search("drones voor de brandweer", today=TODAY).gap
