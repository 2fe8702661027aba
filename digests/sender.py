"""Sending a digest exactly once per channel per ISO week, resumable after a crash.

1. Claim: ``claim_digest_run`` inserts (channel, period) — the database lets exactly one process have it. A run
   still ``claimed`` long after its claim (``STALE_AFTER``) is a crashed sender's: it is taken over (compare-and-set
   on the previous holder) and resumed. The claim's time is the ``clock``'s when it is made, not the pass's start
   (a pass over hundreds of channels runs longer than ``STALE_AFTER``), and it is renewed before each part is posted
   and as each part is recorded: only a sender that stopped is taken for a crashed one, so another replica's pass
   never posts a channel this one is posting.
2. Build: collect the data (one transaction), checked again just before it is rendered for this channel (a pass
   over many channels shares one collection: someone erased or who said stop since is no longer named,
   ``collect.without_gone``); the ``outlet`` renders it as messages (the Slack layer's Block Kit).
3. Post part by part through the ``outlet`` (``post(channel, message) -> ts``); after each post the ts
   is appended to ``parts_sent`` and committed, so a resume continues at ``len(parts_sent)`` and never re-posts a
   recorded part. A part is posted only while the claim is still this sender's (renewed just before). (A crash
   between Slack accepting a part and the commit can repeat that one part: Slack has no idempotency key for
   chat.postMessage.)
4. Finish: ``sent`` — or ``empty`` when nothing happened and the channel does not want empty digests — with the
   ``clock``'s time then (``sent_at``: when the channel's last part was posted, not when the pass began).

The core knows nothing of Slack: ``DigestOutlet`` is how a digest becomes messages and reaches a channel
(``handlers.digest_post`` is Slack's).

A ``post`` raising ``PermanentPostError`` marks the run ``failed`` (not retried this week); when it says the channel
is gone for the bot (``subscriptions.CHANNEL_GONE``: archived, deleted, the bot removed) the subscription is turned
off too and staff are told once (``subscriptions.stop_gone_channel``): not tried again next week; any other such
failure is logged at ERROR (it needs the operator: a channel shared with another organisation); a pass that held a
run's refusal until it knew whose it was fails it so afterwards (``fail_held_run``);
``OperatorRefusalError`` (a missing scope, a bad token) keeps the claim, so the run is tried again once stale and
goes out once the operator fixed it (the poster logs it and tells staff); ``RetryLaterError`` (Slack's rate limit
with a Retry-After) keeps the claim and moves its ``claimed_at`` so that it turns stale exactly when that wait ends,
counted from the refusal (``clock``, or the run's ``now`` plus the time this sender measured since it started), not
from the run's start: no sender, this one or another replica's, takes it up before then (every takeover is the
database's compare-and-set on a stale claim), nor later than needed; ``ServiceUnreachableError`` (the chat service
out of reach, met by a post, a look-up or a permalink while rendering) stops the pass: the run it was sending is
given up at once (``_give_up``: stale already, nothing marked sent or failed; the next pass sends it after the other
channels), the channels after it are not claimed, and the error carries the results before it (``results``); any
other exception is recorded on the run (a post without an answer in time among them: it may have been posted), which
stays claimed and is resumed once stale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from time import monotonic
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.text import mask_secrets, printable, shown_text
from digests.collect import collect_digest_data, without_gone
from digests.errors import (
    ChatServiceError,
    OperatorRefusalError,
    PermanentPostError,
    Refused,
    RetryLaterError,
    ServiceUnreachableError,
)
from digests.model import DigestData, LeftOut, PrivateChannel, SubscriptionView, quoted_questions
from digests.period import TIMEZONE, parse_period
from digests.refusals import create_held_mark, last_refused, refused_last
from digests.schedule import STALE_AFTER, digest_window, due_digests, history_bounds
from digests.subscriptions import CHANNEL_GONE, stop_gone_channel
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus

log = logging.getLogger(__name__)

Message = TypeVar("Message")


class DigestOutlet(Protocol[Message]):
    """How a digest becomes messages and reaches a channel (Slack's: ``handlers.digest_post.SlackOutlet``)."""

    def render(self, data: DigestData, view: SubscriptionView, *, period: str) -> Sequence[Message]:
        """The digest as messages, in order; empty: nothing to post (a quiet week, ``post_empty`` off)."""
        ...

    def post(self, channel_id: str, message: Message) -> str:
        """Post one message; its ts. Raises ``PermanentPostError`` when retrying cannot help."""
        ...


class SendStatus(StrEnum):
    SENT = "sent"
    EMPTY = "empty"  # nothing new, and the channel does not want empty digests
    SKIPPED = "skipped"  # another process has (or had) this week's run
    FAILED = "failed"  # permanent error: not retried this week
    RETRY = "retry"  # transient error: the claim stays; resumed after the stale timeout (or Slack's Retry-After)
    LOST_CLAIM = "lost_claim"  # another process took the run over while this one was posting
    NO_SUBSCRIPTION = "no_subscription"
    ERROR = "error"  # building failed (a bug or the database); logged


@dataclass(frozen=True, slots=True)
class SendResult:
    channel_id: str
    period: str
    status: SendStatus
    parts_total: int = 0
    parts_posted: int = 0  # by this call
    resumed: bool = False
    error: str = ""  # the error recorded on the run (``_error_text``)
    refused: Refused | None = None  # what the chat service refused, when it was asked and refused


Clock = Callable[[], datetime]


def elapsed_clock(now: datetime) -> Clock:
    """A clock that reads ``now`` plus the time measured since it was made (for a caller that injects only
    ``now``: a run that took a while still knows when a refusal came)."""
    started = monotonic()
    return lambda: now + timedelta(seconds=monotonic() - started)


def _error_text(exc: BaseException) -> str:
    """An error as recorded, printed (``--send-due``'s line) and said in ``--json``: printable, on one line (a Slack
    error is two), its secrets masked (a token a library's error quotes, ``bot.text.mask_secrets``)."""
    return mask_secrets(" ".join(printable(f"{type(exc).__name__}: {exc}").split()))[:2000]


def logged(exc: BaseException | str) -> str:
    """An error (or the chat service's error text) as a log line quotes it: as recorded, printable, on one line, its
    secrets masked (``bot.text.shown_text``). A failure is logged so, its type named (``_error_text``); a digest
    that could not be built also with its traceback (``log.exception``), whose lines the log's formatter masks and
    keeps as continuation lines (``bot.cli.logs.OneLineFormatter``), the last one quoting the error as it came."""
    return shown_text(str(exc), LOGGED_CHARS)


LOGGED_CHARS = 500


def collect_for(
    db: Database,
    view: SubscriptionView,
    period: str,
    *,
    now: datetime,
    all_themes: bool = False,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    left_out: LeftOut | None = None,
    quoted_themes: Collection[str] | None = None,
) -> DigestData:
    """The data for ``view``'s digest of ``period`` (``all_themes``: every theme, to share between channels;
    ``private_channel``: Slack's current answer, see ``collect_digest_data``, asked with no transaction open; ``tz``:
    the network's zone). ``left_out`` is told the questions the digest would have quoted on ``quoted_themes`` (by
    default ``view``'s themes; empty: all) that ``private_channel``'s answers left out."""
    start, end = digest_window(view, period, tz)
    bounds = history_bounds(view, period, tz=tz)

    def collect(answer: PrivateChannel | None) -> DigestData:
        with db.session() as session:
            return collect_digest_data(
                session,
                themes=None if all_themes or not view.themes else list(view.themes),
                period_start=start,
                period_end=end,
                now=now,
                bounds=bounds,
                private_channel=answer,
                tz=tz,
            )

    if private_channel is None:
        return collect(None)
    # ``private_channel`` may ask Slack: never inside a transaction. The first collection only notes which channels
    # it would ask about (answered "public"); they are asked with no session open; when none turned private, that
    # collection is the digest, else it is collected again with the answers (a channel not asked: left out).
    asked: dict[str, None] = {}  # in the order the collection meets them

    def noted(channel_id: str) -> bool:
        asked.setdefault(channel_id)
        return False

    data = collect(noted)
    answers = {channel_id: private_channel(channel_id) for channel_id in asked}
    if not any(answers.values()):
        return data
    kept = collect(lambda channel_id: answers.get(channel_id, True))
    if left_out is not None:
        themes = view.themes if quoted_themes is None else quoted_themes
        still = quoted_questions(kept)
        left_out({q: channel for q, channel in quoted_questions(data, themes).items() if q not in still})
    return kept


def send_digest(
    db: Database,
    *,
    channel_id: str,
    period: str,
    now: datetime,
    worker_id: str,
    outlet: DigestOutlet[Message],
    stale_after: timedelta = STALE_AFTER,
    data: DigestData | None = None,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    clock: Clock | None = None,
) -> SendResult:
    """Claim, build and post the channel's digest for ``period`` (at most once; resumes a crashed run).

    ``data`` may be given when it was collected already for the same window (``collect_for(..., all_themes=True)``
    is shared by every channel with the same schedule). ``clock``: read when Slack refuses a part (its Retry-After
    counts from then); by default ``now`` plus the time measured since this call began.
    """
    clock = clock or elapsed_clock(now)
    period = parse_period(period)
    claim = _claim(db, channel_id=channel_id, period=period, at=clock(), worker_id=worker_id, stale_after=stale_after)
    if isinstance(claim, SendStatus):
        return SendResult(channel_id, period, claim)
    view, run_id, parts_sent, resumed = claim.view, claim.run_id, claim.parts_sent, claim.resumed
    previous_total = claim.previous_total

    try:
        if data is None:
            data = collect_for(db, view, period, now=now, private_channel=private_channel, tz=tz)
        with db.session() as session:  # read again just before posting: an erasure or a "stop" since it was collected
            data = without_gone(session, data)
        messages = outlet.render(data, view, period=period)
    except ServiceUnreachableError as exc:  # a permalink asked while rendering: the pass stops
        _give_up(db, claim, worker_id=worker_id, period=period, at=clock(), stale_after=stale_after, exc=exc)
        raise
    except Exception as exc:
        # with its traceback (where it failed), masked by the log's formatter as the head line is by ``logged``; a
        # network failure (Slack out of reach: URLError, a timeout) is one line, as every command line says it
        log.error(
            "building the digest for %s %s failed: %s",
            channel_id,
            period,
            logged(_error_text(exc)),
            exc_info=not isinstance(exc, OSError),
        )
        with db.session() as session:
            digest_repo.update_digest_run_error(session, run_id=run_id, worker_id=worker_id, error=_error_text(exc))
        return SendResult(channel_id, period, SendStatus.ERROR, resumed=resumed, error=_error_text(exc))

    total = len(messages)
    if not messages and not parts_sent:
        with db.session() as session:
            digest_repo.update_digest_run_finished(
                session, run_id=run_id, worker_id=worker_id, status=DigestRunStatus.EMPTY, now=clock()
            )
        return SendResult(channel_id, period, SendStatus.EMPTY, resumed=resumed)
    if resumed and previous_total and previous_total != total:
        log.warning("digest %s %s: %d parts now, %d before the resume", channel_id, period, total, previous_total)
    with db.session() as session:
        if not digest_repo.update_digest_run_parts_total(
            session, run_id=run_id, worker_id=worker_id, parts_total=total
        ):
            return SendResult(channel_id, period, SendStatus.LOST_CLAIM, total, resumed=resumed)

    return _post_parts(
        db, outlet, messages, claim, worker_id=worker_id, now=now, clock=clock, period=period, stale_after=stale_after
    )


def send_due_digests(
    db: Database,
    *,
    now: datetime,
    worker_id: str,
    outlet: DigestOutlet[Message],
    stale_after: timedelta = STALE_AFTER,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    clock: Clock | None = None,
    left_out: LeftOut | None = None,
) -> list[SendResult]:
    """Send every digest that is due now (``due_digests``), one channel after the other: first those whose post was
    never refused this week, then the refused ones, the longest refused first (``refused_at``, kept on the week's
    run: the same order in every process, a cron run's, a restarted one's or another replica's). A channel refused or
    failed in one of the ``REFUSALS_REMEMBERED_WEEKS`` weeks before, with no digest of it out since, counts as
    refused then (``digests.refusals.last_refused``): one the app may not post in does not come first again each
    week, nor after a quiet week. A poster that stops a pass after a few refusals
    (``handlers.digest_post.HeldRefusals``) so asks other channels in the next pass. A run given up because the chat
    service did not answer (``_give_up``) goes after all the others: a channel whose call keeps failing does not stop
    every pass before the others are sent.

    The data is collected once per distinct window (channels with the same schedule share it). One channel's
    failure does not stop the others. ``clock``: as for ``send_digest`` (by default measured from this call's start).
    ``left_out``: told the questions the due digests would have quoted that ``private_channel`` left out.
    """
    clock = clock or elapsed_clock(now)
    with db.session() as session:
        due = [
            (SubscriptionView.from_subscription(s), period)
            for s, period in due_digests(session, now=now, stale_after=stale_after, tz=tz)
        ]
        refused = {
            (channel_id, period): at
            for period in {period for _, period in due}
            for channel_id, at in last_refused(session, period=period).items()
        }
        given_up = {
            (channel_id, period)
            for period in {period for _, period in due}
            for channel_id in _given_up(session, period=period)
        }
    due.sort(
        key=lambda item: (
            (item[0].channel_id, item[1]) in given_up,
            refused_last(refused.get((item[0].channel_id, item[1]))),
        )
    )
    cache: dict[tuple[datetime, datetime], DigestData] = {}
    quoted = _quoted_themes(due, tz)
    results: list[SendResult] = []
    for view, period in due:
        try:
            window = digest_window(view, period, tz)
            if window not in cache:
                cache[window] = collect_for(
                    db,
                    view,
                    period,
                    now=now,
                    all_themes=True,
                    private_channel=private_channel,
                    tz=tz,
                    left_out=left_out,
                    quoted_themes=quoted.get(window, ()),
                )
            results.append(
                send_digest(
                    db,
                    channel_id=view.channel_id,
                    period=period,
                    now=now,
                    worker_id=worker_id,
                    outlet=outlet,
                    stale_after=stale_after,
                    data=cache[window],
                    tz=tz,
                    clock=clock,
                )
            )
        except ServiceUnreachableError as exc:  # every channel after this one would meet it: tried next pass
            exc.results = results
            raise
        except Exception as exc:
            log.exception("digest for %s %s failed: %s", view.channel_id, period, logged(_error_text(exc)))
            results.append(SendResult(view.channel_id, period, SendStatus.ERROR, error=_error_text(exc)))
    return results


def fail_held_run(
    db: Database, *, held: SendResult, worker_id: str, now: datetime, exc: PermanentPostError
) -> SendResult:
    """Fail for the week a run this sender kept claimed (``held``: its result, ``RETRY``) because whether its post's
    refusal was the channel's or the whole pass's was not known yet, once the pass found it was the channel's
    (``handlers.digest_post.HeldRefusals``): as if the post had raised ``exc``. ``LOST_CLAIM`` when the run is no
    longer this sender's."""
    with db.session() as session:
        run = digest_repo.get_digest_run(session, channel_id=held.channel_id, period=held.period)
        failed = run is not None and _fail(
            session,
            run_id=run.id,
            worker_id=worker_id,
            channel_id=held.channel_id,
            period=held.period,
            exc=exc,
            now=now,
        )
    status = SendStatus.FAILED if failed else SendStatus.LOST_CLAIM
    if not failed:
        return replace(held, status=status)
    return replace(held, status=status, error=_error_text(exc), refused=exc.refused)


def _fail(
    session: Session,
    *,
    run_id: int,
    worker_id: str,
    channel_id: str,
    period: str,
    exc: PermanentPostError,
    now: datetime,
) -> bool:
    """The run failed for the week (``exc``); whether it was still this sender's to finish."""
    gone = str(exc) in CHANNEL_GONE
    # a gone channel is turned off and staff are told; any other refusal needs the operator
    log.log(
        logging.WARNING if gone else logging.ERROR,
        "digest %s %s failed for this week: %s",
        channel_id,
        period,
        logged(exc),
    )
    finished = digest_repo.update_digest_run_finished(
        session, run_id=run_id, worker_id=worker_id, status=DigestRunStatus.FAILED, now=now, error=_error_text(exc)
    )
    if gone:  # never retried: turned off, staff told once
        stop_gone_channel(session, channel_id=channel_id, reason=str(exc), now=now)
    return finished


def _quoted_themes(
    due: Sequence[tuple[SubscriptionView, str]], tz: ZoneInfo
) -> dict[tuple[datetime, datetime], frozenset[str]]:
    """Per window, the themes the due digests sharing it quote (empty: all, when one of them takes every theme)."""
    themes: dict[tuple[datetime, datetime], frozenset[str]] = {}
    for view, period in due:
        try:
            window = digest_window(view, period, tz)
        except Exception:  # the send loop reports it for the channel
            continue
        known = themes.get(window)
        if not view.themes or known == frozenset():
            themes[window] = frozenset()
        else:
            themes[window] = (known or frozenset()) | frozenset(view.themes)
    return themes


@dataclass(slots=True)
class _Claim:
    """A run this process holds: the subscription as it was, and the parts already posted (on a resume)."""

    view: SubscriptionView
    run_id: int
    parts_sent: list[str]
    previous_total: int | None
    resumed: bool


def _claim(
    db: Database, *, channel_id: str, period: str, at: datetime, worker_id: str, stale_after: timedelta
) -> _Claim | SendStatus:
    """Claim the channel's run for ``period`` at ``at`` (the clock's time now), or take over a crashed sender's (one
    not renewed since ``stale_after`` before ``at``); else why not."""
    resumed = False
    with db.session() as session:
        subscription = digest_repo.get_subscription(session, channel_id=channel_id)
        if subscription is None or not subscription.active:
            return SendStatus.NO_SUBSCRIPTION
        view = SubscriptionView.from_subscription(subscription)
        run = digest_repo.claim_digest_run(session, channel_id=channel_id, period=period, worker_id=worker_id, now=at)
        if run is None:
            existing = digest_repo.get_digest_run(session, channel_id=channel_id, period=period)
            if (
                existing is None
                or existing.status is not DigestRunStatus.CLAIMED
                or not digest_repo.claim_stale_digest_run(
                    session,
                    run_id=existing.id,
                    previous_worker=existing.claimed_by,
                    worker_id=worker_id,
                    now=at,
                    stale_before=at - stale_after,
                )
            ):
                return SendStatus.SKIPPED
            run, resumed = existing, True
            log.info("resuming digest %s %s after %d parts", channel_id, period, len(existing.parts_sent))
        return _Claim(view, run.id, list(run.parts_sent or []), run.parts_total, resumed)


GIVEN_UP = timedelta(days=1)  # how much further back than stale a given-up claim is moved (``_give_up``)


def _given_up(session: Session, *, period: str) -> list[str]:
    """The channels whose run of ``period`` was given up by a pass the chat service stopped (``_give_up``), not
    taken up with another outcome since."""
    runs = digest_repo.list_digest_runs(session, period=period)
    mark = f"{ServiceUnreachableError.__name__}:"
    return [
        c for c, run in runs.items() if run.status is DigestRunStatus.CLAIMED and (run.error or "").startswith(mark)
    ]


def _give_up(
    db: Database,
    claim: _Claim,
    *,
    worker_id: str,
    period: str,
    at: datetime,
    stale_after: timedelta,
    exc: ServiceUnreachableError,
) -> None:
    """The chat service could not be reached while this sender held ``claim``: the run is left as it is (the parts
    posted kept, nothing marked sent or failed) with its claim stale already (``at``: the clock's time now, moved
    back ``GIVEN_UP`` more: a next pass that says it is earlier, another replica's clock, a replay's ``--now``), so
    the next pass, this process's or another's, takes it up at once rather than after ``stale_after``."""
    log.info("digest %s %s: the chat service is out of reach: %s", claim.view.channel_id, period, logged(exc))
    with db.session() as session:
        digest_repo.update_digest_run_error(
            session,
            run_id=claim.run_id,
            worker_id=worker_id,
            error=_error_text(exc),
            claimed_at=at - stale_after - GIVEN_UP,
        )


def _post_parts(
    db: Database,
    outlet: DigestOutlet[Message],
    messages: Sequence[Message],
    claim: _Claim,
    *,
    worker_id: str,
    now: datetime,
    clock: Clock,
    period: str,
    stale_after: timedelta,
) -> SendResult:
    """Post the parts not posted yet, recording each; then finish the run."""
    channel_id, run_id, parts_sent, resumed = claim.view.channel_id, claim.run_id, claim.parts_sent, claim.resumed
    total = len(messages)
    posted = 0
    for index in range(len(parts_sent), total):
        with db.session() as session:  # still ours, and fresh for as long as this part takes
            if not digest_repo.update_digest_run_claim_renewed(
                session, run_id=run_id, worker_id=worker_id, now=clock()
            ):
                log.warning("digest %s %s: claim lost before part %d", channel_id, period, index + 1)
                return SendResult(channel_id, period, SendStatus.LOST_CLAIM, total, posted, resumed)
        try:
            ts = outlet.post(channel_id, messages[index])
        except PermanentPostError as exc:
            with db.session() as session:
                _fail(
                    session, run_id=run_id, worker_id=worker_id, channel_id=channel_id, period=period, exc=exc, now=now
                )
            return SendResult(
                channel_id, period, SendStatus.FAILED, total, posted, resumed, _error_text(exc), exc.refused
            )
        except RetryLaterError as exc:
            resume_at = clock() + timedelta(seconds=exc.seconds)  # Slack's wait counts from its refusal
            log.warning(
                "digest %s %s: part %d/%d not posted: %s %d s; resumed from %s",
                channel_id,
                period,
                index + 1,
                total,
                "Slack asked to wait" if exc.said else "rate limited without a Retry-After: waiting",
                exc.seconds,
                resume_at.isoformat(timespec="seconds"),
            )
            with db.session() as session:  # stale (taken up again) exactly when Slack's wait ends
                digest_repo.update_digest_run_error(
                    session,
                    run_id=run_id,
                    worker_id=worker_id,
                    error=_error_text(exc),
                    claimed_at=resume_at - stale_after,
                )
            return SendResult(
                channel_id, period, SendStatus.RETRY, total, posted, resumed, _error_text(exc), exc.refused
            )
        except ServiceUnreachableError as exc:  # the pass stops; this run is the next pass's, however soon
            _give_up(db, claim, worker_id=worker_id, period=period, at=clock(), stale_after=stale_after, exc=exc)
            raise
        except OperatorRefusalError as exc:  # the poster says it once per pass; due again once stale
            log.info("digest %s %s: part %d/%d not posted: %s", channel_id, period, index + 1, total, logged(exc))
            with db.session() as session:  # refused, perhaps for its own reasons: later passes ask it after the others
                refused_at = clock() if exc.held else None  # the token's refusal is not the channel's
                still_ours = digest_repo.update_digest_run_error(
                    session, run_id=run_id, worker_id=worker_id, error=_error_text(exc), refused_at=refused_at
                )
                if still_ours and refused_at is not None:  # held since: ``HELD_AT_MOST`` counts from the first
                    create_held_mark(session, period=period, channel_id=channel_id, now=refused_at)
            return SendResult(
                channel_id, period, SendStatus.RETRY, total, posted, resumed, _error_text(exc), exc.refused
            )
        except Exception as exc:
            log.warning("digest %s %s: part %d/%d not posted: %s", channel_id, period, index + 1, total, logged(exc))
            with db.session() as session:
                digest_repo.update_digest_run_error(session, run_id=run_id, worker_id=worker_id, error=_error_text(exc))
            refused = exc.refused if isinstance(exc, ChatServiceError) else None  # what the service answered
            return SendResult(channel_id, period, SendStatus.RETRY, total, posted, resumed, _error_text(exc), refused)
        parts_sent.append(ts)
        posted += 1
        with db.session() as session:
            if not digest_repo.update_digest_run_parts_sent(
                session, run_id=run_id, worker_id=worker_id, parts_sent=parts_sent, claimed_at=clock()
            ):
                log.warning("digest %s %s: claim lost after part %d", channel_id, period, index + 1)
                return SendResult(channel_id, period, SendStatus.LOST_CLAIM, total, posted, resumed)

    with db.session() as session:  # sent when its last part was, not when the pass began
        digest_repo.update_digest_run_finished(
            session, run_id=run_id, worker_id=worker_id, status=DigestRunStatus.SENT, now=clock()
        )
    return SendResult(channel_id, period, SendStatus.SENT, total, posted, resumed)
