"""A need whose first wording joined a neighbour's young topic in an earlier run: when a later run brings another
wording of it into that topic, the topic parts (round 28): the need's two wordings leave for a topic of their own,
the topic keeps its id and its oldest members, the other topics and the kept state are untouched. The topic stays
whole when the two parts are as close as the joining threshold (one need), when the leaving part would be the
larger, when the topic is not named movable, and without the rule."""

from __future__ import annotations

import numpy as np
import pytest

from bot.needs.grouping import Grouper, GroupingResult
from bot.needs.parting import TopicParting, _settle
from tests.needs.conftest import ToyVectors
from tests.needs.test_incremental import same_state

MIXED, FIRST_NEW = 1, 6  # the young topic holding need 0 and the first wording of need 1; this run's first id


def mixed_topic(
    *, lean: float = 0.3, kept: int = 3, later: int = 1, movable: bool = True
) -> tuple[dict[str, int], GroupingResult, list[str], list[str]]:
    """Topic 1 holds ``kept`` questions of need 0 (along axis 0) and the first wording of need 1 (axis 1, ``lean``
    along axis 0); needs 2-5 (four questions each along axes 2-5) are topics 2-5. The run places
    ``later`` more wordings of need 1. Returns the final topics, the run's result (the state checked against a
    rebuilt one), need 0's keys and need 1's keys."""
    toy = ToyVectors()
    for _ in range(kept):
        toy.add([(0, 0.8)])
    toy.add([(0, lean), (1, 0.6)])
    for need in range(2, 6):
        for _ in range(4):
            toy.add([(need, 0.8)])
    for _ in range(later):
        toy.add([(0, lean), (1, 0.6)])
    items = toy.items()
    mixed = kept + 1
    earlier = items[: mixed + 16]
    assigned = {i.key: MIXED if n < mixed else 2 + (n - mixed) // 4 for n, i in enumerate(earlier)}
    grouper = Grouper()
    fit = grouper.fit(earlier)
    state = grouper.start(earlier, assigned=assigned, fit=fit)
    result = grouper.place(state, items[mixed + 16 :], next_topic_id=FIRST_NEW, movable=range(1, 6) if movable else ())
    after = dict(assigned)
    after.update((p.key, p.topic_id) for p in (*result.placements, *result.moved))
    same_state(state, grouper.start(items, assigned=after, fit=fit))
    need0 = [f"q:{k}" for k in range(kept)]
    need1 = [f"q:{kept}"] + [i.key for i in items[mixed + 16 :]]
    return after, result, need0, need1


def neighbours_untouched(after: dict[str, int], kept: int) -> None:
    for need in range(2, 6):
        start = kept + 1 + 4 * (need - 2)
        assert {after[f"q:{start + k}"] for k in range(4)} == {need}


@pytest.mark.parametrize("later", [1, 2])
def test_the_first_wording_leaves_with_its_need_and_the_topic_keeps_its_id(later: int) -> None:
    after, result, need0, need1 = mixed_topic(later=later)
    assert {after[k] for k in need0} == {MIXED}
    assert {after[k] for k in need1} == {FIRST_NEW}
    assert [(p.key, p.topic_id) for p in result.moved] == [(need1[0], FIRST_NEW)] and not result.emptied
    assert sorted(result.topics[MIXED].members) == need0
    neighbours_untouched(after, 3)


def test_without_the_rule_the_need_grows_inside_the_neighbour() -> None:
    part = TopicParting._part
    TopicParting._part = lambda *_: None  # type: ignore[method-assign]
    try:
        after, result, need0, need1 = mixed_topic()
    finally:
        TopicParting._part = part  # type: ignore[method-assign]
    assert {after[k] for k in (*need0, *need1)} == {MIXED} and not result.moved


@pytest.mark.parametrize(
    "case",
    [
        {"lean": 0.45},  # the two parts as close as the joining threshold: one need
        {"kept": 2, "later": 2, "lean": 0.2},  # the leaving part (three) larger than the staying one (two)
        {"movable": False},  # the caller did not name the topic movable (a proposal, a staff action on it)
    ],
)
def test_the_topic_stays_whole(case: dict[str, float | bool]) -> None:
    after, result, need0, need1 = mixed_topic(**case)  # type: ignore[arg-type]
    assert {after[k] for k in (*need0, *need1)} == {MIXED} and not result.moved


def test_settling_moves_a_member_to_the_part_whose_centroid_is_closer() -> None:
    # members 0-2 one need, 3-4 another; member 2 starts in the wrong part and is settled back
    similarity = np.array(
        [
            [1.0, 0.5, 0.5, 0.1, 0.1],
            [0.5, 1.0, 0.5, 0.1, 0.1],
            [0.5, 0.5, 1.0, 0.1, 0.1],
            [0.1, 0.1, 0.1, 1.0, 0.5],
            [0.1, 0.1, 0.1, 0.5, 1.0],
        ]
    )
    leaving = np.array([False, False, True, True, True])
    settled = _settle(similarity, leaving)
    assert settled.tolist() == [False, False, False, True, True]
    assert _settle(similarity, settled).tolist() == settled.tolist()
