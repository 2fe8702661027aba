"""A need asked over several runs in two pieces: an earlier topic of two of its wordings and a later one of two or
three that earlier runs left apart. When a run touches one of them and the two are each other's clearly closest,
reaching the joining threshold, the younger joins the older (round 27); the older keeps its id, the neighbours and
the kept state are untouched; without the rule, or when the pieces are not movable, they stay apart."""

from __future__ import annotations

from bot.needs.grouping import Grouper, GroupingResult
from bot.needs.joining import TopicJoining
from tests.needs.conftest import ToyVectors
from tests.needs.test_incremental import same_state

PAIR, PIECE = 1, 7  # the need's earlier pair and its later piece (needs 1-5: topics 2-6)


def two_pieces(*, movable: bool = True, lean: float = 0.45) -> tuple[dict[str, int], GroupingResult]:
    """Need 0 as two earlier topics: a pair (q:0, q:1, along axis 0) and a later piece (q:22, q:23, along axis 7 and
    ``lean`` along axis 0); needs 1-5 (four questions each along axes 1-5). The run places one more wording of the
    piece (q:24). Returns the final topics and the run's result (the state checked against a rebuilt one)."""
    toy = ToyVectors()
    for _ in range(2):
        toy.add([(0, 0.6)])
    for need in range(1, 6):
        for _ in range(4):
            toy.add([(need, 0.8)])
    for _ in range(3):
        toy.add([(0, lean), (7, 0.6)])
    items = toy.items()
    earlier = items[:24]
    assigned = {i.key: PAIR if n < 2 else PIECE if n >= 22 else 2 + (n - 2) // 4 for n, i in enumerate(earlier)}
    grouper = Grouper()
    fit = grouper.fit(earlier)
    state = grouper.start(earlier, assigned=assigned, fit=fit)
    result = grouper.place(state, items[24:], next_topic_id=8, movable=range(1, 8) if movable else ())
    after = dict(assigned)
    after.update((p.key, p.topic_id) for p in (*result.placements, *result.moved))
    same_state(state, grouper.start(items, assigned=after, fit=fit))
    return after, result


NEED = ("q:0", "q:1", "q:22", "q:23", "q:24")


def test_the_later_piece_joins_the_earlier_one_and_the_older_id_survives() -> None:
    after, result = two_pieces()
    assert {after[k] for k in NEED} == {PAIR}
    assert {p.key for p in result.moved} == {"q:22", "q:23"} and result.emptied == (PIECE,)
    for need in range(1, 6):  # the neighbours stay as they were
        assert {after[f"q:{2 + 4 * (need - 1) + k}"] for k in range(4)} == {1 + need}


def test_without_the_rule_the_two_pieces_stay_apart() -> None:
    join = TopicJoining._join_pieces
    TopicJoining._join_pieces = lambda *_: None  # type: ignore[method-assign]
    try:
        after, result = two_pieces()
    finally:
        TopicJoining._join_pieces = join  # type: ignore[method-assign]
    assert [after[k] for k in NEED] == [PAIR, PAIR, PIECE, PIECE, PIECE] and not result.moved


def test_pieces_not_named_movable_or_below_the_joining_threshold_stay_apart() -> None:
    for after, _ in (two_pieces(movable=False), two_pieces(lean=0.3)):
        assert [after[k] for k in NEED] == [PAIR, PAIR, PIECE, PIECE, PIECE]
