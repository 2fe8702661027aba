"""Chaos: kill -9 during a burst, a slow Slack, a locked database — is anything lost or doubled, are acks in time?

Usage::

    python bench/chaos.py                          # 200 mentions + 50 modal submissions, 5 repetitions
    python bench/chaos.py --mentions 40 --modals 10 --reps 2 --latency-requests 8
    WIEWEET_BENCH_POSTGRES_URL=postgresql://…/scratch python bench/chaos.py   # also on PostgreSQL (emptied!)

The real bot (``wieweet run``, as a subprocess) against the Slack emulator of ``tests/emulator``, on a SQLite file
with the demo register, and on PostgreSQL when ``WIEWEET_BENCH_POSTGRES_URL`` names a scratch database (its
schema is dropped), in HTTP and in Socket Mode.

1. Kill: a burst of ``--mentions`` mentions of the bot and ``--modals`` ask-modal submissions (one request every
   20 ms, in random order); the bot is killed with SIGKILL at a random moment in the first two thirds of the burst
   and started again at once. Slack's redelivery of unacked events is compressed to 1, 15 and 45 s; interactive
   requests sent while the bot is down are not acked and not retried (as in Slack). Counted per request after
   the bot settled: acked, answered (a reply in the mention's thread / a question in the database), lost (acked,
   never answered: must be 0), duplicated (answered twice or more: must be 0).
2. Ack latency under faults, ``--latency-requests`` each of mentions, ``/wieweet`` questions and ask-modal
   submissions sent together: baseline (no fault), Slack answering every Web API call after 5 s, and the database
   locked by another process for 16 s (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: every table but the inbox locked
   ``IN EXCLUSIVE MODE``). p50 and p99 of the ack latency (must be < 3 s), how many got their outcome in the end
   and how many users were shown an error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e import chaos  # noqa: E402


def databases(wanted: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = [("sqlite", None)]
    url = os.environ.get("WIEWEET_BENCH_POSTGRES_URL")
    if url:
        found.append(("postgresql", url))
    names = {n for n in wanted.split(",") if n}
    return [(name, u) for name, u in found if not names or name in names]


def fresh(url: str | None, workdir: Path, template: Path) -> str:
    return chaos.sqlite_demo(workdir, template) if url is None else chaos.postgres_demo(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--modals", type=int, default=50)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--latency-requests", type=int, default=10)
    parser.add_argument("--modes", default="http,socket")
    parser.add_argument("--databases", default="", help="sqlite,postgresql (default: every one available)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    failed = False
    with tempfile.TemporaryDirectory(prefix="wieweet-chaos-") as tmp:
        root = Path(tmp)
        (root / "template").mkdir()
        template = Path(chaos.sqlite_demo(root / "template").split("///", 1)[1])
        dbs = databases(args.databases)
        if not args.skip_kill:
            print(
                f"kill -9 during a burst of {args.mentions} mentions + {args.modals} modal submissions, "
                f"{args.reps} repetitions each (totals)"
            )
            header = (
                f"{'database':<11} {'mode':<7} {'kills':>5} | {'mentions':>8} {'acked':>6} {'answered':>8} "
                f"{'lost':>5} {'dup':>4} | {'modals':>6} {'acked':>6} {'made':>5} {'lost':>5} {'dup':>4} "
                f"| {'ack p50':>8} {'ack p99':>8} {'time':>6}"
            )
            print(header)
            print("-" * len(header))
            for name, url in dbs:
                for mode in modes:
                    total = chaos.ChaosResult(database=name, mode=mode)
                    started = time.monotonic()
                    for rep in range(args.reps):
                        workdir = root / f"kill-{name}-{mode}-{rep}"
                        workdir.mkdir()
                        db_url = fresh(url, workdir, template)
                        result = chaos.kill_run(
                            url=db_url,
                            mode=mode,
                            workdir=workdir,
                            mentions=args.mentions,
                            modals=args.modals,
                            seed=args.seed + rep,
                            database=name,
                        )
                        for attr in ("mentions", "modals"):
                            a, b = getattr(total, attr), getattr(result, attr)
                            for f in ("sent", "acked", "answered", "lost", "duplicated"):
                                setattr(a, f, getattr(a, f) + getattr(b, f))
                        total.kills += result.kills
                        total.latencies += result.latencies
                        total.problems += result.problems
                    m, q = total.mentions, total.modals
                    failed |= not total.ok
                    print(
                        f"{name:<11} {mode:<7} {total.kills:>5} | {m.sent:>8} {m.acked:>6} {m.answered:>8} "
                        f"{m.lost:>5} {m.duplicated:>4} | {q.sent:>6} {q.acked:>6} {q.answered:>5} {q.lost:>5} "
                        f"{q.duplicated:>4} | {chaos.percentile(total.latencies, 50):>7.3f}s "
                        f"{chaos.percentile(total.latencies, 99):>7.3f}s {time.monotonic() - started:>5.0f}s",
                        flush=True,
                    )
                    for problem in total.problems[:10]:
                        print(f"    {problem}")
        if not args.skip_latency:
            n = args.latency_requests
            print()
            print(f"ack latency: {n} mentions + {n} /wieweet questions + {n} modal submissions sent together")
            header = (
                f"{'database':<11} {'mode':<7} {'fault':<18} | {'sent':>4} {'acked':>5} {'ack p50':>8} "
                f"{'ack p99':>8} {'max':>7} | {'answered':>8} {'errors shown':>12}"
            )
            print(header)
            print("-" * len(header))
            faults = [("none", "baseline"), ("slow_slack", "Slack 5 s per call"), ("db_lock", "DB locked 16 s")]
            for name, url in dbs:
                for mode in modes:
                    for fault, label in faults:
                        workdir = root / f"lat-{name}-{mode}-{fault}"
                        workdir.mkdir()
                        db_url = fresh(url, workdir, template)
                        r = chaos.latency_run(
                            url=db_url, mode=mode, workdir=workdir, fault=fault, requests=n, database=name
                        )
                        failed |= r.p99 >= 3.0 or r.acked < r.sent
                        print(
                            f"{name:<11} {mode:<7} {label:<18} | {r.sent:>4} {r.acked:>5} {r.p50:>7.3f}s "
                            f"{r.p99:>7.3f}s {max(r.latencies or [0]):>6.3f}s | {r.answered:>4}/{r.sent:<3} "
                            f"{r.errors_shown:>12}",
                            flush=True,
                        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
