"""The HTTP edge of ``wieweet run --http``: the WSGI application in front of Bolt.

Nothing of a request reaches Bolt — no middleware, no listener, not the global error handler — before the checks
below have passed, in this order (cheapest first; the body is not read before it has to be):

1. route: ``/slack/events`` takes POST only (405), ``/healthz`` GET/HEAD only (405), anything else is 404;
2. ``Content-Type`` is ``application/json`` (events) or ``application/x-www-form-urlencoded`` (commands,
   interactions), else 415;
3. ``Content-Length`` is present (411) and at most ``max_body_bytes`` (413) — before a byte is read;
4. the body is read, exactly that many bytes (fewer: 400), and must be UTF-8 (400);
5. the signature: exactly one ``X-Slack-Request-Timestamp`` that is a plain number of seconds and one
   ``X-Slack-Signature`` of the form ``v0=<64 hex digits>``; then slack_sdk's ``SignatureVerifier`` checks the
   HMAC and that the timestamp is within five minutes (all failures: 401, whatever the headers hold). When
   ``MISMATCH_HINT_AFTER`` requests in a row carried a fresh timestamp and a well-formed signature that did not
   match (what Slack's own requests look like to a process given the wrong ``SLACK_SIGNING_SECRET``, and what
   anyone who can reach the URL can send), one warning says so, naming both causes; while failures go on it is
   said again at most once per ``MISMATCH_HINT_EVERY`` seconds, so forged requests cannot spend it;
6. the body parses to one JSON object (events) or to a form whose ``payload`` field is one JSON object
   (interactions), and Bolt reads it the same way (400 otherwise).

Only then is a ``BoltRequest`` built, marked verified (``handlers.errors.VERIFIED``) and dispatched. A refused
request is logged in one line with its method, path, declared size and the reason — never its headers or body.
Slack's unsigned ``ssl_check`` probe gets a bare 200 and dispatches nothing.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.types import StartResponse, WSGIEnvironment

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.text import counted
from handlers.after_ack import ThenBody, after_ack, answering, sent_as
from handlers.errors import VERIFIED

log = logging.getLogger("wieweet.http")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 200  # Slack's commands have about 15
TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
MISMATCH_HINT_AFTER = 5  # signatures in a row that did not match before the hint to check the signing secret
FRESH_SECONDS = 5 * 60  # slack_sdk's window for the timestamp
MISMATCH_HINT_EVERY = 60 * 60  # seconds: while signatures keep failing, the hint is said again at most this often
MISMATCH_HINT = (
    "%d requests in a row were signed like Slack's (a recent timestamp, a well-formed signature) but their signature "
    "does not match (%s): either SLACK_SIGNING_SECRET is not this app's Signing Secret (Basic Information → App "
    "Credentials → Signing Secret; regenerated since?), and every request from Slack is refused until it is, or "
    "someone is sending requests Slack did not sign. Said again at most once an hour while signatures keep failing"
)

Health = Callable[[], tuple[bool, dict[str, str]]]
WsgiApp = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    then: Callable[[], None] | None = None  # started once the response is written (``handlers.after_ack``)


class Refused(Exception):
    """A request the edge does not pass on; ``reason`` is a fixed code, safe to log and to answer."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or []


def _printable(value: str, limit: int = 80) -> str:
    """An attacker-chosen string made safe for one log line (no newlines or escapes, bounded)."""
    return _UNPRINTABLE.sub("?", value[:limit]) + ("…" if len(value) > limit else "")


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def media_type(environ: WSGIEnvironment) -> str:
    return str(environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def declared_length(environ: WSGIEnvironment, limit: int) -> int:
    """The body's length from ``Content-Length``; refused when missing, malformed or over ``limit``."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        raise Refused(411, "length_required")
    if not raw.isascii() or not raw.isdigit():
        raise Refused(400, "bad_content_length")
    if len(raw) > 12 or int(raw) > limit:
        raise Refused(413, "body_too_large")
    return int(raw)


def read_body(environ: WSGIEnvironment, length: int) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        raise Refused(400, "no_body")
    data = bytearray()
    while len(data) < length:  # a WSGI input may return less than asked for
        chunk = stream.read(length - len(data))
        if not chunk:
            raise Refused(400, "body_shorter_than_declared")
        data.extend(chunk)
    return bytes(data)


def one_header(environ: WSGIEnvironment, key: str, pattern: re.Pattern[str]) -> str | None:
    """The header's value when it is present once and well-formed (servers join repeated headers with commas)."""
    value = environ.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return None
    return value


def parse_payload(text: str, kind: str) -> dict[str, Any]:
    """The body as Bolt will read it: one JSON object, or a form (with ``payload`` = one JSON object)."""
    try:
        if kind == JSON_TYPE:
            value: Any = json.loads(text)
            if not isinstance(value, dict):
                raise Refused(400, "json_not_an_object")
            return value
        form = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
        if "payload" in form:
            payload: Any = json.loads(form["payload"])
            if not isinstance(payload, dict):
                raise Refused(400, "payload_not_an_object")
            return payload
        return form
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; so are too many form fields
        raise Refused(400, "malformed_body") from None


def slack_headers(environ: WSGIEnvironment) -> dict[str, str | Sequence[str]]:
    """The request headers for Bolt (it reads the content type, the signature and Slack's retry headers)."""
    headers: dict[str, str | Sequence[str]] = {"content-type": str(environ.get("CONTENT_TYPE") or "")}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].lower().replace("_", "-")] = str(value)
    return headers


class HttpEdge:
    """The WSGI application: routes, limits and signature checks in front of ``app`` (see the module docstring)."""

    def __init__(
        self,
        app: App,
        *,
        signing_secret: str,
        max_body_bytes: int,
        health: Health,
        verifier: SignatureVerifier | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.health = health
        self.verifier = verifier or SignatureVerifier(signing_secret)
        self._mismatches = 0  # signatures in a row that did not match (``MISMATCH_HINT``)
        self._hinted_at: float | None = None  # when the hint was last said (the verifier's clock)
        self._verified_at: float | None = None  # when a signature last matched
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD") or "?")
        path = str(environ.get("PATH_INFO") or "")
        try:
            answer = self.answer(environ, method, path)
        except Refused as refusal:
            level = logging.INFO if refusal.status in (404, 405) else logging.WARNING
            log.log(
                level,
                "refused method=%s path=%s size=%s reason=%s status=%s",
                _printable(method, 10),
                _printable(path),
                _printable(str(environ.get("CONTENT_LENGTH") or "-"), 14),
                refusal.reason,
                refusal.status,
            )
            body = json.dumps({"ok": False, "error": refusal.reason}).encode()
            answer = Answer(refusal.status, body, headers=refusal.headers)
        except Exception:  # our own bug: logged with its traceback (no request data in it), never shown
            log.exception("internal error while serving method=%s path=%s", _printable(method, 10), _printable(path))
            answer = Answer(500, b'{"ok": false, "error": "internal_error"}')
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body))), *answer.headers]
        start_response(status_line(answer.status), headers)
        chunks = [b"" if method == "HEAD" else answer.body]
        return chunks if answer.then is None else ThenBody(chunks, answer.then)

    def answer(self, environ: WSGIEnvironment, method: str, path: str) -> Answer:
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                raise Refused(405, "method_not_allowed", [("Allow", "GET, HEAD")])
            ok, details = self.health()
            return Answer(200 if ok else 503, json.dumps({"ok": ok, **details}).encode())
        if path != EVENTS_PATH:
            raise Refused(404, "not_found")
        if method != "POST":
            raise Refused(405, "method_not_allowed", [("Allow", "POST")])
        return self.slack_event(environ)

    def slack_event(self, environ: WSGIEnvironment) -> Answer:
        kind = media_type(environ)
        if kind not in (JSON_TYPE, FORM_TYPE):
            raise Refused(415, "unsupported_content_type")
        raw = read_body(environ, declared_length(environ, self.max_body_bytes))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body_not_utf8") from None
        if not self.signed(environ, text):
            if kind == FORM_TYPE and self.ssl_check(text):
                return Answer(200, content_type="text/plain")
            raise Refused(401, "bad_signature")
        body = parse_payload(text, kind)
        try:
            request = BoltRequest(body=text, headers=slack_headers(environ), context={VERIFIED: True})
        except Exception:  # a signed body Bolt cannot read (wrong types in its envelope)
            raise Refused(400, "unreadable_body") from None
        if request.body != body:  # Bolt would read it differently than checked here: do not guess
            raise Refused(400, "ambiguous_body")
        answering(request.context)
        return self.dispatch(request)

    def signed(self, environ: WSGIEnvironment, text: str) -> bool:
        timestamp = one_header(environ, "HTTP_X_SLACK_REQUEST_TIMESTAMP", TIMESTAMP)
        signature = one_header(environ, "HTTP_X_SLACK_SIGNATURE", SIGNATURE)
        if timestamp is None or signature is None:
            return False
        try:
            valid = self.verifier.is_valid(body=text, timestamp=timestamp, signature=signature)
        except (ValueError, TypeError, UnicodeError):  # checked above; kept so that no header can ever raise here
            return False
        now = self.verifier.clock.now()
        if valid or abs(now - int(timestamp)) <= FRESH_SECONDS:  # a stale one: no secret's fault
            self._count_mismatch(not valid, now)
        return valid

    def _count_mismatch(self, mismatched: bool, now: float) -> None:
        """Count signatures that did not match in a row (a match starts again) and warn when there are
        ``MISMATCH_HINT_AFTER`` of them or more: the operator may have given the wrong signing secret, or someone
        sends forged requests. Said again at most once per ``MISMATCH_HINT_EVERY``, so that forgeries cannot use it
        up before a real wrong secret."""
        with self._lock:
            if not mismatched:
                self._mismatches, self._verified_at = 0, now
                return
            self._mismatches += 1
            recent = self._hinted_at is not None and now - self._hinted_at < MISMATCH_HINT_EVERY
            if recent or self._mismatches < MISMATCH_HINT_AFTER:
                return
            self._hinted_at, count, verified_at = now, self._mismatches, self._verified_at
        if verified_at is None:
            last = "none has verified since the start"
        else:
            last = f"the last one that verified came {counted(int(now - verified_at) // 60, 'minute')} ago"
        log.warning(MISMATCH_HINT, count, last)

    @staticmethod
    def ssl_check(text: str) -> bool:
        """Slack's certificate probe for slash-command URLs (``ssl_check=1``), answered without dispatching."""
        try:
            form = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=5))
        except ValueError:
            return False
        return form.get("ssl_check") == "1" and set(form) <= {"ssl_check", "token"}

    def dispatch(self, request: BoltRequest) -> Answer:
        response = sent_as(self.app.dispatch(request))
        content_type = "text/plain;charset=utf-8"
        extra: list[tuple[str, str]] = []
        for name, values in response.headers.items():
            if name.lower() == "content-type":
                content_type = str(next(iter(values), content_type))
            elif name.lower() != "content-length":
                extra.extend((name, str(value)) for value in values)
        body = response.body if isinstance(response.body, str) else json.dumps(response.body)
        context = request.context

        def then() -> None:  # said to Slack after this answer
            after_ack(response, context)

        return Answer(response.status, body.encode("utf-8"), content_type, extra, then)
