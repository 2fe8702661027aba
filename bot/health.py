"""What ``/healthz`` answers: the database and Slack, from cached checks, so a probe costs (almost) nothing.

A load balancer may probe every second from several places, unauthenticated. So a probe never calls the Slack Web
API and never waits for Slack:

- database: ``ping()`` at most once per ``db_ttl`` (a few seconds); probes arriving while a ping runs answer with
  the last result instead of queueing behind it;
- Slack: the last known result of ``auth.test``, as ``"ok"`` or ``"down"`` only. The endpoint answers anyone who
  can reach the port, so it shows no internal detail: why Slack refused the token (``token_revoked``) is in the log
  (WARNING, at each check that fails) and, for the digests waiting on it, in ``wieweet queued list``.
  When it is older than ``slack_ttl`` a probe starts one refresh in the background and answers at once with the
  last known state, so there is at most one ``auth.test`` per ``slack_ttl`` however often the load balancer asks.
  The process starts with "ok": it only starts serving after Bolt's own ``auth.test`` accepted the token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Check = Callable[[], bool]
# Slack's check: True when the token works; False, or Slack's refusal of it (``token_revoked``), when not
SlackCheck = Callable[[], bool | str]

DB_TTL = timedelta(seconds=5)
SLACK_TTL = timedelta(seconds=60)


def in_background(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="wieweet-health", daemon=True).start()


@dataclass
class _Cached:
    ok: bool | None = None
    checked_at: datetime | None = None
    running: bool = False

    def stale(self, now: datetime, ttl: timedelta) -> bool:
        # A clock that went backwards (a test's fake clock, a corrected wall clock) counts as stale too.
        return self.checked_at is None or now - self.checked_at >= ttl or now < self.checked_at


class HealthMonitor:
    def __init__(
        self,
        *,
        ping_database: Check,
        check_slack: SlackCheck,
        clock: Clock,
        db_ttl: timedelta = DB_TTL,
        slack_ttl: timedelta = SLACK_TTL,
        run_in_background: Callable[[Callable[[], None]], None] = in_background,
    ) -> None:
        self._ping_database = ping_database
        self._check_slack = check_slack
        self._clock = clock
        self._db_ttl = db_ttl
        self._slack_ttl = slack_ttl
        self._background = run_in_background
        self._lock = threading.Lock()
        self._db_ping = threading.Lock()  # one ping at a time; the others use the last result
        self._db = _Cached()
        self._slack = _Cached(ok=True, checked_at=clock())

    def status(self) -> tuple[bool, dict[str, str]]:
        """``(healthy, details)`` for the probe's JSON; never blocks on Slack, at most on one database ping."""
        db_ok = self._database()
        slack_ok = self._slack_state()
        # Coarse states only: why Slack refused the token is the log's (``_refresh_slack``), never a public answer's
        details = {"database": "ok" if db_ok else "down", "slack": "ok" if slack_ok else "down"}
        return db_ok and slack_ok, details

    def _database(self) -> bool:
        with self._lock:
            cached = self._db.ok
            fresh = not self._db.stale(self._clock(), self._db_ttl)
        if fresh and cached is not None:
            return cached
        # The first probe ever waits for its ping; later ones answer with the last result while a ping runs.
        if not self._db_ping.acquire(blocking=cached is None):
            return bool(cached)
        try:
            with self._lock:
                if self._db.ok is not None and not self._db.stale(self._clock(), self._db_ttl):
                    return self._db.ok  # another probe pinged while this one waited
            ok = self._ping_database()
            with self._lock:
                self._db = _Cached(ok=ok, checked_at=self._clock())
            return ok
        finally:
            self._db_ping.release()

    def _slack_state(self) -> bool:
        with self._lock:
            ok = bool(self._slack.ok)
            if self._slack.running or not self._slack.stale(self._clock(), self._slack_ttl):
                return ok
            self._slack.running = True
        self._background(self._refresh_slack)
        return ok

    def _refresh_slack(self) -> None:
        try:
            answer = self._check_slack()
        except Exception:  # a health check reports, it does not raise
            log.warning("Slack health check failed", exc_info=True)
            answer = False
        ok, why = answer is True, answer if isinstance(answer, str) else ""
        if not ok:
            log.warning(
                "Slack is not reachable or refuses the bot token (auth.test%s); /healthz reports it",
                f": {why}" if why else "",
            )
        with self._lock:
            self._slack = _Cached(ok=ok, checked_at=self._clock())
