"""The Slack ids of experts marked away because Slack said their account was gone (deactivated, or unknown to it), as
the ``user_change`` matcher reads them before the ack (``handlers.profile_change.worth_a_look``): every member's
status or title change is such an event, so the ids are read from the database at most once a ``TTL`` (one query). A
process's own marks (every marking path calls ``marked``) and reactivations are seen at once; another process's only
within the ``TTL``. In that window a reactivation's ``user_change`` delivered to this process is not matched:
acknowledged, not recorded, and not sent again. The job runner closes it: it asks Slack once about each mark once
every process has read it (``handlers.reactivations``), so such a reactivation takes effect within about ``TTL`` +
30 s and a job interval, not never. A database that cannot be read is logged once, and tried again a ``TTL`` later,
meanwhile the last ids read stand."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.register.marked import ACCOUNT_GONE_REASONS, list_marked_away_ids
from storage.db import Database
from storage.session import Session

log = logging.getLogger(__name__)

TTL = 60.0  # seconds


def _load(session: Session) -> frozenset[str]:
    return list_marked_away_ids(session, reasons=ACCOUNT_GONE_REASONS)


class MarkedAwayCache:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        load: Callable[[Session], frozenset[str]] = _load,
        ttl: float = TTL,
    ) -> None:
        self._clock, self._load, self._ttl = clock, load, ttl
        self._ids: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._failing = False
        self._lock = threading.Lock()

    def ids(self, db: Database) -> frozenset[str]:
        """The ids marked away as deactivated (read again once the last read is a ``TTL`` old)."""
        with self._lock:
            now = self._clock()
            if self._read_at is not None and now - self._read_at < self._ttl:
                return self._ids
            self._read_at = now
            try:
                with db.session() as session:
                    self._ids = frozenset(self._load(session))
            except Exception as exc:  # the last ids read stand; tried again a TTL later
                if not self._failing:
                    log.warning("user_change: could not read who is marked away (%r): tried again in a minute", exc)
                self._failing = True
                return self._ids
            if self._failing:
                log.info("user_change: who is marked away could be read again")
            self._failing = False
            return self._ids

    def marked(self, user_id: str) -> None:
        """This process marked ``user_id`` away as deactivated."""
        with self._lock:
            self._ids = self._ids | {user_id}

    def cleared(self, user_id: str) -> None:
        """This process made ``user_id`` available again."""
        with self._lock:
            self._ids = self._ids - {user_id}
