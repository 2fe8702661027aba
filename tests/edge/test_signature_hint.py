"""A process given the wrong ``SLACK_SIGNING_SECRET`` refuses every request of Slack's: besides the refusals, the
log says once (per process, not per request) that the signatures keep failing and to check the secret, never
showing it (``handlers.http_edge.MISMATCH_HINT``)."""

from __future__ import annotations

import logging

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.signature import Clock, SignatureVerifier

from handlers.http_edge import MISMATCH_HINT, MISMATCH_HINT_AFTER, HttpEdge
from tests.edge.hostile import JSON_TYPE, call_wsgi, environ_for, signed

OURS = "0123456789abcdef0123456789abcdef"
PASTED = "fedcba9876543210fedcba9876543210"  # what the operator put in SLACK_SIGNING_SECRET
NOW = 1_800_000_000
BODY = b'{"type": "url_verification", "challenge": "c-42", "token": "t"}'


class FixedClock(Clock):
    def now(self) -> float:
        return float(NOW)


class Bolt:
    """Stands for the app: what reaches it is answered 200."""

    def __init__(self) -> None:
        self.requests: list[BoltRequest] = []

    def dispatch(self, request: BoltRequest) -> BoltResponse:
        self.requests.append(request)
        return BoltResponse(status=200, body="")


def edge_with(secret: str) -> tuple[HttpEdge, Bolt]:
    bolt = Bolt()
    verifier = SignatureVerifier(secret, clock=FixedClock())
    edge = HttpEdge(bolt, signing_secret=secret, max_body_bytes=4096, health=lambda: (True, {}), verifier=verifier)  # type: ignore[arg-type]
    return edge, bolt


def post(edge: HttpEdge, secret: str | None, *, timestamp: int = NOW) -> int:
    headers = signed(secret, BODY, JSON_TYPE, timestamp=timestamp) if secret else [("Content-Type", JSON_TYPE)]
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
    assert hint.levelno == logging.WARNING and "SLACK_SIGNING_SECRET" in hint.getMessage()
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


def test_each_process_says_it_once(caplog: pytest.LogCaptureFixture) -> None:
    # a second edge (another process) says it again: once per process, not once ever
    for _ in range(2):
        edge, _ = edge_with(PASTED)
        for _ in range(2 * MISMATCH_HINT_AFTER):
            post(edge, OURS)
    assert len(hints(caplog)) == 2
