"""Routing under load: a burst of questions on a large register, the outbox drain, and the timer sweeper.

Usage::

    python bench/routing.py                                   # 10,000 experts, 500 questions, 100,000 timers
    python bench/routing.py --experts 500 --questions 20 --timers 2000

A register of N experts (plus N practices and 5N answered questions) is generated into a SQLite file with the same
generator as ``e2e_latency.py`` (every expert consenting, available and with a Slack id). When
``WIEWEET_BENCH_POSTGRES_URL`` is set, the same run is repeated on that (empty, scratch) PostgreSQL database.

Measured per database:

1. Burst: ``RoutingService.ask_question`` for each of ``--questions`` non-gap queries of ``bench/eval/queries.jsonl``
   (cycled), each in its own transaction; then the Slack layer's drain of the outbox: ``claim_outbox`` in batches
   and ``mark_outbox_sent`` (fake ts) per message, each in its own transaction = time until all DMs are sent.
   SQL statements are counted with a ``before_cursor_execute`` listener on the engine.
2. Sweeper: ``--timers`` open ``Timer`` rows are bulk-inserted (routing kinds), all due in the future (question and
   routing null) except ``--due`` of them (pointing at the burst's questions and routings). Then one
   ``run_due_timers`` pass when nothing is due, and one pass handling the due ones (``limit`` = ``--due``), with
   ``RoutingService.handle_timer``.

Baseline in the same run: ``KnowledgeBase.search`` of the same questions (the matching alone, no database), so the
routing overhead (records, selection, outbox, timers, commits) is the difference with the ask times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import e2e_latency  # noqa: E402
from _data import EVAL  # noqa: E402
from e2e_latency import build_register  # noqa: E402
from sqlalchemy import event, insert, select, text, update  # noqa: E402

from bot.knowledge import KnowledgeBase  # noqa: E402
from bot.outbox import claim_outbox, mark_outbox_sent  # noqa: E402
from bot.routing import BusinessCalendar, RoutingPolicy, RoutingService  # noqa: E402
from bot.routing.timers import run_due_timers  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Availability, Expert, OutboxMessage, Question, Routing, Timer  # noqa: E402

# Monday 23 November 2026, 10:00 in Brussels: a plain business day (as in tests/routing).
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Brussels")).astimezone(UTC)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000 if ordered else float("nan")


class StatementCounter:
    def __init__(self, database: Database) -> None:
        self.count = 0
        event.listen(database.engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_args: Any) -> None:
        self.count += 1

    @contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        out: dict[str, float] = {}
        start_n, start_t = self.count, time.perf_counter()
        try:
            yield out
        finally:
            out["seconds"] = time.perf_counter() - start_t
            out["statements"] = self.count - start_n


def load_questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [r["query"] for r in rows if not r.get("gap")]
    return [queries[i % len(queries)] for i in range(n)]


def prepare(database: Database) -> None:
    """Every expert gets a Slack id and is available (the generated register has neither set)."""
    with database.session() as s:
        s.execute(update(Expert).values(slack_user_id=text("'U' || id"), availability=Availability.AVAILABLE))
        if database.dialect == "postgresql":  # ids were inserted explicitly: move the sequences past them
            for table in ("experts", "practices", "questions", "answers"):
                s.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )


def build_postgres(url: str, *, experts: int) -> Database:
    # Reuse the generator: ``build_register`` opens ``Database("sqlite:///<path>")``; point it at PostgreSQL.
    module = vars(e2e_latency)
    original = module["Database"]
    module["Database"] = lambda _url: original(url)
    try:
        build_register(Path("unused"), experts=experts)
    finally:
        module["Database"] = original
    return Database(url)


def run(database: Database, *, label: str, questions: list[str], timers: int, due: int, seed: int) -> list[str]:
    rows: list[str] = []
    prepare(database)
    counter = StatementCounter(database)
    t = time.perf_counter()
    kb = KnowledgeBase(database)
    kb.load()
    load_s = time.perf_counter() - t
    service = RoutingService(knowledge=kb, policy=RoutingPolicy(), calendar=BusinessCalendar())
    n = len(questions)

    # --- baseline: the matching alone -----------------------------------------------------------------------
    search_times: list[float] = []
    with counter.measure() as base:
        for q in questions:
            t = time.perf_counter()
            kb.search(q, now=NOW)
            search_times.append(time.perf_counter() - t)

    # --- 1. the burst ---------------------------------------------------------------------------------------
    ask_times: list[float] = []
    qids: list[int] = []
    with counter.measure() as asks:
        for i, q in enumerate(questions):
            t = time.perf_counter()
            with database.session() as s:
                qids.append(
                    service.ask_question(
                        s,
                        asker_slack_id=f"UASKER{i:05d}",
                        asker_name=f"Asker {i}",
                        text=q,
                        channel_id="C0BENCH01",
                        thread_ts=f"1700000000.{i:06d}",
                        now=NOW,
                    ).id
                )
            ask_times.append(time.perf_counter() - t)
    with database.session() as s:
        statuses = Counter(str(v) for v in s.scalars(select(Question.status).where(Question.id.in_(qids))))
        routing_ids = list(s.execute(select(Routing.id, Routing.question_id).where(Routing.question_id.in_(qids))))
        outbox_n = len(list(s.scalars(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None)))))

    sent = 0
    send_at = NOW + timedelta(seconds=1)
    with counter.measure() as drain:
        while batch := claim_outbox(database, now=send_at, worker_id="bench", limit=50):
            for m in batch:
                with database.session() as s:
                    sent += mark_outbox_sent(
                        s, message_id=m.id, ts=f"1700000001.{m.id:06d}", channel=f"D{m.id}", now=send_at
                    )

    # --- 2. the sweeper -------------------------------------------------------------------------------------
    rng = random.Random(seed)
    kinds = sorted(service.timer_kinds)
    targets: list[tuple[int | None, int]] = [(rid, qid) for rid, qid in routing_ids] or [(None, q) for q in qids]
    due_at = NOW + timedelta(minutes=1)  # the due timers; the sweep "now" comes after this
    future = NOW + timedelta(days=1)
    timer_rows = []
    for i in range(timers):
        # The due ones point at the burst's routings; the future ones stand for other questions' timers (null ids:
        # only 500 questions exist, and piling 200 timers on each would distort the per-question updates).
        rid, qid = targets[i % len(targets)] if i < due else (None, None)
        timer_rows.append(
            {
                "kind": kinds[i % len(kinds)],
                "due_at": due_at if i < due else future + timedelta(minutes=rng.randrange(60 * 24 * 60)),
                "question_id": qid,
                "routing_id": rid,
                "expert_id": None,
                "attempts": 0,
                "last_error": "",
                "created_at": NOW,
            }
        )
    with counter.measure() as ins, database.session() as s:
        for start in range(0, len(timer_rows), 10_000):
            s.execute(insert(Timer), timer_rows[start : start + 10_000])
    with database.session() as s:
        open_timers = len(list(s.scalars(select(Timer.id).where(Timer.done_at.is_(None)))))

    with counter.measure() as idle:
        idle_run = run_due_timers(
            database,
            now=NOW + timedelta(seconds=30),
            worker_id="bench",
            handler=service.handle_timer,
            limit=max(due, 1),
            kinds=service.timer_kinds,
        )
    sweep_now = NOW + timedelta(minutes=2)
    handler_s: defaultdict[str, float] = defaultdict(float)

    def timed_handler(session: Any, timer: Timer, now: datetime) -> object:
        t = time.perf_counter()
        try:
            return service.handle_timer(session, timer, now)
        finally:
            handler_s[timer.kind.value] += time.perf_counter() - t

    with counter.measure() as busy:
        busy_run = run_due_timers(
            database,
            now=sweep_now,
            worker_id="bench",
            handler=timed_handler,
            limit=max(due, 1),
            kinds=service.timer_kinds,
        )
    outcomes = Counter(o.split(":")[0].split(" ")[0] for o in busy_run.outcomes.values())
    kb.close()

    def line(name: str, seconds: float, statements: float, count: int, unit: str) -> str:
        per = 1000 * seconds / count if count else float("nan")
        spc = statements / count if count else float("nan")
        return f"{name:<40}{seconds:>9.2f}{per:>10.2f}{statements:>10.0f}{spc:>10.1f}{count:>8} {unit}"

    rows.append(f"\n== {label} ==   knowledge base load {load_s:.2f} s")
    rows.append(f"{'':<40}{'total s':>9}{'ms/item':>10}{'stmts':>10}{'stmts/it':>10}{'items':>8}")
    rows.append(line("baseline: KnowledgeBase.search", base["seconds"], base["statements"], n, "questions"))
    rows.append(line("ask_question (own transaction each)", asks["seconds"], asks["statements"], n, "questions"))
    rows.append(line("outbox drain (claim 50 + mark_sent)", drain["seconds"], drain["statements"], sent, "messages"))
    rows.append(
        line(
            "burst total: ask + all DMs sent",
            asks["seconds"] + drain["seconds"],
            asks["statements"] + drain["statements"],
            n,
            "questions",
        )
    )
    rows.append(line(f"insert {timers} timers (bulk)", ins["seconds"], ins["statements"], timers, "timers"))
    rows.append(
        line("sweep, nothing due", idle["seconds"], idle["statements"], 1, f"pass ({len(idle_run.claimed)} claimed)")
    )
    rows.append(line("sweep, due timers handled", busy["seconds"], busy["statements"], len(busy_run.claimed), "timers"))
    rows.append(
        f"ask p50 {pct(ask_times, 50):.2f} ms  p95 {pct(ask_times, 95):.2f} ms  max {pct(ask_times, 100):.2f} ms   "
        f"search p50 {pct(search_times, 50):.2f} ms  p95 {pct(search_times, 95):.2f} ms"
    )
    rows.append(
        f"questions {dict(statuses)}   routings {len(routing_ids)}   outbox {outbox_n} queued / {sent} sent   "
        f"open timers at sweep {open_timers}"
    )
    rows.append(
        f"due pass: claimed {len(busy_run.claimed)} done {len(busy_run.done)} failed {len(busy_run.failed)} "
        f"lost {len(busy_run.lost)}   outcomes {dict(outcomes)}"
    )
    rows.append(
        f"due pass: time inside handle_timer {sum(handler_s.values()):.2f} s of {busy['seconds']:.2f} s, by kind "
        + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(handler_s.items()))
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--timers", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=1_000, help="how many of the timers are due at the second sweep")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    due = min(args.due, args.timers)
    questions = load_questions(args.questions)
    print(
        f"register: {args.experts} experts, {args.experts} practices, {5 * args.experts} answers; "
        f"{len(questions)} questions; {args.timers} timers ({due} due)"
    )
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t = time.perf_counter()
        build_register(path, experts=args.experts, seed=args.seed)
        print(f"SQLite register built in {time.perf_counter() - t:.1f} s")
        database = Database(f"sqlite:///{path}")
        try:
            out += run(
                database, label="SQLite (file)", questions=questions, timers=args.timers, due=due, seed=args.seed
            )
        finally:
            database.dispose()
    pg_url = os.environ.get("WIEWEET_BENCH_POSTGRES_URL")
    if pg_url:
        t = time.perf_counter()
        database = build_postgres(pg_url, experts=args.experts)
        print(f"PostgreSQL register built in {time.perf_counter() - t:.1f} s")
        try:
            out += run(database, label="PostgreSQL", questions=questions, timers=args.timers, due=due, seed=args.seed)
        finally:
            database.dispose()
    print("\n".join(out))


if __name__ == "__main__":
    main()
