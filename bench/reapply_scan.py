"""What a reapply of the erasure ledger costs on a large database: the scan that collects every address and Slack
id stored (``privacy_repo.list_identities_stored``), the earlier way (one ``SELECT DISTINCT`` per text column: a
table with twelve text columns read twelve times) as the baseline, against the current one (one streamed query per
table, all its text columns together, the database passing on only the texts that may hold an address or an id),
in the same run on the same generated database.

Usage::

    python bench/reapply_scan.py                                   # SQLite, 50,000 questions (~450,000 rows)
    python bench/reapply_scan.py --questions 10000
    python bench/reapply_scan.py --database postgresql://…/scratch  # EMPTIED first: a scratch database only

The database: questions with their events, answers-free routings aside, search logs (with their JSON results),
audit entries (JSON before/after naming people), outbox messages and knowledge gaps, with Slack ids and addresses
spread through them as the product writes them. Wall-clock seconds (the database's own work is most of it), best of
``--repeat``; both ways must find the same sets.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, insert, select, text

from storage import privacy_repo
from storage.db import Database
from storage.models import AuditLog, Base, KnowledgeGap, OutboxMessage, Question, QuestionEvent, SearchLog

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# what the product's finder matches (``storage.privacy_repo``), as the baseline had them
ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
SLACK_ID = re.compile(r"(?<![A-Za-z0-9])[UW][A-Z0-9]{2,}(?![A-Za-z0-9])")
WORDS = [
    "leegstand",
    "heffing",
    "wonen",
    "europa",
    "subsidie",
    "klimaat",
    "mobiliteit",
    "parkeren",
    "armoede",
    "cultuur",
    "jeugd",
    "sport",
]


def per_column(session: Any) -> tuple[set[str], set[str]]:
    """The earlier ``list_identities_stored``: a ``SELECT DISTINCT`` of each column, streamed."""
    emails: set[str] = set()
    sids: set[str] = set()
    for cls, attribute, is_json in privacy_repo.list_person_attributes(keys=True):
        column: Any = getattr(cls, attribute)
        as_text = cast(column, Text) if is_json else column
        query = select(as_text).where(column.is_not(None)).distinct().execution_options(yield_per=1000)
        for value in session.execute(query).scalars():
            if not value:
                continue
            emails.update(f for found in ADDRESS.findall(value) for f in (found, found.lstrip("'.-")))
            sids.update(SLACK_ID.findall(value))
    return emails, sids


def _sid(rng: random.Random) -> str:
    return f"U0{rng.randrange(36**7):07X}"[:11]


def fill(db: Database, *, questions: int, seed: int) -> int:
    rng = random.Random(seed)
    people = [(_sid(rng), f"persoon{n}@stad{n % 300}.be") for n in range(max(50, questions // 20))]

    def words(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    rows = 0
    batch = 5000
    with db.engine.begin() as conn:
        for start in range(1, questions + 1, batch):
            ids = range(start, min(start + batch, questions + 1))
            sid_of = {i: rng.choice(people) for i in ids}
            conn.execute(
                insert(Question),
                [
                    {
                        "id": i,
                        "asker_slack_id": sid_of[i][0],
                        "asker_name": f"Persoon {i}",
                        "text": f"Wie weet iets over {words(12)}? Mail {sid_of[i][1]}" if i % 7 == 0 else words(20),
                        "context": words(30),
                        "created_at": NOW - timedelta(minutes=i),
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(QuestionEvent),
                [
                    {"question_id": i, "to_status": "routed", "actor": sid_of[i][0], "note": words(6), "at": NOW}
                    for i in ids
                    for _ in range(3)
                ],
            )
            conn.execute(
                insert(SearchLog),
                [
                    {
                        "query": words(8),
                        "user_slack_id": sid_of[i][0],
                        "channel_id": "C0CHANNEL1",
                        "results": {"experts": [{"id": n, "name": f"Expert {n}", "score": 0.5} for n in range(10)]},
                        "created_at": NOW,
                    }
                    for i in ids
                    for _ in range(2)
                ],
            )
            conn.execute(
                insert(AuditLog),
                [
                    {
                        "at": NOW,
                        "actor": f"staff:{sid_of[i][0]}",
                        "action": "update",
                        "entity_type": "expert",
                        "entity_key": sid_of[i][1],
                        "before": {"name": f"Persoon {i}", "email": sid_of[i][1], "bio": words(25)},
                        "after": {"name": f"Persoon {i}", "email": sid_of[i][1], "bio": words(25)},
                    }
                    for i in ids
                    for _ in range(2)
                ],
            )
            conn.execute(
                insert(OutboxMessage),
                [
                    {
                        "kind": "expert_request",
                        "recipient_slack_id": sid_of[i][0],
                        "question_id": i,
                        "payload": {"question_text": words(20), "asker": sid_of[i][0]},
                        "dedupe_key": f"expert_request:{i}:{sid_of[i][0]}",
                        "created_at": NOW,
                        "next_attempt_at": NOW,
                        "sent_at": NOW,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(KnowledgeGap),
                [
                    {"query": words(8), "normalized": words(6), "asker_slack_id": sid_of[i][0], "created_at": NOW}
                    for i in ids
                    if i % 4 == 0
                ],
            )
            rows += len(ids) * (1 + 3 + 2 + 2 + 1) + len([i for i in ids if i % 4 == 0])
    return rows


def best(fn: Callable[[], tuple[set[str], set[str]]], repeat: int) -> tuple[float, tuple[set[str], set[str]]]:
    times, found = [], (set[str](), set[str]())
    for _ in range(repeat):
        started = time.perf_counter()
        found = fn()
        times.append(time.perf_counter() - started)
    return min(times), found


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=50_000)
    p.add_argument("--database", metavar="URL", help="a scratch PostgreSQL database (emptied first)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(args.database or f"sqlite:///{Path(folder) / 'reapply.db'}")
        if db.dialect == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        started = time.perf_counter()
        rows = fill(db, questions=args.questions, seed=args.seed)
        if db.dialect == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        made = time.perf_counter() - started
        with db.session() as session:
            old_s, old = best(lambda: per_column(session), args.repeat)
            new_s, new = best(lambda: privacy_repo.list_identities_stored(session), args.repeat)
        if db.dialect == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.dispose()
    assert old == new, "the two ways found different identities"
    print(
        f"{db.dialect}: {args.questions} questions, {rows} rows ({made:.0f} s to make); "
        f"{len(new[0])} addresses, {len(new[1])} Slack-id-shaped values found; best of {args.repeat}, wall s"
    )
    print(f"{'way':<58} {'s':>7} {'x':>6}")
    print(f"{'per column, SELECT DISTINCT (baseline)':<58} {old_s:>7.2f} {1.0:>6.2f}")
    print(f"{'per table, one streamed query, only texts that may name':<58} {new_s:>7.2f} {old_s / new_s:>6.2f}")


if __name__ == "__main__":
    main()
