"""Hostile HTTP requests for the edge tests: forged bodies, malformed headers and bodies, a canary listener that
records any response_url POST, and clients that speak raw HTTP (duplicate headers, no Content-Length, chunked).

Every forged body names real users and channels of the e2e workspace and a response_url on the canary, so that
anything of wieweet acting on it would show: a Web API call in the emulator or a POST on the canary.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.emulator import SlackEmulator

MARKER = "HOSTILE-7f3a9c"  # in every forged body; must never show up in a log
USER = "U0NLUSER1"
CHANNEL = "C0WONEN01"
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"

Headers = list[tuple[str, str]]


def start_emulator() -> SlackEmulator:
    """The Slack workspace the forged bodies name: one user and one channel the bot is in."""
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    emu.start()
    emu.add_user(USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE")
    emu.add_channel(CHANNEL, name="wonen", members=[USER, emu.bot_user_id])
    return emu


# -- the canary: any POST to a response_url that is not Slack's -----------------------------------------------


@dataclass
class Canary:
    """A tiny HTTP listener on 127.0.0.1 standing in for an internal service an attacker points response_url at."""

    hits: list[tuple[str, str, bytes]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Canary:
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hits.append((self.command, self.path, self.rfile.read(length) if length else b""))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self) -> None:
                self._record()

            def do_POST(self) -> None:
                self._record()

            def do_PUT(self) -> None:
                self._record()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/internal/admin?{MARKER}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# -- forged bodies ---------------------------------------------------------------------------------------------


def command_body(response_url: str) -> bytes:
    fields = {
        "token": "forged",
        "team_id": "T0001",
        "channel_id": CHANNEL,
        "user_id": USER,
        "command": "/wieweet",
        "text": f"wie weet iets over {MARKER}",
        "response_url": response_url,
        "trigger_id": "1.2.forged",
    }
    return urlencode(fields).encode()


def action_body(response_url: str) -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": USER, "team_id": "T0001"},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "1.000001"},
        "response_url": response_url,
        "trigger_id": "1.2.forged",
        "actions": [{"action_id": "wieweet_more", "block_id": "b", "value": MARKER, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body() -> bytes:
    event = {"type": "app_mention", "user": USER, "channel": CHANNEL, "text": f"<@UBOT> {MARKER}", "ts": "1.000002"}
    envelope = {"type": "event_callback", "team_id": "T0001", "event_id": "Ev0FORGED", "event": event}
    return json.dumps(envelope).encode()


def forged_bodies(response_url: str) -> dict[str, tuple[str, bytes]]:
    """``kind: (content type, body)`` for a slash command, a button click and an event."""
    return {
        "command": (FORM_TYPE, command_body(response_url)),
        "action": (FORM_TYPE, action_body(response_url)),
        "event": (JSON_TYPE, event_body()),
    }


# -- signatures and header variants ----------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature over the raw bytes (written out here so that non-UTF-8 bodies can be signed too)."""
    base = b"v0:" + timestamp.encode("utf-8") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, content_type: str, *, timestamp: int | None = None) -> Headers:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return [
        ("Content-Type", content_type),
        ("X-Slack-Request-Timestamp", ts),
        ("X-Slack-Signature", signature(secret, ts, body)),
    ]


HeaderCase = Callable[[str, bytes], Headers]  # (signing secret, body) -> the X-Slack-* headers


def _ts_only(value: str) -> HeaderCase:
    """A timestamp header holding ``value``, with the signature the real secret gives over the current time."""

    def build(secret: str, body: bytes) -> Headers:
        now = str(int(time.time()))
        return [("X-Slack-Request-Timestamp", value), ("X-Slack-Signature", signature(secret, now, body))]

    return build


def _sig_only(value: str) -> HeaderCase:
    def build(secret: str, body: bytes) -> Headers:
        return [("X-Slack-Request-Timestamp", str(int(time.time()))), ("X-Slack-Signature", value)]

    return build


def _signed_at(offset: int) -> HeaderCase:
    """Correctly signed, but at ``now + offset`` (a replay of a captured request, or a future one)."""

    def build(secret: str, body: bytes) -> Headers:
        ts = str(int(time.time()) + offset)
        return [("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", signature(secret, ts, body))]

    return build


def _self_signed_weird_ts(value: str) -> HeaderCase:
    """An HMAC that is right for an odd timestamp spelling int() would accept (' 17…', '+17…', '017…')."""

    def build(secret: str, body: bytes) -> Headers:
        return [("X-Slack-Request-Timestamp", value), ("X-Slack-Signature", signature(secret, value, body))]

    return build


def _duplicate(name: str) -> HeaderCase:
    def build(secret: str, body: bytes) -> Headers:
        ts = str(int(time.time()))
        good = [("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", signature(secret, ts, body))]
        bad = ("X-Slack-Request-Timestamp", "abc") if name == "timestamp" else ("X-Slack-Signature", "v0=" + "0" * 64)
        return [*good, bad]

    return build


def _missing(name: str) -> HeaderCase:
    def build(secret: str, body: bytes) -> Headers:
        ts = str(int(time.time()))
        headers = [("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", signature(secret, ts, body))]
        return [h for h in headers if name not in h[0].lower()]

    return build


def _wrong_secret(secret: str, body: bytes) -> Headers:
    return signed("0123456789abcdef0123456789abcdef", body, JSON_TYPE)[1:]


def _other_body(secret: str, body: bytes) -> Headers:
    return signed(secret, body + b" ", JSON_TYPE)[1:]


def _no_headers(secret: str, body: bytes) -> Headers:
    return []


NOW = str(int(time.time()))
HEADER_CASES: dict[str, HeaderCase] = {
    # X-Slack-Request-Timestamp
    "ts_abc": _ts_only("abc"),
    "ts_empty": _ts_only(""),
    "ts_400_nines": _ts_only("9" * 400),
    "ts_5000_digits": _ts_only("1" * 5000),  # int() refuses more than 4300 digits with a ValueError
    "ts_negative": _ts_only("-1"),
    "ts_float": _ts_only(NOW + ".5"),
    "ts_exponent": _ts_only("1e10"),
    "ts_hex": _ts_only("0x6553f100"),
    "ts_arabic_digits": _ts_only("١٧٠٠٠٠٠٠٠٠"),  # int() accepts these
    "ts_nul": _ts_only(NOW + "\x00"),
    "ts_missing": _missing("timestamp"),
    "ts_stale_replay": _signed_at(-3600),
    "ts_six_minutes_old": _signed_at(-360),
    "ts_future": _signed_at(3600),
    "ts_leading_space_signed": _self_signed_weird_ts(" " + NOW),
    "ts_plus_sign_signed": _self_signed_weird_ts("+" + NOW),
    "ts_duplicate": _duplicate("timestamp"),
    # X-Slack-Signature
    "sig_missing": _missing("signature"),
    "sig_empty": _sig_only(""),
    "sig_prefix_only": _sig_only("v0="),
    "sig_zeros": _sig_only("v0=" + "0" * 64),
    "sig_v1": _sig_only("v1=" + "a" * 64),
    "sig_uppercase_hex": _sig_only("v0=" + "A" * 64),
    "sig_short": _sig_only("v0=abc"),
    "sig_long": _sig_only("v0=" + "a" * 4000),
    "sig_latin1": _sig_only("v0=" + "é" * 64),
    "sig_duplicate": _duplicate("signature"),
    "sig_wrong_secret": _wrong_secret,
    "sig_other_body": _other_body,
    "no_slack_headers": _no_headers,
}

# Signed bodies Slack never sends: (content type, body, expected status)
BODY_CASES: dict[str, tuple[str, bytes, int]] = {
    "json_truncated": (JSON_TYPE, b'{"type": "event_callback", "event": ', 400),
    "json_array": (JSON_TYPE, b'[{"type": "event_callback"}]', 400),
    "json_string": (JSON_TYPE, b'"event_callback"', 400),
    "json_number": (JSON_TYPE, b"42", 400),
    "json_null": (JSON_TYPE, b"null", 400),
    "json_deeply_nested": (JSON_TYPE, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
    "json_bom": (JSON_TYPE, b'\xef\xbb\xbf{"type": "event_callback"}', 400),
    "json_empty": (JSON_TYPE, b"", 400),
    "json_type_confusion": (JSON_TYPE, b'{"type": "event_callback", "team": 7, "event": []}', 400),
    "not_utf8_json": (JSON_TYPE, b'{"type": "\xff\xfe"}', 400),
    "not_utf8_form": (FORM_TYPE, b"command=%2Fwieweet&text=\xff\xfe", 400),
    "payload_not_json": (FORM_TYPE, b"payload=notjson", 400),
    "payload_truncated": (FORM_TYPE, b"payload=%7B%22type%22%3A", 400),
    "payload_array": (FORM_TYPE, b"payload=%5B1%2C2%5D", 400),
    "payload_string": (FORM_TYPE, b"payload=%22x%22", 400),
    "payload_bad_percent": (FORM_TYPE, b"payload=%FF%FE", 400),
    "payload_user_not_object": (FORM_TYPE, urlencode({"payload": json.dumps({"type": "x", "team": 5})}).encode(), 400),
    "form_too_many_fields": (FORM_TYPE, b"&".join(b"f%d=1" % i for i in range(5000)), 400),
    "form_json_lookalike": (FORM_TYPE, b'{"type": "event_callback"}', 400),
    "text_plain": ("text/plain", b'{"type": "event_callback"}', 415),
    "multipart": ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--", 415),
    "no_content_type": ("", b'{"type": "event_callback"}', 415),
    "xml": ("application/xml", b"<a/>", 415),
}


# -- talking raw HTTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: Headers,
    body: bytes = b"",
    *,
    content_length: bool = True,
    chunked: bool = False,
    timeout: float = 60.0,
) -> Reply:
    """One request on a fresh connection, written byte for byte (duplicate headers stay duplicate)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    payload = body
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        size = 64 * 1024
        parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
        payload = b"".join(parts) + b"0\r\n\r\n"
    elif content_length:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        with suppress(OSError):  # the server may answer (413) and close before it has read everything
            sock.sendall(payload)
        response = http.client.HTTPResponse(sock)
        response.begin()
        data = response.read()
        return Reply(response.status, data, {k.lower(): v for k, v in response.getheaders()})


@contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send a request's headers, announce a body and then never send it."""
    sockets: list[socket.socket] = []
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(head)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


# -- the WSGI level --------------------------------------------------------------------------------------------


def environ_for(method: str, path: str, headers: Headers, body: bytes | None, *, length: str | None = None) -> Any:
    """A WSGI environ as waitress builds it (repeated headers joined with ", ")."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": BytesIO(body or b""),
        "wsgi.url_scheme": "http",
    }
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body)) if length is None else length
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    for name, value in headers:
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
        environ[key] = f"{environ[key]}, {value}" if key in environ and key.startswith("HTTP_") else value
    return environ


def call_wsgi(app: Any, environ: Any) -> Reply:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = {k.lower(): v for k, v in headers}
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return Reply(captured["status"], body, captured["headers"])
