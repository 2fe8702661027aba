"""What an error before the ack tells, and when (``handlers.errors._before_ack``, ``handlers.after_ack``): the
adapter's ``Answering`` (work waiting for the answer; a message meant to be the ack told by other means when that ack
never went or comes too late), once per event across Slack's retries (``handlers.told_once``, shared with the network
check), the bounded telling pool, and the language known without asking anyone."""

from __future__ import annotations

import json
import logging
import threading
import types
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from handlers import errors
from handlers.after_ack import ACK_WITHIN, DROPS_PERIOD, Answering, BoundedPool, after_ack, answering
from handlers.told_once import ToldOnce
from storage.db import Database

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_work_waits_for_the_answer_and_work_handed_over_after_it_starts_at_once() -> None:
    answer, ran = Answering(Clock()), []
    answer.after(lambda: ran.append("waited"))
    assert ran == []
    answer.sent(200, "")
    assert ran == ["waited"]
    answer.after(lambda: ran.append("late"))  # Bolt answered already: nothing left to wait for
    assert ran == ["waited", "late"]


def test_a_message_meant_to_be_the_ack_is_told_otherwise_only_when_another_answer_went() -> None:
    ack = json.dumps({"response_type": "ephemeral", "text": "went wrong"})
    carried, ran = Answering(Clock()), []
    carried.after(lambda: ran.append("carried"), unless_sent=ack)
    carried.sent(200, ack)
    assert ran == []  # the ack said it
    for status, body in ((200, ""), (404, '{"error": "unhandled request"}'), (500, ack)):
        other = Answering(Clock())
        other.after(lambda s=status: ran.append(s), unless_sent=ack)
        other.sent(status, body)
    gone = Answering(Clock())
    gone.sent(200, "")  # Bolt stopped waiting and sent its own answer before the error came
    gone.after(lambda: ran.append("after"), unless_sent=ack)
    assert ran == [200, 404, 500, "after"]


def test_an_ack_is_late_once_slack_can_no_longer_take_it() -> None:
    clock = Clock()
    answer = Answering(clock)
    clock.now += ACK_WITHIN
    assert not answer.late()
    clock.now += 0.01
    assert answer.late()


def test_the_telling_pool_drops_what_waits_beyond_its_bound_with_one_warning_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first message dropped is logged with what it was, the others of that minute counted in one line after
    it (a flood writes a line a minute, not one per message: review55 #6)."""
    now = [0.0]
    pool = BoundedPool(workers=1, waiting=2, name="error-tell-test", clock=lambda: now[0])
    release, ran = threading.Event(), []

    def job(n: int) -> Callable[[], None]:
        def run() -> None:
            release.wait(30)
            ran.append(n)

        return run

    with caplog.at_level(logging.WARNING, logger="handlers.after_ack"):
        assert [pool.submit(job(n), what=f"message {n}") for n in range(6)] == [True, True, True, False, False, False]
        now[0] = DROPS_PERIOD - 1
        assert not pool.submit(job(6), what="message 6")
        logged_within = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        now[0] = DROPS_PERIOD + 1  # the minute is over: the next submit counts what was dropped since the first
        assert not pool.submit(job(7), what="message 7")
    release.set()
    pool.shutdown()
    assert sorted(ran) == [0, 1, 2]
    assert logged_within == ["error-tell-test: too many messages waiting, dropped message 3"]
    dropped = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert dropped == [
        "error-tell-test: too many messages waiting, dropped message 3",
        "error-tell-test: too many messages waiting, 3 more dropped in the 61 s since the first one",
        "error-tell-test: too many messages waiting, dropped message 7",  # a new minute
    ]


def test_the_count_of_dropped_messages_says_how_long_it_counted(caplog: pytest.LogCaptureFixture) -> None:
    """review57 #3: the count is written with the next message after the minute, which after a short burst may come
    hours later: the line says the time since the first one dropped (the line's own time says when it was)."""
    now = [0.0]
    pool = BoundedPool(workers=1, waiting=1, name="error-tell-test", clock=lambda: now[0])
    release = threading.Event()
    with caplog.at_level(logging.WARNING, logger="handlers.after_ack"):
        for n in range(2):
            assert pool.submit(lambda: release.wait(30) and None, what=f"message {n}")
        for n in range(2, 42):  # a burst of four seconds
            now[0] = (n - 2) / 10
            assert not pool.submit(lambda: None, what=f"message {n}")
        now[0] = 3 * 3600.0  # quiet for three hours, then the next request (kept or not: the count is written)
        kept = pool.reserve(1)
        if kept is not None:
            kept.release()
        release.set()
        pool.shutdown()
    assert [r.getMessage() for r in caplog.records][1:] == [
        "error-tell-test: too many messages waiting, 39 more dropped in the 3 h 0 min since the first one"
    ]


def test_told_once_is_shared_by_the_processes_of_one_database(database: Database) -> None:
    def process() -> ToldOnce:
        return ToldOnce(kind="error_told", clock=Clock(), database=database, now=lambda: NOW, later=lambda f: f())

    first, other = process(), process()
    assert first.first("msg:C1:1.0001", ask_database=False)  # Slack's first delivery: nobody asked
    assert not first.first("msg:C1:1.0001")  # its retry, here
    assert not other.first("msg:C1:1.0001")  # its retry, in another process
    assert other.first("msg:C1:2.0002")


class Now:
    """The telling pool, run at once: every message is sent by the time ``dispatch`` and ``after_ack`` returned."""

    def submit(self, work: Callable[[], None], *, what: str) -> bool:
        work()
        return True


def bolt_app(monkeypatch: pytest.MonkeyPatch, told: list[str]) -> tuple[App, types.SimpleNamespace]:
    monkeypatch.setattr(errors, "_TELLING", Now())
    monkeypatch.setattr(errors, "tell_user", lambda settings, body, context, client, text: told.append(text))
    monkeypatch.setattr(
        WebClient,
        "auth_test",
        lambda self, **kw: SlackResponse(
            client=self,
            http_verb="POST",
            api_url="x",
            req_args={},
            data={"ok": True, "user_id": "UB", "bot_id": "B1", "team_id": "T1"},
            headers={},
            status_code=200,
        ),
    )

    def no_look_up(**kwargs: Any) -> str:
        raise AssertionError("an error before the ack asks neither the database nor Slack for the language")

    services = types.SimpleNamespace(
        settings=types.SimpleNamespace(default_language="en"),
        locales=types.SimpleNamespace(cached=lambda user: None, language=no_look_up),
        db=None,
        clock=lambda: NOW,
    )
    app = App(
        token="xoxb-x",
        signing_secret="s",
        process_before_response=False,
        request_verification_enabled=False,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )
    errors.register(app, services)  # type: ignore[arg-type]
    return app, services


def delivered(app: App, body: dict[str, Any], *, retry: str | None = None) -> int:
    headers = {"content-type": ["application/json"], **({"x-slack-retry-num": [retry]} if retry else {})}
    request = BoltRequest(body=json.dumps(body), mode="socket_mode", headers=headers)
    answering(request.context)
    response = app.dispatch(request)
    after_ack(response, request.context)
    return response.status


def test_a_message_that_cannot_be_recorded_is_told_once_across_slacks_retries(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[str] = []
    app, _ = bolt_app(monkeypatch, told)

    def recorder(body: dict[str, Any], next: Callable[[], None]) -> None:  # the inbox cannot record
        raise RuntimeError("database is locked")

    for name in ("app_mention", "message"):
        app.event(name, middleware=[recorder])(lambda ack: None)
    statuses = []
    with caplog.at_level(logging.INFO, logger="wieweet.errors"):
        for retry in (None, "1", "2", "3"):
            for kind in ("app_mention", "message"):  # a mention in a DM: both events of one message
                event = {"type": kind, "user": "U1", "channel": "D1", "ts": "1.000100", "text": "<@UB> wie weet?"}
                body = {"type": "event_callback", "team_id": "T1", "event_id": f"Ev{kind}", "event": event}
                statuses.append(delivered(app, body, retry=retry))
    assert statuses == [500] * 8  # not acked: Slack delivers it again, and a retry that records it is answered
    assert len(told) == 1 and "went wrong" in told[0].lower(), told  # in English: the default, nobody asked
    assert sum("was told already, not again" in r.getMessage() for r in caplog.records) == 7


def test_a_slash_command_that_fails_before_its_ack_is_answered_by_the_ack_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    told: list[str] = []
    app, _ = bolt_app(monkeypatch, told)

    @app.command("/wieweet")
    def fails(ack: Any) -> None:
        raise RuntimeError("database is locked")

    body = (
        "command=%2Fwieweet&text=hi&user_id=U1&channel_id=C1&team_id=T1&trigger_id=t1"
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fx"
    )
    request = BoltRequest(
        body=body, mode="socket_mode", headers={"content-type": ["application/x-www-form-urlencoded"]}
    )
    answering(request.context)
    response = app.dispatch(request)
    after_ack(response, request.context)
    ack = json.loads(response.body)
    assert response.status == 200 and ack["response_type"] == "ephemeral" and "went wrong" in ack["text"].lower()
    assert told == []  # said once: in the ack
