"""The listener wrapper: the one place where a Slack request is acknowledged, parsed, validated, run in one
transaction, and followed up once committed.

Bolt acknowledges Slack before a (non-lazy) listener has finished when ``process_before_response`` is off, so a
global Bolt middleware cannot scope a database transaction around the listener's work. Every listener is therefore
declared through ``listener(...)``, which for each request:

1. stamps a correlation id; a request that is *recorded first* is written to the inbox and then acknowledged (see
   "Recorded before the ack" below); any other is acknowledged at once (``ack_first``);
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

Recorded before the ack. Every request whose outcome must outlive the process is recorded in the inbox (one short
transaction on the inbox only, its delivery key the dedupe claim) *before* Slack gets its ack, with nothing read
from the main database and no Slack call first, and its outcome is produced from that record by the inbox worker:
mentions and DMs (listener middleware, ``handlers.answers.record_message``: Bolt acks events before any listener
runs), ``/wieweet <question>`` and the "Wie weet dit?" shortcut (``inbox``: the handler records, then acks), every
modal submission and every click or sub-command that changes something (``deferred``: ``handlers.recorded``; the
claim a click carries is read from the payload alone before the ack and checked against the database for the
Slack-signed user by the worker, which tells a refusal where the user clicked), and a channel made private or shared
(``deferred`` events: ``handlers.recorded.record_event``, so an old replica during an upgrade leaves it to the new
one). Whether ``/wieweet`` text is a
question, a sub-command that changes something or one that reads is decided from the text alone
(``handlers.commands``). Acked first and recorded nowhere (``ack_first``), by design: what opens a modal (Slack's
trigger id is valid for 3 s, so the modal cannot wait for a record, and its outcome cannot outlive the trigger: when
the ack is lost the user sees nothing and clicks again) or only reads (help, lists, previews, more results, the Home
tab). "Forget me" is recorded too: its erasure removes the person's other inbox records once it committed, and
its own record forgets the person when it is done.

Modal submissions (``deferred``, every modal but the ask and work-session invite modals, which record their own
inbox kinds with ``inbox``).
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

An old replica. Once another replica (or ``wieweet db upgrade``) moved the database to a schema this code does not
run (``Database.schema_moved_lately``: read at most every few seconds), a request acked first is not run: its user
is told that wieweet is being upgraded and to try again in a minute (an event nobody asked for is left alone). A
request recorded first is still recorded — only the inbox row, nothing read from the main database — and acked:
this replica's inbox worker claims nothing any more (``handlers.inbox``), and a replica running the new code
produces its outcome, so nothing the user sent is lost or has to be sent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import directory
from bot import inbox as inbox_core
from bot.errors import WieweetError
from bot.i18n import locale_language, t
from handlers import recorded
from handlers.claims import Subject
from handlers.errors import REF, handle_error
from handlers.forms import Draft, Form
from handlers.home import publish_homes
from handlers.requestspec import DUPLICATE, Kind, Redelivered, Spec, claimed_meanwhile, handler_name
from handlers.services import Services
from handlers.turn import AckThenLanguage, AfterCommitRespond, Turn
from storage.db import session_has_written

request_log = logging.getLogger("wieweet.requests")
UPGRADING = "upgrading"  # the outcome, in the request log, of a request an old replica left alone (``_serve``)
SERVING = "wieweet_serving"  # in the Bolt context: the listener that took the request (``_serve``)
log = logging.getLogger(__name__)

P = TypeVar("P")
F = TypeVar("F", bound=Form)
BoltListener = Callable[..., None]


@overload
def listener(
    services: Services,
    kind: str,
    handler: Callable[[Turn], None],
    *,
    ack_first: bool = False,
    inbox: bool = False,
    deferred: bool = False,
) -> BoltListener: ...
@overload
def listener(
    services: Services,
    kind: str,
    handler: Callable[[Turn, int], None],
    *,
    subject: Subject,
    ack_first: bool = False,
    deferred: bool = False,
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
@overload
def listener(
    services: Services,
    kind: str,
    handler: Callable[[Turn, P], None],
    *,
    claim: Callable[[Mapping[str, Any]], P],
    deferred: bool,
) -> BoltListener: ...
def listener(
    services: Services,
    kind: str,
    handler: Callable[..., None],
    *,
    subject: Subject | None = None,
    form: type[Form] | None = None,
    parse: Callable[[Turn], Any] | None = None,
    claim: Callable[[Mapping[str, Any]], Any] | None = None,
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
    the function does not strand records made before. ``deferred`` (a click, with the ``subject`` or ``claim`` it
    carries, read from the payload alone): recorded in the inbox and acked; the worker checks the claim against the
    database and runs ``handler`` from the record (``handlers.recorded``). ``deferred`` (an event): recorded under its
    event id and acked; the worker runs ``handler`` on the recorded event."""
    if subject is not None:
        claim = subject.id_in
    if claim is not None:
        parse = _claim_parser(claim)
    elif form is not None:
        parse = _form_parser(form)
    name = callback_id or handler_name(handler)
    spec = Spec(services, kind, handler, parse, form, ack_first, inbox, deferred, check, name, claim)
    if deferred:
        if kind != Kind.EVENT and ((form is None) == (claim is None) or ack_first):
            raise ValueError("only a modal form, a click with its claim or an event can be deferred to the inbox")
        recorded.register(spec, name, handler_name(handler))  # also records named by the function (modals)

    def bolt_listener(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        if not _taken(spec, context, body):
            _serve(spec, ack=ack, body=body, client=client, context=context, respond=respond)

    bolt_listener.__name__ = f"{kind}:{handler.__name__}"
    return bolt_listener


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
    spec: Spec, *, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
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
        if spec.ack_first and not (spec.inbox or spec.deferred) and _schema_moved(services):
            _tell_upgrading(spec, client=client, context=context, respond=respond, body=body)
            outcome = UPGRADING
            return
        if spec.deferred:
            outcome = recorded.record_deferred(spec, key, ack=ack, body=body, context=context)
            return
        turn = _transaction(spec, key, ack=ack, body=body, client=client, context=context, respond=respond)
        if getattr(ack, "response", None) is None:
            ack()  # an inbox request is recorded (committed): nothing is left to wait for
        outcome = turn.outcome
        if outcome != DUPLICATE:
            _after_commit(services, turn, client)
    except Exception as error:  # the transaction was rolled back
        if key is not None and (isinstance(error, Redelivered) or claimed_meanwhile(services, key)):
            # a copy of this delivery made the change: this one says nothing (its error came from that change)
            log.info("redelivery %s rolled back (%s) ref=%s", key, type(error).__name__, correlation_id)
            if getattr(ack, "response", None) is None:
                ack()
            outcome = DUPLICATE
            return
        # Not acknowledged yet: Bolt runs the global error handler (which acks before it says anything).
        # Acknowledged: hand it over ourselves, or Bolt would drop the ack.
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


def _taken(spec: Spec, context: BoltContext, body: dict[str, Any]) -> bool:
    """Whether another listener took this request (``body``: Bolt gives every listener of one request the same)
    already — it is left to that one — else take it. Bolt tries the next listener that matches when one did not ack
    within 3 s: a question whose inbox record waits on a lock would be run again as a sub-command by the catch-all
    ``/wieweet``, and recorded after its person was told it went wrong."""
    taken = context.get(SERVING)
    if isinstance(taken, tuple) and taken[1] is body:
        log.info("request left to %s, which has not acked it yet (not run twice)", taken[0])
        return True
    context[SERVING] = (spec.name, body)
    return False


def _schema_moved(services: Services) -> bool:
    """Whether another replica (or ``wieweet db upgrade``) moved the database to a schema this code does not run. A
    check that fails (the database is down) says no: the request fails as it would have."""
    try:
        return services.db.schema_moved_lately() is not None
    except Exception:
        log.warning("could not read the database's schema revision", exc_info=True)
        return False


def _tell_upgrading(
    spec: Spec, *, client: WebClient, context: BoltContext, respond: Respond | None, body: Mapping[str, Any]
) -> None:
    """An old replica does not run a request on a schema it does not know: it tells the user that wieweet is being
    upgraded, in the user's language when this process or the database knows it (``_stored_language``: the cached
    profiles' table is read as it is on any schema), else in the network's default. An event nobody asked
    for (a Home tab opened) is left alone: the new replica handles the next one (a channel made private or shared is
    recorded, ``deferred``, and never comes here)."""
    if spec.kind == Kind.EVENT:
        return
    text = t("error.upgrading", _stored_language(spec.services, context.user_id))
    try:
        if respond is not None and (body.get("response_url") or context.response_url):
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif context.user_id:
            client.chat_postMessage(channel=context.user_id, text=text)
    except Exception:  # a courtesy: the user tries again anyway
        log.warning("could not tell %s that wieweet is being upgraded", context.user_id, exc_info=True)


def _stored_language(services: Services, user_id: str | None) -> str:
    """The user's language as known without asking Slack: this process's cache, else their stored profile (a
    database that cannot say: the network's default)."""
    default = services.settings.default_language
    if not user_id:
        return default
    known = services.locales.cached(user_id)
    if known:
        return known
    try:
        with services.db.session() as session:
            stored = directory.get_cached_user(session, user_id=user_id)
    except Exception:
        log.info("could not read the stored language of %s", user_id, exc_info=True)
        return default
    return locale_language(stored.locale, default) if stored is not None and stored.locale else default


def _transaction(
    spec: Spec,
    key: str | None,
    *,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Respond,
) -> Turn:
    """The request's one transaction: the handler's work and, when it changed something, the delivery's claim. A
    refusal that keeps its record (``WieweetError.keep_changes``) commits what was written before it (no claim: a
    retry asks again) and is raised after the commit."""
    services = spec.services
    refused: WieweetError | None = None
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
        refused = spec.run(turn, key)
        claims = refused is None and key is not None and not turn.kept_open and session_has_written(session)
        if claims and not inbox_core.claim_delivery(session, key=str(key), kind=spec.kind, now=turn.now):
            raise Redelivered(key)  # the other copy committed first: this one's change is rolled back
    if refused is not None:
        raise refused
    return turn


def _redelivered(turn: Turn) -> None:
    """A delivery already handled (a replay, Slack's retry, a second submit of the same modal): acknowledged (a
    modal closes), nothing done, nothing said."""
    if not turn.acked:
        turn.ack()
    turn.outcome = DUPLICATE


def _claim_parser(claim: Callable[[Mapping[str, Any]], P]) -> Callable[[Turn], P]:
    def parse(turn: Turn) -> P:
        return claim(turn.body)

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
