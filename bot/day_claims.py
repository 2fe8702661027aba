"""Daily jobs run once per UTC day over all processes sharing one database: the day is claimed in the database
(a ``processed_events`` key), so only the process that claimed it first does the day's work.

``claim_day`` claims the day in the caller's transaction (the job's work and the claim commit or roll back
together). ``claim_day_run`` claims it for a long run, committed at once: the claim is renewed while the run goes
and marked done at its end (``DayRun``), so a run that stopped halfway is taken over by a later pass once its
claim is stale. The job runner (``bot.jobs``) uses both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import privacy_repo, slack_repo
from storage.db import Database
from storage.session import Session


def claim_day(session: Session, *, kind: str, now: datetime) -> bool:
    """Claim the UTC day of ``now`` for the daily job ``kind`` (a ``processed_events`` key): True in the one process
    that inserted the day's key first (read back, not taken from the insert's row count), in ``session``'s
    transaction (a claim rolled back with the job's work is claimed again by the next pass)."""
    key, token = f"{kind}:{now.date().isoformat()}", f"{kind[:10]}:{uuid.uuid4().hex[:24]}"
    slack_repo.create_processed_event(session, event_key=key, kind=token, now=now)
    return privacy_repo.get_processed_event_kind(session, event_key=key) == token


# A day's run claimed (``claim_day_run``) and not renewed for this long stopped halfway (a crash, a failure): the
# next pass of any process takes it over. A run renews its claim while it goes (``DayRun.keep``).
DAY_RUN_STALE = timedelta(minutes=15)
DAY_RUN_RENEW = timedelta(minutes=1)
DONE, HELD = "done", "held"
# A day's run that failed this many times (over all processes; a lasting refusal such as a revoked token or a
# missing scope) is marked done: tried again tomorrow, not every time its claim goes stale.
DAY_RUN_ATTEMPTS = 3


class DayRun:
    """A daily job's run claimed for the UTC day of ``now`` (``claim_day_run``): renewed while it goes, marked
    done at its end; while neither, it is taken over by a later pass once stale."""

    def __init__(self, db: Database, *, key: str, token: str, clock: Callable[[], datetime]) -> None:
        self.db, self.key, self.token, self.clock = db, key, token, clock
        self._renewed = clock()

    def keep(self) -> bool:
        """Renew the claim (at most once per ``DAY_RUN_RENEW``); False when another process took it over."""
        now = self.clock()
        if now - self._renewed < DAY_RUN_RENEW:
            return True
        with self.db.session() as session:
            kept = slack_repo.update_processed_event_claim(
                session, event_key=self.key, kind=self.token, now=now, held_by=self.token
            )
        self._renewed = now
        return kept

    def done(self) -> None:
        with self.db.session() as session:
            slack_repo.update_processed_event_claim(
                session, event_key=self.key, kind=f"done:{self.token}", now=self.clock(), held_by=self.token
            )

    def failed(self) -> int:
        """Record that this attempt failed; how many attempts of the day failed, over all processes, this one too."""
        now, prefix = self.clock(), f"{self.key}:failed:"
        with self.db.session() as session:
            slack_repo.create_processed_event(session, event_key=f"{prefix}{self.token}", kind="failed", now=now)
            return slack_repo.count_processed_events(session, key_prefix=prefix, since=now - timedelta(days=2))


def claim_day_run(db: Database, *, kind: str, clock: Callable[[], datetime]) -> DayRun | str:
    """Claim today's run of the daily job ``kind`` (committed): a ``DayRun`` for the one process that claimed it
    first — or took over a claim not renewed for ``DAY_RUN_STALE`` and never marked done — else ``DONE`` (done
    today) or ``HELD`` (another process is running it: asked again at a later pass). Yesterday's run still going
    (renewed within ``DAY_RUN_STALE``, not done) holds today's too: a run crossing midnight is not joined by a second.
    """
    now = clock()
    key, token = f"{kind}:{now.date().isoformat()}", f"{kind[:10]}:{uuid.uuid4().hex[:24]}"
    yesterday = f"{kind}:{(now.date() - timedelta(days=1)).isoformat()}"
    with db.session() as session:
        if slack_repo.get_live_processed_event_claim(session, event_key=yesterday, renewed_since=now - DAY_RUN_STALE):
            return HELD
        slack_repo.create_processed_event(session, event_key=key, kind=token, now=now)
        held = privacy_repo.get_processed_event_kind(session, event_key=key) or ""
        if held != token and not held.startswith("done:"):
            taken = slack_repo.update_processed_event_claim(
                session, event_key=key, kind=token, now=now, stale_before=now - DAY_RUN_STALE
            )
            held = token if taken else held
    if held == token:
        return DayRun(db, key=key, token=token, clock=clock)
    return DONE if held.startswith("done:") else HELD
