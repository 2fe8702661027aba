"""``SearchResult.best_theme``: the theme a question without a chosen theme is filed under."""

from __future__ import annotations

from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc
from bot.matching.results import AnswerHit, ExpertHit, PracticeHit, SearchResult


def expert(n: int, *themes: str, score: float = 1.0, weak: bool = False) -> ExpertHit:
    doc = ExpertDoc(id=n, email=f"e{n}@stad.be", name=f"Expert {n}", organisation="Stad", themes=themes)
    return ExpertHit(doc, score, (), weak=weak)


def result(**kw: object) -> SearchResult:
    values: dict[str, object] = {"query": "q", "terms": ("q",), "themes": (), "cities": (), "gap": False}
    values.update(kw)
    return SearchResult(**values)  # type: ignore[arg-type]


def test_a_theme_recognised_in_the_words_comes_first() -> None:
    hits = [expert(1, "klimaat", score=9.0)]
    assert result(themes=("wonen", "economie"), experts=hits).best_theme() == "wonen"


def test_otherwise_the_theme_the_hits_share_most() -> None:
    hits = [expert(1, "publieke-ruimte", "klimaat", score=1.0), expert(2, "publieke-ruimte", score=0.8)]
    practice = PracticeHit(PracticeDoc(id=1, title="Deelauto's", summary="", themes=("klimaat",)), 0.7, ())
    answer = AnswerHit(AnswerDoc(id=5, question="?", answer="!", themes=("publieke-ruimte",)), 0.2, ())
    # publieke-ruimte 0.5 + 0.8 + 0.2 = 1.5 against klimaat 0.5 + 0.7 = 1.2
    assert result(experts=hits, practices=[practice], answers=[answer]).best_theme() == "publieke-ruimte"


def test_weak_experts_do_not_vote_and_ties_are_stable() -> None:
    hits = [expert(1, "wonen", score=5.0, weak=True), expert(2, "europa"), expert(3, "economie")]
    assert result(experts=hits).best_theme() == "economie"  # tie on 1.0: the first key in order


def test_nothing_to_go_on_or_nobody_fits_gives_no_theme() -> None:
    assert result().best_theme() is None
    assert result(experts=[expert(1)]).best_theme() is None  # hits without themes
    assert result(experts=[expert(1, "wonen", weak=True)], gap=True).best_theme() is None
