"""How work queues (timers, the outbox) retry: claims that go stale, attempts, exponential backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    stale_claim_after: timedelta = timedelta(minutes=10)  # a claim older than this is a crashed worker's
    max_attempts: int = 8  # give up (and keep the error) after this many failures
    retry_base: timedelta = timedelta(minutes=1)  # backoff: base * 2 ** (attempts - 1), capped
    retry_cap: timedelta = timedelta(hours=1)

    def backoff(self, attempts: int) -> timedelta:
        """How long to wait before retry number ``attempts`` (1 = after the first failure)."""
        delay = self.retry_base * (1 << min(max(0, attempts - 1), 30))
        return min(delay, self.retry_cap)
