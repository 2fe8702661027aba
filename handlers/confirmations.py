"""The confirmations of a modal submission run from the inbox (``handlers.recorded.run_submission``): what its
committed run asked for (``Turn.effects``: DMs, posts, ephemeral notices, message updates, a proposal's posts drawn
again, Home tabs, the outbox doorbell), saved on its inbox row before the commit and sent from there once it
committed — each once across crashes and retries.

Once the change committed, a confirmation Slack will not take *now* (a rate limit, an error on Slack's side) is
retried on a budget of its own (``CONFIRM_ATTEMPTS``, longer than the worker's), and is never followed by a
"nothing was saved": the change stands (``handlers.recorded.tell_not_saved`` says nothing then, it logs).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import inbox as core
from bot.privacy import finish_erasure
from handlers import inbox_job
from handlers.home import publish_after_erasure, publish_homes
from handlers.kit import message
from handlers.needs_refresh import ProposalRefresher
from handlers.services import slack_transient
from handlers.turn import update_post

log = logging.getLogger(__name__)

# Attempts of a committed submission whose confirmations Slack keeps refusing for now: with the worker's backoff
# (2 … 32 s, then a minute) about 12 minutes in all, against a rate limit's minute.
CONFIRM_ATTEMPTS = 16


def send_saved_confirmations(job: inbox_job.InboxJob) -> None:
    """The change was committed by another run of this submission (an earlier attempt, or a copy running at the
    same time that may have stopped before sending, having lost its claim to this one): its confirmations, read
    back from the row as they are now (with what was sent already), are sent from here."""
    job.request.result = core.read_result(job.services.db, request_key=job.key)
    job.max_attempts = CONFIRM_ATTEMPTS
    send_confirmations(job)


def send_confirmations(job: inbox_job.InboxJob) -> None:
    """Send the confirmations a submission's committed run saved on its job, each once across crashes and retries
    (posts carry the job's marker and are looked up before posting again; an ephemeral notice is sent only while
    the claim is ours, falling back to a DM). A Slack refusal (the message or channel gone) is logged, as the change
    stands; a passing failure (rate limit, Slack's error) raises, and the worker retries the rest."""
    for n, effect in enumerate(job.result.get("confirm") or []):
        step = f"confirm:{n}"
        if job.result.get(f"sent:{step}") or not isinstance(effect, dict):
            continue
        try:
            _confirm(job, step, effect)
        except SlackApiError as exc:
            if slack_transient(exc):
                raise
            log.info("confirmation %s of %s not sent: %s", step, job.key, exc.response.get("error"))
        job.save(**{f"sent:{step}": True})


def _confirm(job: inbox_job.InboxJob, step: str, effect: Mapping[str, Any]) -> None:
    client, kind = job.client, effect.get("kind")
    text = str(effect.get("text") or "")
    if kind == "dm":
        job.dm_once(step=step, text=text, blocks=effect.get("blocks") or None)
    elif kind == "post":
        job.post_once(step=step, channel=str(effect["channel"]), text=text, thread_ts=effect.get("thread_ts"))
    elif kind == "respond":
        blocks = effect.get("blocks") or None
        job.respond_once(step=step, text=text, blocks=blocks, replace_original=bool(effect.get("replace")))
    elif kind == "tell":
        _tell(job, step, text, effect.get("channel"))
    elif kind == "update":
        shown: tuple[str, Sequence[Any]] = (text, effect.get("blocks") or [])
        if_shared = (str(effect.get("shared_text") or ""), effect.get("shared_blocks") or [])
        update_post(
            job.services,
            client,
            channel=str(effect["channel"]),
            ts=str(effect["ts"]),
            shown=shown,
            if_shared=if_shared if "shared_blocks" in effect else None,
        )
    elif kind == "proposal":  # its posts drawn from the stored state, under the refresh its change recorded
        ProposalRefresher(job.services, client).refresh_now(int(effect["proposal_id"]))
    elif kind == "homes":
        publish_homes(job.services, client, [str(u) for u in effect.get("users") or []])
    elif kind == "ring":
        job.services.outbox.ring()
    elif kind == inbox_job.ERASURE:  # "forget me" committed: the person's inbox rows but this one go, disk compacted
        finish_erasure(job.services.db, slack_user_id=job.user_id, keep_request=job.key)
        lang = str(effect.get("lang") or job.services.settings.default_language)
        publish_after_erasure(job.services, client, slack_user_id=job.user_id, lang=lang)
    else:
        log.error("unknown confirmation %r of %s", kind, job.key)


def _tell(job: inbox_job.InboxJob, step: str, text: str, channel: Any) -> None:
    """A short private notice: a click's where it was clicked (its response_url); else ephemeral in ``channel``, or
    by DM when that fails."""
    if job.payload.get("response_url"):
        job.respond_once(step=step, text=text)
        return
    if channel and job.user_id:
        try:
            job.keep_claim()  # an ephemeral notice cannot be looked up: sent only while the request is ours
            job.client.chat_postEphemeral(channel=str(channel), user=job.user_id, text=text, blocks=message(text))
            return
        except SlackApiError as exc:  # e.g. a channel without the bot: a DM instead
            if slack_transient(exc):
                raise
            log.info("ephemeral in %s failed (%s): sending a DM", channel, exc.response.get("error"))
    job.dm_once(step=step, text=text, blocks=message(text))
