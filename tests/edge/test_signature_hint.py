"""A process given the wrong ``SLACK_SIGNING_SECRET`` refuses every request of Slack's: besides the refusals, the
log says (not per request) that the signatures keep failing and to check the secret, never showing it
(``handlers.http_edge.MISMATCH_HINT``). Anyone who can reach the URL can send such requests too, so the hint says
both causes, and it cannot be spent: while failures go on it is said again, at most once an hour
(``MISMATCH_HINT_EVERY``)."""

from __future__ import annotations

import logging

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.signature import Clock, SignatureVerifier

from handlers.http_edge import MISMATCH_HINT, MISMATCH_HINT_AFTER, MISMATCH_HINT_EVERY, HttpEdge
from tests.edge.hostile import JSON_TYPE, call_wsgi, environ_for, signed

OURS = "0123456789abcdef0123456789abcdef"
PASTED = "fedcba9876543210fedcba9876543210"  # what the operator put in SLACK_SIGNING_SECRET
NOW = 1_800_000_000
BODY = b'{"type": "url_verification", "challenge": "c-42", "token": "t"}'


class FixedClock(Clock):
    """The edge's clock (the verifier's): ``at`` is now; a test moves it."""

    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> float:
        return float(self.at)


class Bolt:
    """Stands for the app: what reaches it is answered 200."""

    def __init__(self) -> None:
        self.requests: list[BoltRequest] = []

    def dispatch(self, request: BoltRequest) -> BoltResponse:
        self.requests.append(request)
        return BoltResponse(status=200, body="")


def edge_with(secret: str, clock: FixedClock | None = None) -> tuple[HttpEdge, Bolt]:
    bolt = Bolt()
    verifier = SignatureVerifier(secret, clock=clock or FixedClock())
    edge = HttpEdge(bolt, signing_secret=secret, max_body_bytes=4096, health=lambda: (True, {}), verifier=verifier)  # type: ignore[arg-type]
    return edge, bolt


def post(edge: HttpEdge, secret: str | None, *, timestamp: int | None = None) -> int:
    """A request signed with ``secret`` (none: unsigned) at ``timestamp`` (default: the edge's now, fresh)."""
    at = int(edge.verifier.clock.now()) if timestamp is None else timestamp
    headers = signed(secret, BODY, JSON_TYPE, timestamp=at) if secret else [("Content-Type", JSON_TYPE)]
    return call_wsgi(edge, environ_for("POST", "/slack/events", headers, BODY)).status


def hints(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.msg == MISMATCH_HINT]


def test_signatures_that_keep_failing_are_said_once_naming_the_setting(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    edge, bolt = edge_with(PASTED)  # Slack signs with OURS
    assert [post(edge, OURS) for _ in range(MISMATCH_HINT_AFTER - 1)] == [401] * (MISMATCH_HINT_AFTER - 1)
    assert hints(caplog) == []  # a few refusals: no hint yet
    assert [post(edge, OURS) for _ in range(20)] == [401] * 20
    [hint] = hints(caplog)  # once, not per request
    assert hint.levelno == logging.WARNING and "SLACK_SIGNING_SECRET is not this app's" in hint.getMessage()
    assert "or someone is sending requests Slack did not sign" in hint.getMessage()  # it cannot tell which
    assert "(none has verified since the start)" in hint.getMessage()
    assert OURS not in caplog.text and PASTED not in caplog.text
    assert bolt.requests == []
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused ")]
    assert len(refusals) == MISMATCH_HINT_AFTER + 19  # every request still has its refusal line


def test_a_matching_signature_between_failures_gives_no_hint(caplog: pytest.LogCaptureFixture) -> None:
    edge, bolt = edge_with(OURS)
    for _ in range(3):
        assert [post(edge, PASTED) for _ in range(MISMATCH_HINT_AFTER - 1)] == [401] * (MISMATCH_HINT_AFTER - 1)
        assert post(edge, OURS) == 200  # Slack's own request: the secret is right, the failures are someone else's
    assert hints(caplog) == [] and len(bolt.requests) == 3


def test_unsigned_or_stale_requests_give_no_hint(caplog: pytest.LogCaptureFixture) -> None:
    # no signature, or one too old to say anything about the secret (a replay, a clock off): not the secret's fault
    edge, _ = edge_with(PASTED)
    for _ in range(3 * MISMATCH_HINT_AFTER):
        assert post(edge, None) == 401
        assert post(edge, OURS, timestamp=NOW - 3600) == 401
    assert hints(caplog) == []


def test_forged_requests_do_not_spend_the_hint(caplog: pytest.LogCaptureFixture) -> None:
    # anyone can send five forged requests with a fresh timestamp; the secret is right (Slack's request verifies)
    clock = FixedClock()
    edge, bolt = edge_with(OURS, clock)
    assert [post(edge, PASTED) for _ in range(MISMATCH_HINT_AFTER)] == [401] * MISMATCH_HINT_AFTER
    assert len(hints(caplog)) == 1
    clock.at += 60
    assert post(edge, OURS) == 200 and len(bolt.requests) == 1
    clock.at += 30 * 60  # more forgeries within the hour: said already, not again
    assert [post(edge, PASTED) for _ in range(3 * MISMATCH_HINT_AFTER)] == [401] * (3 * MISMATCH_HINT_AFTER)
    assert len(hints(caplog)) == 1
    # an hour after the first, the secret regenerated in Slack (or forgeries still coming): said again
    clock.at = NOW + MISMATCH_HINT_EVERY
    assert post(edge, PASTED) == 401
    first, second = hints(caplog)
    assert "(the last one that verified came 59 minutes ago)" in second.getMessage(), second.getMessage()
    assert "5 requests in a row" in first.getMessage() and "16 requests in a row" in second.getMessage()


def test_failures_that_go_on_are_said_once_an_hour(caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock()
    edge, _ = edge_with(PASTED, clock)  # Slack signs with OURS, one request a minute for three hours and a bit
    said_at = []
    for _ in range(3 * 60 + 10):
        before = len(hints(caplog))
        assert post(edge, OURS) == 401
        if len(hints(caplog)) > before:
            said_at.append(clock.at - NOW)
        clock.at += 60
    first = (MISMATCH_HINT_AFTER - 1) * 60  # the fifth request, four minutes in
    assert said_at == [first, first + 3600, first + 7200, first + 10800], said_at
    assert "65 requests in a row" in hints(caplog)[1].getMessage()  # the failures counted since, not a fixed 5


def test_each_process_has_its_own_hint(caplog: pytest.LogCaptureFixture) -> None:
    # a second edge (another process) says it too: each counts and says it for itself
    for _ in range(2):
        edge, _ = edge_with(PASTED)
        for _ in range(2 * MISMATCH_HINT_AFTER):
            post(edge, OURS)
    assert len(hints(caplog)) == 2
