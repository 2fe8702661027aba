"""Two first wordings of two needs, each alone in an earlier run, that the second step joined as each other's
closest: a pair less alike than the joining threshold, no need's centre yet (round 29). When a later run brings a
wording of one need that is not much like either of the two (below the young threshold to both), the wording does
not join the pair; its need's first wording leaves the pair for it (as an earlier member placed again, round 25)
and the one left keeps the pair's id and is not joined back in this run. A pair as alike as the joining threshold
(one need), a wording much like a member, a pair not named movable, and the code without the rule keep the pair
whole and the wording in it."""

from __future__ import annotations

import pytest

from bot.needs.grouping import Grouper, GroupingResult
from bot.needs.topic_book import TopicBook
from tests.needs.conftest import ToyVectors
from tests.needs.test_incremental import same_state

PAIR, FIRST_NEW = 1, 6  # the earlier pair (q:0 of need 0, q:1 of need 1); this run's first topic id


def loose_pair(
    *, lean: float = 0.3, near: float = 0.5, other: float = 0.25, movable: bool = True
) -> tuple[dict[str, int], GroupingResult, Grouper]:
    """Topic 1 holds q:0 (need 0, along axis 0) and q:1 (need 1, along axis 1, ``lean`` along axis 0); needs 2-5
    (four questions each along axes 2-5) are topics 2-5. The run places q:18, a wording of need 1: ``near`` along
    axis 1, ``other`` along axis 0 and the rest along an axis of its own. Returns the final topics, the run's result
    (the state checked against a rebuilt one) and the grouper."""
    toy = ToyVectors()
    toy.add([(0, 0.8)])
    toy.add([(0, lean), (1, 0.7)])
    for need in range(2, 6):
        for _ in range(4):
            toy.add([(need, 0.8)])
    toy.add([(0, other), (1, near), (9, 0.5)])
    items = toy.items()
    earlier = items[:18]
    assigned = {i.key: PAIR if n < 2 else 2 + (n - 2) // 4 for n, i in enumerate(earlier)}
    grouper = Grouper()
    fit = grouper.fit(earlier)
    state = grouper.start(earlier, assigned=assigned, fit=fit)
    result = grouper.place(state, items[18:], next_topic_id=FIRST_NEW, movable=range(1, 6) if movable else ())
    after = dict(assigned)
    after.update((p.key, p.topic_id) for p in (*result.placements, *result.moved))
    same_state(state, grouper.start(items, assigned=after, fit=fit))
    return after, result, grouper


def test_the_wording_takes_its_need_s_first_wording_and_the_pair_keeps_its_id() -> None:
    after, result, _ = loose_pair(lean=0.4)
    assert after["q:0"] == PAIR
    assert after["q:1"] == after["q:18"] == FIRST_NEW
    assert [(p.key, p.topic_id) for p in result.moved] == [("q:1", FIRST_NEW)] and not result.emptied
    assert result.topics[PAIR].members == ["q:0"]
    for need in range(2, 6):
        assert {after[f"q:{2 + 4 * (need - 2) + k}"] for k in range(4)} == {need}


def test_the_first_wording_of_the_other_need_is_not_joined_back_in_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TopicBook, "_left_loose", lambda *_: None)
    after, _, _ = loose_pair(lean=0.4)
    assert after["q:0"] == after["q:1"] == after["q:18"]  # the second step joined it back on its looser evidence


def test_without_the_rule_the_wording_joins_the_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TopicBook, "_loose_pairs", lambda *_: frozenset())
    after, result, _ = loose_pair(lean=0.4)
    assert {after["q:0"], after["q:1"], after["q:18"]} == {PAIR} and not result.moved


@pytest.mark.parametrize(
    "case",
    [
        {"lean": 0.6},  # the pair as alike as the joining threshold: one need's centre
        {"near": 0.6},  # the wording much like the need's first wording (0.35 or more): it joins as before
        {"movable": False},  # the caller did not name the pair movable (a proposal, a staff action on it)
    ],
)
def test_the_pair_stays_whole(case: dict[str, float | bool]) -> None:
    after, result, _ = loose_pair(**case)  # type: ignore[arg-type]
    assert {after["q:0"], after["q:1"], after["q:18"]} == {PAIR} and not result.moved
