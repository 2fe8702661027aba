"""The stop signals of ``wieweet run``: the first SIGTERM or SIGINT asks for an orderly stop, a second ends it at once.

What anyone expects of a server: Ctrl-C (or SIGTERM from systemd, Kubernetes, ``docker stop``) stops it cleanly — the
requests in progress finish, the inbox worker and the jobs end, exit code 0. When that hangs (a Slack call that does
not return, a job that does not end), a second Ctrl-C ends the process at once, whatever it waits for, with one log
line saying the shutdown was cut short and exit code 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM),
as a shell reports a process ended by that signal. Nothing is lost by it: every acknowledged request, timer and
outgoing message is a row in the database, which the next start (or another replica) takes up.

One ``StopSignals`` is in place for the whole of ``run`` — starting, serving, shutting down — so a second signal
works in each of them. The serving loops (``handlers.app``) hang their own reaction to the first signal on it with
``on_stop`` (the HTTP server stops listening and leaves its loop).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger("wieweet.run")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code(signum: int) -> int:
    """What a process ended by signal ``signum`` exits with (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


class StopSignals:
    """SIGTERM and SIGINT for the time of a ``with`` block: the first sets ``requested`` (and runs the ``on_stop``
    action), a second ends the process at once (``cut_short``). ``exit_now``: how it ends (tests pass their own)."""

    def __init__(self, *, exit_now: Callable[[int], Any] = os._exit) -> None:
        self.requested = threading.Event()
        self._exit_now = exit_now
        self._on_stop: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._signalled)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.requested.is_set():
            # stopping: a second signal must still end the process while Python waits for its threads on the way out
            # (a worker thread stuck in a Slack call keeps it alive after ``run`` has returned)
            return
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def on_stop(self, action: Callable[[], None] | None) -> None:
        """Run ``action`` when the first stop signal comes (in the main thread, from the signal handler: it may raise
        ``KeyboardInterrupt`` to leave a loop the main thread is in). None: nothing beyond ``requested``."""
        self._on_stop = action

    def stopped_while_starting(self) -> bool:
        """Whether a stop was asked for while ``run`` started (then it stops before serving, with exit code 0)."""
        if self.requested.is_set():
            log.info("wieweet stopped while starting (a stop signal came before it served)")
            return True
        return False

    def _signalled(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested.is_set():
            self.cut_short(signum)
            return
        self.requested.set()
        action = self._on_stop
        if action is not None:
            action()

    def cut_short(self, signum: int) -> None:
        """A second stop signal: one log line, then the process ends at once — no waiting for threads, jobs or Slack
        calls (``os._exit``). The log's stream handler flushes each line it writes; the standard streams are flushed
        here (``os._exit`` skips that). Not ``logging.shutdown()``: it would wait for a handler another, stuck thread
        may hold."""
        name = signal.Signals(signum).name
        log.warning(
            "second stop signal (%s): shutdown cut short, exiting at once; the next start takes up what was unfinished",
            name,
        )
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed or broken stream: exit all the same
                stream.flush()
        self._exit_now(exit_code(signum))
