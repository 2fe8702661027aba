"""Weekly digests for many channels over a busy week: collect, build and send times, and Slack's rate limit.

Usage::

    python bench/digest_bench.py                                    # 300 channels, 5,000 questions, 2,000 practices
    python bench/digest_bench.py --channels 50 --questions 1000 --practices 400 --threads 4

A temporary SQLite database gets the shipped themes, 800 invented experts (some opted out or withdrawn), one busy
week (Monday 16 – Monday 23 November 2026) with ``--questions`` questions (public, private, anonymous and from
private channels; most answered, some open) and ``--practices`` practice changes (new and updated), knowledge gaps,
and seven quieter weeks before it for the 8-week trend. ``--channels`` channels subscribe: most to all themes,
the rest to one to three themes; most on Monday 09:00, some on Wednesday 11:00 or Friday 16:00, in Dutch or English.

Measured, at Friday 27 November 17:00 (every schedule of the week has passed):

* collect: reading one window's data for all themes (shared by every channel with that schedule);
* build: turning the data into Block Kit messages for every channel (pure, no I/O);
* send: ``send_due_digests`` end to end with a fake Slack that answers at once (claims, builds, one commit per
  posted part) — sequentially, and with ``--threads`` workers each sending its share of the channels.

Slack allows about one message per second per channel. The fake post function counts messages per channel; the
wall time under that limit is a computed lower bound: a channel with n parts needs at least n − 1 seconds. Sending
channels in parallel, the whole run needs at least the longest channel's bound; one channel after the other, the
sum of all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the ``digests`` package: the repository root goes first, so the package wins.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlalchemy import insert, select

from bot.register.themes import ensure_default_themes
from digests.model import DigestData, SubscriptionView
from digests.schedule import digest_window, due_digests
from digests.sender import SendResult, SendStatus, collect_for
from handlers.blocks.digest import build_digest, message_text_length
from handlers.digest_post import send_digest, send_due_digests
from storage.db import Database
from storage.models import (
    Answer,
    Availability,
    Consent,
    DigestSubscription,
    Expert,
    KnowledgeGap,
    Outcome,
    Practice,
    Question,
    QuestionStatus,
    Theme,
    Visibility,
    expert_themes,
    practice_themes,
    question_themes,
)
from tests.factories import answer_row, expert_row, gap_row, practice_row, question_row

BRUSSELS = ZoneInfo("Europe/Brussels")
WEEK_START = datetime(2026, 11, 16, 9, tzinfo=BRUSSELS).astimezone(UTC)
WEEK_END = datetime(2026, 11, 23, 9, tzinfo=BRUSSELS).astimezone(UTC)
NOW = datetime(2026, 11, 27, 17, tzinfo=BRUSSELS).astimezone(UTC)
HISTORY_QUESTIONS_PER_WEEK = 600

CITIES = ("Aalst", "Antwerpen", "Brugge", "Genk", "Gent", "Hasselt", "Kortrijk", "Leuven", "Mechelen", "Oostende")
CITIES += ("Roeselare", "Sint-Niklaas", "Turnhout")
FIRST = ("An", "Bart", "Chloé", "Dries", "Els", "Fien", "Gert", "Hanne", "Ilse", "Jan", "Kaat", "Lotte", "Mehmet")
LAST = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "Dubois")
TOPICS = (
    "leegstandsheffing",
    "conformiteitsattest",
    "sociaal verhuurkantoor",
    "wijkwerking",
    "EFRO-aanvraag",
    "ESF-traject",
    "ontharding",
    "renovatiebegeleiding",
    "parkeerbeleid",
    "buurtbudget",
    "armoedetoets",
    "meerjarenplanning",
    "dataplatform",
    "winkelleegstand",
    "huurpremie",
)
ASKS = ("Wie weet iets over {}?", "Heeft een stad ervaring met {} in {}?", "Hoe pakken jullie {} aan in {}?")


def at(start: datetime, end: datetime, rng: random.Random) -> datetime:
    return start + (end - start) * rng.random()


def generate(database: Database, *, questions: int, practices: int, rng: random.Random) -> None:
    with database.session() as s:
        ensure_default_themes(s, now=WEEK_START - timedelta(days=400))
        theme_keys = list(s.scalars(select(Theme.key).order_by(Theme.position)))

    def themes() -> list[str]:
        return rng.sample(theme_keys, rng.choice((1, 1, 2, 2, 3)))

    with database.engine.begin() as conn:
        # experts: 800, 60 of them new this week; some opted out or withdrawn
        expert_rows = []
        for i in range(800):
            new = i < 60
            expert_rows.append(
                {
                    "id": i + 1,
                    **expert_row(
                        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        email=f"expert{i}@example.org",
                        slack=f"U0B{i:06d}" if rng.random() < 0.8 else None,
                        organisation=f"Stad {rng.choice(CITIES)}",
                        city=rng.choice(CITIES),
                        availability=Availability.OPTED_OUT if rng.random() < 0.08 else Availability.AVAILABLE,
                        consent=Consent.WITHDRAWN if rng.random() < 0.04 else Consent.CONFIRMED,
                        created_at=at(WEEK_START, WEEK_END, rng) if new else WEEK_START - timedelta(days=300),
                        updated_at=WEEK_START - timedelta(days=300),
                    ),
                    "languages": ["nl"],
                }
            )
        conn.execute(insert(Expert), expert_rows)
        conn.execute(
            insert(expert_themes), [{"expert_id": e["id"], "theme_key": k} for e in expert_rows for k in themes()]
        )

        # questions: the busy week plus seven quieter weeks of history
        question_rows, answer_rows, link_rows = [], [], []
        spans = [(WEEK_START, WEEK_END, questions)] + [
            (WEEK_START - timedelta(weeks=w), WEEK_START - timedelta(weeks=w - 1), HISTORY_QUESTIONS_PER_WEEK)
            for w in range(7, 0, -1)
        ]
        qid = 0
        for start, end, count in spans:
            for _ in range(count):
                qid += 1
                roll = rng.random()
                visibility = Visibility.PRIVATE if roll < 0.15 else Visibility.ANONYMOUS if roll < 0.25 else None
                private_channel = rng.random() < 0.05
                created = at(start, end, rng)
                answered = rng.random() < 0.65
                answered_at = created + timedelta(hours=rng.expovariate(1 / 20)) if answered else None
                status = (
                    QuestionStatus.ANSWERED
                    if answered
                    else rng.choice((QuestionStatus.OPEN, QuestionStatus.ROUTED, QuestionStatus.CLAIMED))
                )
                text = rng.choice(ASKS).format(rng.choice(TOPICS), rng.choice(CITIES))
                question_rows.append(
                    {
                        "id": qid,
                        **question_row(
                            f"{text} (#{qid})",
                            asker=f"U0A{rng.randrange(2000):06d}",
                            visibility=visibility or Visibility.PUBLIC,
                            status=status,
                            channel_id=f"C0Q{rng.randrange(40):06d}",
                            channel_is_private=private_channel,
                            thread_ts=f"1763{qid:06d}.000100",
                            created_at=created,
                            answered_at=answered_at,
                        ),
                    }
                )
                link_rows.extend({"question_id": qid, "theme_key": k} for k in themes())
                if answered:
                    assert answered_at is not None
                    for _ in range(rng.choice((1, 1, 1, 2))):
                        expert = rng.choice(expert_rows)
                        answer_rows.append(
                            {
                                "question_id": qid,
                                **answer_row(
                                    text,
                                    expert_id=expert["id"],
                                    name=expert["name"],
                                    slack_id=expert["slack_user_id"],
                                    organisation=expert["organisation"],
                                    created_at=answered_at,
                                ),
                            }
                        )
        conn.execute(insert(Question), question_rows)
        conn.execute(insert(question_themes), link_rows)
        conn.execute(insert(Answer), answer_rows)

        # practice changes: 60 % new this week, 40 % older ones updated this week
        practice_rows = []
        for pid in range(1, practices + 1):
            new = rng.random() < 0.6
            changed = at(WEEK_START, WEEK_END, rng)
            practice_rows.append(
                {
                    "id": pid,
                    **practice_row(
                        f"{rng.choice(TOPICS).capitalize()} — aanpak {pid}",
                        city=rng.choice(CITIES),
                        outcome=rng.choice((Outcome.GOOD, Outcome.GOOD, Outcome.MIXED, Outcome.FAILED)),
                        url=f"https://example.org/praktijk/{pid}",
                        created_at=changed if new else changed - timedelta(days=200),
                        updated_at=changed,
                    ),
                }
            )
        conn.execute(insert(Practice), practice_rows)
        conn.execute(
            insert(practice_themes), [{"practice_id": p["id"], "theme_key": k} for p in practice_rows for k in themes()]
        )

        conn.execute(
            insert(KnowledgeGap),
            [
                {
                    **gap_row(
                        f"{rng.choice(TOPICS)} in {rng.choice(CITIES)}",
                        normalized=f"gap {rng.randrange(150)}",
                        themes=themes() if rng.random() < 0.7 else [],
                        channel_id=f"C0Q{rng.randrange(40):06d}",
                        channel_is_private=rng.random() < 0.1,
                        created_at=at(WEEK_START, WEEK_END, rng),
                    ),
                    "source": "slack",
                }
                for _ in range(questions // 10)
            ],
        )


def subscribe_channels(database: Database, *, channels: int, rng: random.Random) -> None:
    with database.session() as s:
        keys = list(s.scalars(select(Theme.key)))
        for i in range(channels):
            weekday, hour, minute = rng.choices([(0, 9, 0), (2, 11, 0), (4, 16, 0)], weights=[8, 1, 1])[0]
            s.add(
                DigestSubscription(
                    channel_id=f"C0D{i:06d}",
                    themes=[] if rng.random() < 0.6 else rng.sample(keys, rng.choice((1, 2, 3))),
                    weekday=weekday,
                    hour=hour,
                    minute=minute,
                    language="en" if rng.random() < 0.2 else "nl",
                    post_empty=False,
                    created_at=WEEK_START - timedelta(days=30),
                    updated_at=WEEK_START - timedelta(days=30),
                )
            )


class FakeSlack:
    """Answers at once; counts messages per channel (thread-safe)."""

    def __init__(self) -> None:
        self.per_channel: Counter[str] = Counter()
        self.blocks_max = 0
        self.chars_max = 0
        self._lock = threading.Lock()

    def post(self, channel: str, blocks: list[Block], text: str) -> str:
        with self._lock:
            self.per_channel[channel] += 1
            self.blocks_max = max(self.blocks_max, len(blocks))
            self.chars_max = max(self.chars_max, message_text_length(blocks))
            return f"1764000000.{sum(self.per_channel.values()):06d}"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def fresh_copy(template: Path, directory: Path, name: str) -> Database:
    target = directory / name
    target.write_bytes(template.read_bytes())
    return Database(f"sqlite:///{target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--channels", type=int, default=300)
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--practices", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="wieweet-bench-") as tmp:
        directory = Path(tmp)
        template = directory / "template.db"
        database = Database(f"sqlite:///{template}")
        generate_time, _ = timed(
            lambda: generate(database, questions=args.questions, practices=args.practices, rng=rng)
        )
        subscribe_channels(database, channels=args.channels, rng=rng)
        with database.session() as s:
            due = [(SubscriptionView.from_subscription(sub), period) for sub, period in due_digests(s, now=NOW)]
        database.engine.dispose()

        # collect once per distinct window (all themes), then build every channel's digest from it
        cache: dict[tuple[datetime, datetime], DigestData] = {}
        collect_times = []
        for view, period in due:
            window = digest_window(view, period)
            if window not in cache:
                seconds, data = timed(lambda v=view, p=period: collect_for(database, v, p, now=NOW, all_themes=True))
                collect_times.append(seconds)
                cache[window] = data  # type: ignore[assignment]
        built: list[list[list[Block]]] = []

        def build_all() -> None:
            for view, period in due:
                data = cache[digest_window(view, period)]
                built.append(build_digest(data, subscription_view=view, period=period, now=data.window_end))

        build_time, _ = timed(build_all)
        parts = [len(messages) for messages in built]

        # send sequentially, end to end (claims, build, one commit per part) on a fresh copy
        slack = FakeSlack()
        sequential_db = fresh_copy(template, directory, "sequential.db")
        send_time, results = timed(lambda: send_due_digests(sequential_db, now=NOW, worker_id="bench", post=slack.post))
        sequential_db.dispose()
        statuses = Counter(r.status.value for r in results)  # type: ignore[union-attr]

        # send with N workers, each channel by one of them (the claim keeps every channel to one sender)
        threaded = FakeSlack()
        threaded_db = fresh_copy(template, directory, "threaded.db")
        channel_data = {view.channel_id: cache[digest_window(view, period)] for view, period in due}

        def send_one(item: tuple[SubscriptionView, str]) -> SendResult:
            view, period = item
            return send_digest(
                threaded_db,
                channel_id=view.channel_id,
                period=period,
                now=NOW,
                worker_id=f"bench-{threading.get_ident()}",
                post=threaded.post,
                data=channel_data[view.channel_id],
            )

        def send_threaded() -> list[SendResult]:
            with ThreadPoolExecutor(max_workers=args.threads) as pool:
                return list(pool.map(send_one, due))

        threaded_time, threaded_results = timed(send_threaded)
        threaded_db.dispose()
        threaded_statuses = Counter(r.status.value for r in threaded_results)  # type: ignore[union-attr]

    per_channel = [slack.per_channel[view.channel_id] for view, _ in due]
    sent_channels = [n for n in per_channel if n > 0]
    bound_parallel = max((n - 1 for n in sent_channels), default=0)
    bound_sequential = sum(n - 1 for n in sent_channels)
    messages_total = sum(per_channel)

    rows = [
        (
            "data",
            f"{args.questions:,} questions + {7 * HISTORY_QUESTIONS_PER_WEEK:,} history, "
            f"{args.practices:,} practice changes, generated in {generate_time:.1f} s",
        ),
        ("channels due", f"{len(due)} of {args.channels} ({len(cache)} distinct windows)"),
        (
            "collect (per window)",
            f"{statistics.mean(collect_times) * 1000:.0f} ms mean, "
            f"{sum(collect_times):.2f} s for {len(collect_times)} windows",
        ),
        ("build all channels", f"{build_time:.2f} s ({build_time / max(1, len(due)) * 1000:.1f} ms per channel)"),
        (
            "messages",
            f"{messages_total} in all; per channel min {min(parts, default=0)}, "
            f"median {statistics.median(parts) if parts else 0:g}, max {max(parts, default=0)}",
        ),
        ("largest message", f"{slack.blocks_max} blocks, {slack.chars_max:,} characters of text"),
        ("send, one by one (fake Slack)", f"{send_time:.2f} s — {dict(sorted(statuses.items()))}"),
        (
            f"send, {args.threads} threads (data shared)",
            f"{threaded_time:.2f} s — {dict(sorted(threaded_statuses.items()))}",
        ),
        ("Slack 1 msg/s/channel, parallel", f"≥ {bound_parallel} s (+ send overhead {threaded_time:.1f} s)"),
        ("Slack 1 msg/s/channel, one by one", f"≥ {bound_sequential} s (+ send overhead {send_time:.1f} s)"),
    ]
    notes = [
        "send one by one: send_due_digests end to end (collect per window, claim, build, commit per part);",
        f"send {args.threads} threads: send_digest per channel with the collected data (CPU-bound: the GIL);",
        "the Slack rows are lower bounds from the message counts: a channel with n parts needs ≥ n − 1 s.",
    ]
    width = max(len(name) for name, _ in rows)
    print(f"wieweet digest benchmark — {args.channels} channels, seed {args.seed}")
    print(f"{'measure':<{width}}  result")
    print(f"{'-' * width}  {'-' * 60}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    for note in notes:
        print(note)
    ok = statuses.get(SendStatus.SENT.value, 0) + statuses.get(SendStatus.EMPTY.value, 0) == len(due)
    ok = ok and threaded.per_channel == slack.per_channel
    if not ok:
        print("error: not every due digest was sent exactly once", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
