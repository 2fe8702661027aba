"""Whether the channels a digest's questions were asked in are private, for one pass over the due digests.

Slack is asked (``conversations.info``, through ``ChannelDirectory``) once per source channel per pass, not once
per digest: 300 channels due at once share the answers. A look-up that fails (a rate limit: about 50 calls a
minute; an error on Slack's side, a timeout) falls back to what the database knows
(``bot.privacy.get_stored_channel_privacy``, kept up to date by the daily reconcile): private stays private, public
stays public, and a channel it does not know stays out of the digests. A channel Slack does not show the bot
(``channel_not_found``: deleted, or private without the bot) or will not tell about stays out as unknown; a refusal
only the operator can fix (a missing scope, a bad token: ``CONFIGURATION_REFUSALS``) is no answer about the channel:
the database decides, and ``OperatorRefusals`` says it once per pass and tells staff once per week (a refused token
or a missing chat:write cannot carry that notice: the ERROR line says so instead); the rest of the
pass asks Slack no more what would meet the same refusal (``OperatorRefusals.refusing``; a missing read scope refuses
one kind of channel, public or private, and the other kind is still asked). After a
rate limit the pass asks Slack no more until Slack's Retry-After has passed (``LookUpLimit``, one per pass, shared
with the look-up before each post): the rest answer from the database. ``sort_failed_look_up`` is the one place that
says what a failed look-up is.
Either answer only ever leaves questions out: a question stored as asked in a private channel stays out whatever
Slack says (``digests.model.is_public_content``).

The pass logs at WARNING how many public questions its digests would have quoted from the channels nobody could
vouch for (``left_out``, told by the collection), so a week's digests missing them is never silent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from math import ceil
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.privacy import get_stored_channel_privacy
from bot.text import counted
from digests.errors import ServiceUnreachableError
from digests.period import TIMEZONE, IsoWeek
from digests.sender import logged
from digests.subscriptions import CHANNEL_GONE, tell_digests_refused
from handlers.accounts import NOT_JSON, never_sent, unreachable_error, unreachable_kind
from handlers.channels import ChannelDirectory
from handlers.services import slack_rate_limit_wait, slack_transient
from storage.db import Database

log = logging.getLogger(__name__)


class LookUpFailure(StrEnum):
    RATE_LIMITED = "rate_limited"  # Slack asked to wait (429; without a Retry-After: ``NO_RETRY_AFTER_WAIT``)
    PASSING = "passing"  # an error on Slack's side, a timeout: no answer
    GONE = "gone"  # the channel is gone for the bot (``CHANNEL_GONE``: deleted, archived, the bot removed)
    CONFIGURATION = "configuration"  # the app's configuration (``CONFIGURATION_REFUSALS``): the operator's to fix
    REFUSED = "refused"  # any other answer that is no passing failure


@dataclass(frozen=True, slots=True)
class FailedLookUp:
    kind: LookUpFailure
    error: str
    wait: int | None = None  # seconds, for RATE_LIMITED
    said: bool = True  # False: a 429 without a Retry-After, waited ``NO_RETRY_AFTER_WAIT`` (slack_sdk's wait)
    needed: str = ""  # for CONFIGURATION: the scope Slack says is needed, when it says


# Slack's refusals only the operator can fix — the app's token, its scopes — for every channel alike: said once per
# pass and to staff once per week (``OperatorRefusals``); the week's digests stay due and go out once it is fixed.
# Of those, the refusals of the token itself (revoked, wrong, of the wrong kind — an app-level or user token where
# the bot token belongs —, the app or workspace gone, a call from an IP address the app does not allow): every call
# of the pass meets them, and a notice to staff, posted with that very token, would too.
TOKEN_REFUSALS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type"}
)
# And the method's: a scope it needs. Slack's ``no_permission`` is neither: it concerns one conversation (the app
# is no member of it, or may not post there), so it is that channel's refusal for the week (``CHANNEL_REFUSALS``)
# — unless every post of a pass meets it (``digest_post.HeldRefusals``).
METHOD_REFUSALS = frozenset({"missing_scope"})
CONFIGURATION_REFUSALS = TOKEN_REFUSALS | METHOD_REFUSALS
# ``conversations.info`` needs a scope by the kind of channel asked about: a missing one refuses that kind only, so
# the pass goes on asking about the other kind (Slack's ``needed`` says which: scope -> private).
INFO = "conversations.info"
READ_SCOPES = {"channels:read": False, "groups:read": True}
# Slack's refusals about one conversation that no retry this week mends (someone in it has to add the app): the
# digest channel's look-up before a post fails that week's run, recorded as the look-up's refusal, not as the channel
# refusing its post (``digest_post.look_up_failed``); a source channel's is remembered for the rest of the week
# (``RefusedChannels``), not asked every pass.
CHANNEL_REFUSALS = frozenset({"no_permission"})
POST_SCOPE = "chat:write"  # what ``chat.postMessage`` needs: the digests' and the staff notices' alike


def slack_needed_scope(exc: SlackApiError) -> str:
    """The scope a ``missing_scope`` answer says is needed (Slack's ``needed``), else ``""``."""
    return str(exc.response.get("needed") or "")


def out_of_reach(exc: Exception) -> str | None:
    """Why ``exc`` says Slack could not be reached at all, as ``handlers.accounts.unreachable_kind`` says it (no
    connection, no answer in time, an answer that is not Slack's: a proxy's page, whatever its status); None when
    Slack answered, also with an error on its side (``internal_error`` with a 500: its answer, tried again later)."""
    if isinstance(exc, SlackApiError) and not str(exc.response.get("error") or "").startswith(NOT_JSON):
        return None
    return unreachable_kind(exc)


class SlackReach:
    """Whether a digest pass's call to Slack that met no answer (``out_of_reach``) stops the pass: it raises
    ``ServiceUnreachableError`` (``digests.sender`` stops there, saying the one line every command that needs Slack
    says, ``handlers.slack_settings.slack_unreachable``), or the call's own error goes on, a failure of that channel
    alone (as any other: a look-up answered by the database, a run kept claimed until stale, no link).

    - No connection (refused, DNS, a TLS handshake: ``handlers.accounts.never_sent``): nothing reached Slack and
      every other call would meet it: stops.
    - A post (``write``) that may have reached Slack (no answer in time, a page that is not Slack's, the connection
      closed or reset after the request was sent) may have been posted: never stops, its run keeps its claim until
      stale (not posted again by the next pass; ``digests.sender``).
    - Any other call without an answer: stops only when another, different call met no answer since the last
      answer (Slack gone during the pass; from the start, one more call is waited for). One channel whose call never
      answers stops no pass, in any process (cron's ``--send-due`` too): it is that channel's own failure. A call
      that stopped a pass (``suspects``, this process's) is its channel's own failure next time.

    One per process (``due_digests_poster``), ``begin`` at each pass."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self.suspects: set[tuple[str, str]] = set()  # (method, channel) whose call stopped a pass, not answered since
        self.begin()

    def begin(self) -> None:
        self.failing: set[tuple[str, str]] = set()  # calls not answered since the last answer

    @contextmanager
    def call(self, method: str, channel: str, *, write: bool = False) -> Iterator[None]:
        key = (method, channel)
        try:
            yield
        except (SlackApiError, OSError) as exc:
            kind = out_of_reach(exc)
            if kind is None:  # Slack answered, with an error
                self._answered(key)
                raise
            if self._stops(key, exc, write=write):
                self.suspects.add(key)
                raise ServiceUnreachableError(unreachable_error(self.client, exc, kind)) from exc
            self.failing.add(key)
            raise
        self._answered(key)

    def _answered(self, key: tuple[str, str]) -> None:
        self.failing.clear()
        self.suspects.discard(key)

    def _stops(self, key: tuple[str, str], exc: Exception, *, write: bool) -> bool:
        if never_sent(exc):
            return True
        if write or key in self.suspects:
            return False
        return bool(self.failing - {key})


def sort_failed_look_up(exc: Exception) -> FailedLookUp:
    """What a failed ``conversations.info`` is: the one classification both the source-channel look-up and the
    check before each post use. A connection failure or timeout (``OSError``), or an answer that is not Slack's (a
    proxy's page), is passing."""
    if not isinstance(exc, SlackApiError) or out_of_reach(exc) is not None:
        return FailedLookUp(LookUpFailure.PASSING, str(exc) if not isinstance(exc, SlackApiError) else NOT_JSON)
    error = str(exc.response.get("error") or "")
    if error in CHANNEL_GONE:
        return FailedLookUp(LookUpFailure.GONE, error)
    if error in CONFIGURATION_REFUSALS:
        return FailedLookUp(LookUpFailure.CONFIGURATION, error, needed=slack_needed_scope(exc))
    limited = slack_rate_limit_wait(exc)
    if limited is not None:
        return FailedLookUp(LookUpFailure.RATE_LIMITED, error or "ratelimited", limited.seconds, limited.said)
    if slack_transient(exc):
        return FailedLookUp(LookUpFailure.PASSING, error)
    return FailedLookUp(LookUpFailure.REFUSED, error)


class LookUpLimit:
    """One digest pass's memory of Slack's rate limit on ``conversations.info``: after a Retry-After, nothing in the
    pass asks Slack again until it has passed on ``clock``."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._until: datetime | None = None

    def seconds_left(self) -> int:
        """Whole seconds until Slack may be asked again; 0 when it may now."""
        if self._until is None:
            return 0
        return max(0, ceil((self._until - self.clock()).total_seconds()))

    def limited(self, seconds: int) -> None:
        """Slack asked to wait ``seconds`` from now (a later end than one known already wins)."""
        until = self.clock() + timedelta(seconds=seconds)
        if self._until is None or until > self._until:
            self._until = until


class OperatorRefusals:
    """One digest pass's refusals only the operator can fix (``CONFIGURATION_REFUSALS``), by cause (Slack's error
    and the scope it says is needed): each logged at ERROR once per pass, however many channels meet it, and told
    to staff once per week (``tell_staff``, at the end of the pass). Once refused, the pass asks Slack no more what
    would meet the same cause (``refusing``): a 300-channel pass with a revoked token makes one call, not 300."""

    # What the ERROR line says follows: in a weekly pass the runs stay due; a preview has no run to keep.
    PASS = "the week's digests stay due and go out once it is"
    PREVIEW = "this preview used what the database knows of the questions' channels"
    # A refused token cannot carry the notice to staff either: this line (and ``/healthz``'s ``"slack": "down"``,
    # from its own ``auth.test``) is where it shows.
    UNTOLD = "; staff are not told in Slack: the token is refused, so the notice could not be posted either"
    # Nor can a missing ``chat:write``: the notice is posted with ``chat.postMessage`` as the digest was.
    UNTOLD_SCOPE = "; staff are not told in Slack: chat:write is missing, so the notice could not be posted either"

    def __init__(self, *, consequence: str = PASS) -> None:
        self.consequence = consequence
        self._causes: dict[tuple[str, str], tuple[str, str]] = {}  # (error, needed) -> the first channel, method
        self._by_method: dict[str, tuple[str, str]] = {}  # method -> the first cause refusing it
        self._by_kind: dict[bool, tuple[str, str]] = {}  # ``conversations.info``: private -> the scope missing
        self._token: tuple[str, str] | None = None  # a refusal of the token itself: every method
        self._unconfirmed: set[tuple[str, str]] = set()  # causes not told to staff (yet): not certain this pass

    def refused(
        self, *, error: str, needed: str, method: str, channel_id: str, tell: bool = True, first: str | None = None
    ) -> None:
        """Slack refused ``method`` for ``channel_id`` for a reason only the operator can fix (``error``, the scope
        ``needed``): said at ERROR once per pass, told to staff at its end (``tell_staff``, naming ``first``, by
        default ``channel_id``); ``tell=False``: not yet certain (``digest_held.HeldRefusals.confirmed``), not told
        unless the pass meets it again for certain."""
        cause = (error, needed)
        if not tell and cause not in self._causes:
            self._unconfirmed.add(cause)
        elif tell:
            self._unconfirmed.discard(cause)
        if method == INFO and error == "missing_scope" and needed in READ_SCOPES:
            self._by_kind.setdefault(READ_SCOPES[needed], cause)
        elif error in METHOD_REFUSALS:
            self._by_method.setdefault(method, cause)
        elif error in TOKEN_REFUSALS and self._token is None:
            self._token = cause
        if cause in self._causes:
            return
        self._causes[cause] = (first or channel_id, method)
        log.error(
            "digests: Slack refused %s for %s (%s%s): the app's configuration needs fixing; %s%s",
            method,
            channel_id,
            logged(error),
            f", scope needed: {logged(needed)}" if needed else "",
            self.consequence,
            untold(error, needed) if self.consequence == self.PASS else "",
        )

    def refusing(self, method: str, *, private: bool | None = None) -> tuple[str, str] | None:
        """The cause (error, needed) this pass already met that a call of ``method`` would meet again: a refusal of
        the token (any method), else one of ``method`` itself (a missing scope: Slack says which scope the method
        needs; granted, the next pass asks again). ``conversations.info`` about a channel that is ``private`` (or
        public) is refused by the missing scope of that kind only (``READ_SCOPES``); of a channel whose kind is not
        known (None), only when both are missing. None: Slack may be asked."""
        cause = self._token or self._by_method.get(method)
        if cause is not None or method != INFO or not self._by_kind:
            return cause
        if private is None:
            return self._by_kind[False] if len(self._by_kind) == len(READ_SCOPES) else None
        return self._by_kind.get(private)

    def refusing_look_up(self, kind: Callable[[], bool | None]) -> tuple[str, str] | None:
        """``refusing`` for ``conversations.info`` about one channel, whose ``kind`` (private, public, or not known:
        None) is read only when a missing read scope refuses one kind this pass."""
        cause = self.refusing(INFO)
        if cause is not None or not self._by_kind:
            return cause
        private = kind()
        return self.refusing(INFO, private=private) if private is not None else None

    @property
    def causes(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._causes)

    def tell_staff(self, db: Database, *, now: datetime, tz: ZoneInfo = TIMEZONE) -> None:
        """Staff are told of each cause once per ISO week (the notice's outbox key: the week and the cause, so once
        across replicas too), naming the method Slack refused first for it. Not of
        a refused token (``TOKEN_REFUSALS``): the notice would be posted with the very token Slack just refused, so
        the ERROR line says it instead (``UNTOLD``). Nor of a missing ``chat:write``: the notice is a
        ``chat.postMessage`` too (``UNTOLD_SCOPE``)."""
        told = {
            cause: first
            for cause, first in self._causes.items()
            if not untold(*cause) and cause not in self._unconfirmed
        }
        if not told:
            return
        period = str(IsoWeek.containing(now, tz))
        with db.session() as session:
            for (error, needed), (channel_id, method) in told.items():
                tell_digests_refused(
                    session, error=error, needed=needed, method=method, channel_id=channel_id, period=period, now=now
                )


def untold(error: str, needed: str) -> str:
    """Why staff cannot be told of Slack's refusal (``error``, the scope ``needed``) in Slack, for the ERROR line;
    ``""``: they can. A refused token, or a missing ``chat:write``, would refuse the notice's own post as well."""
    if error in TOKEN_REFUSALS:
        return OperatorRefusals.UNTOLD
    if error == "missing_scope" and POST_SCOPE in {scope.strip() for scope in needed.split(",")}:
        return OperatorRefusals.UNTOLD_SCOPE
    return ""


class RefusedChannels:
    """The source channels Slack refused to tell about (``CHANNEL_REFUSALS``) this ISO week, kept across the passes
    of one process: such a channel is not asked again that week (left out, as any refusal to say), and the refusal
    is logged once per channel per week, not every pass. A new week asks again; so does a restarted process, and a
    pass after one that stopped before its refusal was told to staff (``forget``)."""

    def __init__(self) -> None:
        self._refused: dict[str, tuple[str, str]] = {}  # channel -> (ISO week, Slack's error)

    def refused(self, channel_id: str, *, week: str) -> str | None:
        """Slack's error for ``channel_id`` if it was refused in ``week``, else None."""
        kept = self._refused.get(channel_id)
        return kept[1] if kept is not None and kept[0] == week else None

    def forget(self, channel_id: str) -> None:
        """Ask about ``channel_id`` again: its refusal was not told to staff (the pass stopped before it knew)."""
        self._refused.pop(channel_id, None)

    def remember(self, channel_id: str, *, week: str, error: str) -> None:
        self._refused[channel_id] = (week, error)
        for channel in [c for c, (w, _) in self._refused.items() if w != week]:  # past weeks' refusals are done
            del self._refused[channel]


class SourceChannels:
    """``private_channel(channel_id) -> bool`` (``digests.model.PrivateChannel``) for one digest pass.
    ``reach`` (the weekly pass's): Slack out of reach (``out_of_reach``: no connection, no answer in time, an answer
    that is not Slack's) may raise ``ServiceUnreachableError`` (``SlackReach``), which stops the pass before it asks
    about every other channel; else (a preview, or a channel's own failure) that look-up, like any passing failure,
    is answered by the database."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        channels: ChannelDirectory,
        *,
        now: datetime,
        clock: Callable[[], datetime] | None = None,
        limit: LookUpLimit | None = None,
        refusals: OperatorRefusals | None = None,
        refused_channels: RefusedChannels | None = None,
        tz: ZoneInfo = TIMEZONE,
        reach: SlackReach | None = None,
    ) -> None:
        self.db = db
        self.reach = reach  # Slack out of reach stops the pass (``SlackReach``), not the DB's answer
        self.client = client
        self.channels = channels
        self.now = now
        self.clock = clock or (lambda: now)
        self.limit = limit or LookUpLimit(self.clock)
        self.refusals = refusals or OperatorRefusals()
        self.refused_channels = refused_channels or RefusedChannels()
        self.week = str(IsoWeek.containing(now, tz))
        self._answers: dict[str, bool] = {}
        self._unknown: set[str] = set()
        self._left_out: dict[int, str] = {}  # question id -> channel: quoted by a digest, left out by an answer
        self.refused: dict[str, str] = {}  # channel -> Slack's refusal to tell about it, met this pass

    def __call__(self, channel_id: str) -> bool:
        known = self._answers.get(channel_id)
        if known is None:
            known = self._answers[channel_id] = self._ask(channel_id)
        return known

    @property
    def unknown(self) -> frozenset[str]:
        """The channels neither Slack nor the database could say were public: left out this pass."""
        return frozenset(self._unknown)

    def _ask(self, channel_id: str) -> bool:
        if self.refused_channels.refused(channel_id, week=self.week) is not None:  # refused this week already
            self._unknown.add(channel_id)
            return True
        # Slack asked to wait, or refused this pass for a reason only the operator can fix: a recent answer still
        # counts, else the database's
        known = self.channels.known(channel_id=channel_id, now=self.clock())
        if self.limit.seconds_left() or self._refused(channel_id, known):
            return known[0] if known is not None else self._stored(channel_id)
        try:
            if self.reach is not None:
                with self.reach.call(INFO, channel_id):  # Slack out of reach stops the pass
                    private = self.channels.private_or_raise(
                        client=self.client, channel_id=channel_id, now=self.clock()
                    )
            else:
                private = self.channels.private_or_raise(client=self.client, channel_id=channel_id, now=self.clock())
        except (OSError, SlackApiError) as exc:  # OSError: no answer in time, or the connection failed
            failure = sort_failed_look_up(exc)
        else:
            return private
        if failure.kind is LookUpFailure.RATE_LIMITED and failure.wait:
            self.limit.limited(failure.wait)
            if not failure.said:
                log.warning(
                    "conversations.info %s rate limited without a Retry-After: Slack not asked for %d s",
                    channel_id,
                    failure.wait,
                )
        if failure.kind is LookUpFailure.CONFIGURATION:  # no answer about the channel: what the database knows
            self.refusals.refused(error=failure.error, needed=failure.needed, method=INFO, channel_id=channel_id)
            return self._stored(channel_id)
        if failure.kind in (LookUpFailure.RATE_LIMITED, LookUpFailure.PASSING):
            said = logged(failure.error)
            log.info("conversations.info %s failed (%s): what the database knows is used", channel_id, said)
            return self._stored(channel_id)
        return self._left_out_by(channel_id, failure)

    def _left_out_by(self, channel_id: str, failure: FailedLookUp) -> bool:
        """An answer, not a passing failure: Slack does not show the bot the channel (deleted, or private without
        it) or refuses to say: left out, as a channel nobody can vouch for (True: as a private one). A refusal is
        kept for staff (``refused``): told as its channel's own, unless the pass found its digest channels refused
        as the whole app's (``digest_held.settle_sources``)."""
        if failure.kind is LookUpFailure.REFUSED:
            self.refused[channel_id] = failure.error
        if failure.error in CHANNEL_REFUSALS:
            self.refused_channels.remember(channel_id, week=self.week, error=failure.error)
            log.info(
                "conversations.info %s refused (%s): left out, not asked again this week",
                channel_id,
                logged(failure.error),
            )
        else:
            log.info("conversations.info %s refused (%s): left out", channel_id, logged(failure.error))
        self._unknown.add(channel_id)
        return True

    def _refused(self, channel_id: str, known: tuple[bool, bool] | None) -> bool:
        """Whether asking Slack about ``channel_id`` would meet a refusal this pass met already: a missing read scope
        refuses one kind of channel, and the kind is taken from a recent answer, else from the database."""
        kind = (lambda: known[0]) if known is not None else (lambda: self.stored_privacy(channel_id))
        return self.refusals.refusing_look_up(kind) is not None

    def stored_privacy(self, channel_id: str) -> bool | None:
        """What the database knows of ``channel_id``: private (True), public (False) or nothing (None)."""
        with self.db.session() as session:
            return get_stored_channel_privacy(session, channel_id=channel_id, now=self.now)

    def _stored(self, channel_id: str) -> bool:
        private = self.stored_privacy(channel_id)
        if private is None:
            self._unknown.add(channel_id)
            return True
        return private

    def left_out(self, questions: Mapping[int, str]) -> None:
        """The questions (id -> channel) a digest of this pass would have quoted that the answers left out
        (``digests.model.LeftOut``)."""
        self._left_out.update(questions)

    def left_out_of(self, channel_id: str) -> int:
        """How many questions this pass's digests would have quoted from ``channel_id`` that the answers left out."""
        return sum(1 for channel in self._left_out.values() if channel == channel_id)

    def report(self) -> int:
        """Log at WARNING how many public questions this pass's digests would have quoted from a channel nobody
        could vouch for (each question once, however many digests quote it); returns it."""
        if not self._unknown:
            return 0
        left_out = sum(1 for channel in self._left_out.values() if channel in self._unknown)
        log.warning(
            "digests: %s from %s left out: Slack could not be asked and the database does not know the channel (%s)",
            counted(left_out, "public question"),
            counted(len(self._unknown), "channel"),
            ", ".join(sorted(self._unknown)),
        )
        return left_out
