"""One Slack request being handled (``Turn``): its payload, its transaction, who asks, and the means to answer.

The listener wrapper (``handlers.listener``) makes it, hands it with the parsed subject or form to the handler,
commits, and then does what the handler asked for after the commit (messages, Home tabs, the outbox doorbell).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.actors import Actor
from bot.errors import WieweetError
from handlers.claims import MessageRef, clicked_message, log_refusal
from handlers.kit import message, user_mention
from handlers.services import Services, slack_transient
from storage.session import Session

if TYPE_CHECKING:
    from handlers.inbox_job import InboxJob

log = logging.getLogger(__name__)

LANG = "wieweet_lang"  # the request's language, in its Bolt context (for the global error handler)


def shared_update(
    services: Services,
    client: WebClient,
    channel: str,
    shown: tuple[str, Sequence[Any]],
    if_shared: tuple[str, Sequence[Any]] | None,
) -> tuple[str, Sequence[Any]]:
    """What an update of a message in ``channel`` shows: ``if_shared`` when given and the channel is shared with
    another organisation now (or Slack cannot say: ``is_shared_outside`` answers yes), else ``shown``."""
    if if_shared is None:
        return shown
    if services.channels.is_shared_outside(client=client, channel_id=channel, now=services.clock()):
        return if_shared
    return shown


def update_post(
    services: Services,
    client: WebClient,
    *,
    channel: str,
    ts: str,
    shown: tuple[str, Sequence[Any]],
    if_shared: tuple[str, Sequence[Any]] | None = None,
) -> str | None:
    """Update the message at ``channel``/``ts`` (what it shows: ``shared_update``). A message gone or not ours is
    logged (the change stands; there is nothing to update) and Slack's error returned (None when updated); a
    transient failure on Slack's side, or a network error, raises: the caller tries again (the inbox job, the
    channel-privacy job) or logs it (a request)."""
    text, blocks = shared_update(services, client, channel, shown, if_shared)
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=list(blocks))
    except SlackApiError as exc:
        if slack_transient(exc):
            raise
        error = str(exc.response.get("error") or exc)
        log.info("chat.update of %s/%s failed: %s", channel, ts, error)
        return error
    return None


class PostUpdates(Protocol):
    """Where the updates are made once the transaction is committed: a request's ``Turn``, or a job's
    ``handlers.staff_posts.AfterCommit`` (what ``update_staff_posts`` and
    ``needs_refresh.show_proposal_updates`` need of it)."""

    services: Services
    session: Session

    @property
    def user_id(self) -> str | None: ...

    def update_message(
        self,
        ref: Mapping[str, Any],
        text: str,
        blocks: Sequence[Any],
        *,
        if_shared: tuple[str, Sequence[Any]] | None = None,
    ) -> None: ...


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
    outcome: str = "ok"  # for the request's log line ("duplicate", "refused not_yours", "asked q12", ...)
    kept_open: bool = False  # a modal refused with errors on its fields (it may be submitted again, corrected)
    _lang: str | None = None
    _actor: Actor | None = None
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _home: set[str] = field(default_factory=set)
    _queued: bool = False
    _committed: bool = False
    # A modal submission run from the inbox: its job (``step``/``save_step`` survive a retry), and the confirmations
    # (``Effect``) the handler asked for, saved on the job before the commit and sent from there once it committed.
    job: InboxJob | None = None
    effects: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str) -> Any:
        """What an earlier attempt of this request saved as step ``name`` (None: not run from the inbox, or not
        done yet): a Slack side effect made before the transaction failed is not made twice."""
        return self.job.result.get(f"step:{name}") if self.job is not None else None

    def save_step(self, name: str, value: Any) -> None:
        """Remember a step done outside the transaction (a channel made), for a retry (``step``)."""
        if self.job is not None:
            self.job.save(**{f"step:{name}": value})

    def _effect(self, kind: str, now: Callable[[], None], **data: Any) -> None:
        """A confirmation about this request's change: run from the inbox, recorded as data (sent from the job,
        exactly once across a crash: ``handlers.confirmations.send_confirmations``); otherwise after the commit."""
        if self.job is not None:
            self.effects.append({"kind": kind, **data})
            return
        self.after_commit(now)

    def after_commit(self, work: Callable[[], None]) -> None:
        """Run ``work`` (a Slack message about this request's change) once the change is committed; never when it
        is rolled back. A failure of ``work`` is logged and does not undo the committed change. Not for a submission
        run from the inbox: a raw call would be lost (or doubled) across a crash; it records its confirmations
        (``dm``, ``tell``, ``post``, ``update_message``)."""
        if self.job is not None:
            raise RuntimeError("a submission run from the inbox confirms through Turn.dm/tell/post/update_message")
        if self._committed:
            work()
            return
        self._after_commit.append(work)

    def run_after_commit(self) -> None:
        """The request's transaction has committed: send what waited for it, in order."""
        self._committed = True
        for work in self._after_commit:
            try:
                work()
            except Exception:  # the change is committed; a failed notice about it is logged, not undone
                log.exception("after-commit step failed ref=%s", self.correlation_id)

    def queued_messages(self) -> None:
        """This request wrote outbox messages: send them as soon as its transaction has committed."""
        self._queued = True

    def home_changed(self, *user_ids: str | None) -> None:
        """What these users' Home tabs show has changed: re-publish them once this request has committed."""
        self._home.update(u for u in user_ids if u)

    @property
    def queued(self) -> bool:
        """Whether this request wrote outbox messages."""
        return self._queued

    @property
    def home_users(self) -> set[str]:
        """Whose Home tabs show something this request changed."""
        return set(self._home)

    @property
    def acked(self) -> bool:
        return getattr(self.ack, "response", None) is not None

    def form_errors(self, errors: Mapping[str, str]) -> None:
        """A modal's input is not acceptable: the messages under its fields (block id -> text); the modal stays open.
        Once the modal was acked (a submission run from the inbox) the form is closed: ``FormRefused`` is raised, so
        nothing is saved and the user is told by message."""
        if self.acked:
            raise FormRefused(errors)
        self.ack(response_action="errors", errors={block: text[:2000] for block, text in errors.items()})
        self.kept_open = True
        self.outcome = "invalid " + ",".join(sorted(errors))

    @property
    def user_id(self) -> str | None:
        return self.context.user_id

    @property
    def channel_lang(self) -> str:
        """The language of what the bot posts for a channel (a staff review, a triage post): the network's default,
        whoever clicks; only what the acting user alone reads is in their own language."""
        return self.services.settings.default_language

    @property
    def staff_label(self) -> str:
        """The acting staff member as a mention, for a shared post's "by …" line."""
        return user_mention(self.user_id) or "?"

    @property
    def trigger_id(self) -> str:
        """For opening a modal (valid for 3 s after the click or command)."""
        return str(self.body.get("trigger_id") or "")

    def dm(self, text: str, blocks: Sequence[Any] | None = None) -> None:
        """A direct message to the acting user, sent once this request's change is committed."""
        self._effect("dm", lambda: self._dm_now(text, blocks), text=text, blocks=block_dicts(blocks or message(text)))

    def _dm_now(self, text: str, blocks: Sequence[Any] | None) -> None:
        if not self.user_id:
            return
        channel = self.client.conversations_open(users=self.user_id)["channel"]["id"]
        self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks or message(text), unfurl_links=False, unfurl_media=False
        )

    def tell(self, text: str, *, channel: str | None = None) -> None:
        """A short private notice to the acting user, once this request's change is committed: ephemeral where they
        clicked or typed (the response_url, else ``channel``), otherwise — or when that fails — a direct message."""
        self._effect("tell", lambda: self._tell_now(text, channel), text=text, channel=channel)

    def _tell_now(self, text: str, channel: str | None) -> None:
        if self.respond is not None:
            self.respond(text=text, response_type="ephemeral", replace_original=False)
            return
        if channel and self.user_id:
            try:
                self.client.chat_postEphemeral(channel=channel, user=self.user_id, text=text, blocks=message(text))
                return
            except SlackApiError as exc:  # e.g. a DM between two people or a channel without the bot
                log.info("ephemeral in %s failed (%s): sending a DM", channel, exc.response.get("error"))
        self._dm_now(text, None)

    def update_message(
        self,
        ref: Mapping[str, Any],
        text: str,
        blocks: Sequence[Any],
        *,
        if_shared: tuple[str, Sequence[Any]] | None = None,
    ) -> None:
        """Once committed, re-render the message at ``ref`` (``channel_id``, ``message_ts``; nothing when either is
        missing), e.g. to take away buttons that are used up. A message gone or not ours is logged. ``if_shared``:
        what it shows instead (text, blocks) when its channel is shared with another organisation by then — or
        Slack cannot say — asked when the update is made (a staff post: ``shared_update``)."""
        channel, ts = ref.get("channel_id"), ref.get("message_ts")
        if not (channel and ts):
            return

        def update() -> None:
            update_post(
                self.services, self.client, channel=str(channel), ts=str(ts), shown=(text, blocks), if_shared=if_shared
            )

        data: dict[str, Any] = {"channel": str(channel), "ts": str(ts), "text": text, "blocks": block_dicts(blocks)}
        if if_shared is not None:
            data |= {"shared_text": if_shared[0], "shared_blocks": block_dicts(if_shared[1])}
        self._effect("update", update, **data)

    def update_messages(
        self,
        refs: Sequence[Mapping[str, Any]],
        text: str,
        blocks: Sequence[Any],
        *,
        about: str,
        if_shared: tuple[str, Sequence[Any]] | None = None,
    ) -> None:
        """Re-render the messages the database ties to the subject and the user (``refs``, from a service), once
        committed. The clicked ``container`` is only a claim: when it names a message that is not one of ``refs``
        it is not touched, and the attempt is logged as a refusal. ``if_shared``: as for ``update_message`` (a DM
        copy is never shared)."""
        for ref in self.known_refs(refs, about=about):
            self.update_message(ref, text, blocks, if_shared=if_shared)

    def known_refs(self, refs: Sequence[Mapping[str, Any]], *, about: str) -> list[dict[str, str]]:
        """The well-formed ``refs`` (the messages the database ties to the subject). The clicked ``container`` is
        only a claim: when it names a message that is not one of them, the attempt is logged as a refusal."""
        known = [r for r in (MessageRef.of(ref) for ref in refs) if r is not None]
        clicked = clicked_message(self.body)
        if clicked is not None and clicked not in known:
            log_refusal(
                ref=self.correlation_id,
                user=self.user_id,
                action=f"update a message not about {about}",
                target=f"message:{clicked.channel_id}/{clicked.message_ts}",
            )
        return [ref.as_ref() for ref in known]

    def proposal_drawn(self, proposal_id: int, draw: Callable[[], object]) -> None:
        """Once committed, a proposed work session's posts drawn from the stored state under the refresh its change
        recorded (``draw``: ``handlers.needs_refresh.ProposalRefresher.refresh_now``); run from the inbox, recorded
        as data and drawn from the job (``handlers.confirmations``)."""

        def drawn() -> None:
            draw()

        self._effect("proposal", drawn, proposal_id=proposal_id)

    def clicked_in(self, refs: Sequence[Mapping[str, Any]]) -> bool:
        """Whether the button was clicked in one of ``refs`` (the messages the database ties to the subject)."""
        clicked = clicked_message(self.body)
        return clicked is not None and clicked.as_ref() in [dict(r) for r in refs]

    def post_in_thread(self, *, channel: str, thread_ts: str, text: str) -> None:
        """Once committed, a short note (already-safe mrkdwn) in a thread."""

        self.post(channel=channel, text=text, thread_ts=thread_ts)

    def post(self, *, channel: str, text: str, thread_ts: str | None = None) -> None:
        """Once committed, a message (already-safe mrkdwn) in ``channel`` (in ``thread_ts``'s thread when given)."""

        def post() -> None:
            self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text, unfurl_links=False, unfurl_media=False
            )

        self._effect("post", post, channel=channel, text=text, thread_ts=thread_ts)

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

    def resolve_language(self) -> None:
        """Look the user's language up now (right after the ack, see ``AckThenLanguage``), before the handler changes
        anything; a failure leaves it to a later look-up."""
        try:
            _ = self.lang
        except Exception:  # e.g. the database: the listener's own work will meet it and report it
            log.warning("no language for %s yet ref=%s", self.user_id, self.correlation_id, exc_info=True)

    @property
    def quick_lang(self) -> str:
        """The user's language without waiting on anything (for what is said before the ack): the one known in
        this process, else the default."""
        return self._lang or self.services.locales.cached(self.user_id) or self.services.locales.default_language

    def known_language(self, lang: str) -> None:
        """The user's language, looked up before this request's transaction (no ``users.info`` inside it)."""
        self._lang = lang
        self.context[LANG] = lang

    @property
    def lang(self) -> str:
        if self._lang is None:
            self._lang = self.services.locales.language(
                session=self.session, client=self.client, user_id=self.user_id, now=self.now
            )
            self.context[LANG] = self._lang
        return self._lang


def block_dicts(blocks: Sequence[Any]) -> list[dict[str, Any]]:
    """Blocks as JSON (a confirmation saved on an inbox job)."""
    return [dict(b.to_dict()) if hasattr(b, "to_dict") else dict(b) for b in blocks]


class FormRefused(WieweetError):
    """A modal's input refused after the modal was closed (its submission run from the inbox): the messages that
    would have stood under its fields, already in the user's language."""

    code = "form_refused"

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(message="\n".join(text for text in errors.values() if text))
        self.errors = dict(errors)


class AckThenLanguage(Ack):
    """``turn.ack``: acks, then looks up the user's language at once (``users.info`` when it is not known yet).
    Listeners ack before they change anything, so the look-up never waits on Slack with a transaction that has
    written — as it would if a listener first asked for ``turn.lang`` after its change."""

    def __init__(self, inner: Ack, then: Callable[[], None]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._inner = inner
        self._then = then

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        response = self._inner(*args, **kwargs)
        self.response = self._inner.response
        self._then()
        return response


class AfterCommitRespond(Respond):
    """``turn.respond``: answers through the response_url once the request's transaction has committed, so no
    Slack call waits with the transaction open (and nothing is said about a change that was rolled back)."""

    def __init__(self, inner: Respond, defer: Callable[[Callable[[], None]], None]) -> None:
        super().__init__(response_url=inner.response_url, proxy=inner.proxy, ssl=inner.ssl)
        self._inner = inner
        self._defer = defer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        def send() -> None:
            self._inner(*args, **kwargs)

        self._defer(send)
        return None
