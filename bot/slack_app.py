"""Building and running the Slack app (Socket Mode or HTTP)."""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.error import URLError
from wsgiref.types import StartResponse, WSGIEnvironment

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from waitress import serve

import handlers
from bot.config import Settings, settings_error
from bot.errors import ConfigError
from handlers.context import Services

log = logging.getLogger(__name__)

BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")
APP_TOKEN = re.compile(r"^xapp-[A-Za-z0-9-]+$")
SIGNING_SECRET = re.compile(r"^[A-Za-z0-9]{16,}$")

# Methods that change something in Slack. They are retried only when Slack certainly did not act on the request
# (HTTP 429, or a connection that was never established) so that a message is never posted twice.
_READ_ONLY_PREFIXES = (
    "auth.test",
    "users.",
    "conversations.info",
    "conversations.members",
    "conversations.replies",
    "usergroups.users.list",
    "chat.getPermalink",
    "team.info",
)


def _is_read_only(request: HttpRequest) -> bool:
    method = request.url.rsplit("/", 1)[-1].split("?", 1)[0]
    return method.startswith(_READ_ONLY_PREFIXES)


class ReadOnlyServerErrorRetryHandler(ServerErrorRetryHandler):
    """Retry 5xx answers, but only for read-only methods (a 500 after a post may still have posted)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return _is_read_only(request) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


class SafeConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """Retry connection errors: always for reads; for writes only when the connection was refused."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        if _is_read_only(request):
            return True
        reason = getattr(error, "reason", error)
        return isinstance(error, URLError) and isinstance(reason, ConnectionRefusedError)


def retry_handlers() -> list[RetryHandler]:
    return [
        RateLimitErrorRetryHandler(max_retry_count=3),
        SafeConnectionErrorRetryHandler(max_retry_count=2),
        ReadOnlyServerErrorRetryHandler(max_retry_count=2),
    ]


def settings_problems(settings: Settings, *, http: bool) -> list[str]:
    """Every Slack setting the chosen mode lacks or that is malformed, one line each."""
    problems: list[str] = []
    token = settings.slack_bot_token
    if not token:
        problems.append("set SLACK_BOT_TOKEN to the app's bot token (xoxb-…)")
    elif not BOT_TOKEN.match(token):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if http:
        secret = settings.slack_signing_secret
        if not secret:
            problems.append("set SLACK_SIGNING_SECRET (Basic Information → Signing Secret)")
        elif not SIGNING_SECRET.match(secret):
            problems.append("SLACK_SIGNING_SECRET looks malformed (expected letters and digits)")
    else:
        app_token = settings.slack_app_token
        if not app_token:
            problems.append(
                "set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write for Socket Mode, "
                "or run with --http and SLACK_SIGNING_SECRET"
            )
        elif not APP_TOKEN.match(app_token):
            problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    return problems


def check_tokens(settings: Settings, *, http: bool, problems: Sequence[str] = ()) -> None:
    """One clear message listing every missing or malformed setting (``problems``: those found earlier, such as
    a malformed WIEWEET_JOB_INTERVAL), instead of one at a time or a traceback deep inside Bolt."""
    found = [*problems, *settings_problems(settings, http=http)]
    if found:
        raise settings_error(found)


def configure_web_client(client: WebClient, settings: Settings) -> WebClient:
    """Point a WebClient at the configured Slack API, with timeouts and the safe retry handlers."""
    client.base_url = settings.slack_api_url
    client.timeout = 10
    client.retry_handlers = retry_handlers()
    return client


def create_web_client(settings: Settings) -> WebClient:
    return configure_web_client(WebClient(token=settings.slack_bot_token), settings)


def create_app(services: Services, *, http: bool) -> App:
    """The Bolt app, given its token and signing secret from the settings (never from the environment).

    Bolt creates its own WebClient from ``token`` and is not given one: given a ``client``, it still reads
    SLACK_BOT_TOKEN from the environment and warns at every start that the token "will be unused". Its client is
    then pointed at the configured Slack API (``configure_web_client``) and the token checked with ``auth.test``
    through it, so a wrong token or an unreachable Slack is one clear line at start-up.
    """
    settings = services.settings
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        request_verification_enabled=http,
        token_verification_enabled=False,  # Bolt would call auth.test before its client points at SLACK_API_URL
    )
    configure_web_client(app.client, settings)
    try:
        app.client.auth_test()
    except SlackApiError as exc:
        raise ConfigError("auth_failed", f"Slack refused SLACK_BOT_TOKEN: {exc.response.get('error')}") from exc
    except (URLError, OSError) as exc:
        raise ConfigError("unreachable", f"cannot reach Slack at {settings.slack_api_url}: {exc}") from exc
    handlers.register(app, services)
    return app


def health(services: Services, client: WebClient) -> tuple[bool, dict[str, Any]]:
    db_ok = services.db.ping()
    try:
        slack_ok = bool(client.auth_test().get("ok"))
    except (SlackApiError, URLError, OSError):
        slack_ok = False
    return db_ok and slack_ok, {"database": "ok" if db_ok else "down", "slack": "ok" if slack_ok else "down"}


def wsgi_app(app: App, services: Services) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """``/slack/events`` for Slack, ``/healthz`` for the load balancer."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok, details = health(services, app.client)
            body = json.dumps({"ok": ok, **details}).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


def run_http(app: App, services: Services, *, host: str, port: int, threads: int = 8) -> None:
    log.info("wieweet listening on http://%s:%s/slack/events", host, port)
    serve(wsgi_app(app, services), host=host, port=port, threads=threads, ident="wieweet")


def run_socket_mode(app: App, settings: Settings) -> None:
    handler = SocketModeHandler(app, app_token=settings.slack_app_token)
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("wieweet connected over Socket Mode")
    stop.wait()
    handler.close()  # type: ignore[no-untyped-call]
