"""Digests in Slack: rendered with ``handlers.blocks.digest``, posted with ``chat.postMessage``.

The core (``digests.sender``) claims a channel's week once and posts it part by part through a ``DigestOutlet``;
``SlackOutlet`` is Slack's. ``send_digest``/``send_due_digests`` take ``post(channel, blocks, text) -> ts`` (and a
``permalink``), so the job runner, the CLI and tests can hand in a real ``WebClient`` (``slack_post``) or a fake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from digests import sender
from digests.errors import (
    ChatServiceError,
    LookUpRefusedError,
    OperatorRefusalError,
    PermanentPostError,
    Refused,
    RetryLaterError,
    ServiceUnreachableError,
)
from digests.model import DigestData, LeftOut, PrivateChannel, SubscriptionView
from digests.period import TIMEZONE
from digests.preview import preview_data
from digests.schedule import STALE_AFTER
from digests.sender import Clock, SendResult, elapsed_clock, logged
from handlers.blocks.digest import DEFAULT_LIMITS, DigestLimits, PermalinkFn, build_digest, digest_fallback_text
from handlers.channels import ChannelDirectory
from handlers.digest_held import (
    HELD_REFUSALS,
    POST,
    HeldRefusals,
    fail_held,
    held_refusals,
    settle_sources,
    tell_refused,
)
from handlers.digest_sources import (
    CHANNEL_REFUSALS,
    CONFIGURATION_REFUSALS,
    INFO,
    LookUpFailure,
    LookUpLimit,
    OperatorRefusals,
    RefusedChannels,
    SlackReach,
    SourceChannels,
    slack_needed_scope,
    sort_failed_look_up,
)
from handlers.kit import Rendered
from handlers.services import slack_rate_limit_wait
from storage.db import Database

PostFn = Callable[[str, list[Block], str], str]

log = logging.getLogger(__name__)

# chat.postMessage errors that retrying this week will not fix: the digest run is marked failed (the outbox has its
# own list, ``handlers.outbox.OUTBOX_GIVE_UP_ERRORS``). (A refusal only the operator can fix,
# ``CONFIGURATION_REFUSALS``, is not one: the digest stays due and goes out once it is fixed.)
DIGEST_FAILED_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "no_permission",  # the app may not post in this channel (no member of it): that channel's, not the pass's
    }
)


# ... unless every post of the pass is refused so (``HeldRefusals``, ``handlers.digest_held``): Slack says
# ``no_permission`` for token-wide causes too (an organisation-wide app not granted this workspace), which only the
# operator can fix.
def slack_post(
    client: WebClient,
    refusals: OperatorRefusals | None = None,
    held: HeldRefusals | None = None,
    reach: SlackReach | None = None,
) -> Callable[[str, list[Block], str], str]:
    """``post(channel, blocks, fallback_text) -> ts`` through chat.postMessage (links not unfurled). A refusal only
    the operator can fix raises ``OperatorRefusalError`` (told to ``refusals``, the pass's); once it was, the rest
    of the pass raises it without asking Slack (``OperatorRefusals.refusing``). With ``held`` (the pass's), a
    ``no_permission`` while nothing of the pass went out raises ``OperatorRefusalError`` too (the run stays
    claimed) and the pass decides at its end whose refusal it was (``HeldRefusals``); after two such refusals with
    nothing sent, the rest of the pass is held without asking Slack (``HeldRefusals.stopped``). No connection raises
    ``ServiceUnreachableError`` (``reach``, the pass's: nothing reached Slack); no answer in time, a page that is not
    Slack's, or the connection closed after the post was sent, may have been posted: the error goes on, the run kept
    claimed until stale (``SlackReach``)."""
    reach = reach or SlackReach(client)

    def post(channel: str, blocks: list[Block], text: str) -> str:
        _refuse_unasked(channel, refusals, held)
        try:
            with reach.call(POST, channel, write=True):  # no connection: the pass stops
                response = client.chat_postMessage(
                    channel=channel, blocks=blocks, text=text, unfurl_links=False, unfurl_media=False
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            refused = Refused(error, POST)
            if error in HELD_REFUSALS and held is not None and held.hold(channel, error):
                raise OperatorRefusalError(error, held=True, refused=refused) from exc
            if error in DIGEST_FAILED_ERRORS:
                raise PermanentPostError(error, refused=refused) from exc
            if error in CONFIGURATION_REFUSALS:
                needed = slack_needed_scope(exc)
                if refusals is not None:
                    refusals.refused(error=error, needed=needed, method=POST, channel_id=channel)
                raise OperatorRefusalError(error, needed, refused=refused) from exc
            # a rate limit longer than the client waits: not before Slack asked (without a Retry-After: a short wait)
            limited = slack_rate_limit_wait(exc)
            if limited is not None:
                text = _rate_limited_text(error, limited.seconds, limited.said)
                limit = Refused(error or "ratelimited", POST)
                raise RetryLaterError(limited.seconds, text, said=limited.said, refused=limit) from exc
            # an error on Slack's side, a code not sorted here: tried again once stale, naming what Slack answered
            raise ChatServiceError(str(exc), refused=refused) from exc
        if held is not None:
            held.sent()
        return str(response["ts"])

    return post


def _refuse_unasked(channel: str, refusals: OperatorRefusals | None, held: HeldRefusals | None) -> None:
    """``OperatorRefusalError`` without asking Slack when this pass knows the post would be refused (the run stays
    due): a refusal only the operator can fix met earlier, or every post so far refused with ``no_permission``."""
    cause = refusals.refusing("chat.postMessage") if refusals is not None else None
    if cause is not None:
        raise OperatorRefusalError(*cause, asked=False)
    if held is not None:
        held.hold_if_stopped(channel)


def _rate_limited_text(error: str, seconds: int, said: bool) -> str:
    without = "" if said else " (no Retry-After: slack_sdk's wait)"
    return f"{error or 'ratelimited'}: retry after {seconds} s{without}"


SHARED_OUTSIDE = "channel shared with another organisation"


def not_shared_outside(
    post: PostFn,
    shared_outside: Callable[[str], bool],
    *,
    limit: LookUpLimit | None = None,
    known: Callable[[str], bool | None] | None = None,
    refusals: OperatorRefusals | None = None,
    stored_private: Callable[[str], bool | None] | None = None,
    unasked: Callable[[str], None] | None = None,
    held: HeldRefusals | None = None,
) -> PostFn:
    """``post``, but never into a channel shared with another organisation (Slack Connect): a digest names the
    network's people and questions. Only Slack's answer that it is shared fails the run for the week (a channel that
    became shared after it subscribed; it stays subscribed: it may be unshared again).

    ``shared_outside`` raises Slack's error when the look-up fails, which is no answer (``look_up_failed``). After a
    rate limit, whether on this look-up or another of the pass sharing ``limit`` (the source channels'), this poster
    asks Slack no more until its Retry-After has passed: a channel whose answer is ``known`` (cached from a recent
    look-up) is posted, the others of the pass are put off just as long. A pass over hundreds of channels does not
    hammer a limited method. So after a refusal only the operator can fix (``refusals``, the pass's): the rest of the
    pass raises ``OperatorRefusalError`` without asking, unless the answer is ``known``. A missing read scope
    refuses one kind of channel (``OperatorRefusals.refusing``): a channel ``stored_private`` says is of that kind
    is not asked, the others are.

    ``unasked(channel)`` raises ``OperatorRefusalError`` (``asked=False``) when the pass already knows the post
    would not be asked (``_refuse_unasked``: held after two ``no_permission`` refusals, or a refusal only the
    operator can fix): such a post is held without a look-up either. Nothing is posted, so the look-up's checks
    are not needed: the run stays due (or fails as its channel's refusal, ``HeldRefusals``) and the pass that
    posts it asks Slack first. An answer ``known`` to be shared still fails the week, as it would have. A look-up
    refused with ``no_permission`` is held as a refused post is (``held``, the pass's ``HeldRefusals``)."""

    def ask(channel: str) -> bool:
        left = limit.seconds_left() if limit is not None else 0
        kind = (lambda: stored_private(channel)) if stored_private is not None else (lambda: None)
        refusing = refusals.refusing_look_up(kind) if refusals is not None else None
        if left or refusing is not None:  # not asked again this pass: a recent answer counts, else the run waits
            answer = known(channel) if known is not None else None
            if answer is not None:
                return answer
            if refusing is not None:
                raise OperatorRefusalError(*refusing, asked=False)
            raise RetryLaterError(left, f"ratelimited: channel look-up, retry after {left} s")
        try:
            return shared_outside(channel)
        except SlackApiError as exc:
            failure = look_up_failed(exc, channel, refusals, held)
            if isinstance(failure, RetryLaterError) and limit is not None:
                limit.limited(failure.seconds)
            raise failure from exc

    def guarded(channel: str, blocks: list[Block], text: str) -> str:
        if unasked is not None:  # a post that will not be asked needs no look-up (one per channel held otherwise)
            _hold_unlooked(channel, known, unasked)
        shared = ask(channel)
        if shared:
            raise PermanentPostError(SHARED_OUTSIDE)
        return post(channel, blocks, text)

    return guarded


def _hold_unlooked(channel: str, known: Callable[[str], bool | None] | None, unasked: Callable[[str], None]) -> None:
    """Before the look-up: ``unasked`` raises when the post will not be asked; a channel ``known`` to be shared
    fails the week first, as the look-up would have made it."""
    if known is not None and known(channel):
        raise PermanentPostError(SHARED_OUTSIDE)
    unasked(channel)


def look_up_failed(
    exc: SlackApiError, channel: str, refusals: OperatorRefusals | None = None, held: HeldRefusals | None = None
) -> Exception:
    """What a failed ``conversations.info`` before a digest post means for the run (``sort_failed_look_up``). The
    channel gone (``CHANNEL_GONE``: deleted, archived): ``PermanentPostError`` with Slack's error (the subscription
    is turned off and staff are told once); a rate limit: ``RetryLaterError`` (tried again no earlier than Slack
    asked); a refusal only the operator can fix (a missing scope, a bad token): ``OperatorRefusalError``, told to
    ``refusals`` (said once per pass); a refusal to tell about this channel (``CHANNEL_REFUSALS``: ``no_permission``,
    in Slack's words "the workspace token used in this request does not have the permissions necessary to complete
    the request": the token may not read that conversation, or it is an organisation-wide app not granted this
    workspace, or it lacks a permission, which only the operator can fix): held while nothing of the pass went out
    (``held``, ``HeldRefusals``: ``OperatorRefusalError`` naming the method and the permission Slack names; the run
    stays due), so that every channel refused so is the pass's refusal (staff told once per week, the digests go
    out once it is granted) and a channel refused alone is its own; after a post went out (or without ``held``):
    ``LookUpRefusedError``, that channel's look-up's refusal (the week fails once, since nothing vouches the channel
    is not shared; logged at ERROR once; the subscription stays, staff are not told; remembered in later weeks as
    that channel's refusal, ``digests.refusals.channel_refused``); anything else (an error on Slack's side, a timeout, a
    refusal): ``ChatServiceError`` naming Slack's error and the call, so the run stays claimed and is tried again
    once stale. Another refusal that is not
    passing is logged at ERROR: it needs the operator."""
    failure = sort_failed_look_up(exc)
    refused = Refused(failure.error, INFO)
    if failure.kind is LookUpFailure.GONE:
        return PermanentPostError(failure.error, refused=refused)
    if failure.kind is LookUpFailure.CONFIGURATION:
        if refusals is not None:
            refusals.refused(error=failure.error, needed=failure.needed, method=INFO, channel_id=channel)
        # the post itself was not asked
        return OperatorRefusalError(failure.error, failure.needed, asked=False, refused=refused)
    if failure.kind is LookUpFailure.RATE_LIMITED and failure.wait:
        text = _rate_limited_text(f"{failure.error}: channel look-up", failure.wait, failure.said)
        return RetryLaterError(failure.wait, text, said=failure.said, refused=refused)
    if failure.error in CHANNEL_REFUSALS:
        needed = slack_needed_scope(exc)
        if held is not None and held.hold(channel, failure.error, method=INFO, needed=needed):
            # whose: the pass decides
            return OperatorRefusalError(failure.error, needed, held=True, method=INFO, refused=refused)
        return LookUpRefusedError(failure.error, INFO)  # the look-up's, for the week: failed once, logged once
    if failure.kind is LookUpFailure.REFUSED:
        said = logged(failure.error)
        log.error("digest for %s: Slack refused the channel look-up (%s); tried again later", channel, said)
    return ChatServiceError(str(exc), refused=refused)  # tried again once stale, naming what Slack answered


def slack_permalink(
    client: WebClient, refusals: OperatorRefusals | None = None, reach: SlackReach | None = None
) -> Callable[[str, str], str | None]:
    """``permalink(channel, ts)`` through chat.getPermalink, remembered per (channel, ts); None when unknown. A
    refusal only the operator can fix is told to ``refusals`` (the pass's); once one refuses the method or the token,
    the rest of the pass asks Slack no more (no links)."""
    known: dict[tuple[str, str], str | None] = {}
    method = "chat.getPermalink"
    reach = reach or SlackReach(client)

    def permalink(channel: str, ts: str) -> str | None:
        key = (channel, ts)
        if key in known:
            return known[key]
        if refusals is not None and refusals.refusing(method) is not None:
            return None
        try:
            with reach.call(method, channel):  # Slack out of reach: the pass stops (``SlackReach``)
                response = client.chat_getPermalink(channel=channel, message_ts=ts)
            known[key] = str(response.get("permalink") or "") or None
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            log.info("no permalink for %s/%s: %s", channel, ts, logged(error))
            if error in CONFIGURATION_REFUSALS and refusals is not None:
                refusals.refused(error=error, needed=slack_needed_scope(exc), method=method, channel_id=channel)
            known[key] = None
        return known[key]

    return permalink


@dataclass(frozen=True, slots=True)
class SlackOutlet:
    """The digest as Block Kit messages, posted through ``post`` (``digests.sender.DigestOutlet``)."""

    post_blocks: PostFn
    permalink: PermalinkFn | None = None
    limits: DigestLimits = DEFAULT_LIMITS

    def render(self, data: DigestData, view: SubscriptionView, *, period: str) -> list[Rendered]:
        messages = build_digest(
            data,
            subscription_view=view,
            period=period,
            now=data.window_end,
            permalink=self.permalink,
            limits=self.limits,
        )
        total = len(messages)
        return [
            Rendered(text=digest_fallback_text(data, lang=view.language, part=index, parts=total), blocks=blocks)
            for index, blocks in enumerate(messages, start=1)
        ]

    def post(self, channel_id: str, message: Rendered) -> str:
        return self.post_blocks(channel_id, message.blocks, message.text)


def send_digest(
    db: Database,
    *,
    channel_id: str,
    period: str,
    now: datetime,
    worker_id: str,
    post: PostFn,
    permalink: PermalinkFn | None = None,
    stale_after: timedelta = STALE_AFTER,
    data: DigestData | None = None,
    limits: DigestLimits = DEFAULT_LIMITS,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    clock: Clock | None = None,
) -> SendResult:
    """``digests.sender.send_digest`` in Slack: the channel's digest for ``period``, at most once."""
    return sender.send_digest(
        db,
        channel_id=channel_id,
        period=period,
        now=now,
        worker_id=worker_id,
        outlet=SlackOutlet(post, permalink, limits),
        stale_after=stale_after,
        data=data,
        private_channel=private_channel,
        tz=tz,
        clock=clock,
    )


def send_due_digests(
    db: Database,
    *,
    now: datetime,
    worker_id: str,
    post: PostFn,
    permalink: PermalinkFn | None = None,
    stale_after: timedelta = STALE_AFTER,
    limits: DigestLimits = DEFAULT_LIMITS,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    clock: Clock | None = None,
    left_out: LeftOut | None = None,
) -> list[SendResult]:
    """``digests.sender.send_due_digests`` in Slack: every digest due now (the runs never refused first)."""
    return sender.send_due_digests(
        db,
        now=now,
        worker_id=worker_id,
        outlet=SlackOutlet(post, permalink, limits),
        stale_after=stale_after,
        private_channel=private_channel,
        tz=tz,
        clock=clock,
        left_out=left_out,
    )


def due_digests_poster(
    db: Database, client: WebClient, channels: ChannelDirectory, *, tz: ZoneInfo = TIMEZONE, clock: Clock | None = None
) -> Callable[[datetime, str], list[SendResult]]:
    """``post(now, worker_id)``: every digest due at ``now``, posted through ``client`` (``bot.jobs.DigestPass``).
    Whether a question's channel is private is Slack's current answer, asked once per pass (a channel may have turned
    private since), or what the database knows when Slack cannot be asked (``SourceChannels``); whether it is shared
    with another organisation is asked before each post that will be asked (``not_shared_outside``). ``clock``: the
    time as the pass goes (claims, Slack's waits); by default the pass's ``now`` plus the time measured since."""

    refused_channels = RefusedChannels()  # source channels Slack refused to tell about: kept for the week
    reach = SlackReach(client)  # whether a call Slack did not answer stops the pass, with its memory of those that did

    def post_due(now: datetime, worker_id: str) -> list[SendResult]:
        tick = clock or elapsed_clock(now)
        reach.begin()

        def shared_outside(channel: str) -> bool:
            with reach.call(INFO, channel):  # Slack out of reach: the pass stops (``SlackReach``)
                return channels.shared_outside_or_raise(client=client, channel_id=channel, now=tick())

        def known_shared(channel: str) -> bool | None:
            facts = channels.known(channel_id=channel, now=tick())
            return facts[1] if facts is not None else None

        limit = LookUpLimit(tick)  # one memory of Slack's rate limit on conversations.info for the whole pass
        refusals = OperatorRefusals()  # and of the refusals only the operator can fix
        # and of the posts refused with no_permission before any went out
        held = held_refusals(db, now=now, tz=tz)
        sources = SourceChannels(
            db,
            client,
            channels,
            now=now,
            clock=tick,
            limit=limit,
            refusals=refusals,
            refused_channels=refused_channels,
            tz=tz,
            reach=reach,  # Slack out of reach: the pass stops at its first look-up
        )
        post = not_shared_outside(
            slack_post(client, refusals, held, reach),
            shared_outside,
            limit=limit,
            known=known_shared,
            refusals=refusals,
            stored_private=sources.stored_privacy,
            unasked=lambda channel: _refuse_unasked(channel, refusals, held),
            held=held,
        )
        stopped: ServiceUnreachableError | None = None
        try:
            results = send_due_digests(
                db,
                now=now,
                worker_id=worker_id,
                post=post,
                permalink=slack_permalink(client, refusals, reach),
                private_channel=sources,
                tz=tz,
                clock=tick,
                left_out=sources.left_out,
            )
        except ServiceUnreachableError as exc:  # stopped: what was met before the stop is still settled and told
            stopped, results = exc, exc.results
        sources.report()
        held.tried(results)  # tried and failed for a passing reason: nothing left to wait for
        # a stopped pass decides held refusals only when a post went out (each its channel's): else it did not learn
        # whose they are, and they stay held (claimed) for the next pass
        if stopped is None or held.decided:
            results = fail_held(db, results, held.settle(refusals), worker_id=worker_id, now=now)
        tell_refused(db, results, now=now)  # what failed for the week is certain
        told: list[str] = []
        if stopped is None or not held.holding:  # held refusals left open: the sources' may be part of them
            told = settle_sources(db, sources, pass_refused=held.pass_refused, now=now, tz=tz)
        refusals.tell_staff(db, now=now, tz=tz)
        if stopped is not None:  # then the pass's one line (``--send-due``, ``wieweet run``), with its results
            for channel in sources.refused.keys() - set(told):  # not told: asked again by the next pass
                refused_channels.forget(channel)
            stopped.results = results
            raise stopped
        return results

    return post_due


@dataclass(frozen=True, slots=True)
class Preview:
    view: SubscriptionView
    period: str
    messages: list[list[Block]]


def preview_digest(
    db: Database,
    *,
    channel_id: str | None,
    now: datetime,
    default_language: str,
    week: str | None = None,
    lang: str | None = None,
    themes: Sequence[str] | None = None,
    slack: tuple[WebClient, ChannelDirectory] | None = None,
    tz: ZoneInfo = TIMEZONE,
    mentions: bool = True,
) -> Preview:
    """This week's digest for one channel as Block Kit, shown now to one person (nothing is posted).

    With ``slack`` (a client and the directory), whether the questions' channels are private is the weekly pass's
    own look-up (``SourceChannels``: Slack, else what the database knows), so the preview shows what the digest
    will; without (the command line), what was stored. ``mentions=False``: people by name rather than as Slack
    mentions (a preview read outside Slack)."""
    private_channel: PrivateChannel | None = None
    if slack is not None:
        client, channels = slack
        refusals = OperatorRefusals(consequence=OperatorRefusals.PREVIEW)  # staff are told by the weekly pass
        private_channel = SourceChannels(db, client, channels, now=now, refusals=refusals)
    found = preview_data(
        db,
        channel_id=channel_id,
        now=now,
        default_language=default_language,
        week=week,
        lang=lang,
        themes=themes,
        private_channel=private_channel,
        tz=tz,
    )
    messages = build_digest(
        found.data, subscription_view=found.view, period=found.period, now=found.now, mentions=mentions
    )
    return Preview(view=found.view, period=found.period, messages=messages)
