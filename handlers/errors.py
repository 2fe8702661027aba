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
the ack: the ack is the answer (a modal's errors), or comes first and the message after it (``_before_ack``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from handlers.after_ack import defer
from handlers.claims import log_refusal
from handlers.kit import escape, message
from handlers.services import Services
from handlers.turn import LANG, Turn

log = logging.getLogger("wieweet.errors")

# Set in a request's context by the HTTP edge (handlers.http_edge) once its Slack signature checked out, and by
# ``mark_socket_mode`` for Socket Mode requests. Nothing in a request body can set it.
VERIFIED = "wieweet_verified"
REF = "wieweet_ref"  # the request's correlation id, in its Bolt context (set by the listener wrapper)
# Hosts Slack's response_urls live on (commercial Slack and GovSlack).
SLACK_HOOK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
# Where an error before the ack is told, once Slack has the ack (``_before_ack``): never on the adapter's thread.
_TELLING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="error-tell")


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
) -> BoltResponse | None:
    """Log ``error`` and tell the user. Given Bolt's ``request`` not acknowledged yet (an error in a middleware, or
    in a listener before its ``ack``), nothing is said to Slack before the ack: the answer is the ack (``_before_ack``:
    returned, for Bolt to send)."""
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
        return _before_ack(services, error, body, context, client, ref=ref, response=response)
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


def _before_ack(
    services: Services,
    error: BaseException,
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    *,
    ref: str,
    response: BoltResponse | None,
) -> BoltResponse:
    """The answer to a request that failed before its ack. A modal submission: the error under its first field (the
    ack's ``errors``), the modal stays open with what was typed, nothing else said — in the language known without
    asking (cached, else the network's default: nothing slow before an ack). Anything else: acknowledged (Slack
    shows no failure of its own), and the user told once Slack has the ack (``handlers.after_ack``), on a pool of its
    own. An event is not acknowledged, so Slack delivers it again (nothing was taken on); its user is told once the
    answer is out."""
    if body.get("type") == "view_submission":
        field = _first_input(body)
        if field is not None:
            known = services.locales.cached(context.user_id) if context.user_id else None
            lang = str(context.get(LANG) or known or services.settings.default_language)
            return BoltResponse(
                status=200, body={"response_action": "errors", "errors": {field: user_message(error, lang, ref)}}
            )

    def tell() -> None:
        try:
            _tell(services, error, body, context, client, ref=ref)
        except Exception:  # on the pool: nothing else would report it
            log.exception("could not tell the user about error ref=%s", ref)

    if response is None:  # no response to leave it on (Bolt gives one to an error before the ack)
        tell()
    else:
        defer(response, lambda: _later(tell))
    return BoltResponse(status=500 if body.get("type") == "event_callback" else 200, body="")


def _later(work: Callable[[], None]) -> None:
    """``work`` handed to the telling pool: an adapter's thread never waits on it."""
    _TELLING.submit(work)


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
        return handle_error(services, error, body, context, client, request=request, response=response)
