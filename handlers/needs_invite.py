"""Inviting a proposed work session's people (staff), from the invite modal: once, and with no transaction open
while Slack is called.

The modal's submission is read (a malformed proposal id or channel is refused on the form) and recorded in the inbox
under its view id, then the modal closes (``handle_invite_submission``); nothing touches the main database before
the ack. The inbox worker makes the invitation from that record (``invite_work_session``), in steps, each saved on
the inbox row so a retry does none twice:

1. plan, in a short transaction without a lock: staff only, and only an *open* proposal (one invited already is
   refused, naming its channel: a second modal, a stale button on a copy of the post). The invitation is reserved
   for this submission (its request key) for ten minutes (``proposal_actions.INVITE_HOLD``), by one conditional
   update committed before any Slack call: another submission handled meanwhile — a second staff member's, at the
   same moment — is refused here (``InviteUnderWay``), before it creates anything. A retry of this submission keeps
   its hold; a hold whose attempt died runs out and can be taken over (that attempt, retried, is refused at its plan
   and archives the channel it had made, as it does when staff closed the proposal after its hold ran out); a
   refusal further on gives the hold up at once, and so does the inbox giving up on it (``_ended_without``: Slack
   kept failing; its channel archived, then its staff member's DM saying what happened queued in the outbox, in
   the transaction that releases the hold). The hold
   names the staff member, so the one refused is told who is inviting; Dismiss and Done are refused while it
   stands (``bot.needs.proposal_actions``);
2. with no transaction open: the picked channel is checked (staff must be in it, by Slack's data, and it must not be
   shared with another organisation), the channel is created or taken, and the people are invited. The channel and
   the invitees are saved as a step as soon as they are known, so a retry (the record failed, a crash, a takeover)
   invites into the same channel instead of meeting ``name_taken`` on a second create;
3. record, in one short transaction: the proposal is marked invited only if it is still open and not held by another
   submission (a conditional update; the hold ends), audited, with the request's delivery claimed in the same
   transaction. Refused there only when this submission's hold ran out and was taken over: the channel it created
   (never a picked one) is archived after the transaction, or, when Slack refuses (a missing scope), left and logged;
4. the confirmations, once it committed: the channel's intro (posted once, with the request's marker) and the
   proposal's staff posts updated (from the database's message refs, never the clicked one), once: under the
   refresh the record made due, which the job runner makes instead when Slack fails.

A refusal — not staff, decided, invited or being invited meanwhile, a channel they are not in or a shared one, or
Slack's: a missing scope, a taken name, a channel wieweet is not in — records nothing, and the staff member gets one
DM with what to do and what they typed (the modal is closed by then). A passing Slack failure (a rate limit, an
error on Slack's side) is retried instead.

A submission an older release recorded in the shared modal-submission format (a replica not yet upgraded during a
rolling upgrade) is handed to ``invite_work_session`` by ``handlers.recorded`` and run the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import inbox as inbox_core
from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.errors import WieweetError
from bot.i18n import t
from bot.needs import InvitePlan, ProposalClosed, ProposalView
from bot.outbox import SubmissionOutcome, SubmissionOutcomeKind
from handlers import ids, inbox, inbox_end
from handlers.blocks.needs import status_invited
from handlers.confirmations import CONFIRM_ATTEMPTS
from handlers.forms import NeedsInviteForm
from handlers.inbox_job import InboxJob
from handlers.kit import escape_truncate, user_mention
from handlers.needs_refresh import ProposalRefresher, status_line
from handlers.recorded import hand_over, kept_body, tell_not_saved
from handlers.requestspec import Kind, claimed_meanwhile
from handlers.services import SlackUnavailableError, slack_transient
from handlers.turn import FormRefused, Turn
from storage.session import Session

log = logging.getLogger(__name__)

NEEDS_INVITE = "needs_invite"
_SCOPE_BLOCK = ids.BLOCK_NEEDS_CHANNEL_NAME


def handle_invite_submission(turn: Turn, form: NeedsInviteForm) -> None:
    """The invite modal, submitted: recorded in the inbox under its view id (a replay or a double submit finds the
    same record: one invitation), then the modal closes. ``invite_work_session`` does the rest, after the ack."""
    view = turn.body.get("view") or {}
    new = inbox.record(
        turn.services,
        request_key=f"needs_invite:{view.get('id')}"[:200],
        kind_name=NEEDS_INVITE,
        payload={"body": kept_body(turn.body)},
        user_id=turn.user_id,
    )
    turn.ack()
    turn.outcome = f"recorded proposal={form.proposal_id}" if new else "duplicate"


def _ended_without(job: InboxJob) -> None:
    """The request ended without its invitation recorded: its hold goes at once (another staff member can invite
    now, not in ten minutes). Given up after its last attempt (Slack kept failing), the channel it created — people
    may be in it already — is archived first, as far as Slack lets it (no transaction open), and the staff member's
    DM saying so is queued in the outbox in the transaction that releases the hold (``_queue_given_up``): sent with
    the other queued messages, retried when Slack fails it, once per proposal and request. Refused, that was seen to
    where it was refused, and the holder was told by then (``tell_not_saved``, once). Run again until it got through
    (``handlers.inbox_end``): a failing database leaves nothing held for long."""
    if inbox_core.delivery_claimed(job.services.db, key=job.key):
        return  # recorded after all (a copy of it, or this one before its confirmations failed): nothing to undo
    form = NeedsInviteForm.parse(job.payload.get("body") or {})
    given_up = job.result.get(inbox_end.UNDO) == "failed"
    saved = _step(job, "invite")
    made = str(saved.get("channel") or "") if isinstance(saved, dict) and not form.channel_id else ""
    if made and given_up and "archived" not in job.result:
        try:
            job.save(archived=made if _archive(job, made) else "")  # "": Slack refused it (told as not archived)
        except Exception:  # Slack still failing: the hold is what mattered; the empty channel is logged
            log.warning("work session channel %s of a given-up invite left ref=%s", made, job.ref, exc_info=True)
    with job.services.db.session() as session:
        job.services.needs_service().release_invite(session, proposal_id=form.proposal_id, holder=job.key)
        if given_up:
            _queue_given_up(session, job, form.proposal_id)


def _queue_given_up(session: Session, job: InboxJob, proposal_id: int) -> None:
    """Queue the staff member's DM about their given-up invitation (in ``session``, the hold's release): nobody was
    invited, the channel the attempt made was archived (when Slack let it), and they can invite again. Rendered when
    sent, in their language; keyed by the proposal and this request, so an undo run again queues nothing more."""
    if not job.user_id:
        return  # erased meanwhile: nobody to tell
    notice = SubmissionOutcome(
        outcome=SubmissionOutcomeKind.INVITE_GIVEN_UP,
        channel_id=str(job.result.get("archived") or ""),
        ref=job.ref,
    )
    key = f"needs_invite_given_up:{proposal_id}:{job.key}"[:200]
    outbox.enqueue(session, notice, dedupe_key=key, now=job.now, recipient_slack_id=job.user_id)


def _given_up(job: InboxJob) -> str | None:
    """Nothing to tell here once the inbox gave up (None): ``_ended_without`` queued the staff member's DM in the
    outbox. Recorded after all (only its confirmations gave up): handed to ``tell_not_saved``, which logs that and
    tells nobody (they would invite again what was saved)."""
    if inbox_core.delivery_claimed(job.services.db, key=job.key):
        return t("slack.error", job.services.settings.default_language, ref=job.ref)
    return None


@inbox.kind(NEEDS_INVITE, tell=tell_not_saved, in_order=True, ended_without=_ended_without, given_up=_given_up)
def invite_work_session(job: InboxJob) -> None:
    """The recorded invite modal, from the inbox (see the module docstring)."""
    services = job.services
    service = services.needs_service()
    form = NeedsInviteForm.parse(job.payload.get("body") or {})
    job.language()  # looked up (``users.info``) before anything, in no transaction
    staff = services.staff.is_staff(settings=services.settings, client=job.client, user_id=job.user_id, now=job.now)
    actor = Actor.slack(job.user_id or "", is_staff=staff)
    try:
        try:
            with services.db.session() as session:
                recorded = inbox_core.delivery_seen(session, key=job.key)
                plan = None
                if not recorded:  # reserved for this submission (a retry of it keeps the hold), committed here
                    plan = service.plan_invite(
                        session,
                        actor=actor,
                        proposal_id=form.proposal_id,
                        now=job.now,
                        channel_id=form.channel_id,
                        holder=job.key,
                    )
        except ProposalClosed as refused:  # invited, being invited, or closed meanwhile
            _archive_lost(job, form, refused)
            raise
        if plan is not None:
            try:
                _check_channel(job, plan)
                channel, new = _invite_or_refuse(job, plan, form)
                _record(job, actor, form, plan, channel, new)
            except WieweetError:
                _release(job, form.proposal_id)
                raise
    except WieweetError:
        if not claimed_meanwhile(services, job.key):
            raise
        # refused on the invitation a copy of this request recorded (it lost its claim to us): its confirmations
        log.info("work session invite %s was recorded by a copy meanwhile ref=%s", job.key, job.ref)
    saved = job.result.get("step:invite") or {}
    channel, new = str(saved["channel"]), [str(u) for u in saved.get("invited") or []]
    job.max_attempts = CONFIRM_ATTEMPTS  # recorded: the confirmations get a longer budget, never a refusal
    _confirm(job, actor, form.proposal_id, channel, len(new))


# Recorded in the shared modal-submission format (``handlers.recorded``) by a release before this kind: under the
# modal's callback id, or (older still) under the function that handled it then.
hand_over(invite_work_session, ids.VIEW_NEEDS_INVITE, "handlers.needs.handle_invite_submission")


def _archive_lost(job: InboxJob, form: NeedsInviteForm, refused: ProposalClosed) -> None:
    """Refused at the plan: a channel an earlier attempt of this submission created is archived (after the plan's
    transaction), unless it is the one the proposal was invited to. That attempt lost its hold — it died after the
    create, its hold ran out and another submission took the invitation over, or staff closed the proposal."""
    saved = _step(job, "invite")
    made = str(saved.get("channel") or "") if isinstance(saved, dict) and not form.channel_id else ""
    if made and getattr(refused, "channel_id", None) != made:
        _archive(job, made)


def _release(job: InboxJob, proposal_id: int) -> None:
    """This submission's invitation was refused: its hold goes, in a short transaction of its own (when that fails,
    the hold runs out by itself)."""
    try:
        with job.services.db.session() as session:
            job.services.needs_service().release_invite(session, proposal_id=proposal_id, holder=job.key)
    except Exception:
        log.warning("work session invite hold of %s not released ref=%s", job.key, job.ref, exc_info=True)


def _check_channel(job: InboxJob, plan: InvitePlan) -> None:
    """The picked channel is a claim (the menu lists one's own channels): not a private channel wieweet is in that
    they are not, nor someone else's DM; nor one shared with another organisation, since the invitation names the
    network's people and their question. Refused before anyone is invited or anything is posted there."""
    channels = job.services.channels
    if plan.channel_id is not None and not channels.is_member(
        client=job.client, channel_id=plan.channel_id, user_id=job.user_id, now=job.now
    ):
        raise NotAuthorized("hold a work session in a channel one is not in", target=f"channel:{plan.channel_id}")
    channels.require_not_shared_outside(client=job.client, channel_id=plan.channel_id, now=job.now)


def _invite_or_refuse(job: InboxJob, plan: InvitePlan, form: NeedsInviteForm) -> tuple[str, list[str]]:
    """``_invite``; Slack's refusal is the staff member's to fix (told by DM, nothing recorded), a passing failure
    is retried."""
    name = "-".join(form.channel_name.casefold().split()) or plan.channel_name
    try:
        return _invite(job, plan, name)
    except SlackApiError as exc:
        if slack_transient(exc):  # Slack will likely take it later: the inbox worker retries, nothing is refused
            raise SlackUnavailableError(f"work session invite: {exc.response.get('error')}") from exc
        log.warning(
            "work session invite failed proposal=%s error=%s needed=%s ref=%s",
            form.proposal_id,
            exc.response.get("error"),
            exc.response.get("needed"),
            job.ref,
        )
        raise FormRefused({_SCOPE_BLOCK: _slack_problem(job.language(), exc)}) from exc


def _record(job: InboxJob, actor: Actor, form: NeedsInviteForm, plan: InvitePlan, channel: str, new: list[str]) -> None:
    """The invitation recorded, in one short transaction claiming the request's delivery (a copy of this request
    that committed first: this one's change rolls back and it goes on to the confirmations)."""
    services = job.services
    try:
        with services.db.session() as session:
            services.needs_service().record_invite(
                session,
                actor=actor,
                proposal_id=form.proposal_id,
                channel_id=channel,
                invited=new,
                created=plan.create,
                now=job.now,
                holder=job.key,
            )
            if not inbox_core.claim_delivery(session, key=job.key, kind=Kind.VIEW, now=job.now):
                raise _CopyCommitted
    except _CopyCommitted:
        log.info("work session invite %s was recorded by a copy meanwhile ref=%s", job.key, job.ref)
    except ProposalClosed as refused:
        # this submission's hold ran out and another invitation took it over (recorded first, or holding it now), or
        # staff closed the proposal meanwhile: the channel this one created is archived, once the transaction has
        # ended, and the refusal says why
        if plan.create and getattr(refused, "channel_id", None) != channel:
            _archive(job, channel)
        raise


def _archive(job: InboxJob, channel: str) -> bool:
    """Archive a channel this attempt created but could not record; Slack's refusal (a missing scope) is logged
    (False)."""
    try:
        job.client.conversations_archive(channel=channel)
    except SlackApiError as exc:  # not retried: a retry of this request is refused at its plan, before this
        log.warning(
            "work session channel %s left unarchived: %s needed=%s ref=%s",
            channel,
            exc.response.get("error"),
            exc.response.get("needed"),
            job.ref,
        )
        return False
    log.info("work session channel %s archived: the proposal was invited elsewhere ref=%s", channel, job.ref)
    return True


class _CopyCommitted(Exception):
    """A copy of this request recorded the invitation first: roll this one's record back."""


def _confirm(job: InboxJob, actor: Actor, proposal_id: int, channel: str, invited: int) -> None:
    """Once recorded: the channel's intro, once, and the proposal's staff posts showing it invited, by whom and how
    many — drawn once, under the refresh the record made due (``ProposalRefresher.refresh_now``; a job pass that
    took it first draws them, one that fails is retried by the job runner) — unless it was dismissed or done
    meanwhile (that action rendered them)."""
    services = job.services
    service = services.needs_service()
    with services.db.session() as session:
        view = service.proposal(session, actor=actor, proposal_id=proposal_id, now=job.now)
    lang = services.settings.default_language  # what the bot posts for a channel: the network's language
    staff = user_mention(job.user_id) or "?"
    label = escape_truncate(view.label or t("needs.private_topic", lang), 200)
    try:
        job.post_once(step="intro", channel=channel, text=t("needs.channel_intro", lang, label=label, staff=staff))
    except SlackApiError as exc:
        if slack_transient(exc):
            raise
        log.warning("work session intro not posted in %s: %s ref=%s", channel, exc.response.get("error"), job.ref)

    def line(shown: ProposalView, lang: str) -> str:
        if shown.status == "invited" and shown.channel_id == channel:
            return status_invited(lang, staff=staff, channel_id=channel, invited=invited)
        return status_line(shown, lang)

    if view.status == "invited" and view.channel_id == channel:
        ProposalRefresher(services, job.client).refresh_now(proposal_id, line=line)
    log.info("work session invited proposal=%s channel=%s people=%s ref=%s", proposal_id, channel, invited, job.ref)


def _slack_problem(lang: str, exc: SlackApiError) -> str:
    """What staff read when Slack refused: which scope is missing, or what to do instead."""
    error = str(exc.response.get("error") or "")
    if error == "missing_scope":
        needed = escape_truncate(str(exc.response.get("needed") or "channels:manage"), 100)
        return t("needs.invite_missing_scope", lang, scope=needed)
    if error == "name_taken":
        return t("needs.invite_name_taken", lang)
    if error.startswith("invalid_name"):
        return t("needs.invite_invalid_name", lang)
    if error in {"not_in_channel", "channel_not_found"}:
        return t("needs.invite_not_in_channel", lang)
    if error == "is_archived":
        return t("needs.invite_archived", lang)
    return t("needs.invite_failed", lang, error=escape_truncate(error or "?", 60))


def _step(job: InboxJob, name: str) -> Any:
    """What an earlier attempt of this request saved as step ``name`` (None: not done yet)."""
    return job.result.get(f"step:{name}")


def _save_step(job: InboxJob, name: str, value: Any) -> None:
    job.save(**{f"step:{name}": value})


def _invite(job: InboxJob, plan: InvitePlan, name: str) -> tuple[str, list[str]]:
    """Create the channel (or take the picked one) and invite whom ``plan`` says; returns the channel and who was
    invited. The channel and the invitees are saved as a step as soon as they are known, so a retry invites into the
    same channel (only whom it still misses)."""
    saved = _step(job, "invite")
    if isinstance(saved, dict) and saved.get("channel"):
        channel, new = str(saved["channel"]), [str(u) for u in saved.get("invited") or []]
        present = _members(job, channel)  # some may have been invited before the retry
        missing = [u for u in new if u not in present]
        if missing:
            job.client.conversations_invite(channel=channel, users=",".join(missing))
        return channel, new
    if plan.create:
        channel, members = _create(job, name)
    else:
        assert plan.channel_id is not None
        channel = plan.channel_id
        members = _members(job, channel)
    new = [u for u in plan.invite if u not in members]
    _save_step(job, "invite", {"channel": channel, "invited": new})
    if new:
        job.client.conversations_invite(channel=channel, users=",".join(new))
    return channel, new


def _create(job: InboxJob, name: str) -> tuple[str, set[str]]:
    """Create the work session's channel; returns it and its members. The name is saved as a step first: a retry
    that meets ``name_taken`` after an attempt that got as far as the create (Slack made the channel, then the
    process died or its answer was lost) adopts the channel of that name the bot created, instead of refusing and
    leaving it empty."""
    tried = _step(job, "creating") == name
    if not tried:
        _save_step(job, "creating", name)
    try:
        return str(job.client.conversations_create(name=name)["channel"]["id"]), set()
    except SlackApiError as exc:
        if not tried or exc.response.get("error") != "name_taken":
            raise
        channel = _own_channel_named(job, name)
        if channel is None:  # someone else's channel took the name meanwhile: a real refusal
            raise
        log.info("work session channel %s (%s) made by an earlier attempt: adopted ref=%s", name, channel, job.ref)
        return channel, _members(job, channel)


def _own_channel_named(job: InboxJob, name: str) -> str | None:
    """The id of the public channel called ``name`` that the bot created, or None."""
    bot = str(job.client.auth_test().get("user_id") or "")
    cursor: str | None = None
    for _ in range(50):  # pages of 1000 channels
        listed = job.client.conversations_list(types="public_channel", exclude_archived=True, limit=1000, cursor=cursor)
        for channel in listed.get("channels") or []:
            if channel.get("name") == name and bot and channel.get("creator") == bot:
                return str(channel["id"])
        cursor = str((listed.get("response_metadata") or {}).get("next_cursor") or "") or None
        if not cursor:
            break
    return None


def _members(job: InboxJob, channel: str) -> set[str]:
    listed = job.client.conversations_members(channel=channel, limit=1000)
    return {str(m) for m in listed.get("members") or []}
