"""The register's own levels of the words' gap features: "nobody knows" read relative to the register itself.

An option (``MatchConfig.gap_levels``, ``WIEWEET_GAP_LEVELS=register``; off by default). The decision's features
that come from the words (``WORD_FEATURES``: how much of the question the best expert covers, how specific, in which
field, ...) have a level that depends on the register: on how redundant its profiles are, on how long they are. With
the option on, each is read as a z-score over the register's own pseudo-questions, measured from the register alone
(no label): for an expert with an expertise item, "Wie weet iets over <item>?" (the item picked by the expert's id),
asked

* of the whole register ("someone here"), and
* of the register without every document that names the item ("nobody here", as a real gap looks: no expert whose
  role, expertise or bio holds it, none of their practices and answers, no practice or answer naming it).

The meaning features are read as shipped (they are placed against the register already: the probes, the nearest
profile). A model fitted on such rows (``data/gap_model_levels.json``, ``bench/fit_gap_levels.py``) then decides.

Cost. "Without" is not a rebuild: the documents are left out of the candidates of one search
(``Matcher.word_gap_features``), so the IDFs stay the whole register's. At most ``LEVELS_SAMPLE`` pseudo-questions
(experts evenly spaced by id), two lexical searches each, whatever the register's size. Measured in the background
(``KnowledgeBase.embed_pending``, after the vectors), one search at a time under the caller's guard (the index
lock), so a request waits at most one of them; never in a request, an import or ``make demo``. Until the
levels are there (and whenever the semantic model is not the one deciding) the shipped model answers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from bot.errors import QueryError
from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc
from bot.matching.gapmodel import GapModel, validated

if TYPE_CHECKING:
    from bot.matching.engine import Matcher

# the shipped semantic model's features that come from the words alone (its meaning features are read as shipped)
WORD_FEATURES = (
    "confidence",
    "coverage",
    "core",
    "specificity",
    "heavy",
    "unknown",
    "practice",
    "concepts",
    "coverage_known",
    "uncovered",
    "foreign",
)
GAP_LEVELS = ("off", "register")  # the option's values
LEVELS_SAMPLE = 200  # pseudo-questions measured at most, at any register size
MIN_SD = 0.05  # a feature's spread over the pseudo-questions below this is taken as this (the features are shares)
LEVELS_LIMIT = 10  # the searches' depth (as the evaluation and the fit read the features)


@dataclass(frozen=True, slots=True)
class RegisterLevels:
    """Per words' feature: its mean and spread over the register's pseudo-questions (someone and nobody here
    together), and the register's state (``Matcher.state``) they were measured at."""

    levels: tuple[tuple[str, float, float], ...]
    questions: int  # pseudo-questions measured
    state: tuple[int, ...]

    def place(self, row: Mapping[str, float]) -> dict[str, float]:
        """``row`` with each words' feature replaced by its z-score over the register's pseudo-questions."""
        out = dict(row)
        for name, mean, sd in self.levels:
            out[name] = (row.get(name, 0.0) - mean) / sd
        return out


def pseudo_questions(experts: Iterable[ExpertDoc], sample: int = LEVELS_SAMPLE) -> list[tuple[ExpertDoc, str]]:
    """(expert, item) for at most ``sample`` experts with an expertise item, evenly spaced by id; the item picked by
    the expert's id, so the same every run."""
    chosen = sorted((e for e in experts if any(i.strip() for i in e.expertise)), key=lambda e: e.id)
    if len(chosen) > sample:
        chosen = [chosen[i * len(chosen) // sample] for i in range(sample)]
    out = []
    for e in chosen:
        items = [i for i in e.expertise if i.strip()]
        out.append((e, items[e.id % len(items)]))
    return out


def question(item: str) -> str:
    return f"Wie weet iets over {item}?"


_SEP = "\x00"


def _texts(docs: Mapping[str, Mapping[int, object]]) -> dict[str, list[tuple[int, str]]]:
    """Per kind, (id, the casefolded text of the fields an item is looked for in): an expert's role, expertise and
    bio; a practice's title, tags and summary; an answer's question and answer."""
    out: dict[str, list[tuple[int, str]]] = {"expert": [], "practice": [], "answer": []}
    for doc_id, d in docs.get("expert", {}).items():
        if isinstance(d, ExpertDoc):
            out["expert"].append((doc_id, _SEP.join((d.role, d.bio, *d.expertise)).casefold()))
    for doc_id, d in docs.get("practice", {}).items():
        if isinstance(d, PracticeDoc):
            out["practice"].append((doc_id, _SEP.join((d.title, d.summary, *d.tags)).casefold()))
    for doc_id, d in docs.get("answer", {}).items():
        if isinstance(d, AnswerDoc):
            out["answer"].append((doc_id, _SEP.join((d.question, d.answer)).casefold()))
    return out


def naming(
    docs: Mapping[str, Mapping[int, object]],
    texts: Mapping[str, list[tuple[int, str]]],
    item: str,
    expert_id: int,
) -> dict[str, frozenset[int]]:
    """The documents "nobody here" leaves out for ``item``: every expert naming it (and ``expert_id``), their
    practices and answers, and every practice and answer naming it."""
    key = item.casefold()
    gone = {i for i, t in texts["expert"] if key in t} | {expert_id}
    practices = {i for i, t in texts["practice"] if key in t}
    practices.update(
        i for i, d in docs.get("practice", {}).items() if isinstance(d, PracticeDoc) and d.contact_expert_id in gone
    )
    answers = {i for i, t in texts["answer"] if key in t}
    answers.update(i for i, d in docs.get("answer", {}).items() if isinstance(d, AnswerDoc) and d.expert_id in gone)
    return {"expert": frozenset(gone), "practice": frozenset(practices), "answer": frozenset(answers)}


def _mean_sd(xs: list[float]) -> tuple[float, float]:
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
    return mean, max(sd, MIN_SD)


def measure_levels(
    matcher: Matcher,
    *,
    sample: int = LEVELS_SAMPLE,
    guard: Callable[[], AbstractContextManager[object]] = nullcontext,
    stop: Callable[[], bool] | None = None,
) -> RegisterLevels | None:
    """The register's levels (None when it has no pseudo-question, or ``stop()`` said stop). Background work: every
    read of the matcher happens under ``guard()`` (the index lock), one search at a time."""
    with guard():
        docs = {kind: dict(matcher.documents(kind)) for kind in ("expert", "practice", "answer")}
        state = matcher.state()
    texts = _texts(docs)
    experts = [d for d in docs["expert"].values() if isinstance(d, ExpertDoc)]
    rows: list[dict[str, float]] = []
    for expert, item in pseudo_questions(experts, sample):
        if stop is not None and stop():
            return None
        without = naming(docs, texts, item, expert.id)
        q = question(item)
        try:
            with guard():  # one search at a time: a request waits for one at most
                here = matcher.word_gap_features(q, limit=LEVELS_LIMIT)
            with guard():
                nobody = matcher.word_gap_features(q, limit=LEVELS_LIMIT, without=without)
        except QueryError:
            continue
        rows.extend((here, nobody))
    if not rows:
        return None
    levels = tuple((f, *_mean_sd([r.get(f, 0.0) for r in rows])) for f in WORD_FEATURES)
    return RegisterLevels(levels, len(rows) // 2, state)


@cache
def levels_model() -> GapModel | None:
    """The model that reads the words' features placed against the register (``data/gap_model_levels.json``)."""
    try:
        raw = resources.files("bot.matching").joinpath("data", "gap_model_levels.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return validated("levels", GapModel.from_json(json.loads(raw)["model"]))
