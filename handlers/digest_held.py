"""Slack's ``no_permission`` in a digest pass: the channel's refusal, or the whole app's? (``HeldRefusals``)

Slack says ``no_permission`` when the app may not post in (or read) one conversation, but also for token-wide causes
("the workspace token used in this request does not have the permissions necessary to complete the request": an
organisation-wide app not granted this workspace, a permission the app lacks). Both the post (``chat.postMessage``)
and the look-up before it (``conversations.info``, ``digest_post.not_shared_outside``) can meet it: a pass holds each
such refusal until it knows whose it is.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from digests import sender
from digests.errors import LookUpRefusedError, OperatorRefusalError, PermanentPostError, Refused
from digests.period import TIMEZONE, IsoWeek
from digests.refusals import (
    HELD_AT_MOST,
    claimed_unrefused,
    held_since,
    refused_before,
    refused_this_week,
    sent_this_week,
)
from digests.sender import SendResult, SendStatus
from digests.subscriptions import tell_channels_refused, tell_sources_refused
from handlers.digest_sources import INFO, OperatorRefusals, SourceChannels
from storage.db import Database

log = logging.getLogger(__name__)

POST = "chat.postMessage"
# Slack's errors a pass holds until it knows whose refusal it is (``HeldRefusals``)
HELD_REFUSALS = frozenset({"no_permission"})


@dataclass(frozen=True, slots=True)
class Held:
    """A refusal held: Slack's error, the method it refused (the post, or the look-up before it) and the scope or
    permission Slack named as needed, when it named one."""

    error: str
    method: str = POST
    needed: str = ""

    def own(self) -> PermanentPostError:
        """What the channel's run fails with when the refusal was its own: the post's, or the look-up's (recorded
        as the look-up's; either is remembered as the channel's refusal, ``digests.refusals.channel_refused``)."""
        if self.method == INFO:
            return LookUpRefusedError(self.error, self.method)
        return PermanentPostError(self.error, refused=Refused(self.error, self.method))


class HeldRefusals:
    """One digest pass's posts refused with ``no_permission`` (or whose look-up was) before any post of the pass went
    out: held (the run stays claimed) until the pass knows whose refusal it is. A post that goes out settles it: each
    is that channel's (failed for the week, as the refusals after it at once). At the end of a pass with none sent,
    two or more such channels are the pass's refusal: one only the operator can fix (``OperatorRefusals``: said at
    ERROR once, staff told once per week once it is certain — ``confirmed`` — naming the method refused and the
    permission Slack named, the week's digests stay due); a single one is its channel's. Two such refusals with
    nothing sent are evidence enough to stop: the rest of the pass posts no more (``stopped``), its channels held
    as well without being asked (so not refusals: never counted, never failed for one), so a pass over 300 channels
    refused so makes two calls, not 300. A digest of the week that went out before the pass (``sent_before``) is as
    a post of the pass gone out: Slack accepted the app's post this week, so each refusal is its channel's. Each
    refusal asked is kept on the week's run (``refused_at``), so the next pass, in this process or any other, asks
    first the channels not refused yet (``digests.sender``): two channels refused for their own reasons do not hold
    back the week's other digests.

    A channel whose digest failed for its week with such a refusal of its post (or of its look-up) in a week the pass
    remembers (``refused_before``: ``digests.refusals.refused_before``, the memory that orders the pass, across a quiet
    week too; its own refusal, the app may not post or read there) is likely refused so again: it does not count
    towards ``ENOUGH`` while the pass held a channel that was not, so it neither stops the pass nor makes a single
    other refusal the pass's.

    A week's digests held so for ``HELD_AT_MOST`` from the week's first refusal held (``held_since``: the earliest
    first refusal of the runs still held, ``digests.refusals.held_since``, ``HELD_AT_MOST`` old or older;
    ``held_refusals``), whether or not a pass confirmed it and staff were told, with still no digest of the week
    out, are held no longer: the pass takes each refusal as its channel's own, as after a post gone out (said at
    WARNING once per pass), so two channels refused for their own reasons are not asked again every 10 minutes all
    week."""

    ENOUGH = 2  # refusals with nothing sent after which the pass stops posting

    def __init__(
        self,
        refused_before: Collection[str] = (),
        *,
        refused_earlier: Mapping[str, datetime] | None = None,
        sent_before: bool = False,
        pending: Collection[str] = (),
        held_since: datetime | None = None,
    ) -> None:
        # a digest that went out this week (``sent_before``, a run SENT) is a post gone out: the app may post
        self._sent = sent_before
        # the week's digests held since their first refusal, ``HELD_AT_MOST`` ago or longer
        self._held_since = held_since
        self._held: dict[str, Held] = {}  # channel -> Slack's refusal, in the order met
        self._refused_before = frozenset(refused_before)
        self._earlier = dict(refused_earlier or {})  # held by an earlier pass of the week: channel -> when
        self._unasked: set[str] = set()  # held without asking (``hold_if_stopped``)
        self._pending = frozenset(pending)  # the week's runs claimed, never refused: each could still go out
        self._tried: set[str] = set()  # tried by this pass and not gone out, for a passing reason (``tried``)
        self._pass_refused = False  # ``settle`` found the refusal the pass's

    def _counted(self) -> int:
        """The held refusals that count towards ``ENOUGH``."""
        new = sum(1 for channel_id in self._held if channel_id not in self._refused_before)
        return new if new else len(self._held)

    def sent(self) -> None:
        self._sent = True

    def tried(self, results: Collection[SendResult]) -> None:
        """The digests this pass tried that did not go out, for a passing reason (``RETRY``: Slack's
        ``internal_error``, a timeout; ``ERROR``: a build that raised): no evidence either way, so not ``pending``
        any more. A digest that keeps failing so is tried in every pass; it no longer keeps the refusal from being
        confirmed all week (``confirmed``)."""
        self._tried.update(r.channel_id for r in results if r.status in (SendStatus.RETRY, SendStatus.ERROR))

    @property
    def decided(self) -> bool:
        """Whether every refusal held is its channel's whatever the rest of the pass shows: a digest of the week
        went out (or the week's digests were held long enough). A pass that stopped (Slack out of reach) settles
        its held refusals only then: else it did not learn whose they are, and they stay held for the next pass."""
        return self._sent

    @property
    def holding(self) -> bool:
        """Whether a refusal is held (not settled yet)."""
        return bool(self._held)

    @property
    def pass_refused(self) -> bool:
        """Whether ``settle`` found the held refusals the pass's (the operator's to fix), not each channel's."""
        return self._pass_refused

    def hold(self, channel_id: str, error: str, *, method: str = POST, needed: str = "") -> bool:
        """Whether the refusal of ``channel_id``'s post (or of its look-up: ``method``) is held (nothing of the pass
        went out yet, and the week's digests were not held so for ``HELD_AT_MOST`` already)."""
        if self._sent:
            return False
        if self._held_since is not None:  # held long enough: each refusal is its channel's from now on
            log.warning(
                "digests: the week's digests were held for %d h since Slack first refused them (%s) "
                "and no digest of the week went out: each channel refused now fails its week as its own refusal",
                HELD_AT_MOST // timedelta(hours=1),
                sender.logged(error),
            )
            self._sent = True  # said once per pass
            return False
        self._held.setdefault(channel_id, Held(error, method, needed))
        return True

    def stopped(self) -> str | None:
        """Slack's error when the pass should post no more (``ENOUGH`` refusals, nothing sent), else None."""
        if self._sent or self._counted() < self.ENOUGH:
            return None
        return next(iter(self._held.values())).error

    def hold_if_stopped(self, channel_id: str) -> None:
        """Once ``stopped``: hold ``channel_id``'s post without asking Slack (``OperatorRefusalError``, not asked).
        Its run stays claimed, but it is not one of the refusals held: a channel never asked neither counts towards
        ``ENOUGH`` (a pass stopped on channels refused before stays stopped) nor is failed for a refusal it did not
        get (``settle``)."""
        error = self.stopped()
        if error is not None:
            log.debug("digest for %s held unasked: %s", channel_id, sender.logged(error))
            self._unasked.add(channel_id)
            raise OperatorRefusalError(error, asked=False)

    def settle(self, refusals: OperatorRefusals) -> dict[str, PermanentPostError]:
        """At the end of the pass: the held channels whose refusal is their own, by channel, with what each fails
        its week with; none when it is the pass's (then told to ``refusals``, naming the first channel refused)."""
        if not self._sent and self._counted() >= self.ENOUGH:
            channel_id, held = next(iter(self._held.items()))
            # the notice names the week's first channel refused (the log line, this pass's)
            first = min(self._earlier, key=lambda c: (self._earlier[c], c)) if self._earlier else channel_id
            refusals.refused(
                error=held.error,
                needed=held.needed,
                method=held.method,
                channel_id=channel_id,
                tell=self.confirmed(),
                first=first,
            )
            self._pass_refused = True
            return {}
        return {channel_id: held.own() for channel_id, held in self._held.items()}

    def confirmed(self) -> bool:
        """Whether the pass's refusal is certain enough to tell staff: two channels refused for their own reasons
        look the same in one pass, and the next pass, which asks first the channels not refused yet, would show it a
        false alarm (one of them goes out). So it is told once no channel is left that could: every channel this
        pass held without asking was refused in an earlier pass of the week (``refused_earlier``), or an earlier
        pass of the week was held so too and this one met only refusals again, on channels not refused before
        (its first ones). A first pass that asked every channel due confirms itself: nothing is left to ask. Never
        while a run of the week that was never refused is still claimed and this pass neither asked nor tried it
        (``pending``: another pass's claim not finished yet, a post waiting for Slack's Retry-After): it could still
        go out. One this pass tried that failed for a passing reason (``tried``) does not hold it back: it did not go
        out either, and one that keeps failing so would hold back the notice all week."""
        if self._pending - self._held.keys() - self._unasked - self._tried:
            return False
        if self._unasked <= self._earlier.keys():
            return True
        return bool(self._earlier) and any(channel_id not in self._earlier for channel_id in self._held)


def held_refusals(db: Database, *, now: datetime, tz: ZoneInfo = TIMEZONE) -> HeldRefusals:
    """The ``HeldRefusals`` of a pass at ``now``, from what the week's runs and notices say: the channels refused for
    their own reasons in the weeks before, those held by an earlier pass of the week, whether a digest of the week
    went out, the runs claimed and never refused, and whether the week's digests were held for ``HELD_AT_MOST``
    since their first refusal (``digests.refusals.held_since``)."""
    since = held_since(db, now=now, tz=tz)
    return HeldRefusals(
        refused_before(db, now=now, errors=HELD_REFUSALS, tz=tz),
        refused_earlier=refused_this_week(db, now=now, tz=tz),
        sent_before=sent_this_week(db, now=now, tz=tz),
        pending=claimed_unrefused(db, now=now, tz=tz),
        held_since=since if since is not None and now - since >= HELD_AT_MOST else None,
    )


def fail_held(
    db: Database, results: list[SendResult], own: Mapping[str, PermanentPostError], *, worker_id: str, now: datetime
) -> list[SendResult]:
    """``results`` with the held runs whose refusal was their channel's (``HeldRefusals.settle``) failed for the
    week."""
    return [
        sender.fail_held_run(db, held=r, worker_id=worker_id, now=now, exc=own[r.channel_id])
        if r.channel_id in own and r.status is SendStatus.RETRY
        else r
        for r in results
    ]


def tell_refused(db: Database, results: list[SendResult], *, now: datetime) -> list[str]:
    """Staff told of the runs of ``results`` that failed for their week with a refusal held (``HELD_REFUSALS``:
    Slack's ``no_permission``, on the post or the look-up before it): in one notice per week, error and call refused
    (``subscriptions.tell_channels_refused``: the first few named, the rest counted; each channel told at most once
    a week): each channel's own refusal, or, when it was the only channel a pass met or every channel met it after a
    digest of the week went out, perhaps the whole app's; either way staff hear of it, not only the ERROR log line.
    The channels told, in the order met."""
    refused: dict[tuple[str, str, str], list[str]] = {}
    for r in results:
        if r.status is SendStatus.FAILED and r.refused is not None and r.refused.error in HELD_REFUSALS:
            refused.setdefault((r.period, r.refused.error, r.refused.method), []).append(r.channel_id)
    if not refused:
        return []
    with db.session() as session:
        for (period, error, method), channel_ids in refused.items():
            tell_channels_refused(session, channel_ids=channel_ids, error=error, method=method, period=period, now=now)
    return [channel_id for channel_ids in refused.values() for channel_id in channel_ids]


def settle_sources(
    db: Database,
    sources: SourceChannels,
    *,
    pass_refused: bool,
    now: datetime,
    tz: ZoneInfo = TIMEZONE,
) -> list[str]:
    """At the end of a pass: the source channels Slack refused to tell about (``sources.refused``). When the pass's
    digest channels were refused so as the whole app's (``pass_refused``: ``HeldRefusals.settle``), they are part of
    that refusal: staff hear of it by its notice, once it is confirmed. Else each is its channel's own, as a digest
    channel's lone refusal is, and staff are told of those whose questions a digest of the pass would have quoted:
    in one notice per error naming them, each channel once per week and error
    (``subscriptions.tell_sources_refused``). The channels told, in the order met."""
    if pass_refused:
        return []
    own = [channel_id for channel_id in sources.refused if sources.left_out_of(channel_id)]
    if not own:
        return []
    period = str(IsoWeek.containing(now, tz))
    by_error: dict[str, dict[str, int]] = {}  # one notice per error, naming its channels
    for channel_id in own:
        by_error.setdefault(sources.refused[channel_id], {})[channel_id] = sources.left_out_of(channel_id)
    with db.session() as session:
        for error, refused in by_error.items():
            tell_sources_refused(session, refused=refused, error=error, method=INFO, period=period, now=now)
    return own
