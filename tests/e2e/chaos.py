"""Chaos runs of the real bot against the Slack emulator: kill -9 during a burst, a slow Slack, a locked database.

Used by ``tests/e2e/test_chaos.py`` (small) and ``bench/chaos.py`` (the full table). A run counts, per kind of
request (mentions, ask-modal submissions): how many were sent, acked by the bot, answered (a reply in the
mention's thread; a question in the database), lost (acked and never answered: must be 0) and duplicated
(answered more than once: must be 0); and the ack latencies.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from psycopg.errors import DeadlockDetected
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.demo import load_demo
from bot.setting_values import normalise_database_url
from handlers import ids
from storage.db import Database, inbox_file
from storage.models import Base, Question
from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotProcess
from tests.emulator import Delivery, SlackEmulator

CHANNEL = "C0CHAOS01"
STAFF = "U0STAFF01"
TRIAGE = "C0TRIAGE1"
MENTION = "wie weet iets over leegstandsheffing op winkelpanden? (vraag {n})"
QUESTION = "Hoe pakken jullie leegstandsheffing op winkelpanden aan? (vraag {n})"
MONDAY = "2026-11-30T09:30:00+01:00"
ASKERS = 10  # people who mention the bot
# Slack redelivers an event whose ack it did not get (after ~0 s, 1 min, 5 min); compressed here, still long enough to
# span a restart of the bot.
RETRY_DELAYS = (1.0, 15.0, 45.0)


def asker(n: int) -> str:
    return f"U0CHAOS{n % ASKERS:02d}"


def modal_user(n: int) -> str:
    return f"U0MODAL{n:03d}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Counts:
    sent: int = 0
    acked: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0


@dataclass
class ChaosResult:
    database: str
    mode: str
    mentions: Counts = field(default_factory=Counts)
    modals: Counts = field(default_factory=Counts)
    kills: int = 0
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # which requests were lost or doubled

    @property
    def ok(self) -> bool:
        return not (self.mentions.lost or self.mentions.duplicated or self.modals.lost or self.modals.duplicated)


# --- databases -------------------------------------------------------------------------------------------------


def sqlite_demo(directory: Path, template: Path | None = None) -> str:
    """A SQLite file with the demo register (copied from ``template`` when given)."""
    path = directory / "wieweet.db"
    if template is not None:
        shutil.copy(template, path)
    else:
        database = Database(f"sqlite:///{path}")
        with database.session() as session:
            load_demo(session, now=datetime.now(UTC))
        database.dispose()
    return f"sqlite:///{path}"


def postgres_demo(url: str) -> str:
    """The PostgreSQL database at ``url`` emptied and loaded with the demo register."""
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    database = Database(normalise_database_url(url))
    with database.session() as session:
        load_demo(session, now=datetime.now(UTC))
    database.dispose()
    return url


@dataclass
class HeldLock:
    """The lock ``database_locked`` took: ``held`` is set from the moment it stands until just before it is let go."""

    thread: threading.Thread | None = None
    held: threading.Event = field(default_factory=threading.Event)


@contextmanager
def database_locked(url: str, seconds: float | None = None, *, inbox: bool = False) -> Iterator[HeldLock]:
    """Another process's long write: SQLite's write lock held (``BEGIN IMMEDIATE``), or on PostgreSQL every table
    of the schema but the inbox locked against writes (``LOCK TABLE ... IN EXCLUSIVE MODE``: reads go on, as in
    SQLite's WAL mode), in a thread; the block runs while it is held. Held until the block ends (``seconds`` None:
    what the block sees never depends on how fast the machine is), or for ``seconds`` (the chaos benchmark).
    ``inbox``: the inbox too (on SQLite its own file, ``storage.db.inbox_file``): nothing at all can be written."""
    lock = HeldLock()
    release = threading.Event()

    def wait() -> None:
        if seconds is None:
            release.wait()
        else:  # as long as that, whenever the block ends
            time.sleep(seconds)
        lock.held.clear()

    def hold() -> None:
        if url.startswith("sqlite"):
            path = Path(url.split("///", 1)[1])
            files = [path, inbox_file(path)] if inbox else [path]
            conns = [sqlite3.connect(file, timeout=30, isolation_level=None) for file in files]
            for conn in conns:
                conn.execute("BEGIN IMMEDIATE")
            lock.held.set()
            wait()
            for conn in conns:
                conn.execute("ROLLBACK")
                conn.close()
            return
        engine = create_engine(normalise_database_url(url))
        names = [t.name for t in Base.metadata.sorted_tables if inbox or t.name != "inbox_requests"]
        tables = ", ".join(f'"{name}"' for name in names)
        deadline = time.monotonic() + 25
        with engine.connect() as pg:
            # The tables are locked one after another: a bot transaction that holds a later one and waits for an
            # earlier one makes PostgreSQL abort one side as a deadlock. When it aborts this one, the bot goes on
            # and the lock is taken again, as another process's write would be retried.
            while True:
                try:
                    pg.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
                    break
                except OperationalError as exc:
                    pg.rollback()
                    if not isinstance(exc.orig, DeadlockDetected) or time.monotonic() > deadline:
                        raise
            lock.held.set()
            wait()
            pg.rollback()
        engine.dispose()

    lock.thread = threading.Thread(target=hold, daemon=True)
    lock.thread.start()
    if not lock.held.wait(30):
        raise RuntimeError("could not take the database lock")
    try:
        yield lock
    finally:
        release.set()
        lock.thread.join()


# How long the emulator waits for an ack (the e2e ``emulator`` fixture's window, and while the database is locked):
# far past Slack's 3 s, so a slow machine never fails a test, nor passes one whose bot was really late. Whether an ack
# waited for the bot's slow work is what ``acks_while_locked`` checks, by order, not by time.
ACK_WAIT = 60.0


@contextmanager
def acks_while_locked(
    emu: SlackEmulator, url: str, *, slack: bool = True, inbox: bool = False
) -> Iterator[Callable[[Delivery], None]]:
    """The bot's slow work held until the block ends: the database write-locked by another process
    (``database_locked``; ``inbox``: its inbox too) and, with ``slack``, every Web API call and response_url post
    left unanswered (``SlackEmulator.hold_slack``). The emulator notes, the moment each ack arrives, whether both
    still stood (``ack_probe``, ``Attempt.slack_held_at_ack``). Yields the check of a delivery: acked, and acked
    while both held — its ack waited for neither the database nor Slack. A delivery that has its answer is checked at
    once (its ack came inside the block, so while both held: an ack that waits for them never comes there, and the
    delivery ends unacked); one still waiting for its ack (sent with ``wait=False``) is checked once the block has let
    both go, when an ack withheld until then arrives and the probe reports that it came after the lock (or Slack)
    was let go. Slack's 3 s is a speed target for bench/, not asserted here."""
    timeout, emu.config.ack_timeout = emu.config.ack_timeout, max(ACK_WAIT, emu.config.ack_timeout)
    waiting: list[Delivery] = []

    def acked_under_the_lock(delivery: Delivery) -> None:
        if delivery.done.is_set():
            assert_acked_before_slow_work(delivery, slack=slack)
        else:
            waiting.append(delivery)

    try:
        with database_locked(url, inbox=inbox) as lock, emu.hold_slack() if slack else nullcontext():
            emu.ack_probe = lambda _delivery: lock.held.is_set()  # False once the lock is being let go
            yield acked_under_the_lock
        for delivery in waiting:  # both let go: an ack that waited for them comes now, and says so
            delivery.wait(ACK_WAIT * 2)
            assert_acked_before_slow_work(delivery, slack=slack)
    finally:
        emu.ack_probe = None
        emu.config.ack_timeout = timeout


def assert_acked_before_slow_work(delivery: Delivery, *, database: bool = True, slack: bool = True) -> None:
    """``delivery`` was acked while the database lock stood (``database``: the ``ack_probe`` said so) and while
    Slack was held (``slack``): it waited for neither."""
    final = delivery.final
    assert delivery.acked and final is not None, f"not acked while the bot's slow work was held: {delivery.summary()}"
    if database:
        assert final.at_ack is True, "acked only after the database lock was let go"
    if slack:
        assert final.slack_held_at_ack is True, "acked only after Slack was let go: the ack waited for a Slack call"


# --- the workspace and the bot ---------------------------------------------------------------------------------


def workspace(modals: int) -> SlackEmulator:
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    emu.config.retry_delays = RETRY_DELAYS
    emu.config.socket_wait = 8.0  # a Socket Mode delivery waits this long for the restarted bot to reconnect
    emu.start()
    people = [asker(n) for n in range(ASKERS)] + [modal_user(n) for n in range(modals)]
    for user in people:
        emu.add_user(user, name=user.lower(), real_name=f"Chaos {user[-3:]}", locale="nl-BE")
    emu.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    for n in range(1, 121):
        emu.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    emu.add_channel(CHANNEL, name="chaos", members=[*people, emu.bot_user_id])
    emu.add_channel(TRIAGE, name="triage", members=[STAFF, emu.bot_user_id])
    return emu


def bot_process(emu: SlackEmulator, url: str, mode: str, workdir: Path) -> BotProcess:
    clock = workdir / "now.txt"
    clock.write_text(MONDAY, encoding="utf-8")
    return BotProcess(
        emu,
        database_url=url,
        mode=mode,
        log_path=workdir / "bot.log",
        extra_env={
            "WIEWEET_FAKE_NOW_FILE": str(clock),
            "WIEWEET_JOB_INTERVAL": "1",
            "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
            "WIEWEET_STAFF_USER_IDS": STAFF,
        },
    )


def open_modals(emu: SlackEmulator, count: int) -> dict[int, str]:
    """Each modal user opens the ask modal (``/wieweet vraag``): n -> view id."""
    views: dict[int, str] = {}
    for n in range(count):
        user = modal_user(n)
        emu.send_command(user, CHANNEL, text="vraag")
        emu.wait_for(partial(emu.views, user), timeout=30)
        views[n] = str(emu.views(user)[-1]["id"])
    return views


def submit(emu: SlackEmulator, n: int, view_id: str) -> Delivery:
    return emu.submit_view(modal_user(n), view_id, {ids.BLOCK_ASK_TEXT: QUESTION.format(n=n)}, wait=False)


def mention(emu: SlackEmulator, n: int) -> Delivery:
    return emu.send_app_mention(asker(n), CHANNEL, f"<@{emu.bot_user_id}> {MENTION.format(n=n)}", wait=False)


# --- counting --------------------------------------------------------------------------------------------------


def bot_replies(emu: SlackEmulator, ts: str) -> int:
    return sum(1 for m in emu.thread(CHANNEL, ts) if m["ts"] != ts and m.get("user") == emu.bot_user_id)


def questions_by_text(url: str) -> dict[str, int]:
    engine = create_engine(normalise_database_url(url))
    try:
        with Session(engine) as session:
            rows = session.execute(select(Question.text, func.count()).group_by(Question.text)).all()
    finally:
        engine.dispose()
    return {str(t): int(c) for t, c in rows}


def count(
    emu: SlackEmulator, url: str, mentions: dict[int, Delivery], modals: dict[int, Delivery], result: ChaosResult
) -> None:
    questions = questions_by_text(url)
    m, q = Counts(sent=len(mentions)), Counts(sent=len(modals))
    for delivery in mentions.values():
        replies = bot_replies(emu, str(delivery.ts))
        m.acked += delivery.acked
        m.answered += replies > 0
        m.lost += delivery.acked and replies == 0
        m.duplicated += replies > 1
        if (delivery.acked and replies == 0) or replies > 1:
            result.problems.append(f"mention ts={delivery.ts} replies={replies}")
    for n, delivery in modals.items():
        made = questions.get(QUESTION.format(n=n), 0)
        q.acked += delivery.acked
        q.answered += made > 0
        q.lost += delivery.acked and made == 0
        q.duplicated += made > 1
        if (delivery.acked and made == 0) or made > 1:
            result.problems.append(f"modal {n} questions={made}")
    result.mentions, result.modals = m, q


def settle(
    emu: SlackEmulator, url: str, mentions: dict[int, Delivery], modals: dict[int, Delivery], timeout: float
) -> None:
    """Wait until every delivery is finished and every acked request has its outcome (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    for delivery in [*mentions.values(), *modals.values()]:
        delivery.done.wait(max(0.1, deadline - time.monotonic()))
    while time.monotonic() < deadline:
        questions = questions_by_text(url)
        waiting = [d for d in mentions.values() if d.acked and bot_replies(emu, str(d.ts)) == 0]
        waiting += [d for n, d in modals.items() if d.acked and not questions.get(QUESTION.format(n=n))]
        if not waiting:
            time.sleep(2.0)  # a late duplicate would show up now
            return
        time.sleep(0.5)


# --- the runs --------------------------------------------------------------------------------------------------


def kill_run(
    *,
    url: str,
    mode: str,
    workdir: Path,
    mentions: int,
    modals: int,
    seed: int,
    kills: int = 1,
    gap: float = 0.02,
    settle_timeout: float = 180.0,
    database: str = "",
) -> ChaosResult:
    """A burst of ``mentions`` mentions and ``modals`` ask-modal submissions; the bot is killed with SIGKILL at
    ``kills`` random moments during it and started again at once."""
    rng = random.Random(seed)
    emu = workspace(modals)
    bot = bot_process(emu, url, mode, workdir)
    result = ChaosResult(database=database or url.split(":", 1)[0], mode=mode)
    try:
        bot.start()
        views = open_modals(emu, modals)
        order = ["m"] * mentions + ["q"] * modals
        rng.shuffle(order)
        # ``gap`` between requests (0.02: 50 a second); the kills fall in the first two thirds of the burst
        kill_at = sorted(rng.uniform(0.1, max(0.2, len(order) * gap * 2 / 3)) for _ in range(kills))
        killer = threading.Thread(target=_killer, args=(bot, kill_at, result), daemon=True)
        sent_m: dict[int, Delivery] = {}
        sent_q: dict[int, Delivery] = {}
        started = time.monotonic()
        killer.start()
        for index, what in enumerate(order):
            time.sleep(max(0.0, started + index * gap - time.monotonic()))
            if what == "m":
                n = len(sent_m)
                sent_m[n] = mention(emu, n)
            else:
                n = len(sent_q)
                sent_q[n] = submit(emu, n, views[n])
        killer.join()
        settle(emu, url, sent_m, sent_q, settle_timeout)
        count(emu, url, sent_m, sent_q, result)
        result.latencies = [d.latency for d in [*sent_m.values(), *sent_q.values()] if d.acked and d.latency]
        bot.assert_no_slack_calls_in_transactions()
        return result
    finally:
        bot.stop()
        emu.stop()


def _killer(bot: BotProcess, at: list[float], result: ChaosResult) -> None:
    started = time.monotonic()
    for moment in at:
        time.sleep(max(0.0, started + moment - time.monotonic()))
        bot.kill()
        result.kills += 1
        bot.start(timeout=60)


@dataclass
class LatencyResult:
    database: str
    mode: str
    fault: str
    latencies: list[float]
    acked: int
    sent: int
    answered: int
    errors_shown: int

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


def latency_run(
    *,
    url: str,
    mode: str,
    workdir: Path,
    fault: str,
    requests: int,
    slow_seconds: float = 5.0,
    lock_seconds: float = 16.0,
    settle_timeout: float = 240.0,
    database: str = "",
) -> LatencyResult:
    """``requests`` mentions, as many ``/wieweet`` questions and as many ask-modal submissions, all at once, while
    Slack answers every call after ``slow_seconds`` (``fault="slow_slack"``) or while the database is locked
    for ``lock_seconds`` (``fault="db_lock"``). Ack latency of each; then how many got their outcome and how many
    users were shown an error."""
    emu = workspace(requests)
    bot = bot_process(emu, url, mode, workdir)
    try:
        bot.start()
        views = open_modals(emu, requests)
        deliveries: list[Delivery] = []
        mentions: dict[int, Delivery] = {}
        modals: dict[int, Delivery] = {}

        def burst() -> None:
            for n in range(requests):
                mentions[n] = mention(emu, n)
                modals[n] = submit(emu, n, views[n])
                deliveries.append(emu.send_command(asker(n), CHANNEL, text=f"leegstandsheffing vraag {n}", wait=False))
                time.sleep(0.05)

        if fault == "none":  # the baseline
            burst()
            for d in [*mentions.values(), *modals.values(), *deliveries]:
                d.done.wait(60)
        elif fault == "slow_slack":
            emu.set_latency(slow_seconds)
            burst()
            for d in [*mentions.values(), *modals.values(), *deliveries]:
                d.done.wait(60)
            emu.set_latency(0)
        elif fault == "db_lock":
            with database_locked(url, lock_seconds):
                burst()
                for d in [*mentions.values(), *modals.values(), *deliveries]:
                    d.done.wait(60)
        else:
            raise ValueError(fault)
        all_sent = [*mentions.values(), *modals.values(), *deliveries]
        settle(emu, url, mentions, modals, settle_timeout)
        answered_commands = _wait_for_command_answers(emu, requests, settle_timeout / 4)
        result = ChaosResult(database=database, mode=mode)
        count(emu, url, mentions, modals, result)
        errors = [e for e in emu.ephemerals() if "referentie" in str(e.get("text")) or "Er ging iets mis" in str(e)]
        dms = [c for c in emu.calls_to("chat.postMessage") if "Er ging iets mis" in str(c.params.get("text"))]
        bot.assert_no_slack_calls_in_transactions()
        return LatencyResult(
            database=database or url.split(":", 1)[0],
            mode=mode,
            fault=fault,
            latencies=[d.latency for d in all_sent if d.acked and d.latency is not None],
            acked=sum(d.acked for d in all_sent),
            sent=len(all_sent),
            answered=result.mentions.answered + result.modals.answered + answered_commands,
            errors_shown=len(errors) + len(dms),
        )
    finally:
        bot.stop()
        emu.stop()


def _wait_for_command_answers(emu: SlackEmulator, requests: int, timeout: float) -> int:
    def answered() -> int:
        return sum(1 for p in emu.response_posts if "blocks" in p["body"] and "leegstandsheffing" in str(p["body"]))

    deadline = time.monotonic() + timeout
    while answered() < requests and time.monotonic() < deadline:
        time.sleep(0.5)
    return answered()
