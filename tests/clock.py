"""A settable clock for the code under test: it calls the clock for "now", the test moves ``now``; nothing sleeps.

``Clock(NOW)`` stands in for a wall clock (``datetime``), ``Clock(1000.0)`` for a monotonic one (seconds).
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Clock(Generic[T]):
    def __init__(self, now: T) -> None:
        self.now = now

    def __call__(self) -> T:
        return self.now
