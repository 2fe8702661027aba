"""How an inbox request ends without its outcome (the worker in ``handlers.inbox`` calls these): retried with a
backoff, or given up after its last attempt (the user told once); and, for a kind that claims something for itself
(``Kind.ended_without``, e.g. a share claimed on a search), the undo of that claim, made durable.

The undo is noted on the request's row (``UNDO`` in its result) before it first runs, and the request stays
unfinished until the undo succeeded: a crash, a failing database or a Slack look-up that fails leaves the row to be
claimed again (by any worker, after a backoff), and then only the undo runs — never the request itself again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot import inbox as core
from bot.i18n import t
from handlers.services import slack_retry_after

if TYPE_CHECKING:
    from handlers.inbox import Kind
    from handlers.inbox_job import InboxJob

log = logging.getLogger("wieweet.inbox")

UNDO = "undo"  # on a request's result: it ended without its outcome, its undo is still to run ("done"/"failed")
UNDO_BACKOFF_CAP = timedelta(minutes=5)  # an undo that keeps failing is retried at least this often


def asked_wait(error: BaseException) -> timedelta:
    """How long Slack asked to wait before trying again when ``error`` (or what caused it) is a rate limit whose
    Retry-After was longer than the client waits in-process (``handlers.app.MAX_RATE_LIMIT_WAIT``); else nothing."""
    seen: BaseException | None = error
    for _ in range(5):
        if isinstance(seen, SlackApiError):
            return timedelta(seconds=slack_retry_after(seen) or 0)
        if seen is None:
            break
        seen = seen.__cause__
    return timedelta(0)


def language(job: InboxJob) -> str:
    """The user's language for a notice about their request (the default when it cannot be looked up)."""
    try:
        return job.language()
    except Exception:
        return job.services.settings.default_language


def give_up(
    job: InboxJob, entry: Kind | None, error: str, *, attempt: int, retry_at: datetime | None, now: datetime
) -> None:
    """Record failed attempt ``attempt``: retried at ``retry_at``, or (None) given up — the user told once (with a
    reference for the log) and what the request claimed undone."""
    if retry_at is None:
        if entry is not None and not (entry.ended_without is not None and entry.given_up is not None):
            try:
                entry.tell(job, t("slack.error", language(job), ref=job.ref))
            except Exception:
                log.exception("could not tell the user that request %s failed", job.key)
        log.error(
            "inbox request %s (%s) given up after %s attempts ref=%s", job.key, job.request.kind, attempt, job.ref
        )
    if retry_at is None and entry is not None and entry.ended_without is not None:
        try:  # noted before the undo first runs: a crash or a failing undo leaves it to be run again
            job.save(**{UNDO: "failed"})
        except Exception:  # the claim goes stale and the last attempt is run again
            log.exception("could not record the end of inbox request %s", job.key)
            return
        undo(job, entry, error, now=now, finish=lambda: None)
        return
    _mark_failed(job, error, retry_at=retry_at, now=now)


def undo(job: InboxJob, entry: Kind, error: str, *, now: datetime, finish: Callable[[], None]) -> None:
    """Undo what the ended request claimed (``Kind.ended_without``), then end it: ``finish`` (done) when it was
    refused with a message the user got, given up otherwise (the user told then, for a kind with ``Kind.given_up``).
    An undo that fails is retried with a backoff (growing, capped at ``UNDO_BACKOFF_CAP``), until it succeeds."""
    assert entry.ended_without is not None
    try:
        entry.ended_without(job)
    except Exception as failure:
        log.exception(
            "request %s (%s) ended without its outcome: undoing its claims failed, retried later",
            job.key,
            job.request.kind,
        )
        delay = min(UNDO_BACKOFF_CAP, timedelta(seconds=2 ** min(job.request.attempts + 1, 16)))
        _mark_failed(job, f"undo: {type(failure).__name__}: {failure}", retry_at=now + delay, now=now)
        return
    if job.result.get(UNDO) == "failed" and entry.given_up is not None:
        try:  # told after the undo, as it says what was undone (the kind's ``tell`` says it once)
            told = entry.given_up(job)
            if told is not None:  # None: the undo queued the notice in the outbox
                entry.tell(job, told)
        except Exception:
            log.exception("could not tell the user that request %s was given up", job.key)
    if job.result.get(UNDO) == "done":
        try:
            finish()
        except Exception:  # the claim goes stale: the undo (done, harmless again) runs once more, then done
            log.exception("could not finish inbox request %s after its undo", job.key)
        return
    _mark_failed(job, error, retry_at=None, now=now)


def _mark_failed(job: InboxJob, error: str, *, retry_at: datetime | None, now: datetime) -> None:
    try:
        core.mark_failed(
            job.services.db,
            request_id=job.request.id,
            claim=job.worker_id,
            error=error,
            retry_at=retry_at,
            now=now,
            forget_user=retry_at is None and job.erased_user,  # given up after erasing them: not named either
        )
    except Exception:  # the claim goes stale and the request (or its undo) is taken over
        log.exception("could not record the failure of inbox request %s", job.key)
