"""A need asked over several runs, its later wordings a little off it: a piece of two of this run whose centroid sits
within the margin between an earlier topic of its need and a neighbouring one still joins its need when each of its
wordings is closest to a member of that need, question to question (round 26); a lone wording is left to the
margin; the neighbour, the older topic's id and the kept state are untouched."""

from __future__ import annotations

from bot.needs.grouping import RESCUE_EARLIER_THRESHOLD, RESCUE_MARGIN, GroupItem
from bot.needs.joining import TopicJoining
from tests.needs.conftest import ToyVectors
from tests.needs.test_runs import two_runs


def a_need_and_a_later_piece(*, wordings: int = 2) -> tuple[list[GroupItem], set[str], list[str]]:
    """Need 0 (four questions along axis 0, each also along an axis of its own, 20-23) and needs 1-5 (four along
    axes 1-5) in the first run; in the second, ``wordings`` wordings of one family (axis 7) leaning as much to need 0
    as to need 1, each also along the own axis of one question of need 0 (20, 21, ...)."""
    toy = ToyVectors()
    for k in range(4):
        toy.add([(0, 0.6), (20 + k, 0.2)])
    for need in range(1, 6):
        for _ in range(4):
            toy.add([(need, 0.8)])
    for k in range(wordings):
        toy.add([(0, 0.4), (1, 0.4), (7, 0.7), (20 + k, 0.5)])
    items = toy.items()
    return items, {i.key for i in items[:24]}, [i.key for i in items[24:]]


def test_a_later_piece_joins_the_earlier_topic_its_wordings_are_closest_to() -> None:
    items, first, piece = a_need_and_a_later_piece()
    need, neighbour = [f"q:{k}" for k in range(4)], [f"q:{k}" for k in range(4, 8)]
    seen: list[tuple[float, float]] = []
    stands_out = TopicJoining._stands_out

    def noting(self: TopicJoining, source, target, sim, runner, run):  # type: ignore[no-untyped-def]
        if set(source._joined) == set(piece):
            seen.append((sim, runner[1]))
        return stands_out(self, source, target, sim, runner, run)

    TopicJoining._stands_out = noting  # type: ignore[method-assign]
    try:
        after, result, _ = two_runs(items, first)
    finally:
        TopicJoining._stands_out = stands_out  # type: ignore[method-assign]
    # the piece's centroid does not stand out by the margin: only its wordings tell the two needs apart
    assert seen and all(sim - runner_up < RESCUE_MARGIN for sim, runner_up in seen)
    assert {after[k] for k in (*need, *piece)} == {after["q:0"]} and after["q:0"] == 1  # the older id survives
    assert {after[k] for k in neighbour} == {after["q:4"]} != {after["q:0"]}
    assert not result.moved and not result.emptied  # no earlier question moved: the piece joined the need


def test_without_the_rule_or_above_its_floor_the_piece_stays_apart() -> None:
    items, first, piece = a_need_and_a_later_piece()
    follow = TopicJoining._members_follow
    TopicJoining._members_follow = lambda *_: False  # type: ignore[method-assign]
    try:
        before, _, _ = two_runs(items, first)
    finally:
        TopicJoining._members_follow = follow  # type: ignore[method-assign]
    assert before[piece[0]] == before[piece[1]] and before[piece[0]] not in {before["q:0"], before["q:4"]}
    # each wording's closest member of need 0 is below 0.2: with the floor there, the piece stays apart
    assert RESCUE_EARLIER_THRESHOLD < 0.2
    got, _, _ = two_runs(items, first, rescue_earlier_threshold=0.2)
    assert got[piece[0]] == got[piece[1]] and got[piece[0]] not in {got["q:0"], got["q:4"]}


def test_only_into_a_topic_whose_members_a_later_run_may_still_place_again() -> None:
    """Need 0 not movable, or larger with the piece than ``replace_size`` (4 + 2 > 5): a wrong join could not part
    again, so the piece stays apart."""
    items, first, piece = a_need_and_a_later_piece()
    assert two_runs(items, first, replace_size=6)[0][piece[0]] == two_runs(items, first)[0]["q:0"]
    for options, movable in (({}, False), ({"replace_size": 5}, True)):
        got, _, _ = two_runs(items, first, movable=movable, **options)
        assert got[piece[0]] == got[piece[1]] and got[piece[0]] not in {got["q:0"], got["q:4"]}


def test_a_lone_later_wording_is_left_to_the_margin() -> None:
    items, first, piece = a_need_and_a_later_piece(wordings=1)
    got, result, _ = two_runs(items, first)
    assert got[piece[0]] not in {got["q:0"], got["q:4"]} and result.placements[0].seeded


def test_a_later_piece_joining_its_need_is_deterministic() -> None:
    items, first, _ = a_need_and_a_later_piece()
    a, ra, _ = two_runs(items, first)
    b, rb, _ = two_runs(list(reversed(items)), first)
    assert a == b and ra.placements == rb.placements
