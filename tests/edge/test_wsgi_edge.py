"""The HTTP edge at the WSGI level (issue 11, findings 1 and 2): the real app (create_app + every handler) behind
``wsgi_app``, against the Slack emulator in this process, fed hostile environs directly (fast, no server).

Each unverified or malformed request must get its 4xx without Bolt ever dispatching it (so no middleware, listener
or error handler runs), without a Web API call, without a POST to the body's response_url, and without its body
or a traceback in the log — with every logger at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App, BoltContext, BoltRequest

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers.app import create_app, wsgi_app
from handlers.errors import VERIFIED, handle_error, slack_response_url
from handlers.http_edge import MISMATCH_HINT
from handlers.services import Services
from storage.db import Database
from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET
from tests.edge.hostile import (
    BODY_CASES,
    CHANNEL,
    FORM_TYPE,
    HEADER_CASES,
    JSON_TYPE,
    MARKER,
    USER,
    Canary,
    Reply,
    call_wsgi,
    environ_for,
    forged_bodies,
    signed,
    start_emulator,
)
from tests.emulator import SlackEmulator

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def emulator() -> Iterator[SlackEmulator]:
    emu = start_emulator()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def services(emulator: SlackEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('edge') / 'w.db'}")
    settings = Settings(
        database_url=str(database.engine.url),
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=emulator.api_url,
        max_body_bytes=LIMIT,
    )
    with KnowledgeBase(database) as knowledge:  # closed with the module's fixtures, should a request load it
        yield Services(settings=settings, db=database, knowledge=knowledge)
    database.dispose()


class DispatchSpy:
    """Counts what reaches Bolt's ``App.dispatch`` (the one door to middleware, listeners and the error handler)."""

    def __init__(self, app: App) -> None:
        self.requests: list[BoltRequest] = []
        self._dispatch = app.dispatch

    def __call__(self, req: BoltRequest) -> Any:
        self.requests.append(req)
        return self._dispatch(req)


@pytest.fixture(scope="module")
def stack(services: Services) -> tuple[Any, App, DispatchSpy]:
    app = create_app(services, http=True)
    spy = DispatchSpy(app)
    app.dispatch = spy  # type: ignore[method-assign]
    return wsgi_app(app, services), app, spy


@pytest.fixture
def edge(stack: tuple[Any, App, DispatchSpy]) -> Any:
    stack[2].requests.clear()
    return stack[0]


@pytest.fixture
def spy(stack: tuple[Any, App, DispatchSpy]) -> DispatchSpy:
    return stack[2]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG: slack_bolt, slack_sdk, urllib3, wieweet."""
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_untouched(
    reply: Reply, spy: DispatchSpy, emulator: SlackEmulator, canary: Canary, mark: int, logs: Any
) -> None:
    """Nothing acted on the request (checked first: these are the harm), nothing logged, then a 4xx."""
    assert canary.hits == [], "the forged response_url was posted to"
    assert emulator.calls[mark:] == [], emulator.dump()
    text = logs.text
    assert MARKER not in text, "the request's body was logged"
    assert "Traceback" not in text
    assert all(record.exc_info is None for record in logs.records)
    assert 400 <= reply.status < 500, reply
    assert spy.requests == [], "the request reached Bolt"


def post(edge: Any, headers: list[tuple[str, str]], body: bytes | None, **kw: Any) -> Reply:
    return call_wsgi(edge, environ_for("POST", "/slack/events", headers, body, **kw))


# -- finding 1: nothing runs on an unverified request ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["command", "action", "event"])
@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_an_unverified_request_never_reaches_bolt(
    case: str, kind: str, edge: Any, spy: DispatchSpy, emulator: SlackEmulator, canary: Canary, logs: Any
) -> None:
    content_type, body = forged_bodies(canary.url)[kind]
    mark = emulator.call_count
    reply = post(edge, [("Content-Type", content_type), *HEADER_CASES[case](SIGNING_SECRET, body)], body)
    assert_untouched(reply, spy, emulator, canary, mark, logs)
    assert reply.status == 401
    assert b"bad_signature" in reply.body
    refusals = [r.getMessage() for r in logs.records if r.name == "wieweet.http" and r.msg != MISMATCH_HINT]
    assert refusals == [f"refused method=POST path=/slack/events size={len(body)} reason=bad_signature status=401"]


def test_a_signed_request_is_dispatched_marked_verified(edge: Any, spy: DispatchSpy) -> None:
    """The control for the test above: the same edge passes a correctly signed request on."""
    body = b'{"type": "url_verification", "challenge": "c-42", "token": "t"}'
    reply = post(edge, signed(SIGNING_SECRET, body, JSON_TYPE), body)
    assert reply.status == 200 and b"c-42" in reply.body
    assert len(spy.requests) == 1 and spy.requests[0].context.get(VERIFIED) is True
    unsigned = post(edge, [("Content-Type", JSON_TYPE)], body)
    assert unsigned.status == 401 and b"c-42" not in unsigned.body
    assert len(spy.requests) == 1


def test_slacks_unsigned_ssl_check_gets_200_and_dispatches_nothing(edge: Any, spy: DispatchSpy) -> None:
    reply = post(edge, [("Content-Type", FORM_TYPE)], b"ssl_check=1&token=abc")
    assert reply.status == 200 and spy.requests == []
    smuggled = post(edge, [("Content-Type", FORM_TYPE)], b"ssl_check=1&token=abc&command=%2Fwieweet")
    assert smuggled.status == 401 and spy.requests == []


# -- finding 2: malformed requests get a 4xx, signed or not, before anything is parsed by Bolt -----------------


@pytest.mark.parametrize("is_signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_a_malformed_body_gets_a_4xx_without_a_traceback(
    case: str, is_signed: bool, edge: Any, spy: DispatchSpy, emulator: SlackEmulator, canary: Canary, logs: Any
) -> None:
    content_type, body, status = BODY_CASES[case]
    headers = signed(SIGNING_SECRET, body, content_type)[1:] if is_signed else []
    if content_type:
        headers.insert(0, ("Content-Type", content_type))
    mark = emulator.call_count
    reply = post(edge, headers, body)
    assert_untouched(reply, spy, emulator, canary, mark, logs)
    if is_signed or status == 415 or case.startswith("not_utf8"):
        assert reply.status == status, reply
    else:
        assert reply.status == 401, reply


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/slack/events", 405),
        ("PUT", "/slack/events", 405),
        ("DELETE", "/slack/events", 405),
        ("PATCH", "/slack/events", 405),
        ("OPTIONS", "/slack/events", 405),
        ("HEAD", "/slack/events", 405),
        ("POST", "/healthz", 405),
        ("GET", "/", 404),
        ("POST", "/", 404),
        ("GET", "/slack/install", 404),
        ("POST", "/slack/events/", 404),
        ("POST", "/slack/events/../events", 404),
        ("POST", "/SLACK/EVENTS", 404),
        ("POST", "/slack/events\nINFO forged log line", 404),
    ],
)
def test_wrong_method_or_path(
    method: str, path: str, status: int, edge: Any, spy: DispatchSpy, canary: Canary, logs: Any
) -> None:
    body = forged_bodies(canary.url)["command"][1]
    reply = call_wsgi(edge, environ_for(method, path, [("Content-Type", FORM_TYPE)], body))
    assert reply.status == status
    if status == 405:
        assert reply.headers["allow"] in {"POST", "GET, HEAD"}
    assert spy.requests == []
    assert MARKER not in logs.text
    assert all("\n" not in r.getMessage() for r in logs.records)  # the path cannot forge a log line


class ExplodingInput:
    """A wsgi.input that fails the test when read: the edge must decide on the declared length alone."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


@pytest.mark.parametrize(
    ("length", "status", "reason"),
    [
        (str(LIMIT + 1), 413, b"body_too_large"),
        (str(200 * 1024 * 1024), 413, b"body_too_large"),
        ("9" * 400, 413, b"body_too_large"),
        ("", 411, b"length_required"),
        ("abc", 400, b"bad_content_length"),
        ("-1", 400, b"bad_content_length"),
        ("1e6", 400, b"bad_content_length"),
        ("١٠", 400, b"bad_content_length"),
    ],
)
def test_the_declared_length_is_judged_before_reading(
    length: str, status: int, reason: bytes, edge: Any, spy: DispatchSpy, logs: Any
) -> None:
    environ = environ_for("POST", "/slack/events", [("Content-Type", JSON_TYPE)], None, length=length)
    environ["wsgi.input"] = ExplodingInput()
    reply = call_wsgi(edge, environ)
    assert (reply.status, reason in reply.body) == (status, True)
    assert spy.requests == [] and "Traceback" not in logs.text


def test_a_missing_content_length_is_411(edge: Any, spy: DispatchSpy) -> None:
    environ = environ_for("POST", "/slack/events", [("Content-Type", JSON_TYPE)], None)
    assert call_wsgi(edge, environ).status == 411 and spy.requests == []


def test_a_body_shorter_than_declared_is_400(edge: Any, spy: DispatchSpy) -> None:
    environ = environ_for("POST", "/slack/events", [("Content-Type", JSON_TYPE)], b"{}", length="100")
    reply = call_wsgi(edge, environ)
    assert reply.status == 400 and b"body_shorter_than_declared" in reply.body and spy.requests == []


def test_a_signed_body_at_the_limit_is_accepted_one_byte_more_is_not(edge: Any, spy: DispatchSpy) -> None:
    prefix = b'{"type": "url_verification", "challenge": "edge", "pad": "'
    body = prefix + b"x" * (LIMIT - len(prefix) - 2) + b'"}'
    assert len(body) == LIMIT
    assert post(edge, signed(SIGNING_SECRET, body, JSON_TYPE), body).status == 200
    bigger = body[:-2] + b'x"}'
    assert post(edge, signed(SIGNING_SECRET, bigger, JSON_TYPE), bigger).status == 413
    assert len(spy.requests) == 1


# -- the error handler, defence in depth: it cannot act on an unverified request -------------------------------


def test_bolts_own_path_with_a_bad_timestamp_makes_the_error_handler_only_log(
    stack: tuple[Any, App, DispatchSpy], emulator: SlackEmulator, canary: Canary, logs: Any
) -> None:
    """Finding 1 as reported, without the edge: Bolt's verification raises on ``abc`` and hands the error to our
    global handler with the unverified body. The handler must not post to its response_url nor message anyone."""
    app = stack[1]
    for kind in ("command", "action", "event"):
        content_type, body = forged_bodies(canary.url)[kind]
        mark = emulator.call_count
        request = BoltRequest(
            body=body.decode(),
            headers={"content-type": content_type, "x-slack-request-timestamp": "abc", "x-slack-signature": "v0=1"},
        )
        response = app.dispatch(request)
        assert response.status >= 400
        assert canary.hits == [] and emulator.calls[mark:] == []
    assert "error on an unverified request, not answered" in logs.text
    assert MARKER not in logs.text


def test_the_error_handler_answers_a_verified_request_but_never_off_slack(
    services: Services, emulator: SlackEmulator, canary: Canary, logs: Any
) -> None:
    client = services_client(services)
    body = {"response_url": canary.url, "user": {"id": USER}, "channel": {"id": CHANNEL}}
    verified = BoltContext({"user_id": USER, "channel_id": CHANNEL, VERIFIED: True})
    mark = emulator.call_count
    handle_error(services, RuntimeError("boom"), body, verified, client)
    assert canary.hits == []  # not Slack's host: not posted to
    # the user is still told, in their language (looked up for the verified user id when not cached yet)
    assert [c.method for c in emulator.calls[mark:]] == ["users.info", "chat.postEphemeral"]
    assert emulator.calls[mark].params.get("user") == USER
    assert "response_url not on Slack's host" in logs.text

    unverified = BoltContext({"user_id": USER, "channel_id": CHANNEL})
    mark = emulator.call_count
    handle_error(services, RuntimeError("boom"), body, unverified, client)
    assert emulator.calls[mark:] == [] and canary.hits == []


def services_client(services: Services) -> Any:
    from handlers.app import create_web_client  # noqa: PLC0415

    return create_web_client(services.settings)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T1/2/abc", True),
        ("https://hooks.slack-gov.com/actions/T1/2/abc", True),
        ("https://hooks.slack.com:443/commands/T1", True),
        ("http://hooks.slack.com/commands/T1", False),
        ("https://hooks.slack.com:8443/commands/T1", False),
        ("https://hooks.slack.com.evil.example/commands", False),
        ("https://evil.example/?hooks.slack.com", False),
        ("https://user@hooks.slack.com@evil.example/", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://127.0.0.1:8080/admin", False),
        ("file:///etc/passwd", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_response_urls_are_posted_only_on_slacks_host(url: object, allowed: bool) -> None:
    assert slack_response_url(url, Settings()) is allowed


def test_the_configured_api_host_counts_as_slack(emulator: SlackEmulator) -> None:
    settings = Settings(slack_api_url=emulator.api_url)
    assert slack_response_url(f"{emulator.base_url}response/abc", settings)
    other_port = emulator.base_url.replace(str(emulator.port), str(emulator.port + 1))
    assert not slack_response_url(f"{other_port}response/abc", settings)


def test_no_body_reaches_the_log_even_at_debug(
    edge: Any, emulator: SlackEmulator, canary: Canary, logs: Any, tmp_path: Path
) -> None:
    """A burst of everything above, with all loggers at DEBUG: the forged bodies' marker never shows up."""
    for content_type, body in forged_bodies(canary.url).values():
        for case in HEADER_CASES.values():
            post(edge, [("Content-Type", content_type), *case(SIGNING_SECRET, body)], body)
    for content_type, body, _ in BODY_CASES.values():
        post(edge, [("Content-Type", content_type)], body + MARKER.encode())
    assert MARKER not in logs.text
    assert canary.hits == []
