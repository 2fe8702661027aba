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
statistics and topics from the stored placements (``GroupingCache`` is then made anew). The same sequence of data
and runs therefore gives the same topics in a running bot, after a restart and in any replica.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.needs.analysis import Concepts, QuestionVocabulary
from bot.needs.grouping import GroupState

REFIT_GROWTH = 0.1  # refit once the collection has grown by this share since the last refit


def needs_refit(fitted: int | None, items: int, *, growth: float = REFIT_GROWTH) -> bool:
    """Whether a run over ``items`` questions and gaps refits: nothing fitted yet (``fitted`` None), or the
    collection has grown by ``growth`` since ``fitted`` items were fitted on."""
    return fitted is None or fitted <= 0 or items >= fitted * (1.0 + growth)


@dataclass(slots=True)
class GroupingCache:
    """A process's grouping state as its last run left it, valid while the database shows the same refit
    (``fit_id``) and the same placed items (``extent``: their count and the last need item id) — any placement
    by another process or deletion changes the extent, and the state is rebuilt from the database."""

    fit_id: int
    extent: tuple[int, int]
    with_meaning: bool
    vocabulary: QuestionVocabulary
    state: GroupState
    concepts: dict[str, Concepts] = field(default_factory=dict)  # every weighed item's analysis (for labels)

    def valid(self, *, fit_id: int | None, extent: tuple[int, int], with_meaning: bool) -> bool:
        return self.fit_id == fit_id and self.extent == extent and self.with_meaning == with_meaning
