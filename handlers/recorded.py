"""Requests recorded in the inbox before their ack and run from the record by the inbox worker: modal submissions
(``record_submission``, ``run_submission``) and state-changing clicks (``record_change``, ``run_change``).

Before the ack nothing waits: what the request claims is read from its payload alone (a modal's form and its
``check``, a button's record id: malformed is refused at once), the request is recorded in the inbox under its
delivery key (the modal's view id and hash, the click's trigger id: one short transaction on the inbox only, the
dedupe claim), then acked. The worker runs the handler from the record afterwards, in one transaction that claims
that key as its delivery: the service checks the claim against the database for the Slack-signed user. What the
handler says (``Turn.respond``, ``dm``, ``tell``, ``post``, ``update_message``, Home tabs) is recorded as data, saved
on the inbox row before the commit and sent from there after it (``send_confirmations``), so a crash between the
commit and "done" neither loses nor doubles it. A refusal is told to the user once: a click's through its
response_url (else by DM), a submission's by DM quoting what they typed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, BoltContext, BoltResponse, Respond

from bot import inbox as inbox_core
from bot.actors import NotAuthorized
from bot.errors import WieweetError
from bot.i18n import local_day, t
from handlers import inbox, inbox_job
from handlers.claims import log_refusal
from handlers.confirmations import CONFIRM_ATTEMPTS, send_confirmations, send_saved_confirmations
from handlers.errors import REF, user_message
from handlers.forms import Draft, state_values, typed_inputs
from handlers.kit import escape_truncate
from handlers.requestspec import DUPLICATE, Redelivered, Spec, claimed_meanwhile
from handlers.turn import Turn, block_dicts
from storage.db import session_has_written

log = logging.getLogger("handlers.listener")

SUBMISSION_KIND = "modal_submission"
CHANGE_KIND = "change"
MAX_INPUT_CHARS = 3000  # Slack's limit for a plain-text input: more did not come from a modal wieweet made
_DEFERRED: dict[str, Spec] = {}  # the name stored in a record (a modal's callback_id, a click's handler) -> its spec
_HANDED_OVER: dict[str, inbox.Handler] = {}  # a modal's name in older records -> the handler of its own kind now


def register(spec: Spec, *names: str) -> None:
    """Declare a deferred listener under the names its records carry."""
    for name in names:
        _DEFERRED[name] = spec


def hand_over(handler: inbox.Handler, *names: str) -> None:
    """A modal that now records its own inbox kind, run by ``handler``: a submission recorded in the shared format
    under one of ``names`` (by an older release, e.g. a replica not yet upgraded during a rolling upgrade) is handed
    to it rather than refused. Its payload's ``body`` is what ``kept_body`` keeps in either format."""
    for name in names:
        _HANDED_OVER[name] = handler


def record_submission(spec: Spec, key: str | None, *, ack: Ack, body: dict[str, Any], context: BoltContext) -> str:
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
    today = local_day(services.clock(), ZoneInfo(services.settings.timezone))  # the network's day, as everywhere
    draft = Draft(lang=lang, today=today, user_id=context.user_id)
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
        payload={"handler": spec.name, "body": kept_body(body)},
        user_id=context.user_id,
    )
    ack()  # accepted: the modal closes; the outcome (a confirmation, or why not) comes as a message
    return "recorded" if new else DUPLICATE


def kept_body(body: Mapping[str, Any]) -> dict[str, Any]:
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


def tell_not_saved(job: inbox_job.InboxJob, text: str) -> None:
    """Why a submission was not saved, by DM (the modal closed at the ack), with what the user typed quoted: nothing
    is lost, it can be submitted again. Never once its change committed (its confirmations failed: they are
    retried, ``handlers.confirmations``): the user would resubmit a saved change."""
    if claimed_meanwhile(job.services, job.key):
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


@inbox.kind(SUBMISSION_KIND, tell=tell_not_saved, in_order=True)
def run_submission(job: inbox_job.InboxJob) -> None:
    """A deferred modal submission, from the inbox: the handler runs on the recorded payload as it would have before
    the ack, in one transaction that claims the submission's delivery key, so it changes things once (also after a
    crash, or when a copy ran meanwhile). A refusal (not theirs, decided meanwhile, gone, invalid) raises: the worker
    tells the user (``tell_not_saved``). The user's language is looked up first, in no transaction that has written."""
    moved = _HANDED_OVER.get(str(job.payload.get("handler")))
    if moved is not None:  # recorded by an older release, before this modal had its own kind (``hand_over``)
        moved(job)
        return
    spec = _DEFERRED.get(str(job.payload.get("handler")))
    if spec is None or spec.form is None:
        # e.g. a replica where this feature is off, or a modal no longer offered: retrying changes nothing
        log.error(
            "submission %s names no handler here (%r): not saved, the user is told ref=%s",
            job.key,
            job.payload.get("handler"),
            job.ref,
        )
        tell_not_saved(job, t("slack.error", job.language(), ref=job.ref))
        return
    _run_recorded(job, spec)


def _run_recorded(job: inbox_job.InboxJob, spec: Spec) -> None:
    """A request recorded before its ack, run from its record as it would have run after the ack: the handler on
    the recorded payload in one transaction that claims the request's delivery key, so it changes things once (also
    after a crash, or when a copy ran meanwhile). A refusal (not theirs, decided meanwhile, gone, invalid) raises:
    the worker tells the user. The user's language is looked up first, in no transaction that has written."""
    services, body = job.services, dict(job.payload.get("body") or {})
    lang = job.language()
    channel = job.payload.get("channel_id")
    context = BoltContext({"user_id": job.user_id, REF: job.ref, **({"channel_id": channel} if channel else {})})
    turn: Turn | None = None
    refused: WieweetError | None = None  # a refusal that keeps its record: raised once that is committed
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
            url = job.payload.get("response_url")
            if isinstance(url, str) and url:
                turn.respond = _RecordedRespond(turn, url)
            turn.known_language(lang)
            if inbox_core.delivery_seen(session, key=job.key):
                turn.outcome = DUPLICATE
            else:
                refused = spec.run(turn)
                if refused is None:
                    if session_has_written(session) and not inbox_core.claim_delivery(
                        session, key=job.key, kind=spec.kind, now=turn.now
                    ):
                        raise Redelivered(job.key)
                    # saved before the commit, sent once it committed (here, or by the retry after a crash: it finds
                    # the delivery claimed and sends what was saved and not sent yet)
                    job.save(confirm=_confirmations(turn))
        if refused is not None:
            raise refused
    except Redelivered:
        log.info("request %s was run by a copy meanwhile ref=%s", job.key, job.ref)
        send_saved_confirmations(job)  # the copy may have stopped before sending them (it lost its claim to us)
        return
    except WieweetError:
        if not claimed_meanwhile(services, job.key):
            raise
        send_saved_confirmations(job)  # refused on the change a copy of it made: says nothing of its own
        return
    if turn.outcome == DUPLICATE:  # committed by an earlier run or a copy: what it saved, read back
        send_saved_confirmations(job)
        return
    job.max_attempts = CONFIRM_ATTEMPTS  # committed: the confirmations get a longer budget, never a refusal
    send_confirmations(job)
    turn.run_after_commit()  # anything else it asked for after the commit


def record_change(spec: Spec, key: str | None, *, ack: Ack, body: dict[str, Any], context: BoltContext) -> str:
    """A state-changing click before its ack: what it claims (the record id in its value and block id, a picked user
    or date) is read from the payload alone — a malformed claim is acked and raised, so the global handler tells the
    clicker and logs it, and nothing is recorded — then the click is recorded in the inbox under its delivery key
    and acked. Nothing touches the main database and nothing waits on Slack. ``run_change`` does the rest."""
    assert spec.claim is not None
    try:
        spec.claim(body)
    except WieweetError:
        ack()
        raise
    if key is None:  # no trigger id and no action_ts: not a click Slack sent
        ack()
        log.warning("click without a trigger id ignored ref=%s user=%s", context[REF], context.user_id)
        return "refused no_trigger"
    new = inbox.record(
        spec.services,
        request_key=key,
        kind_name=CHANGE_KIND,
        payload={
            "handler": spec.name,
            "body": {k: v for k, v in body.items() if k != "message"},  # not the clicked message's content
            "response_url": body.get("response_url"),
            "channel_id": context.channel_id,
        },
        user_id=context.user_id,
    )
    ack()
    return "recorded" if new else DUPLICATE


EVENT_KIND = "event"


def record_deferred(spec: Spec, key: str | None, *, ack: Ack, body: dict[str, Any], context: BoltContext) -> str:
    """A deferred request before its ack: a modal submission, a click or an event, recorded; returns the outcome."""
    if spec.form is not None:
        return record_submission(spec, key, ack=ack, body=body, context=context)
    if spec.claim is not None:
        return record_change(spec, key, ack=ack, body=body, context=context)
    return record_event(spec, key, ack=ack, body=body, context=context)


def record_event(spec: Spec, key: str | None, *, ack: Ack, body: dict[str, Any], context: BoltContext) -> str:
    """An event that changes something (a channel made private or shared with another organisation), recorded in the
    inbox under its event id (Slack's retries make one row) and acked: ``run_event`` does the rest, on a replica
    that runs the database's schema (an old one, during an upgrade, leaves it to the new one). The record keeps the
    event alone (not the rest of the envelope)."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    assert isinstance(event, dict)
    stamp = body.get("event_id") or hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()[:32]
    new = inbox.record(
        spec.services,
        request_key=f"event:{stamp}"[:200],
        kind_name=EVENT_KIND,
        payload={"handler": spec.name, "body": {"event": event}, "lang": spec.services.settings.default_language},
        user_id=None,
    )
    ack()
    return "recorded" if new else DUPLICATE


def _tell_nobody(job: inbox_job.InboxJob, text: str) -> None:
    log.error("event %s could not be handled ref=%s", job.key, job.ref)


@inbox.kind(EVENT_KIND, tell=_tell_nobody)
def run_event(job: inbox_job.InboxJob) -> None:
    """An event recorded before its ack: its handler runs on the recorded event (``_run_recorded``)."""
    spec = _DEFERRED.get(str(job.payload.get("handler")))
    if spec is None:
        log.error("event %s names no handler here (%r) ref=%s", job.key, job.payload.get("handler"), job.ref)
        return
    _run_recorded(job, spec)


def _tell_change_refused(job: inbox_job.InboxJob, text: str) -> None:
    """Why a click changed nothing, to the clicker: ephemeral where they clicked (the response_url), else by DM.
    Never once its change committed (its confirmations failed: they are retried): the click did change things."""
    if claimed_meanwhile(job.services, job.key):
        log.error("click %s was saved, its confirmations could not be sent ref=%s", job.key, job.ref)
        return
    if job.payload.get("response_url"):
        job.respond_once(step="refused", text=text)
    else:
        job.dm_once(step="refused", text=text)


@inbox.kind(CHANGE_KIND, tell=_tell_change_refused, in_order=True)
def run_change(job: inbox_job.InboxJob) -> None:
    """A click recorded before its ack: the handler runs on the recorded payload (``_run_recorded``); the service
    checks the record id it claims against the database for the Slack-signed user (a forged or foreign id changes
    nothing, and the clicker is told why)."""
    spec = _DEFERRED.get(str(job.payload.get("handler")))
    if spec is None or spec.claim is None:
        log.error("click %s names no handler here (%r) ref=%s", job.key, job.payload.get("handler"), job.ref)
        _tell_change_refused(job, t("slack.error", job.language(), ref=job.ref))
        return
    _run_recorded(job, spec)


class _RecordedRespond(Respond):
    """``turn.respond`` of a click run from the inbox: what it says is saved as a confirmation and sent through the
    response_url once the change is committed (``send_confirmations``)."""

    def __init__(self, turn: Turn, url: str) -> None:
        super().__init__(response_url=url)
        self._turn = turn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        text = kwargs.get("text", args[0] if args else "")
        blocks = kwargs.get("blocks") or []
        replace = bool(kwargs.get("replace_original"))
        self._turn.effects.append(
            {"kind": "respond", "text": str(text), "blocks": block_dicts(blocks), "replace": replace}
        )
        return None


def _confirmations(turn: Turn) -> list[dict[str, Any]]:
    """What a submission run from the inbox asked for once its change is committed, as data (``Turn.effects``)."""
    confirm = list(turn.effects)
    if turn.home_users:
        confirm.append({"kind": "homes", "users": sorted(turn.home_users)})
    if turn.queued:
        confirm.append({"kind": "ring"})
    return confirm
