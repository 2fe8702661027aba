"""``wieweet run``'s job scheduler stops quietly when ``shutdown`` comes while its loop removes a one-off job that just
ran (an outbox kick): APScheduler 3.11 marks itself stopped before it takes the job stores' lock, so the loop looked
for that job among the pending ones only, and its thread died with ``JobLookupError`` (a traceback in the log; seen in
a CI run of ``tests/edge/test_socket_down.py``). Reproduced by order: the executor flips the state as ``shutdown``
does first, at the moment the job is handed to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from bot.jobs import StoppableScheduler


def stopping_while_submitted(scheduler: Any) -> Any:
    class Executor(ThreadPoolExecutor):  # type: ignore[misc]
        def submit_job(self, job: Any, run_times: Any) -> None:
            super().submit_job(job, run_times)
            scheduler.state = STATE_STOPPED  # ``shutdown``'s first step, before it waits for the job stores' lock

    return Executor(1)


def prepared(scheduler_class: type[Any]) -> Any:
    """A scheduler started with one due one-off job, its loop's thread doing nothing: ``_process_jobs`` is called in
    this thread, as the loop would."""

    class Idle(scheduler_class):  # type: ignore[misc,valid-type]
        def _main_loop(self) -> None:
            pass

    scheduler = Idle(timezone="UTC")
    scheduler.start()
    scheduler.add_executor(stopping_while_submitted(scheduler), "stopping")
    scheduler.add_job(lambda: None, "date", run_date=datetime.now(UTC), executor="stopping")
    return scheduler


def test_apschedulers_own_scheduler_fails_so_the_test_can_tell() -> None:
    scheduler = prepared(BackgroundScheduler)
    with pytest.raises(JobLookupError):
        scheduler._process_jobs()


def test_the_job_runners_scheduler_stops_quietly() -> None:
    scheduler = prepared(StoppableScheduler)
    assert scheduler._process_jobs() is None  # no next wake-up: the loop ends
