"""The listener wrapper: the one place where a Slack request is acknowledged, parsed, validated, run in one
transaction, and followed up once committed.

Bolt acknowledges Slack before a (non-lazy) listener has finished when ``process_before_response`` is off, so a
global Bolt middleware cannot scope a database transaction around the listener's work. Every listener is therefore
declared through ``listener(...)``, which for each request:

1. stamps a correlation id and acknowledges at once (``ack_first``: buttons, commands, shortcuts, events; a modal
   submission is acknowledged by its outcome — closed, or errors shown on its fields);
2. opens one session (one transaction) and reads the payload once: the ``subject`` of a button (the record id in
   its value and block id, ``handlers.claims.Subject``) or the typed ``form`` of a modal (``handlers.forms``), or
   any other ``parse``; a malformed claim is refused there, before the handler runs;
3. runs the handler with the ``Turn`` and the parsed value; commits when it returns, rolls back when it raises;
4. after the commit: the messages the handler asked for (``Turn.after_commit``), the outbox doorbell when it queued
   messages, the Home tabs whose content changed;
5. logs one line per request. A refusal of a modal is shown on the modal; any other error goes to the one global
   error handler (``handlers.errors``), also after the ack (Bolt would drop the ack if the error reached it then).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, overload

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import WieweetError
from handlers.claims import Subject
from handlers.errors import REF, handle_error, refuse_in_form
from handlers.forms import Form
from handlers.home import publish_homes
from handlers.services import Services
from handlers.turn import AckThenLanguage, AfterCommitRespond, Turn

request_log = logging.getLogger("wieweet.requests")
log = logging.getLogger(__name__)

P = TypeVar("P")
F = TypeVar("F", bound=Form)
BoltListener = Callable[..., None]


class Kind(StrEnum):
    COMMAND = "command"
    EVENT = "event"
    ACTION = "action"
    SHORTCUT = "shortcut"
    VIEW = "view"


@overload
def listener(
    services: Services, kind: str, handler: Callable[[Turn], None], *, ack_first: bool = False
) -> BoltListener: ...
@overload
def listener(
    services: Services, kind: str, handler: Callable[[Turn, int], None], *, subject: Subject, ack_first: bool = False
) -> BoltListener: ...
@overload
def listener(services: Services, kind: str, handler: Callable[[Turn, F], None], *, form: type[F]) -> BoltListener: ...
@overload
def listener(
    services: Services,
    kind: str,
    handler: Callable[[Turn, P], None],
    *,
    parse: Callable[[Turn], P],
    ack_first: bool = False,
) -> BoltListener: ...
def listener(
    services: Services,
    kind: str,
    handler: Callable[..., None],
    *,
    subject: Subject | None = None,
    form: type[Form] | None = None,
    parse: Callable[[Turn], Any] | None = None,
    ack_first: bool = False,
) -> BoltListener:
    """Adapt ``handler(turn[, parsed])`` to a Bolt listener (see the module docstring)."""
    if subject is not None:
        parse = _subject_parser(subject)
    elif form is not None:
        parse = _form_parser(form)
    spec = _Spec(services, kind, handler, parse, form, ack_first)

    def bolt_listener(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        _serve(spec, ack=ack, body=body, client=client, context=context, respond=respond)

    bolt_listener.__name__ = f"{kind}:{handler.__name__}"
    return bolt_listener


@dataclass(frozen=True, slots=True)
class _Spec:
    """One listener's declaration."""

    services: Services
    kind: str
    handler: Callable[..., None]
    parse: Callable[[Turn], Any] | None
    form: type[Form] | None
    ack_first: bool

    def run(self, turn: Turn) -> None:
        """Parse the payload (when declared), then the handler; a modal refused before its ack says so on the form."""
        try:
            if self.parse is None:
                self.handler(turn)
            else:
                self.handler(turn, self.parse(turn))
        except WieweetError as error:
            if self.form is None or turn.acked:
                raise
            refuse_in_form(turn, error, self.form.ERROR_BLOCK)  # not theirs, gone meanwhile: said on the form
        if self.form is not None and not turn.acked:
            turn.ack()  # a modal that was accepted closes


def _serve(
    spec: _Spec, *, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    """One request, from the ack to the log line (see the module docstring)."""
    services = spec.services
    correlation_id = uuid.uuid4().hex[:12]
    context[REF] = correlation_id
    started = time.perf_counter()
    outcome = "error"
    if spec.ack_first:
        ack()
    try:
        with services.db.session() as session:
            turn = Turn(
                services=services,
                session=session,
                client=client,
                body=body,
                ack=ack,
                respond=None,
                context=context,
                kind=spec.kind,
                correlation_id=correlation_id,
                now=services.clock(),
            )
            if body.get("response_url") or context.response_url:
                turn.respond = AfterCommitRespond(respond, turn.after_commit)
            if spec.ack_first:
                turn.resolve_language()  # acked: now, before any change (never users.info after a write)
            else:
                turn.ack = AckThenLanguage(ack, turn.resolve_language)
            spec.run(turn)
            outcome = turn.outcome
        _after_commit(services, turn, client)
    except Exception as error:  # the transaction was rolled back
        # Not acknowledged yet: Bolt runs the global error handler. Acknowledged: hand it over ourselves, or
        # Bolt would drop the ack.
        if getattr(ack, "response", None) is None:
            raise
        (services.report_error or _global_handler(services))(error, body, context, client)
    finally:
        request_log.info(
            "kind=%s handler=%s user=%s channel=%s latency_ms=%.1f outcome=%s ref=%s",
            spec.kind,
            spec.handler.__name__,
            context.user_id,
            context.channel_id,
            (time.perf_counter() - started) * 1000,
            outcome,
            correlation_id,
        )


def _subject_parser(subject: Subject) -> Callable[[Turn], int]:
    def parse(turn: Turn) -> int:
        return subject.id_in(turn.body)

    return parse


def _form_parser(form: type[Form]) -> Callable[[Turn], Form]:
    def parse(turn: Turn) -> Form:
        return form.parse(turn.body)

    return parse


def _global_handler(services: Services) -> Callable[[BaseException, dict[str, Any], BoltContext, WebClient], None]:
    def report(error: BaseException, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        handle_error(services, error, body, context, client)

    return report


def _after_commit(services: Services, turn: Turn, client: WebClient) -> None:
    """What the handler asked for once its change is committed. A failure is logged and undoes nothing."""
    turn.run_after_commit()
    if turn.queued:
        services.outbox.ring()
    if turn.home_users:
        publish_homes(services, client, turn.home_users)
