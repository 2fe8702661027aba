"""What the weekly digest passes remember of the channels refused: the refusal memory that orders a pass (the
channels never refused first, then the longest refused: ``last_refused``, ``refused_last``) and says which channels
were refused for their own reasons in the weeks before (``refused_before``, ``channel_refused``). Kept on the week's
digest runs in the database (``refused_at``, a failed run's error), so every process reads the same."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from digests.errors import LookUpRefusedError, PermanentPostError
from digests.period import TIMEZONE, IsoWeek
from storage import digest_repo, slack_repo
from storage.db import Database
from storage.models import DigestRunStatus

# How many weeks back a channel's refused (or failed) digest still puts it after the others, while no digest of it
# went out since (a digest sent on a later try of the week it was refused ends them too): a quiet week, a week it was
# unsubscribed, does not make a channel that keeps refusing come first again. It is never skipped: only asked after
# the others.
REFUSALS_REMEMBERED_WEEKS = 4
# How long a week's digests are held at most, from the week's first refusal held (``held_since``: the earliest among
# the runs still held), while no digest of the week goes out, because Slack refused their posts in a way that may be
# the whole app's or each channel's own (``no_permission``: ``handlers.digest_held.HeldRefusals``): two channels
# refused for their own reasons look like the whole app refused in every pass, and would be asked again every 10
# minutes all week. A pass after it takes each refusal as its channel's own (failed for the week, told to staff as
# such once): a real refusal of the whole app, not fixed within a day, costs that week's digests. Counted from the
# refusal, not from the "digests held" notice, which a pass may never confirm (another replica's claim that never
# ends): the bound holds whether or not staff were told.
HELD_AT_MOST = timedelta(hours=24)


def last_refused(session: Session, *, period: str) -> dict[str, datetime]:
    """When each channel's post was last refused, by channel (``remembered_refusals``)."""
    return {channel_id: refusals.at for channel_id, refusals in remembered_refusals(session, period=period).items()}


@dataclass(slots=True)
class Refusals:
    """A channel's refusals remembered in a week's pass: when the latest was, and the errors its digest failed for
    its week with in the weeks before (``remembered_refusals``)."""

    at: datetime
    failed_with: set[str]


def remembered_refusals(session: Session, *, period: str) -> dict[str, Refusals]:
    """The refusals of each channel that ``period``'s passes remember, by channel: this week's run refused when asked
    (``refused_at``), or a run of the ``REFUSALS_REMEMBERED_WEEKS`` weeks before refused so or failed for its week (a
    channel the app may not post in, refused again every week while its subscription stays). Those before a digest of
    it that went out are forgotten, the refusals of its own week included (refused on Monday, sent on a later try):
    the channel's refusals ended there. A week with no post (quiet, or no run) changes nothing. The one memory that
    both orders a pass (``send_due_digests``) and says which refusals a channel met before (``refused_before``)."""
    remembered: dict[str, Refusals] = {}
    week = IsoWeek.parse(period)
    for back in range(REFUSALS_REMEMBERED_WEEKS, -1, -1):  # the oldest week first, this one last
        for channel_id, run in digest_repo.list_digest_runs(session, period=str(week.shift(-back))).items():
            if run.status is DigestRunStatus.SENT:  # went out: what was refused before it is over, this week too
                remembered.pop(channel_id, None)
                continue
            times = [run.refused_at] if run.refused_at is not None else []
            failed = bool(back) and run.status is DigestRunStatus.FAILED
            if failed:
                times.append(run.claimed_at)  # renewed just before the refused post
            if not times:
                continue
            refusals = remembered.setdefault(channel_id, Refusals(max(times), set()))
            refusals.at = max(refusals.at, *times)
            if failed:
                refusals.failed_with.add(run.error)
    return remembered


def refused_before(db: Database, *, now: datetime, errors: Collection[str], tz: ZoneInfo = TIMEZONE) -> set[str]:
    """The channels whose digest failed for its week with one of the chat service's ``errors`` refusing that
    channel (``channel_refused``: its post, or the look-up before it) in a week the pass of ``now``'s week remembers
    (``remembered_refusals``: one of the ``REFUSALS_REMEMBERED_WEEKS`` weeks before, no digest of it out since; a
    quiet week in between changes nothing): refused for its own reasons then, likely refused so again."""
    with db.session() as session:
        remembered = remembered_refusals(session, period=str(IsoWeek.containing(now, tz)))
    return {
        channel_id
        for channel_id, refusals in remembered.items()
        if any(channel_refused(recorded) in errors for recorded in refusals.failed_with)
    }


def channel_refused(recorded: str) -> str | None:
    """The chat service's error a run's recorded error (``_error_text``) says refused that channel for its week,
    whichever call it refused: its post (``PermanentPostError: <error>``) or the look-up before it
    (``LookUpRefusedError: <method>: <error>``); None for any other error. The one reading of a recorded error as
    "this channel refused"."""
    kind, _, said = recorded.partition(": ")
    if kind == LookUpRefusedError.__name__:
        return said.rpartition(": ")[2]
    return said if kind == PermanentPostError.__name__ else None


def refused_last(refused_at: datetime | None) -> tuple[int, datetime]:
    """Sorts the runs never refused first (in their own order), then by when last refused."""
    return (0, datetime.min) if refused_at is None else (1, refused_at)


def refused_this_week(db: Database, *, now: datetime, tz: ZoneInfo = TIMEZONE) -> dict[str, datetime]:
    """The channels whose digest of ``now``'s week was refused in an earlier pass and is still held (its run claimed,
    ``refused_at`` set: the pass did not know whose refusal it was), by channel, with when: the evidence a later
    pass confirms a refusal of the whole pass with (``handlers.digest_held.HeldRefusals``)."""
    with db.session() as session:
        runs = digest_repo.list_digest_runs(session, period=str(IsoWeek.containing(now, tz)))
    return {
        channel_id: run.refused_at
        for channel_id, run in runs.items()
        if run.refused_at is not None and run.status is DigestRunStatus.CLAIMED
    }


def held_mark(*, period: str, channel_id: str) -> str:
    """The key (``processed_events``) marking when ``channel_id``'s digest of ``period`` was first held for a refusal
    that may be its own (``refused_at`` is the latest such refusal: it orders the passes): written once, kept for the
    retention of such keys (30 days)."""
    return f"{HELD_MARK}{period}:{channel_id[:40]}"


HELD_MARK = "digest_held:"


def create_held_mark(session: Session, *, period: str, channel_id: str, now: datetime) -> None:
    """Mark ``now`` as when ``channel_id``'s digest of ``period`` was first held (``held_mark``), unless it was."""
    key = held_mark(period=period, channel_id=channel_id)
    slack_repo.create_processed_event(session, event_key=key, kind=HELD_MARK.rstrip(":"), now=now)


def held_since(db: Database, *, now: datetime, tz: ZoneInfo = TIMEZONE) -> datetime | None:
    """Since when ``now``'s week's digests are held for a refusal that may be their channels' own: the earliest first
    refusal (``held_mark``) of the runs still held (claimed, ``refused_at`` set; a run held by a release before the
    mark counts from its ``refused_at``), or None when none is. Counted whether or not a pass confirmed the refusal as
    the whole app's and staff were told; a channel whose refusal ended (its digest went out, or failed for the week)
    no longer counts. The start of ``HELD_AT_MOST``."""
    period = str(IsoWeek.containing(now, tz))
    with db.session() as session:
        runs = digest_repo.list_digest_runs(session, period=period)
        marks = slack_repo.list_processed_events_received(session, key_prefix=f"{HELD_MARK}{period}:")
    return min(
        (
            min(run.refused_at, marks.get(held_mark(period=period, channel_id=channel_id), run.refused_at))
            for channel_id, run in runs.items()
            if run.refused_at is not None and run.status is DigestRunStatus.CLAIMED
        ),
        default=None,
    )


def sent_this_week(db: Database, *, now: datetime, tz: ZoneInfo = TIMEZONE) -> bool:
    """Whether a digest of ``now``'s week went out (a run ``SENT``): Slack accepted a post of the app this week, the
    evidence that a ``no_permission`` met afterwards is the refused channel's own, not the whole app's
    (``handlers.digest_held.HeldRefusals``)."""
    with db.session() as session:
        runs = digest_repo.list_digest_runs(session, period=str(IsoWeek.containing(now, tz)))
    return any(run.status is DigestRunStatus.SENT for run in runs.values())


def claimed_unrefused(db: Database, *, now: datetime, tz: ZoneInfo = TIMEZONE) -> set[str]:
    """The channels whose digest of ``now``'s week is claimed and was never refused this week (another pass's claim
    not finished yet, a post tried again after a passing error, one held without asking): each could still go out,
    so a pass that met only refusals is not certain yet that they are the whole app's
    (``handlers.digest_held.HeldRefusals.confirmed``)."""
    with db.session() as session:
        runs = digest_repo.list_digest_runs(session, period=str(IsoWeek.containing(now, tz)))
    return {
        channel_id
        for channel_id, run in runs.items()
        if run.status is DigestRunStatus.CLAIMED and run.refused_at is None
    }
