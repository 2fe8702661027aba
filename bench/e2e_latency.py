"""End-to-end latency of "who knows" in Slack: the real ``wieweet run`` process against the Slack emulator.

Usage::

    python bench/e2e_latency.py                       # 10,000 experts, 20 concurrent users, both modes
    python bench/e2e_latency.py --experts 1000 --rounds 5 --modes socket

A register of N experts (plus N practices and 5N answered questions) is generated into a SQLite file with the same
generator as ``latency_matching.py``. Then 20 simulated users each mention the bot with a question, concurrently,
for several rounds. Measured per request:

* ack: time from the emulator sending the delivery to the bot's ack (HTTP response / Socket Mode ack);
* answer: time from the emulator sending the delivery to the bot's ``chat.postMessage`` with the answer.

Baseline in the same run: ``/wieweet help`` through the same process — every layer (delivery, ack, unit of work,
locale, respond) except the search — so the difference is what matching and rendering cost under load.
Targets (issue): ack p99 < 300 ms, answer p95 < 1 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _data import load_queries, load_register  # noqa: E402
from latency_matching import Generator  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.register.themes import ensure_default_themes  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    Answer,
    Consent,
    Expert,
    Practice,
    Question,
    QuestionStatus,
    expert_themes,
    practice_themes,
)
from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotProcess  # noqa: E402
from tests.emulator import SlackEmulator  # noqa: E402


def build_register(path: Path, *, experts: int, seed: int = 7) -> None:
    gen = Generator(load_register(), seed)
    database = Database(f"sqlite:///{path}")
    now = datetime.now(UTC)
    with database.session() as session:
        ensure_default_themes(session, now=now)
        exp = [gen.expert(i) for i in range(1, experts + 1)]
        session.execute(
            insert(Expert),
            [
                {
                    "id": d.id,
                    "email": f"x{d.id}-{d.email}",
                    "name": d.name,
                    "organisation": d.organisation,
                    "city": d.city,
                    "role": d.role,
                    "expertise": list(d.expertise),
                    "languages": list(d.languages),
                    "bio": d.bio,
                    "consent": Consent.CONFIRMED,
                    "created_at": now,
                    "updated_at": now,
                }
                for d in exp
            ],
        )
        session.execute(insert(expert_themes), [{"expert_id": d.id, "theme_key": k} for d in exp for k in d.themes])
        pra = [gen.practice(i, experts) for i in range(1, experts + 1)]
        session.execute(
            insert(Practice),
            [
                {
                    "id": d.id,
                    "title": f"{d.title} #{d.id}",
                    "city": d.city,
                    "summary": d.summary,
                    "organisation": d.organisation,
                    "tags": list(d.tags),
                    "lessons": d.lessons,
                    "url": d.url,
                    "year": d.year,
                    "contact_expert_id": d.contact_expert_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for d in pra
            ],
        )
        session.execute(insert(practice_themes), [{"practice_id": d.id, "theme_key": k} for d in pra for k in d.themes])
        ans = [gen.answer(i, experts) for i in range(1, experts * 5 + 1)]
        session.execute(
            insert(Question),
            [
                {
                    "id": d.id,
                    "text": d.question,
                    "status": QuestionStatus.RESOLVED,
                    "created_at": now,
                    "updated_at": now,
                }
                for d in ans
            ],
        )
        session.execute(
            insert(Answer),
            [
                {
                    "question_id": d.id,
                    "expert_id": d.expert_id,
                    "answered_by_name": d.answered_by,
                    "text": d.answer,
                    "created_at": now,
                }
                for d in ans
            ],
        )
    database.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000 if ordered else float("nan")


def run_mode(mode: str, db_url: str, *, users: int, rounds: int, tmp: Path) -> dict[str, list[float]]:
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()
    user_ids = [f"U0BENCH{i:03d}" for i in range(users)]
    for i, uid in enumerate(user_ids):
        emu.add_user(uid, name=f"user{i}", locale="nl-BE" if i % 3 else "en-GB")
    emu.add_channel("C0BENCH01", name="bench", members=[*user_ids, emu.bot_user_id])
    bot = BotProcess(emu, database_url=db_url, mode=mode, log_path=tmp / f"bot-{mode}.log").start(timeout=120)
    queries = [q.query for q in load_queries() if not q.gap]
    rng = random.Random(3)
    results: dict[str, list[float]] = {"ack": [], "answer": [], "baseline_ack": [], "baseline_answer": []}
    try:
        # warm-up: every user once (locale lookups, connections), not measured
        with ThreadPoolExecutor(users) as pool:
            list(pool.map(lambda u: emu.send_command(u, "C0BENCH01", text="help"), user_ids))
        emu.wait_for(lambda: len(emu.response_posts) >= users, timeout=60)

        def mention(user: str) -> tuple[float, float]:
            started = time.time()  # wall clock: the emulator stamps Web API calls with time.time()
            delivery = emu.send_app_mention(user, "C0BENCH01", f"<@{emu.bot_user_id}> {rng.choice(queries)}")
            ts = delivery.payload["event"]["ts"]
            call = emu.wait_for_call(
                "chat.postMessage", predicate=lambda c: c.params.get("thread_ts") == ts, timeout=60
            )
            assert delivery.final is not None and delivery.final.latency is not None
            return delivery.final.latency, call.time - started

        def help_command(user: str) -> tuple[float, float]:
            before = len(emu.response_posts)
            started = time.monotonic()
            delivery = emu.send_command(user, "C0BENCH01", text="help")
            emu.wait_for(lambda: any(p["user"] == user for p in emu.response_posts[before:]), timeout=60)
            finished = time.monotonic()
            assert delivery.final is not None and delivery.final.latency is not None
            return delivery.final.latency, finished - started

        for _ in range(rounds):
            with ThreadPoolExecutor(users) as pool:
                for ack, answer in pool.map(mention, user_ids):
                    results["ack"].append(ack)
                    results["answer"].append(answer)
            with ThreadPoolExecutor(users) as pool:
                for ack, answer in pool.map(help_command, user_ids):
                    results["baseline_ack"].append(ack)
                    results["baseline_answer"].append(answer)
    finally:
        bot.stop()
        emu.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--modes", default="socket,http")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        db_path = tmp / "bench.db"
        started = time.monotonic()
        build_register(db_path, experts=args.experts)
        print(
            f"register: {args.experts} experts, {args.experts} practices, {args.experts * 5} answers "
            f"generated in {time.monotonic() - started:.1f} s"
        )
        print(f"{args.users} concurrent users x {args.rounds} rounds per mode\n")
        header = f"{'mode':<8} {'request':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        print(header)
        print("-" * len(header))
        for mode in args.modes.split(","):
            res = run_mode(mode, f"sqlite:///{db_path}", users=args.users, rounds=args.rounds, tmp=tmp)
            for label, key in (
                ("who knows: ack", "ack"),
                ("who knows: answer", "answer"),
                ("baseline help: ack", "baseline_ack"),
                ("baseline help: reply", "baseline_answer"),
            ):
                xs = res[key]
                print(
                    f"{mode:<8} {label:<22} {len(xs):>5} {pct(xs, 50):>8.1f} {pct(xs, 95):>8.1f} "
                    f"{pct(xs, 99):>8.1f} {max(xs) * 1000:>8.1f}"
                )
        print("\ntargets: ack p99 < 300 ms, answer p95 < 1000 ms")


if __name__ == "__main__":
    main()
