"""What a grouping run starts from, kept between runs: the collection statistics, fixed between full refits, and
the topics' sums, so an incremental run costs in proportion to what is new (no database, no Slack).

The statistics a question is weighed with — the terms' IDF, the centre of the meaning vectors and the compound
vocabulary of the questions' own words — are fitted on the whole collection in a **full refit** and then kept
fixed: later questions are weighed with them, and the topics (sums of their members' vectors) stay valid, so a
run only adds its new questions to the topics they join. A refit happens on the first run and whenever the
collection has grown by ``REFIT_GROWTH`` (10 %) since the last one (``needs_refit``): a refit run is the full
grouping run (every topic summed again under the new statistics; placed questions never move).

Each refit is recorded in the database (``need_fits``: the last placed item it was fitted on), so a process that
starts later — or that finds the placements changed by another process or an erasure — rebuilds exactly the same
statistics and topics from the stored placements (``GroupingCache`` is then made anew); when the only change is
items another replica placed after its last one under the same refit, it adds just those (``Topics._catch_up``).
The same sequence of data and runs therefore gives the same topics in a running bot, after a restart and in any
replica.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.needs.analysis import Concepts, QuestionVocabulary
from bot.needs.topic_space import Fit, MeaningRows, Topic, Vector, Words

REFIT_GROWTH = 0.1  # refit once the collection has grown by this share since the last refit


@dataclass(slots=True)
class GroupState:
    """The placed items' topics as a run leaves them, to place more items into (``Grouper.start`` / ``place``):
    every weighed item's word and meaning parts with the statistics ``fit``, the topics, their postings and
    meaning rows. ``touched``: the topics the last ``place`` changed (joined, left or made)."""

    fit: Fit
    rank: dict[str, tuple[object, ...]] = field(default_factory=dict)  # item key -> its processing order
    words: dict[str, Words] = field(default_factory=dict)
    meanings: dict[str, Vector] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    postings: dict[str, dict[int, float]] = field(default_factory=dict)
    space: MeaningRows | None = None
    touched: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Sums:
    """A topic's sums as they were before a run changed them (see ``settle``)."""

    centroid: dict[str, float]
    words2: float
    members: list[str]
    meaning: Vector | None
    norm2: float


Join = Callable[[Topic, str, Words, Vector | None, dict[str, dict[int, float]]], None]


def settle(
    state: GroupState,
    topic_ids: Sequence[int],
    joined: Mapping[int, list[str]],
    before: Mapping[int, Sums],
    join: Join,
) -> None:
    """Make the sums of the topics a run touched what ``Grouper.start`` would make of their members (summed in
    processing order by ``join``), so a kept state and a rebuilt one are the same: an earlier topic whose new
    members (``joined``: topic id -> this run's items in it) all come after its earlier ones gets its sums from
    ``before`` the run plus the new members (in proportion to what is new); any other topic is summed again."""
    space = state.space
    rank = state.rank.__getitem__
    for topic_id in topic_ids:
        topic = state.topics[topic_id]
        sums = before.get(topic_id)
        new = sorted(joined.get(topic_id, ()), key=rank)
        if sums is None or (sums.members and new and rank(new[0]) < rank(sums.members[-1])):
            resum(state, topic, join)
            continue
        for t in topic.centroid:
            if t not in sums.centroid:
                post = state.postings.get(t)
                if post is not None:
                    post.pop(topic_id, None)
        for t, x in sums.centroid.items():
            state.postings.setdefault(t, {})[topic_id] = x
        topic.centroid, topic.words2 = sums.centroid, sums.words2
        if space is not None and topic.row >= 0:
            if sums.meaning is None:
                space.matrix[topic.row] = 0.0
            else:
                space.matrix[topic.row] = sums.meaning
            space.norm2[topic.row] = sums.norm2
            space.set_words2(topic.row, topic.words2)
        for key in new:
            del topic._joined[key]
            join(topic, key, state.words[key], state.meanings.get(key), state.postings)
        topic.members = [*sums.members, *new]


def resum(state: GroupState, topic: Topic, join: Join) -> None:
    """Sum a topic again from its members in processing order (what ``Grouper.start`` gives)."""
    space = state.space
    members = sorted(topic._joined, key=state.rank.__getitem__)
    for t in topic.centroid:
        post = state.postings.get(t)
        if post is not None:
            post.pop(topic.id, None)
    topic.centroid = {}
    topic.words2 = 0.0
    topic._joined = {}
    if space is not None and topic.row >= 0:
        space.matrix[topic.row] = 0.0
        space.norm2[topic.row] = 0.0
        space.set_words2(topic.row, 0.0)
    for key in members:
        join(topic, key, state.words[key], state.meanings.get(key), state.postings)
    topic.members = members


def needs_refit(fitted: int | None, items: int, *, growth: float = REFIT_GROWTH) -> bool:
    """Whether a run over ``items`` questions and gaps refits: nothing fitted yet (``fitted`` None), or the
    collection has grown by ``growth`` since ``fitted`` items were fitted on."""
    return fitted is None or fitted <= 0 or items >= fitted * (1.0 + growth)


@dataclass(slots=True)
class GroupingCache:
    """A process's grouping state as its last committed run left it, valid while the database shows the same refit
    (``fit_id``) and the same placed items (``extent``: ``needs_repo.get_need_items_extent``, their count, last id
    and sums of their ids and topics) — any placement or move by another process, or deletion, changes the extent:
    new placements after the kept last id are added (``Topics._catch_up``), anything else rebuilds the state.
    An erasure records a new ``need_fits`` row (same statistics), so a
    text it redacted is never weighed or quoted from the kept state."""

    fit_id: int
    extent: tuple[int, ...]
    with_meaning: bool
    vocabulary: QuestionVocabulary
    state: GroupState
    # the weighed items' analyses by their text (for labels: a redacted text is analysed again)
    concepts: dict[str, Concepts] = field(default_factory=dict)

    def valid(self, *, fit_id: int | None, extent: tuple[int, ...], with_meaning: bool) -> bool:
        return self.fit_id == fit_id and self.extent == extent and self.with_meaning == with_meaning
