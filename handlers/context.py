"""What every listener gets, and the wrapper that gives it.

Bolt acknowledges Slack before a (non-lazy) listener has finished when ``process_before_response`` is off, so a
global Bolt middleware cannot scope a database transaction around the listener's work. Instead every listener is
registered through ``listener(...)``, which acts as the per-request middleware: it opens one session (one
transaction, committed when the listener returns, rolled back when it raises), stamps a correlation id and the
injected clock, logs one structured line per request, and lets exceptions propagate to the one global error
handler (``handlers.errors``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.config import Settings
from bot.i18n import DEFAULT_LANGUAGE, normalise_language
from bot.knowledge import KnowledgeBase
from bot.needs import NeedsService
from bot.routing import RoutingService
from bot.text import strip_invisible
from handlers.blocks import build_message_blocks
from handlers.channels import ChannelDirectory
from handlers.claims import MessageRef, clicked_message, log_refusal
from storage import slack_repo
from storage.db import Database

request_log = logging.getLogger("wieweet.requests")
log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LOCALE_TTL = timedelta(days=7)


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


class Kicker:
    """Wakes the background jobs (``bot.jobs``) so that messages a request queued go out at once."""

    def __init__(self) -> None:
        self._callback: Callable[[], None] | None = None

    def attach(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    def kick(self) -> None:
        if self._callback is not None:
            self._callback()


class HomeUpdates:
    """Re-publishes users' Home tabs after what they show has changed (the publisher is attached at start-up).

    Called after the request's transaction has committed (or after an outbox message went out), so the Home tab
    shows committed data. A failure to publish is logged with its traceback and does not undo the request.
    """

    def __init__(self) -> None:
        self._publish: Callable[[WebClient, str], None] | None = None

    def attach(self, publish: Callable[[WebClient, str], None]) -> None:
        self._publish = publish

    def refresh(self, client: WebClient, user_ids: Iterable[str | None]) -> None:
        if self._publish is None:
            return
        for user_id in sorted({u for u in user_ids if u}):
            try:
                self._publish(client, user_id)
            except Exception:  # after the commit: the change stands; the next change or visit publishes again
                log.warning("could not publish the Home tab of %s", user_id, exc_info=True)


ErrorReport = Callable[[BaseException, dict[str, Any], BoltContext, WebClient], None]


class ErrorReporter:
    """The one global error handler (``handlers.errors``), reachable from the listener wrapper.

    Bolt loses the acknowledgement when a listener raises *after* calling ``ack()`` (its runner resets the ack
    response while handling the error, so Slack may see no ack and show a timeout). The wrapper therefore hands
    such errors to the global handler itself — same log line, same message to the user — instead of re-raising.
    """

    def __init__(self) -> None:
        self._report: ErrorReport | None = None

    def attach(self, report: ErrorReport) -> None:
        self._report = report

    def report(self, error: BaseException, body: dict[str, Any], context: BoltContext, client: WebClient) -> bool:
        """Handle ``error``; False when no handler is attached (the caller re-raises)."""
        if self._report is None:
            return False
        self._report(error, body, context, client)
        return True


class LocaleCache:
    """A Slack user's UI language: looked up once (``users.info`` with ``include_locale``) and cached."""

    def __init__(self, default_language: str = DEFAULT_LANGUAGE) -> None:
        self.default_language = default_language
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self._user_locks: dict[str, threading.Lock] = {}

    def cached(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        with self._lock:
            return self._memory.get(user_id)

    def language(self, *, session: Session, client: WebClient, user_id: str | None, now: datetime) -> str:
        if not user_id:
            return self.default_language
        hit = self.cached(user_id)
        if hit is not None:
            return hit
        stored = slack_repo.get_slack_user(session, slack_user_id=user_id)
        if stored is not None and stored.locale and now - stored.fetched_at < LOCALE_TTL:
            lang = normalise_language(stored.locale)
            with self._lock:
                self._memory[user_id] = lang
            return lang
        fetched = self._fetch(client=client, user_id=user_id)
        if fetched is None:
            return self.cached(user_id) or self.default_language
        locale, name = fetched
        # Written after the per-user lock is released: never hold a Python lock while waiting for a DB lock.
        slack_repo.upsert_slack_user(session, slack_user_id=user_id, locale=locale, name=name, now=now)
        return self.cached(user_id) or self.default_language

    def _fetch(self, *, client: WebClient, user_id: str) -> tuple[str, str] | None:
        """users.info once per user, even when their requests arrive together (single flight)."""
        with self._lock:
            user_lock = self._user_locks.setdefault(user_id, threading.Lock())
        with user_lock:
            if self.cached(user_id) is not None:
                return None  # another request of this user fetched it meanwhile
            try:
                user = client.users_info(user=user_id, include_locale=True).get("user") or {}
            except SlackApiError as exc:  # e.g. user_not_found: the default language, the request goes on
                log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
                return None
            locale = str(user.get("locale") or "")
            with self._lock:
                self._memory[user_id] = normalise_language(locale) if locale else self.default_language
            return locale, strip_invisible(str(user.get("real_name") or ""))  # a display name: shown to others


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
        with self._lock:
            fresh = self._fetched_at is not None and now - self._fetched_at < self.TTL
            members = self._members
        if not fresh:
            try:
                users = client.usergroups_users_list(usergroup=settings.staff_usergroup_id).get("users") or []
            except SlackApiError as exc:  # refuse rather than fail open; the log says why
                log.warning("usergroups.users.list failed: %s", exc.response.get("error"))
                return False
            members = frozenset(str(u) for u in users)
            with self._lock:
                self._members, self._fetched_at = members, now
        return user_id in members


@dataclass(frozen=True)
class Services:
    """Everything listeners and jobs need, built once at start-up and passed in (never read from globals)."""

    settings: Settings
    db: Database
    knowledge: KnowledgeBase
    clock: Clock = system_clock
    locales: LocaleCache = field(default_factory=LocaleCache)
    routing: RoutingService | None = None
    needs: NeedsService | None = None  # knowledge needs (topics, proposals, the report); None: not offered here
    jobs: Kicker = field(default_factory=Kicker)
    home: HomeUpdates = field(default_factory=HomeUpdates)
    errors: ErrorReporter = field(default_factory=ErrorReporter)
    staff: StaffDirectory = field(default_factory=StaffDirectory)
    channels: ChannelDirectory = field(default_factory=ChannelDirectory)

    def routing_service(self) -> RoutingService:
        if self.routing is None:
            raise RuntimeError("question routing is not configured in this process")
        return self.routing

    def needs_service(self) -> NeedsService:
        if self.needs is None:
            raise RuntimeError("knowledge needs are not configured in this process")
        return self.needs


@dataclass
class Turn:
    """One Slack request being handled: its payload, its transaction and the means to answer."""

    services: Services
    session: Session
    client: WebClient
    body: dict[str, Any]
    ack: Ack
    respond: Respond | None
    context: BoltContext
    kind: str
    correlation_id: str
    now: datetime
    _lang: str | None = None
    _actor: Actor | None = None
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, work: Callable[[], None]) -> None:
        """Run ``work`` (a Slack message about this request's change) once the change is committed; never when it
        is rolled back. A failure of ``work`` is logged and does not undo the committed change."""
        self._after_commit.append(work)

    def queued_messages(self) -> None:
        """This request wrote outbox messages: send them as soon as its transaction has committed."""
        self.context["wieweet_kick"] = True

    def home_changed(self, *user_ids: str | None) -> None:
        """What these users' Home tabs show has changed: re-publish them once this request has committed."""
        changed: set[str] = self.context.get("wieweet_home") or set()
        changed.update(u for u in user_ids if u)
        self.context["wieweet_home"] = changed

    @property
    def user_id(self) -> str | None:
        return self.context.user_id

    @property
    def action(self) -> dict[str, Any]:
        """The clicked element of a ``block_actions`` payload ({} for other requests)."""
        actions = self.body.get("actions") or [{}]
        return dict(actions[0])

    def dm(self, text: str, blocks: Sequence[Any] | None = None) -> None:
        """A direct message to the acting user, sent once this request's change is committed."""
        self.after_commit(lambda: self._dm_now(text, blocks))

    def _dm_now(self, text: str, blocks: Sequence[Any] | None) -> None:
        if not self.user_id:
            return
        channel = self.client.conversations_open(users=self.user_id)["channel"]["id"]
        self.client.chat_postMessage(channel=channel, text=text, blocks=blocks or build_message_blocks(text))

    def tell(self, text: str, *, channel: str | None = None) -> None:
        """A short private notice to the acting user, once this request's change is committed: ephemeral where they
        clicked or typed (the response_url, else ``channel``), otherwise — or when that fails — a direct message."""
        self.after_commit(lambda: self._tell_now(text, channel))

    def _tell_now(self, text: str, channel: str | None) -> None:
        if self.respond is not None:
            self.respond(text=text, response_type="ephemeral", replace_original=False)
            return
        if channel and self.user_id:
            try:
                self.client.chat_postEphemeral(
                    channel=channel, user=self.user_id, text=text, blocks=build_message_blocks(text)
                )
                return
            except SlackApiError as exc:  # e.g. a DM between two people or a channel without the bot
                log.info("ephemeral in %s failed (%s): sending a DM", channel, exc.response.get("error"))
        self._dm_now(text, None)

    def update_message(self, ref: Mapping[str, Any], text: str, blocks: Sequence[Any]) -> None:
        """Once committed, re-render the message at ``ref`` (``channel_id``, ``message_ts``; nothing when either is
        missing), e.g. to take away buttons that are used up. A message gone or not ours is logged."""
        channel, ts = ref.get("channel_id"), ref.get("message_ts")
        if not (channel and ts):
            return

        def update() -> None:
            try:
                self.client.chat_update(channel=str(channel), ts=str(ts), text=text, blocks=list(blocks))
            except SlackApiError as exc:  # the change stands; there is just nothing to update
                log.info("chat.update of %s/%s failed: %s", channel, ts, exc.response.get("error"))

        self.after_commit(update)

    def update_messages(
        self, refs: Sequence[Mapping[str, Any]], text: str, blocks: Sequence[Any], *, about: str
    ) -> None:
        """Re-render the messages the database ties to the subject and the user (``refs``, from a service), once
        committed. The clicked ``container`` is only a claim: when it names a message that is not one of ``refs``
        it is not touched, and the attempt is logged as a refusal."""
        known = [r for r in (MessageRef.of(ref) for ref in refs) if r is not None]
        clicked = clicked_message(self.body)
        if clicked is not None and clicked not in known:
            log_refusal(
                ref=self.correlation_id,
                user=self.user_id,
                action=f"update a message not about {about}",
                target=f"message:{clicked.channel_id}/{clicked.message_ts}",
            )
        for ref in known:
            self.update_message(ref.as_ref(), text, blocks)

    @property
    def channel_id(self) -> str | None:
        return self.context.channel_id

    def channel_is_private(self, channel_id: str | None) -> bool:
        """Whether ``channel_id`` is private, from Slack's data (``ChannelDirectory``); None or unknown: True."""
        return self.services.channels.is_private(client=self.client, channel_id=channel_id, now=self.now)

    def is_channel_member(self, channel_id: str | None) -> bool:
        """Whether the acting user (the Slack-signed one) is a member of ``channel_id``, by Slack's data."""
        return self.services.channels.is_member(
            client=self.client, channel_id=channel_id, user_id=self.user_id, now=self.now
        )

    @property
    def actor(self) -> Actor:
        """Who this request comes from, for the services' authorization checks (staff looked up once)."""
        if self._actor is None:
            user = self.user_id or ""
            services = self.services
            staff = services.staff.is_staff(settings=services.settings, client=self.client, user_id=user, now=self.now)
            self._actor = Actor.slack(user, is_staff=staff)
        return self._actor

    @property
    def lang(self) -> str:
        if self._lang is None:
            self._lang = self.services.locales.language(
                session=self.session, client=self.client, user_id=self.user_id, now=self.now
            )
            self.context["wieweet_lang"] = self._lang
        return self._lang


Handler = Callable[[Turn], None]
BoltListener = Callable[..., None]


def listener(services: Services, kind: str, handler: Handler) -> BoltListener:
    """Adapt ``handler(turn)`` to a Bolt listener, with its unit of work, correlation id and request log line."""

    def bolt_listener(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        correlation_id = uuid.uuid4().hex[:12]
        context["wieweet_ref"] = correlation_id
        started = time.perf_counter()
        outcome = "error"
        try:
            with services.db.session() as session:
                turn = Turn(
                    services=services,
                    session=session,
                    client=client,
                    body=body,
                    ack=ack,
                    respond=respond if body.get("response_url") or context.response_url else None,
                    context=context,
                    kind=kind,
                    correlation_id=correlation_id,
                    now=services.clock(),
                )
                handler(turn)
                outcome = str(context.get("wieweet_outcome") or "ok")
            for work in turn._after_commit:
                try:
                    work()
                except Exception:  # the change is committed; a failed notice about it is logged, not undone
                    log.exception("after-commit step failed ref=%s", correlation_id)
            if context.get("wieweet_kick"):
                services.jobs.kick()
            if context.get("wieweet_home"):
                services.home.refresh(client, context["wieweet_home"])
        except Exception as error:  # the transaction was rolled back
            # Not acknowledged yet: Bolt runs the global error handler. Acknowledged: hand it over ourselves, or
            # Bolt would drop the ack (see ErrorReporter).
            if getattr(ack, "response", None) is None or not services.errors.report(error, body, context, client):
                raise
        finally:
            request_log.info(
                "kind=%s handler=%s user=%s channel=%s latency_ms=%.1f outcome=%s ref=%s",
                kind,
                handler.__name__,
                context.user_id,
                context.channel_id,
                (time.perf_counter() - started) * 1000,
                outcome,
                correlation_id,
            )

    bolt_listener.__name__ = f"{kind}:{handler.__name__}"
    return bolt_listener
