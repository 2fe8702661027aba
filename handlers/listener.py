"""The listener wrapper: the one place where a Slack request is acknowledged, parsed, validated, run in one
transaction, and followed up once committed.

Bolt acknowledges Slack before a (non-lazy) listener has finished when ``process_before_response`` is off, so a
global Bolt middleware cannot scope a database transaction around the listener's work. Every listener is therefore
declared through ``listener(...)``, which for each request:

1. stamps a correlation id and acknowledges at once (``ack_first``: buttons, commands, shortcuts, events); a modal
   submission is acknowledged before anything touches the main database (see "Modal submissions" below);
2. opens one session (one transaction) and reads the payload once: the ``subject`` of a button (the record id in
   its value and block id, ``handlers.claims.Subject``) or any other ``parse``; a malformed claim is refused there,
   before the handler runs;
3. runs the handler with the ``Turn`` and the parsed value; commits when it returns, rolls back when it raises;
   a request that changed something claims its delivery (``delivery_key``) in that same transaction, so a replayed
   or retried delivery of it changes nothing (see "Redeliveries" below);
4. after the commit: the messages the handler asked for (``Turn.after_commit``), the outbox doorbell when it queued
   messages, the Home tabs whose content changed;
5. logs one line per request. An error goes to the one global error handler (``handlers.errors``), also after the
   ack (Bolt would drop the ack if the error reached it then).

Modal submissions (``deferred``, every modal but the ask modal, which records its own inbox kind with ``inbox``).
Before the ack, nothing waits: the typed form is read (a malformed claim or an input longer than Slack allows is
refused on the form), its ``check`` runs (required fields, lengths, formats: what needs no database) and refuses on
the form, which stays open and claims nothing, so the corrected resubmit counts; then the submission is recorded in
the inbox under its view id and hash (``SUBMISSION_KIND``: one short transaction on the inbox only) and the modal
closes. The inbox worker (``handlers.inbox``) runs the handler from the record afterwards (``run_submission``): the
user's language first (``users.info`` when not cached, in no transaction that has written), then the handler in one
transaction that claims the view id and hash as its delivery, exactly as it ran before the ack. Its confirmations
(``Turn.dm``, ``tell``, ``post``, ``update_message``, Home tabs) are recorded as data, saved on the inbox row before
the commit and sent from there after it (``send_confirmations``), so a crash between the commit and "done" neither
loses nor doubles them; a Slack step outside the transaction is saved as a step (``Turn.save_step``) for a retry. A
database lock held for longer than Slack's 3 s delays the change, never the ack (until the worker gives up: one DM).
A passing Slack failure (``handlers.services.slack_transient``) is retried, never told as a refusal. What
only the database (or Slack) can refuse — not theirs, decided meanwhile, gone, a name taken — can no longer be shown
on the closed form: the worker tells the user once by DM, quoting what they typed, so nothing is lost.

Redeliveries. Slack retries a request whose ack it did not get, and a payload can be replayed (a double submit of a
modal, an attacker with a captured request): the same delivery comes again with the same trigger id, or for a
modal the same view id and hash. A modal submission is recorded once under that key (a copy is acked and does
nothing), and its run from the inbox claims the key with its change (a retry after a crash finds it claimed and
does nothing). Every button, command and shortcut request whose transaction wrote claims ``delivery_key`` there
(``bot.inbox.claim_delivery``, in ``processed_events``): a delivery whose key is claimed already is acked and does
nothing; two copies in flight at once both run, and the one that commits second meets the claim and rolls back (or,
if it failed first on the other's change, is recognised as the copy and says nothing). Requests that only read
(open a modal, show a list) claim nothing: repeating them changes nothing. Requests handed to the inbox (questions,
mentions, modal submissions) are claimed there, under their own keys, so they touch nothing but the inbox before
their ack. A *double click* is two deliveries (two trigger ids): the second meets the state the first left, which
the services check under the record's lock (a question already claimed, a practice already decided) and answer
without a second change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, overload

from slack_bolt import Ack, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient

from bot import inbox as inbox_core
from bot.actors import NotAuthorized
from bot.errors import WieweetError
from bot.i18n import t
from handlers import inbox
from handlers.claims import Subject, log_refusal
from handlers.confirmations import CONFIRM_ATTEMPTS, send_confirmations, send_saved_confirmations
from handlers.errors import REF, handle_error, refuse_in_form, user_message
from handlers.forms import Draft, Form, state_values, typed_inputs
from handlers.home import publish_homes
from handlers.kit import escape_truncate
from handlers.services import Services
from handlers.turn import AckThenLanguage, AfterCommitRespond, Turn
from storage.db import session_has_written

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
    services: Services, kind: str, handler: Callable[[Turn], None], *, ack_first: bool = False, inbox: bool = False
) -> BoltListener: ...
@overload
def listener(
    services: Services, kind: str, handler: Callable[[Turn, int], None], *, subject: Subject, ack_first: bool = False
) -> BoltListener: ...
@overload
def listener(
    services: Services,
    kind: str,
    handler: Callable[[Turn, F], None],
    *,
    form: type[F],
    inbox: bool = False,
    deferred: bool = False,
    check: Callable[[F, Draft], Mapping[str, str]] | None = None,
    callback_id: str | None = None,
) -> BoltListener: ...
@overload
def listener(
    services: Services,
    kind: str,
    handler: Callable[[Turn, P], None],
    *,
    parse: Callable[[Turn], P],
    ack_first: bool = False,
    inbox: bool = False,
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
    inbox: bool = False,
    deferred: bool = False,
    check: Callable[[Any, Draft], Mapping[str, str]] | None = None,
    callback_id: str | None = None,
) -> BoltListener:
    """Adapt ``handler(turn[, parsed])`` to a Bolt listener (see the module docstring). ``inbox``: the request is
    recorded in the inbox before its ack, and that record is the dedupe claim; the request claims no delivery here,
    so nothing touches the main database before the ack (not even a look-up: with the connection pool taken by
    workers waiting on a lock, it waited 20 s), and the user's language is not looked up in the listener (the inbox
    job does it: with a slow Slack, ``users.info`` held the listener threads that other requests' acks wait for).
    ``deferred`` (a modal ``form``): the submission is checked (``check``: what needs no database), recorded in the
    inbox and acked; the inbox worker runs ``handler`` from the record afterwards (see "Modal submissions"). The
    record names it by the modal's ``callback_id`` (what Slack routes on), not by the Python function, so renaming
    the function does not strand records made before."""
    if subject is not None:
        parse = _subject_parser(subject)
    elif form is not None:
        parse = _form_parser(form)
    name = callback_id or _handler_name(handler)
    spec = _Spec(services, kind, handler, parse, form, ack_first, inbox, deferred, check, name)
    if deferred:
        if form is None:
            raise ValueError("only a modal form can be deferred to the inbox")
        _DEFERRED[name] = spec
        _DEFERRED[_handler_name(handler)] = spec  # records made when they were named by the function

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
    inbox: bool = False
    deferred: bool = False
    check: Callable[[Any, Draft], Mapping[str, str]] | None = None
    name: str = ""  # a deferred submission's record names its handler so: the modal's callback_id

    def run(self, turn: Turn, key: str | None = None) -> None:
        """Parse the payload (when declared), then the handler; a modal refused before its ack says so on the form,
        unless a copy of this delivery (``key``) made the change it was refused on: then it says nothing."""
        try:
            if self.parse is None:
                self.handler(turn)
            else:
                self.handler(turn, self.parse(turn))
        except WieweetError as error:
            if self.form is None or turn.acked:
                raise
            if key is not None and _claimed_meanwhile(self.services, key):
                # e.g. on PostgreSQL: it waited on the other copy's row lock, then met its change ("already
                # answered"): the modal closes, nothing is shown or sent, the request logs a duplicate
                raise Redelivered(key) from error
            refuse_in_form(turn, error, self.form.ERROR_BLOCK)  # not theirs, gone meanwhile: said on the form
        if self.form is not None and not turn.acked:
            turn.ack()  # a modal that was accepted closes


DUPLICATE = "duplicate"  # the outcome of a redelivery, in the request log


class Redelivered(Exception):
    """This delivery was claimed by another copy of it meanwhile: roll back what this copy did."""


def delivery_key(kind: str, body: Mapping[str, Any]) -> str | None:
    """What identifies one delivery of a request across Slack's retries and replays (None: nothing does). A modal
    submission: its view id and hash (a modal refused with errors and submitted again keeps both, but the refused
    one claimed nothing). A button, command or shortcut: its trigger id, unique per click or invocation."""
    if kind == Kind.VIEW:
        view = body.get("view")
        if not isinstance(view, dict) or not view.get("id"):
            return None
        version = (
            view.get("hash")
            or hashlib.sha256(json.dumps(view.get("state") or {}, sort_keys=True).encode()).hexdigest()[:24]
        )
        return f"view:{view['id']}:{version}"[:200]
    if kind in (Kind.ACTION, Kind.COMMAND, Kind.SHORTCUT):
        trigger = body.get("trigger_id")
        if trigger:
            return f"{kind}:{trigger}"[:200]
        action = (body.get("actions") or [{}])[0] if isinstance(body.get("actions"), list) else {}
        stamp = action.get("action_ts") if isinstance(action, dict) else None
        user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else None
        if not (stamp and user):
            return None
        return f"{kind}:{hashlib.sha256(f'{user}:{stamp}'.encode()).hexdigest()[:32]}"  # no Slack id kept
    return None


def _serve(
    spec: _Spec, *, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    """One request, from the ack to the log line (see the module docstring)."""
    services = spec.services
    correlation_id = uuid.uuid4().hex[:12]
    context[REF] = correlation_id
    started = time.perf_counter()
    outcome = "error"
    key = None if spec.inbox else delivery_key(spec.kind, body)
    if spec.ack_first:
        ack()
    try:
        if spec.deferred:
            outcome = _record_submission(spec, key, ack=ack, body=body, context=context)
            return
        turn = _transaction(spec, key, ack=ack, body=body, client=client, context=context, respond=respond)
        outcome = turn.outcome
        if outcome != DUPLICATE:
            _after_commit(services, turn, client)
    except Exception as error:  # the transaction was rolled back
        if key is not None and (isinstance(error, Redelivered) or _claimed_meanwhile(services, key)):
            # a copy of this delivery made the change: this one says nothing (its error came from that change)
            log.info("redelivery %s rolled back (%s) ref=%s", key, type(error).__name__, correlation_id)
            if getattr(ack, "response", None) is None:
                ack()
            outcome = DUPLICATE
            return
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


def _transaction(
    spec: _Spec,
    key: str | None,
    *,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Respond,
) -> Turn:
    """The request's one transaction: the handler's work and, when it changed something, the delivery's claim."""
    services = spec.services
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
            correlation_id=str(context[REF]),
            now=services.clock(),
        )
        if body.get("response_url") or context.response_url:
            turn.respond = AfterCommitRespond(respond, turn.after_commit)
        if key is not None and inbox_core.delivery_seen(session, key=key):
            _redelivered(turn)
            return turn
        if spec.ack_first:
            if not spec.inbox:
                turn.resolve_language()  # acked: now, before any change (never users.info after a write)
        elif not spec.inbox:
            turn.ack = AckThenLanguage(ack, turn.resolve_language)
        spec.run(turn, key)
        claims = key is not None and not turn.kept_open and session_has_written(session)
        if claims and not inbox_core.claim_delivery(session, key=str(key), kind=spec.kind, now=turn.now):
            raise Redelivered(key)  # the other copy committed first: this one's change is rolled back
    return turn


def _redelivered(turn: Turn) -> None:
    """A delivery already handled (a replay, Slack's retry, a second submit of the same modal): acknowledged (a
    modal closes), nothing done, nothing said."""
    if not turn.acked:
        turn.ack()
    turn.outcome = DUPLICATE


def _claimed_meanwhile(services: Services, key: str) -> bool:
    try:
        return inbox_core.delivery_claimed(services.db, key=key)
    except Exception:  # the error that brought us here is reported instead
        log.warning("could not check delivery %s", key, exc_info=True)
        return False


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


# --- modal submissions: recorded before the ack, run by the inbox worker ---------------------------------------------

SUBMISSION_KIND = "modal_submission"
MAX_INPUT_CHARS = 3000  # Slack's limit for a plain-text input: more did not come from a modal wieweet made
_DEFERRED: dict[str, _Spec] = {}  # the modal's callback_id (stored in the record) -> its declaration


def _handler_name(handler: Callable[..., None]) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def _record_submission(spec: _Spec, key: str | None, *, ack: Ack, body: dict[str, Any], context: BoltContext) -> str:
    """A deferred modal submission before its ack: read the form, check what needs no database (refused on the
    form, which stays open and claims nothing), record it in the inbox (its view id and hash: the dedupe claim),
    close the modal. Nothing touches the main database and nothing waits on Slack."""
    services, form_type = spec.services, spec.form
    assert form_type is not None
    lang = services.locales.cached(context.user_id) or services.locales.default_language
    too_long = {
        block: t("field.too_long", lang)
        for block, entries in state_values(body).items()
        for entry in (entries.values() if isinstance(entries, dict) else [])
        if isinstance(entry, dict) and len(str(entry.get("value") or "")) > MAX_INPUT_CHARS
    }
    if too_long:
        ack(response_action="errors", errors=too_long)
        return "invalid " + ",".join(sorted(too_long))
    try:
        form = form_type.parse(body)
    except WieweetError as error:  # a malformed claim: refused on the form, as before the ack
        ack(response_action="errors", errors={form_type.ERROR_BLOCK: user_message(error, lang, str(context[REF]))})
        if isinstance(error, NotAuthorized):
            log_refusal(ref=str(context[REF]), user=context.user_id, action=error.action, target=error.target)
        return f"refused {error.code}"
    draft = Draft(lang=lang, today=services.clock().date(), user_id=context.user_id)
    errors = dict(spec.check(form, draft)) if spec.check is not None else {}
    if errors:
        ack(response_action="errors", errors={block: text[:2000] for block, text in errors.items()})
        return "invalid " + ",".join(sorted(errors))
    if key is None:  # no view id: not a modal Slack showed
        ack()
        log.warning("submission without a view id ignored ref=%s user=%s", context[REF], context.user_id)
        return "refused no_view"
    new = inbox.record(
        services,
        request_key=key,
        kind_name=SUBMISSION_KIND,
        payload={"handler": spec.name, "body": _kept(body)},
        user_id=context.user_id,
    )
    ack()  # accepted: the modal closes; the outcome (a confirmation, or why not) comes as a message
    return "recorded" if new else DUPLICATE


def _kept(body: Mapping[str, Any]) -> dict[str, Any]:
    """What a submission's record keeps of its payload: who, the view's identity, metadata, state and labels."""
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    assert isinstance(view, dict)
    labels = [
        {"block_id": b.get("block_id"), "label": {"text": (b.get("label") or {}).get("text")}}
        for b in view.get("blocks") or []
        if isinstance(b, dict) and isinstance(b.get("label"), dict)
    ]
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    assert isinstance(user, dict)
    return {
        "type": body.get("type"),
        "team": body.get("team"),
        "user": {k: user.get(k) for k in ("id", "name", "team_id") if k in user},
        "view": {
            **{k: view.get(k) for k in ("id", "hash", "callback_id", "private_metadata", "type") if k in view},
            "state": view.get("state") or {},
            "blocks": labels,
        },
    }


class _Acked(Ack):
    """The ack of a submission run from the inbox: Slack was answered when it was recorded."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.response = BoltResponse(status=200, body="")

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        assert self.response is not None
        return self.response


def _tell_refused(job: inbox.InboxJob, text: str) -> None:
    """Why a submission was not saved, by DM (the modal closed at the ack), with what the user typed quoted: nothing
    is lost, it can be submitted again. Never once its change committed (its confirmations failed: they are
    retried, ``handlers.confirmations``): the user would resubmit a saved change."""
    if _claimed_meanwhile(job.services, job.key):
        log.error("submission %s was saved, its confirmations could not be sent ref=%s", job.key, job.ref)
        return
    typed = typed_inputs(job.payload.get("body") or {})
    if typed:
        quoted = "\n\n".join(
            (f"*{escape_truncate(label, 150)}*\n" if label else "")
            + "> "
            + escape_truncate(value, MAX_INPUT_CHARS).replace("\n", "\n> ")
            for label, value in typed
        )
        text = f"{text}\n\n{t('modal.not_saved', job.language(), typed=quoted)}"
    job.dm_once(step="refused", text=text)


@inbox.kind(SUBMISSION_KIND, tell=_tell_refused, in_order=True)
def run_submission(job: inbox.InboxJob) -> None:
    """A deferred modal submission, from the inbox: the handler runs on the recorded payload as it would have before
    the ack, in one transaction that claims the submission's delivery key, so it changes things once (also after a
    crash, or when a copy ran meanwhile). A refusal (not theirs, decided meanwhile, gone, invalid) raises: the worker
    tells the user (``_tell_refused``). The user's language is looked up first, in no transaction that has written."""
    services, body = job.services, dict(job.payload.get("body") or {})
    spec = _DEFERRED.get(str(job.payload.get("handler")))
    lang = job.language()
    if spec is None or spec.form is None:
        # e.g. a replica where this feature is off, or a modal no longer offered: retrying changes nothing
        log.error(
            "submission %s names no handler here (%r): not saved, the user is told ref=%s",
            job.key,
            job.payload.get("handler"),
            job.ref,
        )
        _tell_refused(job, t("slack.error", lang, ref=job.ref))
        return
    context = BoltContext({"user_id": job.user_id, REF: job.ref})
    turn: Turn | None = None
    try:
        with services.db.session() as session:
            turn = Turn(
                services=services,
                session=session,
                client=job.client,
                body=body,
                ack=_Acked(),
                respond=None,
                context=context,
                kind=spec.kind,
                correlation_id=job.ref,
                now=job.now,
                job=job,
            )
            turn.known_language(lang)
            if inbox_core.delivery_seen(session, key=job.key):
                turn.outcome = DUPLICATE
            else:
                spec.handler(turn, spec.form.parse(body))
                if session_has_written(session) and not inbox_core.claim_delivery(
                    session, key=job.key, kind=spec.kind, now=turn.now
                ):
                    raise Redelivered(job.key)
                # saved before the commit, sent once it committed (here, or by the retry after a crash: it finds
                # the delivery claimed and sends what was saved and not sent yet)
                job.save(confirm=_confirmations(turn))
    except Redelivered:
        log.info("submission %s was run by a copy meanwhile ref=%s", job.key, job.ref)
        send_saved_confirmations(job)  # the copy may have stopped before sending them (it lost its claim to us)
        return
    except WieweetError:
        if not _claimed_meanwhile(services, job.key):
            raise
        send_saved_confirmations(job)  # refused on the change a copy of it made: says nothing of its own
        return
    if turn.outcome == DUPLICATE:  # committed by an earlier run or a copy: what it saved, read back
        send_saved_confirmations(job)
        return
    job.max_attempts = CONFIRM_ATTEMPTS  # committed: the confirmations get a longer budget, never a refusal
    send_confirmations(job)
    turn.run_after_commit()  # anything else it asked for after the commit


def _confirmations(turn: Turn) -> list[dict[str, Any]]:
    """What a submission run from the inbox asked for once its change is committed, as data (``Turn.effects``)."""
    confirm = list(turn.effects)
    if turn.home_users:
        confirm.append({"kind": "homes", "users": sorted(turn.home_users)})
    if turn.queued:
        confirm.append({"kind": "ring"})
    return confirm
