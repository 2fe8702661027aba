"""What every listener and the Slack-side jobs are given: one ``Services``, built once by the composition root.

Everything is passed in at construction — the core services, the Slack caches, and the doorbell that wakes the job
runner when a request queued outbox messages. Nothing is attached later and nothing is read from globals.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import directory
from bot.config import Settings
from bot.i18n import DEFAULT_LANGUAGE, locale_language
from bot.jobs import Doorbell
from bot.knowledge import KnowledgeBase
from bot.needs import NeedsService
from bot.network import Network, is_guest
from bot.routing import RoutingService
from bot.text import strip_invisible
from handlers.channels import ChannelDirectory
from handlers.marked_away import MarkedAwayCache
from handlers.users_info import BatchAnswers
from storage.db import Database
from storage.session import Session

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LOCALE_TTL = timedelta(days=7)
# How long a person's team, Grid organisation and guest status (``LocaleCache.person``, the network check) are kept:
# short, so that a member made a guest (or moved to another team) is kept out by every process of the app within
# minutes, not only by the one that got Slack's ``user_change``. ``users.info`` is Tier 4 (100+ calls a minute):
# one look-up per active person per 10 minutes stays far below that for a network of thousands.
ACCESS_TTL = timedelta(minutes=10)
V = TypeVar("V")
MAX_PEOPLE = 5000  # people whose language and team are kept in memory (the least recently seen go first)


def system_clock() -> datetime:
    return datetime.now(UTC)


def file_clock(path: str) -> Clock:
    """TEST ONLY (``WIEWEET_FAKE_NOW_FILE``): the ISO datetime written in ``path``, else the real time.

    End-to-end tests move the bot's time forward by rewriting the file; production never sets it.
    """

    def now() -> datetime:
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            return system_clock()
        if not text:
            return system_clock()
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    return now


def make_clock(settings: Settings) -> Clock:
    return file_clock(settings.fake_now_file) if settings.fake_now_file else system_clock


@dataclass(frozen=True, slots=True)
class SlackPerson:
    """What ``users.info`` says about whom a person belongs to (``team``, ``enterprise``: None when it says nothing,
    ``known`` False when Slack does not know the user), and their UI language."""

    team: str | None
    enterprise: str | None
    locale: str = ""
    known: bool = True
    guest: bool = False  # a single- or multi-channel guest (``bot.network.is_guest``)


class _Lru(Generic[V]):
    """At most ``size`` entries; the least recently used goes first. Not thread-safe: used under the owner's lock."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: str) -> V | None:
        return self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class _Known(Generic[V]):
    value: V
    fetched_at: datetime  # when Slack said so: kept for ``LOCALE_TTL`` from then, as the database copy is

    def fresh(self, now: datetime, ttl: timedelta = LOCALE_TTL) -> bool:
        return now - self.fetched_at < ttl


@dataclass(slots=True)
class _UserLock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0  # requests holding or waiting for it: at 0 it is dropped


class LocaleCache:
    """A Slack user's UI language and team: looked up once (``users.info`` with ``include_locale``) and cached for
    ``LOCALE_TTL`` from when Slack said so (the database copy expires then too): a language changed in Slack is
    taken within a week, without a restart. At most ``max_people`` people are kept (the least recently seen go).

    The team (``person``) is asked for by the network check before the language: the profile it fetched is then
    used for the language too, so a person is looked up once. Whom they belong to and whether they are a guest are
    kept for ``ACCESS_TTL`` only: each process asks again soon after a change, whether or not it got the
    ``user_change`` (which drops them at once where it arrives)."""

    def __init__(self, default_language: str = DEFAULT_LANGUAGE, *, max_people: int = MAX_PEOPLE) -> None:
        self.default_language = default_language
        self._lock = threading.Lock()
        self._memory: _Lru[_Known[str]] = _Lru(max_people)
        self._people: _Lru[_Known[SlackPerson]] = _Lru(max_people)
        # profiles ``person`` fetched, for the next language look-up
        self._fetched: _Lru[_Known[dict[str, Any]]] = _Lru(max_people)
        self._user_locks: dict[str, _UserLock] = {}  # only while a look-up of that user runs or waits

    @contextmanager
    def _user_lock(self, user_id: str) -> Iterator[None]:
        """One look-up of ``user_id`` at a time (single flight); the lock goes once nobody holds or waits for it."""
        with self._lock:
            entry = self._user_locks.setdefault(user_id, _UserLock())
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._user_locks[user_id]

    def _person_hit(self, user_id: str, now: datetime) -> SlackPerson | None:
        with self._lock:
            hit = self._people.get(user_id)
        return hit.value if hit is not None and hit.fresh(now, ACCESS_TTL) else None

    def person(self, *, client: WebClient, user_id: str, now: datetime) -> SlackPerson:
        """Whom ``user_id`` belongs to, by ``users.info``, kept for ``ACCESS_TTL`` (the language it carries is kept
        for ``LOCALE_TTL``). A user Slack does not know: ``known`` False (not kept). Any other failure of Slack raises
        ``SlackUnavailableError``: an error, never a silent answer."""
        hit = self._person_hit(user_id, now)
        if hit is not None:
            return hit
        with self._user_lock(user_id):
            hit = self._person_hit(user_id, now)
            if hit is not None:
                return hit
            try:
                user = client.users_info(user=user_id, include_locale=True).get("user") or {}
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error in ("user_not_found", "user_not_visible"):
                    return SlackPerson(None, None, known=False)
                raise SlackUnavailableError(f"users.info: {error}") from exc
            enterprise = (user.get("enterprise_user") or {}).get("enterprise_id") if isinstance(user, dict) else None
            found = SlackPerson(
                team=str(user.get("team_id") or "") or None,
                enterprise=str(enterprise or "") or None,
                locale=str(user.get("locale") or ""),
                guest=is_guest(user),
            )
            with self._lock:
                self._people.put(user_id, _Known(found, now))
                if self._fresh(user_id, now) is None:  # the language is still to be looked up: from this profile
                    self._fetched.put(user_id, _Known(dict(user), now))
            return found

    def cached(self, user_id: str | None) -> str | None:
        """The last language known of ``user_id``, however old: for a message shown without a look-up (an error,
        a refusal). ``language`` looks it up again once it is older than ``LOCALE_TTL``."""
        if not user_id:
            return None
        with self._lock:
            hit = self._memory.get(user_id)
        return hit.value if hit is not None else None

    def forget(self, user_id: str) -> None:
        """An erased person: their language, team and Slack profile are not kept (``publish_after_erasure``)."""
        with self._lock:
            self._memory.pop(user_id)
            self._people.pop(user_id)
            self._fetched.pop(user_id)

    def profile_changed(self, user_id: str) -> None:
        """Slack's ``user_change`` for ``user_id`` (a member made a guest, a guest made a member, another team): the
        team and guest status kept here are dropped, so the next request of theirs asks ``users.info`` again. The
        event's own profile is never taken as the answer; the language stays (it expires as before)."""
        with self._lock:
            self._people.pop(user_id)
            self._fetched.pop(user_id)

    def _fresh(self, user_id: str, now: datetime) -> str | None:
        """The language of ``user_id`` known for less than ``LOCALE_TTL`` (call under ``self._lock``)."""
        hit = self._memory.get(user_id)
        return hit.value if hit is not None and hit.fresh(now) else None

    def language(
        self,
        *,
        session: Session,
        client: WebClient,
        user_id: str | None,
        now: datetime,
        answers: BatchAnswers | None = None,
    ) -> str:
        """``user_id``'s language: known here, in the database's copy, else from ``users.info`` (through
        ``answers``, a batch's memory of it, when given: asked once there for whatever else the batch reads)."""
        if not user_id:
            return self.default_language
        with self._lock:
            hit = self._fresh(user_id, now)
        if hit is not None:
            return hit
        stored = directory.get_cached_user(session, user_id=user_id)
        if stored is not None and stored.locale and now - stored.fetched_at < LOCALE_TTL:
            lang = locale_language(stored.locale, self.default_language)
            with self._lock:  # kept until the database copy expires, not for ``LOCALE_TTL`` more
                self._memory.put(user_id, _Known(lang, stored.fetched_at))
                self._fetched.pop(user_id)  # a profile ``person`` fetched is not needed for the language
            return lang
        fetched = self._fetch(client=client, user_id=user_id, now=now, answers=answers)
        if fetched is None:
            return self.cached(user_id) or self.default_language
        locale, name = fetched
        # Written after the per-user lock is released: never hold a Python lock while waiting for a DB lock. And in
        # a short transaction of its own, committed at once: a cache, not part of the request's change, and the
        # request's transaction must not have written while it still calls Slack.
        if not directory.cache_user_apart(session, user_id=user_id, locale=locale, name=name, now=now):
            log.warning("could not cache the Slack profile of %s (database locked)", user_id)
        return self.cached(user_id) or self.default_language

    def _fetch(
        self, *, client: WebClient, user_id: str, now: datetime, answers: BatchAnswers | None = None
    ) -> tuple[str, str] | None:
        """users.info once per user, even when their requests arrive together (single flight); from ``answers``
        when given."""
        with self._user_lock(user_id):
            with self._lock:
                if self._fresh(user_id, now) is not None:
                    return None  # another request of this user fetched it meanwhile
                stashed = self._fetched.pop(user_id)
            user = stashed.value if stashed is not None and stashed.fresh(now) else None
            if user is None and answers is not None:
                answer = answers.ask(client, user_id)
                if answer.account is None:  # as for an error below: the default language, the request goes on
                    log.warning("users.info failed for %s: %s", user_id, answer.error)
                    return None
                user = answer.account
            try:
                if user is None:
                    user = client.users_info(user=user_id, include_locale=True).get("user") or {}
            except SlackApiError as exc:  # e.g. user_not_found: the default language, the request goes on
                log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
                return None
            except OSError as exc:  # no answer at all (a timeout, a refused connection): as for an error, go on
                log.warning("users.info failed for %s: %r", user_id, exc)
                return None
            locale = str(user.get("locale") or "")
            with self._lock:
                self._memory.put(user_id, _Known(locale_language(locale, self.default_language), now))
            return locale, strip_invisible(str(user.get("real_name") or ""))  # a display name: shown to others

    def sizes(self) -> dict[str, int]:
        """How many entries each cache holds (for tests and a look at a running process)."""
        with self._lock:
            return {
                "languages": len(self._memory),
                "people": len(self._people),
                "profiles": len(self._fetched),
                "locks": len(self._user_locks),
            }


# Slack could not answer now (rate limited, an error on its side): the call may succeed later, so it is no answer.
TRANSIENT_SLACK_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def slack_transient(exc: SlackApiError) -> bool:
    """Whether Slack's refusal is passing (429, 5xx, a rate limit or an error on its side), not an answer."""
    status = getattr(exc.response, "status_code", 200)
    return status == 429 or status >= 500 or str(exc.response.get("error") or "") in TRANSIENT_SLACK_ERRORS


def slack_retry_after(exc: SlackApiError) -> int | None:
    """The seconds a rate-limited call's answer (429) asks to wait before trying again (its Retry-After); None when
    it is no rate limit or does not say."""
    if getattr(exc.response, "status_code", 200) != 429:
        return None
    return retry_after_seconds(getattr(exc.response, "headers", None) or {})


# What slack_sdk's own rate-limit retry (``RateLimitErrorRetryHandler``) waits on a 429 that sends no Retry-After: 1 s
# plus up to 1 s of jitter; in whole seconds, 2. A short, bounded back-off, not the stale claim's 10 minutes.
NO_RETRY_AFTER_WAIT = 2


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    seconds: int
    said: bool  # Slack's Retry-After; False: it sent none, and ``NO_RETRY_AFTER_WAIT`` is waited


def slack_rate_limit_wait(exc: SlackApiError) -> RateLimitWait | None:
    """How long a rate-limited call (429) waits before it is tried again: Slack's Retry-After (at least 1 s), or
    ``NO_RETRY_AFTER_WAIT`` when it sends none; None when it is no rate limit."""
    if getattr(exc.response, "status_code", 200) != 429:
        return None
    said = retry_after_seconds(getattr(exc.response, "headers", None) or {})
    return RateLimitWait(NO_RETRY_AFTER_WAIT, said=False) if said is None else RateLimitWait(max(1, said), said=True)


def retry_after_seconds(headers: Mapping[str, Any]) -> int | None:
    """The Retry-After of a response's ``headers`` in seconds (a value may be a list: the first counts); None when
    absent or not a number."""
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                return max(0, int(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError, IndexError):
                return None
    return None


class SlackUnavailableError(RuntimeError):
    """Slack could not answer a call a decision depends on (``slack_transient``): not a refusal. Run from the inbox,
    the request is retried with a backoff; in a listener it reaches the global error handler."""


class StaffDirectory:
    """Who is knowledge-centre staff: the configured user ids plus the members of the staff user group.

    The user group's members are fetched with ``usergroups.users.list`` and cached for a few minutes.
    """

    TTL = timedelta(minutes=5)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._fetched_at: datetime | None = None

    def is_staff(self, *, settings: Settings, client: WebClient, user_id: str | None, now: datetime) -> bool:
        if not user_id:
            return False
        if user_id in settings.staff_user_ids:
            return True
        if not settings.staff_usergroup_id:
            return False
        try:
            return user_id in self._group(settings.staff_usergroup_id, client=client, now=now)
        except SlackApiError as exc:
            if slack_transient(exc):  # not an answer: retried (by the inbox worker), never a false refusal
                raise SlackUnavailableError(f"usergroups.users.list: {exc.response.get('error')}") from exc
            log.warning("usergroups.users.list failed: %s", exc.response.get("error"))  # refuse, not fail open
            return False

    def known_staff(self, *, settings: Settings, user_id: str | None, now: datetime) -> bool | None:
        """Whether ``user_id`` is staff as far as is known without asking Slack: the configured ids and the cached
        user group's members (a member cached earlier counts, however old the cache). None: not known now (the
        group's members were never fetched or are older than ``TTL``); ``is_staff`` would ask Slack."""
        if not user_id:
            return False
        if user_id in settings.staff_user_ids:
            return True
        if not settings.staff_usergroup_id:
            return False
        with self._lock:
            if user_id in self._members:
                return True
            if self._fetched_at is not None and now - self._fetched_at < self.TTL:
                return False
        return None

    def members(self, *, settings: Settings, client: WebClient, now: datetime) -> frozenset[str]:
        """Everyone who is staff: the configured ids and the user group's members (only the ids, and the members
        fetched last, when Slack cannot list the group now)."""
        if not settings.staff_usergroup_id:
            return settings.staff_user_ids
        try:
            group = self._group(settings.staff_usergroup_id, client=client, now=now)
        except SlackApiError as exc:
            log.warning("usergroups.users.list failed: %s", exc.response.get("error"))
            with self._lock:
                group = self._members
        return settings.staff_user_ids | group

    def _group(self, group_id: str, *, client: WebClient, now: datetime) -> frozenset[str]:
        """The staff user group's members, cached for ``TTL`` (``SlackApiError`` when Slack cannot list them)."""
        with self._lock:
            if self._fetched_at is not None and now - self._fetched_at < self.TTL:
                return self._members
        users = client.usergroups_users_list(usergroup=group_id).get("users") or []
        members = frozenset(str(u) for u in users)
        with self._lock:
            self._members, self._fetched_at = members, now
        return members


class HomeNetwork:
    """Who is inside the network (``bot.network``), known once ``auth.test`` answered at start-up
    (``handlers.register``); None before: nobody may be chosen to get a question then."""

    def __init__(self) -> None:
        self.network: Network | None = None


ErrorReport = Callable[[BaseException, dict[str, Any], BoltContext, WebClient], None]


@dataclass(frozen=True)
class Services:
    """Everything listeners and the Slack-side jobs need, built once at start-up and passed in."""

    settings: Settings
    db: Database
    knowledge: KnowledgeBase
    clock: Clock = system_clock
    locales: LocaleCache = field(default_factory=LocaleCache)
    routing: RoutingService | None = None
    needs: NeedsService | None = None  # knowledge needs (topics, proposals, the report); None: not offered here
    staff: StaffDirectory = field(default_factory=StaffDirectory)
    channels: ChannelDirectory = field(default_factory=ChannelDirectory)
    home: HomeNetwork = field(default_factory=HomeNetwork)  # for listeners that choose someone else
    # who is marked away as deactivated, for the ``user_change`` matcher before the ack (``handlers.profile_change``)
    marked_away: MarkedAwayCache = field(default_factory=MarkedAwayCache)
    # rung after a request that queued outbox messages commits: the job runner sends them at once
    outbox: Doorbell = field(default_factory=Doorbell)
    # rung after a request is recorded in the inbox: the inbox worker (``handlers.inbox``) takes it up at once
    inbox: Doorbell = field(default_factory=Doorbell)
    # the global error handler for errors after the ack; None: ``handlers.errors.handle_error`` (tests hand their own)
    report_error: ErrorReport | None = None

    def routing_service(self) -> RoutingService:
        if self.routing is None:
            raise RuntimeError("question routing is not configured in this process")
        return self.routing

    def needs_service(self) -> NeedsService:
        if self.needs is None:
            raise RuntimeError("knowledge needs are not configured in this process")
        return self.needs
