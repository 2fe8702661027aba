"""The Bolt app assembled from the listeners (``handlers.register``), its Web API client, and the two ways it is
served: Socket Mode, or HTTP behind the verifying edge (``handlers.http_edge``) with ``/healthz``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.error import URLError

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
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
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

import handlers
from bot.config import Settings
from bot.errors import ConfigError, Problem
from bot.health import HealthMonitor
from bot.network import Network
from bot.text import shown_text
from handlers.after_ack import after_ack, answering, not_sent, sent_as
from handlers.http_edge import HttpEdge, WsgiApp
from handlers.services import Services, retry_after_seconds
from handlers.slack_settings import MISSING_SECRET, quiet_client_failures, slack_unreachable
from handlers.socketwatch import SocketWatch
from handlers.stopping import StopSignals

log = logging.getLogger(__name__)

HTTP_THREADS = 8


def listener_threads() -> int:
    """Bolt's listener pool (Bolt's default is 5): it runs the listeners, which ack first; the slow part of a
    request's work runs on the inbox worker's own threads (``handlers.inbox``), so acks do not queue behind it. What
    a listener still does after its ack (a button's change, a modal opened, the language looked up) may wait on a
    slow Slack: threads enough that a burst of those does not hold up the next acks (they mostly wait)."""
    return max(32, 16 * (os.cpu_count() or 2))


MAX_HEADER_BYTES = 32 * 1024  # Slack's headers are well under 2 KiB
FILE_RESERVE = 128  # file descriptors kept for everything but client connections
# One Socket Mode recv (slack_sdk's built-in client; default 1 KB). A frame takes one nested call per recv, so about
# a thousand recvs is the limit: 64 KB (TLS hands over at most a 16 KB record per recv) reads frames of 16 MB or more
SOCKET_RECEIVE_BUFFER = 64 * 1024

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


# The longest a Web API call waits in-process for Slack's rate limit, over all its retries (seconds). A 429 asking to
# wait longer (its Retry-After) is not slept through: the call fails as rate-limited at once, and the durable queue
# that made it (the outbox, the inbox) tries again no earlier than Slack asked: no thread is parked (README Durability).
MAX_RATE_LIMIT_WAIT = 30
_WAITED = "wieweet_rate_limit_waited"


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry, waiting out a 429's Retry-After only while one call's waits stay within
    ``MAX_RATE_LIMIT_WAIT`` seconds; beyond that Slack's error is raised at once (``slack_retry_after`` reads it)."""

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
        waited = float((state.custom_values or {}).get(_WAITED, 0))
        return waited + _retry_after(response) <= MAX_RATE_LIMIT_WAIT

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        waited = float((state.custom_values or {}).get(_WAITED, 0))
        state.custom_values = {**(state.custom_values or {}), _WAITED: waited + _retry_after(response) + 1}
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


def _retry_after(response: HttpResponse | None) -> int:
    """The seconds a 429 asks to wait (1 when it does not say, as slack_sdk assumes)."""
    found = retry_after_seconds(response.headers) if response is not None else None
    return 1 if found is None else found


def retry_handlers() -> list[RetryHandler]:
    return [
        CappedRateLimitRetryHandler(max_retry_count=3),
        SafeConnectionErrorRetryHandler(max_retry_count=2),
        ReadOnlyServerErrorRetryHandler(max_retry_count=2),
    ]


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
        listener_executor=ThreadPoolExecutor(max_workers=listener_threads(), thread_name_prefix="listener"),
    )
    configure_web_client(app.client, settings)
    try:
        with quiet_client_failures(app.client.logger):  # the ConfigError below is the one line an operator sees
            identity = app.client.auth_test()
    except SlackApiError as exc:
        error = shown_text(str(exc.response.get("error")))
        raise ConfigError(
            "auth_failed",
            Problem(f"Slack refused SLACK_BOT_TOKEN: {error}", "setting_token_refused", {"error": error}),
        ) from exc
    except (URLError, OSError) as exc:  # the URL's secrets masked, printable (bot.text)
        raise slack_unreachable(settings.slack_api_url, exc) from exc
    # who is inside: this team, its Grid organisation and the allowed teams (``handlers.network``)
    team, org = identity.get("team_id"), identity.get("enterprise_id")
    home = Network.of(
        team_id=team,
        enterprise_id=org,
        allowed_teams=settings.allowed_teams,
        guests_inside=settings.guests_inside,
        app_id=own_app_id(
            app.client, identity.data if isinstance(identity.data, dict) else {}, given=settings.slack_app_id
        ),
    )
    handlers.register(app, services, home)
    return app


def own_app_id(client: WebClient, identity: dict[str, Any], *, given: str | None = None) -> str | None:
    """This app's id: ``auth.test``'s ``app_id`` where it gives one, else its bot's ``bots.info``. None when Slack
    does not say and SLACK_APP_ID (``given``) is not set (then no request is checked against it:
    ``handlers.own_app``), logged. ``given`` and what Slack says must agree: the bot token of another app (two
    apps' settings mixed up) stops the start with a ``ConfigError``."""
    found = identity.get("app_id")
    if not found and identity.get("bot_id"):
        try:
            with quiet_client_failures(client.logger):
                bot = client.bots_info(bot=str(identity["bot_id"])).get("bot")
            found = bot.get("app_id") if isinstance(bot, dict) else None
        except (SlackApiError, URLError, OSError) as exc:
            log.warning(
                "could not learn this app's id from bots.info (%s): %s",
                exc,
                "SLACK_APP_ID is used unconfirmed" if given else "requests of other apps are not told apart",
            )
    if not isinstance(found, str) or not found:
        if given:
            return given
        log.info("this app's id is unknown: a request's api_app_id is not checked (set SLACK_APP_ID)")
        return None
    if given and found != given:
        learned = shown_text(found)
        raise ConfigError(
            "app_id_mismatch",
            f"SLACK_APP_ID is {given}, but Slack says SLACK_BOT_TOKEN belongs to app {learned}",
            values={"given": given, "learned": learned},
        )
    return found


def slack_reachable(client: WebClient) -> bool | str:
    """``auth.test`` answers ok with the bot token (for ``/healthz``, from the background, see ``bot.health``):
    True; Slack's refusal (``token_revoked``, ``invalid_auth``, …) when it refuses the token; False when it cannot be
    reached."""
    try:
        return bool(client.auth_test().get("ok"))
    except SlackApiError as exc:
        return str(exc.response.get("error") or "") or False
    except (URLError, OSError):
        return False


def wsgi_app(app: App, services: Services, *, stopped: Callable[[], str | None] = lambda: None) -> WsgiApp:
    """``/slack/events`` for Slack (behind the checks of ``handlers.http_edge``), ``/healthz`` for the load balancer:
    unhealthy too while ``stopped`` says why the inbox worker or the jobs stopped for good (a newer schema), even if
    the database's revision reads as this code's again."""
    settings = services.settings
    if not settings.slack_signing_secret:
        raise ConfigError("missing_secret", MISSING_SECRET)

    def serving() -> bool:
        why = stopped()
        if why is not None:
            log.error("unhealthy: stopped (%s)", why)
            return False
        return services.db.serving()

    monitor = HealthMonitor(
        ping_database=serving, check_slack=lambda: slack_reachable(app.client), clock=services.clock
    )
    return HttpEdge(
        app,
        signing_secret=settings.slack_signing_secret,
        max_body_bytes=settings.max_body_bytes,
        health=monitor.status,
    )


def server_options(settings: Settings, *, threads: int = HTTP_THREADS) -> dict[str, Any]:
    """waitress' limits. Idle and slow connections do not hold a worker thread (waitress buffers a request
    completely before a thread sees it), but each one holds a connection slot until it has been silent for
    ``channel_timeout``: so many slots, a short silence and frequent clean-ups keep the server reachable."""
    timeout = settings.http_timeout
    return {
        "threads": threads,
        "connection_limit": settings.http_connection_limit,
        "channel_timeout": timeout,
        "cleanup_interval": max(1, min(10, timeout // 3)),
        "backlog": 1024,  # capped by the kernel (net.core.somaxconn)
        "max_request_body_size": settings.max_body_bytes + 1,  # waitress answers 413 from this size on
        "max_request_header_size": MAX_HEADER_BYTES,
        "asyncore_use_poll": True,  # select() fails beyond 1024 file descriptors
        "expose_tracebacks": False,
        "ident": "wieweet",
    }


def ensure_file_limit(connections: int) -> int:
    """Raise the soft open-files limit so ``connections`` sockets fit (plus the database pool, logs and the like);
    returns the connection limit that fits when the hard limit does not allow that many."""
    try:
        import resource  # noqa: PLC0415 (POSIX only)
    except ImportError:  # pragma: no cover - Windows
        return connections
    needed = connections + FILE_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        fitting = max(10, soft - FILE_RESERVE)
        log.warning(
            "open-files limit %s is too low for %s connections: serving at most %s (raise `ulimit -n`)",
            soft,
            connections,
            fitting,
        )
        return fitting
    return connections


def run_http(
    app: App,
    services: Services,
    *,
    host: str,
    port: int,
    stopping: StopSignals,
    threads: int = HTTP_THREADS,
    stopped: Callable[[], str | None] = lambda: None,
) -> None:
    """Serve until SIGTERM or SIGINT (``stopping``, in place for the whole of ``run``: set already when the stop came
    while ``run`` started, then this returns without serving; a second signal ends the process, see
    ``handlers.stopping``). ``stopped``: see ``wsgi_app``."""
    options = server_options(services.settings, threads=threads)
    options["connection_limit"] = ensure_file_limit(int(options["connection_limit"]))
    log.info(
        "wieweet listening on http://%s:%s/slack/events (body limit %s bytes, %s connections, idle timeout %s s)",
        host,
        port,
        services.settings.max_body_bytes,
        options["connection_limit"],
        options["channel_timeout"],
    )
    server = create_server(wsgi_app(app, services, stopped=stopped), host=host, port=port, **options)

    def _stop_serving() -> None:
        """The first stop signal (SIGTERM as Ctrl-C) ends serving, listener first: new connections (a health probe,
        a load balancer) are refused at once, the requests in progress finish, and ``run`` goes on to stop the inbox
        and the jobs and exit with 0. Only the listening socket closes here: ``server.close()`` would also close the
        trigger that a request finishing in a worker thread writes to (``OSError: Bad file descriptor``, or a write
        into whatever file took its number); that is closed after serving (``finally``)."""
        _stop_listening(server)
        raise KeyboardInterrupt  # leaves waitress' loop, which then waits for the requests in progress

    try:
        stopping.on_stop(_stop_serving)
        if not stopping.requested.is_set():
            server.print_listen("Serving on http://{}:{}")
            server.run()  # returns after KeyboardInterrupt (the first stop signal), once requests in progress end
    except KeyboardInterrupt:  # one that came before ``server.run`` caught it (during ``print_listen``)
        pass
    finally:
        stopping.on_stop(None)
        server.close()  # the trigger too, now that the requests in progress have ended (or waitress gave up on them)
    log.info("wieweet stopped serving HTTP")


def _stop_listening(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Refuse new connections: the listening socket closes, the trigger of the requests in progress stays open."""
    if isinstance(server, BaseWSGIServer):
        wasyncore.dispatcher.close(server)
    else:  # several listening sockets (not how ``run_http`` serves): waitress' own close
        server.close()


class AckFirstSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler that starts what a response leaves for after the ack (``handlers.after_ack``)
    once the ack is written to the connection, not before (Bolt's ``run_bolt_app``, with the request's
    ``Answering``)."""

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time.time()
        request = BoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req))
        answering(request.context)
        response = sent_as(self.app.dispatch(request))
        try:
            send_response(client, req, response, start)
        except Exception:  # no ack went out: Slack sends the request again; what was kept for after it is given back
            not_sent(response)
            raise
        after_ack(response, request.context)

    def close(self) -> None:
        """slack_sdk's client ends its message thread only after that thread's queue read (up to 1 s) times out: marked
        closed first, with a ``None`` in the queue (which the thread skips), it ends at once and a stop takes no
        extra second. Messages still queued are not handled either way: Slack sends what was never acked again."""
        self.client.closed = True
        self.client.message_queue.put(None)
        super().close()  # type: ignore[no-untyped-call]


def run_socket_mode(app: App, settings: Settings, *, stopping: StopSignals) -> None:
    """Serve over Socket Mode until SIGTERM or SIGINT (``stopping``: as for ``run_http``; set already: nothing is
    served), or until the connection cannot come back (``handlers.socketwatch``: ``SocketModeDownError``)."""
    # slack_sdk's built-in client reads a frame one recv of ``receive_buffer_size`` per recursive call: with its
    # default (1 KB) a frame of about 1 MB overflowed the stack, was never acked and the connection was rebuilt
    handler = AckFirstSocketModeHandler(
        app, app_token=settings.slack_app_token, receive_buffer_size=SOCKET_RECEIVE_BUFFER
    )
    if stopping.requested.is_set():
        return
    watch = SocketWatch(down_seconds=settings.socket_down_seconds)  # a connection that cannot come back: see there
    watch.attach(handler.client)
    watch.connect(handler.connect)  # refused at start: SocketModeDownError too
    log.info("wieweet connected over Socket Mode")
    try:
        watch.serve(handler.client, stopping.requested)  # SocketModeDownError when it gave up
    finally:
        handler.close()
