"""Requests a person was told about once already, so that Slack's redelivery of one (a retry of an event, a replay)
tells them nothing more: the network check's "could not check" (``handlers.network``) and an error before the ack
(``handlers.errors``).

This process remembers a request for ``TOLD_TTL`` (``SeenOnce``); every other process sharing the database learns
it from the deduplication keys Slack deliveries already claim (``bot.inbox``, ``processed_events``, kept for their
retention), under a kind of the caller's: the key is written after the acknowledgement, on the caller's pool, and
read only where the caller asks for it. A key held before an ack that could not be sent is forgotten again.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from bot import inbox as inbox_core
from storage.db import Database

log = logging.getLogger(__name__)

TOLD_TTL = 600.0  # seconds a request told once is remembered in this process
TOLD_KEPT = 10_000


class SeenOnce:
    """Keys remembered for ``ttl`` seconds (at most ``kept``; the oldest go first)."""

    def __init__(self, *, ttl: float = TOLD_TTL, kept: int = TOLD_KEPT, clock: Callable[[], float]) -> None:
        self.ttl, self.kept, self.clock = ttl, kept, clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            self._expire(now)
            return key in self._seen

    def remember(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._remember(key, now)

    def first(self, key: str) -> bool:
        """True only for a key not remembered yet, which is remembered now (one check and note, for two threads)."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            if key in self._seen:
                return False
            self._remember(key, now)
            return True

    def forget(self, key: str) -> None:
        """``key`` not remembered any more (what it stood for did not happen after all)."""
        with self._lock:
            self._seen.pop(key, None)

    def _remember(self, key: str, now: float) -> None:
        self._expire(now)
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self.kept:
            self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self.ttl:
                return
            del self._seen[key]


class ToldOnce:
    """Requests told once (``key``: what Slack keeps when it delivers the request again): here (``SeenOnce``) and,
    with a ``database``, for the other processes as the deduplication key ``<kind>:<key>``, noted through ``later``
    (the caller's pool: after the ack)."""

    def __init__(
        self,
        *,
        kind: str,
        clock: Callable[[], float],
        database: Database | None,
        now: Callable[[], datetime],
        later: Callable[[Callable[[], None]], object],
    ) -> None:
        self.kind, self._database, self._now, self._later = kind, database, now, later
        self._here = SeenOnce(clock=clock)

    def told_before(self, key: str, *, ask_database: bool = True) -> bool:
        """Whether ``key`` was told: here, or (``ask_database``) by another process."""
        if self._here.seen(key):
            return True
        return ask_database and self._claimed(key)

    def first(self, key: str, *, ask_database: bool = True) -> bool:
        """True (and remembered, ``remember``) only for a key not told before, here or (``ask_database``) by another
        process; two threads of this process asking at once: one gets True."""
        if not self._here.first(key):
            return False
        if ask_database and self._claimed(key):
            return False
        self._note(key)
        return True

    def remember(self, key: str, *, later: Callable[[Callable[[], None]], object] | None = None) -> None:
        """Remember ``key`` as told: here at once, for the other processes after the ack (through ``later`` when
        given: a place kept for it, else the caller's pool)."""
        self._here.remember(key)
        self._note(key, later)

    def hold(self, key: str) -> None:
        """Remember ``key`` as told here, before the ack; ``note`` it once Slack has the ack, or ``forget`` it when
        the ack could not be sent (Slack delivers the request again: it is told then)."""
        self._here.remember(key)

    def note(self, key: str, *, later: Callable[[Callable[[], None]], object] | None = None) -> None:
        """Note ``key`` for the other processes (through ``later`` when given: a place kept for it, else the
        caller's pool); nothing without a database."""
        self._note(key, later)

    def forget(self, key: str) -> None:
        """``key`` held but never told: this process asks again (nothing was noted for the others)."""
        self._here.forget(key)

    def _claimed(self, key: str) -> bool:
        if self._database is None:
            return False
        try:
            return inbox_core.delivery_claimed(self._database, key=f"{self.kind}:{key}")
        except Exception:  # the database cannot say: told as a new request
            log.warning("could not read whether %s was told before (%s)", key, self.kind, exc_info=True)
            return False

    def _note(self, key: str, later: Callable[[Callable[[], None]], object] | None = None) -> None:
        database = self._database
        if database is None:
            return
        now = self._now()

        def note() -> None:
            try:
                with database.session() as session:
                    inbox_core.claim_delivery(session, key=f"{self.kind}:{key}", kind=self.kind, now=now)
            except Exception:  # only this process knows then: logged, the person was told all the same
                log.warning("could not note %s (%s) for the other processes", key, self.kind, exc_info=True)

        (later or self._later)(note)
