"""The listener wrapper: one transaction per request, and errors reach the global handler without losing the ack."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import select

import handlers.errors
from bot.config import Settings
from bot.errors import WieweetError
from bot.knowledge import KnowledgeBase
from handlers.errors import VERIFIED
from handlers.listener import delivery_key, listener
from handlers.services import Services
from handlers.turn import Turn
from storage.db import Database
from storage.models import ProcessedEvent, Theme


@pytest.fixture
def services(tmp_path: Path) -> Services:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    return Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))


def call(services: Services, handler: Any, ack: Ack) -> BoltContext:
    context = BoltContext(user_id="U0ONE", channel_id="C0ONE")
    bolt_listener = listener(services, "action", handler)
    bolt_listener(ack=ack, body={}, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    return context


def add_theme(turn: Turn) -> None:
    turn.session.add(Theme(key="proef", label_nl="Proef", label_en="Trial", synonyms=[]))
    turn.session.flush()


def themes(services: Services) -> list[str]:
    with services.db.session() as session:
        return list(session.scalars(select(Theme.key).where(Theme.key == "proef")))


def test_a_request_commits_its_work(services: Services) -> None:
    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)

    call(services, handler, Ack())
    assert themes(services) == ["proef"]


def test_error_after_ack_goes_to_the_global_handler_keeps_the_ack_and_rolls_back(services: Services) -> None:
    reported: list[BaseException] = []
    services = replace(services, report_error=lambda error, body, context, client: reported.append(error))
    refusal = WieweetError("not_staff", "no")

    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        raise refusal

    ack = Ack()
    call(services, handler, ack)  # does not raise: Bolt would reset the ack while handling it
    assert ack.response is not None and ack.response.status == 200
    assert reported == [refusal]
    assert themes(services) == []  # nothing half-saved


def test_a_refusal_that_keeps_its_record_commits_it_then_reaches_the_global_handler(services: Services) -> None:
    """``keep_changes``: e.g. a deactivated expert picked by hand is marked away, and the one who chose is told."""
    reported: list[BaseException] = []
    services = replace(services, report_error=lambda error, body, context, client: reported.append(error))
    refusal = WieweetError("ask_deactivated", "gone", keep_changes=True)

    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        raise refusal

    call(services, handler, Ack())
    assert reported == [refusal]
    assert themes(services) == ["proef"]  # the record stands


def test_error_before_ack_is_left_to_bolt(services: Services) -> None:
    reported: list[BaseException] = []
    services = replace(services, report_error=lambda error, body, context, client: reported.append(error))

    def handler(turn: Turn) -> None:
        add_theme(turn)
        raise WieweetError("bad", "before ack")

    with pytest.raises(WieweetError):
        call(services, handler, Ack())
    assert reported == [] and themes(services) == []


def test_after_commit_work_runs_only_when_committed_and_cannot_undo_the_change(services: Services) -> None:
    ran: list[str] = []

    def failing_notice() -> None:
        ran.append("notice")
        raise OSError("Slack is down")

    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        turn.after_commit(failing_notice)
        turn.after_commit(lambda: ran.append("second"))

    call(services, handler, Ack())  # the failing notice is logged, not raised
    assert ran == ["notice", "second"] and themes(services) == ["proef"]


def test_after_commit_work_is_dropped_when_the_request_fails(services: Services) -> None:
    ran: list[str] = []
    services = replace(services, report_error=lambda error, body, context, client: None)

    def handler(turn: Turn) -> None:
        turn.ack()
        turn.after_commit(lambda: ran.append("told the user it worked"))
        raise WieweetError("profile_state", "too late")

    call(services, handler, Ack())
    assert ran == []


class RecordingRespond(Respond):
    """A response_url that records what was sent and whether the request's change was committed by then."""

    def __init__(self, services: Services) -> None:
        super().__init__(response_url="https://hooks.invalid/response")
        self.services = services
        self.sent: list[tuple[str, list[str]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.sent.append((str(kwargs.get("text")), themes(self.services)))


def call_with_respond(services: Services, handler: Any, respond: Respond) -> None:
    context = BoltContext(user_id="U0ONE", channel_id="C0ONE")
    bolt_listener = listener(services, "action", handler)
    body = {"response_url": respond.response_url}
    bolt_listener(ack=Ack(), body=body, client=WebClient(token="xoxb-test"), context=context, respond=respond)


def test_respond_waits_for_the_commit_and_says_nothing_about_a_rolled_back_change(services: Services) -> None:
    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        assert turn.respond is not None
        turn.respond(text="done")  # no Slack call with the written transaction open

    respond = RecordingRespond(services)
    call_with_respond(services, handler, respond)
    assert respond.sent == [("done", ["proef"])]  # sent once the theme was committed

    def failing(turn: Turn) -> None:
        turn.ack()
        assert turn.respond is not None
        turn.respond(text="never")
        raise RuntimeError("rolled back")

    services = replace(services, report_error=lambda error, body, context, client: None)
    respond = RecordingRespond(services)
    call_with_respond(services, failing, respond)
    assert respond.sent == []


# --- redeliveries: one change per delivery (view id + hash, trigger id), on SQLite and PostgreSQL -------------------


def deliver(services: Services, kind: str, handler: Any, body: dict[str, Any]) -> Ack:
    ack = Ack()
    bolt_listener = listener(services, kind, handler)
    context = BoltContext(user_id="U0ONE", channel_id="C0ONE")
    bolt_listener(ack=ack, body=body, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    return ack


@pytest.fixture
def both(database: Database) -> Services:
    return Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))


def new_theme(turn: Turn, key: str) -> None:
    turn.session.add(Theme(key=key, label_nl=key, label_en=key, synonyms=[]))
    turn.session.flush()


def trial_themes(services: Services) -> list[str]:
    with services.db.session() as session:
        return list(session.scalars(select(Theme.key).where(Theme.key.like("proef%")).order_by(Theme.key)))


def claims(services: Services) -> list[str]:
    with services.db.session() as session:
        return list(session.scalars(select(ProcessedEvent.event_key).order_by(ProcessedEvent.event_key)))


def test_delivery_keys() -> None:
    view = {"view": {"id": "V1", "hash": "h1", "state": {"values": {}}}}
    assert delivery_key("view", view) == "view:V1:h1"
    assert delivery_key("view", {"view": {"id": "V1", "state": {"values": {"a": 1}}}}) != delivery_key(
        "view", {"view": {"id": "V1", "state": {"values": {"a": 2}}}}
    )  # no hash: the submitted values tell two submissions apart
    assert delivery_key("action", {"trigger_id": "1.2.abc"}) == "action:1.2.abc"
    assert delivery_key("command", {"trigger_id": "1.2.abc"}) == "command:1.2.abc"
    assert delivery_key("event", {"event": {"ts": "1.0"}}) is None  # mentions are claimed in the inbox


def test_a_replayed_delivery_changes_nothing_the_second_time(both: Services) -> None:
    runs: list[int] = []

    def handler(turn: Turn) -> None:
        runs.append(1)
        new_theme(turn, f"proef{len(runs)}")

    body = {"trigger_id": "T.replayed", "actions": [{"action_ts": "1.0"}]}
    deliver(both, "action", handler, body)
    second = deliver(both, "action", handler, body)
    assert runs == [1] and second.response is not None  # acked, not run
    assert trial_themes(both) == ["proef1"] and claims(both) == ["action:T.replayed"]
    deliver(both, "action", handler, {"trigger_id": "T.other"})  # another click is another delivery
    assert trial_themes(both) == ["proef1", "proef2"]


def test_of_two_copies_in_flight_the_one_committing_second_is_rolled_back_silently(both: Services) -> None:
    reported: list[BaseException] = []
    services = replace(both, report_error=lambda error, body, context, client: reported.append(error))
    body = {"view": {"id": "V9", "hash": "h9"}}

    def first_copy(turn: Turn) -> None:
        new_theme(turn, "proef-first")
        turn.ack()

    def second_copy(turn: Turn) -> None:
        deliver(services, "view", first_copy, body)  # the other copy runs and commits meanwhile
        new_theme(turn, "proef-second")
        turn.ack()

    ack = deliver(services, "view", second_copy, body)
    assert ack.response is not None  # the modal closes for both
    assert trial_themes(services) == ["proef-first"] and reported == []


def test_a_copy_that_fails_on_the_change_the_other_made_says_nothing(both: Services) -> None:
    reported: list[BaseException] = []
    services = replace(both, report_error=lambda error, body, context, client: reported.append(error))
    body = {"trigger_id": "T.race"}

    def first_copy(turn: Turn) -> None:
        turn.ack()
        new_theme(turn, "proef-claimed")

    def second_copy(turn: Turn) -> None:
        turn.ack()
        deliver(services, "action", first_copy, body)
        raise WieweetError("already_claimed", "the other copy claimed it")

    deliver(services, "action", second_copy, body)
    assert reported == [] and trial_themes(services) == ["proef-claimed"]
    deliver(services, "action", second_copy, {"trigger_id": "T.real"})  # a real refusal is still reported
    assert [getattr(e, "code", None) for e in reported] == ["already_claimed"]


@dataclass(frozen=True, slots=True)
class TrialForm:
    ERROR_BLOCK: ClassVar[str] = "trial_block"

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> TrialForm:
        return cls()


def test_a_modal_copy_refused_on_the_change_the_other_copy_made_closes_and_says_nothing(
    both: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL the second copy waits on the first's row lock, then meets its change ("already answered"):
    the refusal must not reach the form or the user, whose answer was saved."""
    told: list[str] = []
    monkeypatch.setattr(handlers.errors, "tell_user", lambda settings, body, context, client, text: told.append(text))
    monkeypatch.setattr(both.locales, "language", lambda **kwargs: "nl")  # no users.info
    body = {"view": {"id": "V7", "hash": "h7"}}

    def first_copy(turn: Turn, form: TrialForm) -> None:
        new_theme(turn, "proef-answered")

    def second_copy(turn: Turn, form: TrialForm) -> None:
        submit(both, first_copy, body)  # the other copy runs and commits meanwhile
        raise WieweetError("already_answered", "the other copy answered it")

    with caplog.at_level(logging.INFO, logger="wieweet.requests"):
        ack = submit(both, second_copy, body)
    assert ack.response is not None and ack.response.status == 200
    assert "errors" not in str(ack.response.body)  # the modal closes
    assert told == [] and trial_themes(both) == ["proef-answered"] and claims(both) == ["view:V7:h7"]
    outcomes = [r.getMessage() for r in caplog.records if "handler=second_copy" in r.getMessage()]
    assert len(outcomes) == 1 and "outcome=duplicate" in outcomes[0]

    refused = submit(both, second_copy, {"view": {"id": "V8", "hash": "h8"}})  # a real refusal is still shown
    assert refused.response is not None and "trial_block" in str(refused.response.body)
    assert len(told) == 1


def submit(services: Services, handler: Any, body: dict[str, Any]) -> Ack:
    ack = Ack()
    bolt_listener = listener(services, "view", handler, form=TrialForm)
    context = BoltContext(user_id="U0ONE", channel_id="C0ONE")
    context[VERIFIED] = True
    bolt_listener(ack=ack, body=body, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    return ack


def test_a_modal_refused_on_its_fields_or_a_read_only_request_claims_nothing(both: Services) -> None:
    body = {"view": {"id": "V5", "hash": "h5"}}
    tries: list[int] = []

    def handler(turn: Turn) -> None:
        tries.append(1)
        if len(tries) == 1:
            turn.form_errors({"block": "fix this"})
            return
        new_theme(turn, "proef-corrected")

    first = deliver(both, "view", handler, body)
    assert first.response is not None and "errors" in str(first.response.body)
    assert claims(both) == []
    deliver(both, "view", handler, body)  # corrected and submitted again: same view id and hash
    assert trial_themes(both) == ["proef-corrected"] and claims(both) == ["view:V5:h5"]
    deliver(both, "action", lambda turn: turn.ack(), {"trigger_id": "T.read"})
    assert claims(both) == ["view:V5:h5"]
