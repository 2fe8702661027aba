"""The one global error handler.

Domain errors (``WieweetError``) become a short, friendly message in the user's language. Anything else is logged
with its traceback and the request's correlation id, and the user gets a message with that same reference, so
staff can find the log line. The error is never silently dropped.

It acts (answers the user) only on a request known to come from Slack: over HTTP after ``handlers.http_edge`` checked
its signature (it marks the context), or over Socket Mode (Slack's own authenticated connection). An error on any
other request — one Bolt's own checks raised on, or one that reached Bolt some other way — is logged and nothing
else: no response_url, no message, no DM to whoever its unverified body names. And even then it posts only to a
response_url on Slack's host (see ``slack_response_url``), else it answers through the Web API.

An error before the request's ack (in a middleware, or in a listener before its ``ack``) says nothing to Slack before
the ack: the ack is the answer (a modal's errors, a slash command's ephemeral message), or comes first and the
message after it (``_before_ack``). When that ack can no longer be sent (Bolt stopped waiting for it: see
``handlers.after_ack``), the user is told at once, by other means, once. An event is told once, not once per
delivery: Slack delivers a failed one again up to three times (``handlers.told_once``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.actors import NotAuthorized
from bot.config import Settings
from bot.error_texts import error_text
from bot.errors import WieweetError, nul_text_error
from bot.i18n import t
from handlers.after_ack import ANSWER, Answering, BoundedPool, defer
from handlers.claims import log_refusal
from handlers.kit import escape, message
from handlers.services import Services
from handlers.told_once import ToldOnce
from handlers.turn import LANG, Turn

log = logging.getLogger("wieweet.errors")

# Set in a request's context by the HTTP edge (handlers.http_edge) once its Slack signature checked out, and by
# ``mark_socket_mode`` for Socket Mode requests. Nothing in a request body can set it.
VERIFIED = "wieweet_verified"
REF = "wieweet_ref"  # the request's correlation id, in its Bolt context (set by the listener wrapper)
# Hosts Slack's response_urls live on (commercial Slack and GovSlack).
SLACK_HOOK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
# Where an error before the ack is told, once Slack has the ack (``_before_ack``): never on the adapter's thread, and
# at most ``WAITING_MAX`` messages waiting (an outage fails every request: beyond that they are dropped, logged).
_TELLING = BoundedPool(workers=2, name="error-tell")
TOLD_KIND = "error_told"  # the deduplication key's kind: an event whose error before the ack was told


def request_verified(context: BoltContext, request: BoltRequest | None = None) -> bool:
    """True only for a request known to come from Slack (see the module docstring)."""
    if context.get(VERIFIED) is True:
        return True
    return request is not None and request.mode == "socket_mode"


def slack_response_url(url: object, settings: Settings) -> bool:
    """Is ``url`` a response_url Slack could have issued: https on Slack's hooks host, or on the host of the
    configured ``SLACK_API_URL`` (an enterprise proxy or the test emulator)? Anything else — an internal address,
    another site — is never posted to."""
    if not isinstance(url, str):
        return False
    try:
        parts, api = urlsplit(url), urlsplit(settings.slack_api_url)
    except ValueError:
        return False
    if parts.scheme == "https" and parts.hostname in SLACK_HOOK_HOSTS and parts.port in (None, 443):
        return True
    return bool(parts.netloc) and (parts.scheme, parts.netloc.lower()) == (api.scheme, api.netloc.lower())


def user_message(error: BaseException, lang: str, ref: str) -> str:
    """What the user reads for ``error``: its text in ``lang`` with the error's values filled in (never a raw
    ``{placeholder}``: a text whose values are missing falls back to the error's own message)."""
    if isinstance(error, WieweetError):
        return error_text(error, lang) or escape(error.message)
    return t("slack.error", lang, ref=ref)


def tell_user(settings: Settings, body: dict[str, Any], context: BoltContext, client: WebClient, text: str) -> None:
    response_url = body.get("response_url") or context.response_url
    if not response_url:
        urls = body.get("response_urls") or []
        response_url = urls[0].get("response_url") if urls and isinstance(urls[0], dict) else None
    if response_url and slack_response_url(response_url, settings):
        WebhookClient(response_url).send(text=text, response_type="ephemeral", replace_original=False)
        return
    if response_url:
        log.warning("response_url not on Slack's host: answering through the Web API instead")
    channel, user = context.channel_id, context.user_id
    if user and not channel:  # e.g. a button on the Home tab: no channel to answer in, so a DM
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=dm, text=text, blocks=message(text))
        return
    if channel and user:
        event = body.get("event") or {}
        thread_ts = event.get("thread_ts") or event.get("ts")
        client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=message(text), thread_ts=thread_ts)


def _language(services: Services, context: BoltContext, client: WebClient) -> str:
    """The user's language when the request failed before it was looked up (e.g. a refused first click)."""
    cached = services.locales.cached(context.user_id)
    if cached or not context.user_id:
        return cached or services.settings.default_language
    try:
        with services.db.session() as session:
            return services.locales.language(
                session=session, client=client, user_id=context.user_id, now=services.clock()
            )
    except Exception:  # the database or Slack is what failed: tell them in the default language
        log.warning("no language for %s while reporting an error", context.user_id, exc_info=True)
        return services.settings.default_language


def handle_error(
    services: Services,
    error: BaseException,
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    *,
    request: BoltRequest | None = None,
    response: BoltResponse | None = None,
    told: ToldOnce | None = None,
) -> BoltResponse | None:
    """Log ``error`` and tell the user. Given Bolt's ``request`` not acknowledged yet (an error in a middleware, or
    in a listener before its ``ack``), nothing is said to Slack before the ack: the answer is the ack (``_before_ack``:
    returned, for Bolt to send). ``told``: the events told already (once per event, not per delivery)."""
    ref = str(context.get(REF) or uuid.uuid4().hex[:12])
    error = nul_text_error(error) or error  # a NUL PostgreSQL refused: the user's text, not "try again later"
    if not request_verified(context, request):
        # Nothing of an unverified request is trusted, logged or acted on: not its ids, not its response_url.
        log.warning("error on an unverified request, not answered ref=%s error=%s", ref, type(error).__name__)
        return None
    if isinstance(error, NotAuthorized):
        # A refused action: a forged payload or a button someone should not have had. Always worth a look.
        log_refusal(ref=ref, user=context.user_id, action=error.action, target=error.target)
    elif isinstance(error, WieweetError):
        log.info("domain error ref=%s code=%s user=%s: %s", ref, error.code, context.user_id, error.message)
    else:
        log.error("unhandled error ref=%s user=%s channel=%s", ref, context.user_id, context.channel_id, exc_info=error)
    if request is not None and not _acknowledged(context):
        return _before_ack(
            services, error, body, context, client, ref=ref, request=request, response=response, told=told
        )
    _tell(services, error, body, context, client, ref=ref)
    return None


def _acknowledged(context: BoltContext) -> bool:
    """Has the request's ack been given (a listener's ``ack()``, Bolt's own for an event)?"""
    return getattr(context.get("ack"), "response", None) is not None


def _tell(
    services: Services, error: BaseException, body: dict[str, Any], context: BoltContext, client: WebClient, *, ref: str
) -> None:
    lang = str(context.get(LANG) or _language(services, context, client))
    text = user_message(error, lang, ref)
    try:
        tell_user(services.settings, body, context, client, text)
    except (SlackApiError, OSError):
        log.exception("could not tell the user about error ref=%s", ref)


def _known_language(services: Services, context: BoltContext) -> str:
    """The user's language as known without asking (this request's, cached, else the network's default): an error
    before the ack asks neither the database nor Slack, often what failed."""
    known = services.locales.cached(context.user_id) if context.user_id else None
    return str(context.get(LANG) or known or services.settings.default_language)


def _before_ack(
    services: Services,
    error: BaseException,
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    *,
    ref: str,
    request: BoltRequest,
    response: BoltResponse | None,
    told: ToldOnce | None,
) -> BoltResponse | None:
    """The answer to a request that failed before its ack, in the language known without asking
    (``_known_language``). A modal submission: the error under its first field (the ack's ``errors``), the modal
    stays open with what was typed. A slash command: the message is the ack (ephemeral). Anything else: acknowledged
    (Slack shows no failure of its own), and the user told once Slack has the ack (``handlers.after_ack``), on a
    pool of its own. An event is not acknowledged, so Slack delivers it again (nothing was taken on); its user is
    told once the answer is out, and once only (``_once_per_event``). When the ack can no longer be sent (the
    adapter sent Bolt's own answer already: ``Answering``), the user is told at once instead: by DM for a modal,
    through the command's response_url."""
    text = user_message(error, _known_language(services, context), ref)

    def tell() -> None:
        try:
            tell_user(services.settings, body, context, client, text)
        except (SlackApiError, OSError):
            log.exception("could not tell the user about error ref=%s", ref)

    found = context.get(ANSWER)
    answering = found if isinstance(found, Answering) else None
    ack: BoltResponse | None = None
    if body.get("type") == "view_submission" and (field := _first_input(body)) is not None:
        ack = BoltResponse(status=200, body={"response_action": "errors", "errors": {field: text}})
    elif body.get("command"):  # as the network check answers one: no window between the ack and the message
        ack = BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    if response is None:  # no response to answer with (Bolt gives one to an error before the ack)
        _later(tell, ref)
        return None
    if ack is not None:
        if answering is not None and answering.late():  # an ack now would reach Slack too late: told at once
            log.info("error before the ack came too late for the ack: told at once ref=%s", ref)
            _later(tell, ref)
        elif answering is not None:  # told by other means only if another answer went instead of this one
            answering.after(lambda: _later(tell, ref), unless_sent=ack.body)
        return ack
    work = _once_per_event(told, body, request, tell, ref)
    if answering is not None:
        answering.after(lambda: _later(work, ref))
    else:  # dispatched without an adapter's ``Answering`` (a test): on the response Bolt sends
        defer(response, lambda: _later(work, ref))
    return BoltResponse(status=500 if body.get("type") == "event_callback" else 200, body="")


def _event_key(body: dict[str, Any]) -> str | None:
    """What one message keeps across Slack's deliveries of it (its channel and ts, as the inbox records it: its
    mention and its message event are one), else the event's id (None: not an event)."""
    if body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("channel"), str) and isinstance(event.get("ts"), str):
        return f"msg:{event['channel']}:{event['ts']}"
    event_id = body.get("event_id")
    return f"event:{event_id}" if isinstance(event_id, str) and event_id else None


def _once_per_event(
    told: ToldOnce | None, body: dict[str, Any], request: BoltRequest, tell: Callable[[], None], ref: str
) -> Callable[[], None]:
    """``tell``, for an event only when its message was not told before (in any process: the database is asked only
    for Slack's retry, the first delivery cannot have been told). The first failure is told at once; a retry that
    fails as well says nothing; a retry that is recorded is answered as usual."""
    key = _event_key(body)
    if told is None or key is None:
        return tell
    retry = bool(request.headers.get("x-slack-retry-num"))

    def once() -> None:
        if told.first(key, ask_database=retry):
            tell()
        else:
            log.info("error before the ack: the author of this event was told already, not again ref=%s", ref)

    return once


def _later(work: Callable[[], None], ref: str) -> None:
    """``work`` handed to the telling pool: an adapter's thread never waits on it (dropped when too much waits)."""
    _TELLING.submit(work, what=f"the message about error ref={ref}")


def _first_input(body: dict[str, Any]) -> str | None:
    """The block id of a submitted modal's first input block (None: it has none)."""
    view = body.get("view")
    blocks = view.get("blocks") if isinstance(view, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and isinstance(block.get("block_id"), str):
            return str(block["block_id"])
    return None


def refuse_in_form(turn: Turn, error: WieweetError, block_id: str) -> None:
    """A modal submission the service refused (not theirs, already decided, gone): the reason on the form, which
    stays open, and logged here like any other refusal. Nothing was written: the services check before writing."""
    turn.form_errors({block_id: user_message(error, turn.lang, turn.correlation_id)})
    handle_error(turn.services, error, turn.body, turn.context, turn.client)
    turn.outcome = f"refused {error.code}"


def register(app: App, services: Services) -> None:
    told = ToldOnce(
        kind=TOLD_KIND,
        clock=time.monotonic,
        database=services.db,
        now=services.clock,
        later=lambda note: _TELLING.submit(note, what="a note of an event told"),
    )

    @app.middleware
    def mark_socket_mode(req: BoltRequest, resp: BoltResponse, next: Any) -> BoltResponse:
        """Socket Mode requests come over Slack's authenticated connection: mark them verified for the listeners'
        error path (HTTP requests are marked by the edge before Bolt sees them)."""
        if req.mode == "socket_mode":
            req.context[VERIFIED] = True
        return next()  # type: ignore[no-any-return]

    @app.error
    def global_error_handler(
        error: BaseException,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        request: BoltRequest,
        response: BoltResponse | None,
    ) -> BoltResponse | None:
        return handle_error(services, error, body, context, client, request=request, response=response, told=told)
