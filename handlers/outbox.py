"""Sending the routing outbox: render each message by kind (``handlers.outbox_render``), post it (DM or channel), mark
it sent or failed.

A post is made at most once across crashes: the message is marked "post started" (its own committed transaction)
before ``chat.postMessage``, and the post carries a marker (message metadata naming the outbox message). A message
claimed again after a crash between the post and "sent" — by the next start, or another replica once the claim is
stale — whose post had started is first looked for in its channel or thread (``conversations.history`` /
``replies``); when found it is marked sent with that ts instead of being posted again. Only the in-thread rating,
an ephemeral message Slack keeps no record of, may show twice after such a crash; it is never lost.

Everything a sender does to a message is under its claim: "post started", the in-thread rating (sent only while
the claim is still ours, which refreshes it), "sent" and "failed". A sender that stalled past the stale time and
was taken over by another worker posts nothing more and marks nothing: the message is the other worker's.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import LANGUAGES
from bot.jobs import BatchResult
from bot.needs import end_if_label_gone, redraw_if_label_erased
from bot.outbox import (
    AnswerToAsker,
    ExpertiseRequest,
    FailOutcome,
    NeedsProposal,
    OutboxPayload,
    PayloadError,
    StaffDM,
    claim_outbox,
    keep_outbox_claim,
    mark_outbox_failed,
    mark_outbox_post_started,
    mark_outbox_sent,
    message_language,
    payload_json,
    read_payload,
    redraw_of,
)
from bot.routing.policy import RoutingPolicy
from bot.routing.stopped import end_if_not_askable
from bot.staffdm import FALLBACK_KINDS, NO_STAFF, STAFF_KINDS, aimed_at_triage, end_if_decided, tell_staff
from handlers.deactivated import confirmed_deactivated, person_gone_after_send
from handlers.home import publish_homes
from handlers.kit import Rendered
from handlers.marker import MARKER_EVENT, find_marked_message
from handlers.needs_refresh import shared_stand_in
from handlers.outbox_render import render_message, render_payload
from handlers.recruit_refused import unknown_id_refused
from handlers.services import Services, slack_retry_after
from handlers.turn import update_post
from storage.models import OutboxKind, OutboxMessage

log = logging.getLogger("wieweet.outbox")

# Slack errors that a retry will not fix
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "cannot_dm_bot",
        "user_disabled",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "thread_not_found",
    }
)


# Of those, the ones saying the recipient can never get a DM: a routing's request failing so is not waited on.
# Not "account_inactive" by itself: Slack says it of the bot's own token (the app or workspace disabled, which an
# admin can undo), and moving on would spend every open question's experts on messages that cannot go out either;
# only when ``users.info`` then says the recipient's account is deleted (``OutboxSender._deactivated``).
UNREACHABLE_ERRORS = frozenset({"cannot_dm_bot", "user_disabled", "user_not_found"})
UNREACHABLE_KINDS = frozenset({OutboxKind.EXPERT_REQUEST, OutboxKind.EXPERT_REMINDER})
# DMs to an asker: when one can never arrive (the account deactivated: ``OutboxSender._asker_unreachable``), the
# person is treated as Slack's ``user_change`` for a deactivated account would have them (``handlers.deactivated``)
ASKER_KINDS = frozenset({OutboxKind.ASKER_UPDATE, OutboxKind.ANSWER_TO_ASKER})


# What became of one claimed message (``OutboxSender.send``)
SENT, FAILED, ENDED, LOST = "sent", "failed", "ended", "lost"


class ClaimLostError(Exception):
    """Another worker took the message over (this one's claim went stale): leave it to them, post nothing."""


class EndedError(Exception):
    """What a staff post (or its DM copy) asked was decided while it waited in the queue, or a routing DM's person
    is not to be asked any more (``bot.routing.stopped``): ended, not posted."""


class NoTargetError(Exception):
    """A message with nowhere to go (e.g. triage without WIEWEET_TRIAGE_CHANNEL)."""


class RedrawRefusedError(Exception):
    """Slack did not draw a sent recruiting DM again (its error): recorded failed when it says the DM cannot be
    updated (``REDRAW_REFUSED``), else tried again as any post is."""


# What Slack answers when a sent DM cannot be updated (gone, not ours, too old) or no post can be made at all
REDRAW_REFUSED = PERMANENT_ERRORS | {"message_not_found", "cant_update_message", "edit_window_closed"}


# The error recorded for a staff post not made in a triage channel shared with another organisation
SHARED_OUTSIDE = "shared_outside"


class SharedTriageError(Exception):
    """The triage channel is shared with another organisation (Slack Connect): staff posts are not made there."""


__all__ = ["STAFF_KINDS", "OutboxSender", "check_triage_channel", "render_message", "render_payload"]

# Why a message for one person in a channel (ephemeral) cannot be shown there: they get it by DM instead.
EPHEMERAL_ELSEWHERE = frozenset(
    {"user_not_in_channel", "channel_not_found", "not_in_channel", "is_archived", "thread_not_found"}
)


class OutboxSender:
    """Sends claimed outbox messages (``bot.jobs.OutboxPass``): rendered in the recipient's language, posted, marked."""

    batch_size = 50

    def __init__(self, services: Services, client: WebClient, *, policy: RoutingPolicy | None = None) -> None:
        self.services = services
        self.client = client
        self.policy = policy or RoutingPolicy()

    def send_pending(self, *, worker_id: str) -> BatchResult:
        """Claim a batch and send it: counted sent, failed (to be retried or given up), ended unsent (decided while
        it waited) or lost (another worker took it over)."""
        messages = claim_outbox(self.services.db, now=self.services.clock(), worker_id=worker_id, limit=self.batch_size)
        outcomes = Counter(self.send(message) for message in messages)
        return BatchResult(
            claimed=len(messages),
            sent=outcomes[SENT],
            failed=outcomes[FAILED],
            ended=outcomes[ENDED],
            lost=outcomes[LOST],
        )

    def _language(self, message: OutboxMessage, payload: OutboxPayload) -> str:
        lang = message_language(payload)
        if lang in LANGUAGES:
            return str(lang)
        if not message.recipient_slack_id:
            return self.services.settings.default_language
        with self.services.db.session() as session:
            return self.services.locales.language(
                session=session, client=self.client, user_id=message.recipient_slack_id, now=self.services.clock()
            )

    def _channel(self, message: OutboxMessage) -> str:
        if message.channel_id:
            return message.channel_id
        if message.recipient_slack_id:
            opened = self.client.conversations_open(users=message.recipient_slack_id)
            return str((opened.get("channel") or {})["id"])
        if message.kind in STAFF_KINDS:
            if self.services.settings.triage_channel_id:
                return self.services.settings.triage_channel_id
            # given up: each staff member gets it by DM instead (``_tell_staff``)
            raise NoTargetError("no triage channel (WIEWEET_TRIAGE_CHANNEL)")
        raise NoTargetError(f"outbox {message.id} ({message.kind.value}) has no recipient or channel")

    def send_one(self, message: OutboxMessage) -> bool:
        """Send one claimed message; True when sent. Failures are recorded (retried later, or given up)."""
        return self.send(message) == SENT

    def send(self, message: OutboxMessage) -> str:
        """Send one claimed message: ``SENT``; ``ENDED`` (what a staff post asked was decided while it waited, or a
        routing DM's person is not to be asked any more: not posted), ``LOST`` (another worker took it over: theirs)
        or ``FAILED`` (recorded: retried later or given up)."""
        permanent, not_before = False, None
        try:
            payload = self._as_now(read_payload(message.kind, message.payload))
            if isinstance(payload, AnswerToAsker) and payload.in_thread:
                self._send_in_thread(message, payload)
                return SENT
            if isinstance(payload, ExpertiseRequest) and payload.redraw_ts:
                self._redraw(message, payload)
                return SENT
            lang = self._language(message, payload)
            rendered = render_payload(payload, lang)
            target = self._channel(message)
            self._not_shared_triage(message, target)
            channel, ts = self._post_once(message, target, rendered, thread_ts=message.thread_ts)
            self._sent(message, channel=channel, ts=ts)
            self._still_current(message, payload, lang, channel=channel, ts=ts)
            if message.recipient_slack_id:  # a question for them, an update on theirs: their Home tab follows
                publish_homes(self.services, self.client, [message.recipient_slack_id])
            return SENT
        except EndedError:
            log.info("outbox %s (%s): no longer to be posted: ended, not posted", message.id, message.kind.value)
            return ENDED
        except ClaimLostError:
            log.warning("outbox %s (%s) was taken over by another worker: not posted", message.id, message.kind.value)
            return LOST
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc)
            permanent = error in PERMANENT_ERRORS
            wait = slack_retry_after(exc)  # longer than the client waits in-process: not before Slack asked
            not_before = self.services.clock() + timedelta(seconds=wait) if wait else None
            log.warning("outbox %s (%s) failed: %s", message.id, message.kind.value, error)
        except SharedTriageError as exc:  # given up at once: staff get it by DM (``_tell_staff``)
            error, permanent = SHARED_OUTSIDE, True
            log.error("outbox %s (%s): %s", message.id, message.kind.value, exc)
        # retrying sends it nowhere (a DM to draw again gone or not ours, too) or renders it no better
        except (NoTargetError, PayloadError, RedrawRefusedError) as exc:
            error = str(exc)
            permanent = not isinstance(exc, RedrawRefusedError) or error in REDRAW_REFUSED
            log.error("outbox %s (%s): %s", message.id, message.kind.value, exc)
        except Exception as exc:
            error = repr(exc)
            log.exception("outbox %s (%s) failed", message.id, message.kind.value)
        self._failed(message, error, permanent=permanent, not_before=not_before)
        return FAILED

    def _as_now(self, payload: OutboxPayload) -> OutboxPayload:
        """A proposed work session (or a staff member's DM copy of one) as the stored state shows it now, not as it
        was queued: a question withdrawn, or whose channel turned private, while it waited is counted, not quoted,
        and its asker not named — as in the posts already sent, which are updated then (``handlers.needs_refresh``).
        Anything else, or a proposal that cannot be read again, as queued."""
        if isinstance(payload, NeedsProposal):
            return replace(payload, proposal=self._proposal_now(payload.proposal))
        if isinstance(payload, StaffDM) and payload.original_kind is OutboxKind.NEEDS_PROPOSAL:
            original = dict(payload.original)
            queued = original.get("proposal")
            if isinstance(queued, dict):
                original["proposal"] = self._proposal_now(queued)
            return replace(payload, original=original)
        return payload

    def _still_current(
        self, message: OutboxMessage, payload: OutboxPayload, lang: str, *, channel: str, ts: str
    ) -> None:
        """A proposal's post (or a DM copy of it), rendered from the stored state before it was posted, read again
        once it is marked sent: a question withdrawn (or whose channel turned private) in between was committed
        while no sent post of it could be found to update (``handlers.needs_refresh``), so the post is updated here
        when what it shows changed. A failure is logged: the post stands as sent."""
        current = self._as_now(payload)
        if payload_json(current) == payload_json(payload):
            return
        shown = render_payload(current, lang)
        proposal_id = current.proposal.get("id") if isinstance(current, NeedsProposal) else None
        if_shared = None
        if isinstance(proposal_id, int):  # the triage post: a neutral stand-in once the channel is shared
            stand_in = shared_stand_in(shown, lang, proposal_id=proposal_id)
            if_shared = (stand_in.text, stand_in.blocks)
        try:
            update_post(
                self.services,
                self.client,
                channel=channel,
                ts=ts,
                shown=(shown.text, shown.blocks),
                if_shared=if_shared,
            )
        except Exception:
            log.warning("outbox %s: updating the proposal posted meanwhile failed", message.id, exc_info=True)
            return
        log.info("outbox %s (%s): changed while it was posted: updated", message.id, message.kind.value)

    def _proposal_now(self, queued: dict[str, Any]) -> dict[str, Any]:
        needs, proposal_id = self.services.needs, queued.get("id")
        if needs is None or not isinstance(proposal_id, int):
            return queued
        with self.services.db.session() as session:
            view = needs.current_view(session, proposal_id=proposal_id, now=self.services.clock())
        return view.to_json() if view is not None else queued

    def _not_shared_triage(self, message: OutboxMessage, channel: str) -> None:
        """``SharedTriageError`` for a post for staff (escalated questions, private ones included, reviews,
        proposals) about to be made in the triage channel while people of another organisation read it. Asked of
        Slack (``conversations.info``, cached a few minutes) before every such post: a channel can become shared
        after the start. Slack's own error when it cannot say: the message is tried again later (Retry-After
        honoured), given up as any other failure, and then it reaches staff by DM too."""
        triage = self.services.settings.triage_channel_id
        if not triage or channel != triage or not aimed_at_triage(message, triage_channel_id=triage):
            return
        now = self.services.clock()
        if self.services.channels.shared_outside_or_raise(client=self.client, channel_id=channel, now=now):
            raise SharedTriageError(f"the triage channel {channel} is shared with another organisation: not posted")

    def _send_in_thread(self, message: OutboxMessage, payload: AnswerToAsker) -> None:
        """The rating for an answer posted in the question's thread: ephemeral there, to the asker alone. Where it
        cannot be shown (they left the channel, it was archived), the answer and the rating go by DM instead.
        Slack errors propagate to ``send_one``, which records them."""
        user, channel = message.recipient_slack_id, message.channel_id
        if not (user and channel):
            raise NoTargetError(f"outbox {message.id}: an in-thread rating without asker or channel")
        lang = self._language(message, payload)
        try:
            rendered = render_payload(payload, lang)
            self._keep_claim(message)  # an ephemeral message cannot be looked up: sent only while still ours
            response = self.client.chat_postEphemeral(
                channel=channel,
                user=user,
                thread_ts=message.thread_ts or None,
                text=rendered.text,
                blocks=rendered.blocks,
            )
            ts = str(response.get("message_ts") or "")
        except SlackApiError as exc:
            if str(exc.response.get("error") or "") not in EPHEMERAL_ELSEWHERE:
                raise
            log.info("outbox %s: rating not shown in %s (%s): answer by DM", message.id, channel, exc)
            rendered = render_payload(replace(payload, in_thread=False), lang)
            opened = self.client.conversations_open(users=user)
            channel, ts = self._post_once(message, str((opened.get("channel") or {})["id"]), rendered, thread_ts=None)
        self._sent(message, channel=channel, ts=ts)
        publish_homes(self.services, self.client, [user])

    def _post_once(
        self, message: OutboxMessage, channel: str, rendered: Rendered, *, thread_ts: str | None
    ) -> tuple[str, str]:
        """Post ``message`` once across crashes (see the module docstring); returns (channel, ts)."""
        key = f"outbox:{message.id}"
        if message.post_started_at is not None:
            found = find_marked_message(
                self.client, channel=channel, thread_ts=thread_ts, key=key, step="post", since=message.post_started_at
            )
            if found is not None:
                log.info("outbox %s was posted before a restart: marked sent, not posted again", message.id)
                return channel, found
        with self.services.db.session() as session:
            worker, now = message.claimed_by or "", self.services.clock()
            # decided while it waited (a staff post, a DM copy), a request to someone not to be asked any more, or a
            # recruiting DM whose label may no longer be shown: ended unsent, committed with this unit of work
            ended = any(
                end(session, message_id=message.id, worker_id=worker, now=now)
                for end in (end_if_decided, end_if_not_askable, end_if_label_gone)
            )
            ours = not ended and mark_outbox_post_started(
                session,
                message_id=message.id,
                worker_id=message.claimed_by or "",
                now=self.services.clock(),
                started_at=datetime.now(UTC),  # Slack's clock, not the business one: the look-up reads from then on
            )
        if ended:
            raise EndedError(f"outbox {message.id}")
        if not ours:
            raise ClaimLostError(f"outbox {message.id}")
        response = self.client.chat_postMessage(
            channel=channel,
            text=rendered.text,
            blocks=rendered.blocks,
            thread_ts=thread_ts or None,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": MARKER_EVENT, "event_payload": {"request": key, "step": "post"}},
        )
        return str(response.get("channel") or channel), str(response.get("ts") or "")

    def _redraw(self, message: OutboxMessage, payload: ExpertiseRequest) -> None:
        """A recruiting DM already sent, drawn again as ``payload`` says (an erasure took its label: without it and
        its button), under this sender's claim; the update can be made again safely. Recorded sent once Slack took
        the update; when Slack did not make it (``update_post``), ``RedrawRefusedError`` with Slack's error: the row
        is recorded failed with it when the DM cannot be updated (``REDRAW_REFUSED``: gone, not ours), else tried
        again like any post, as after a transient failure (raised)."""
        self._keep_claim(message)
        rendered = render_payload(payload, self._language(message, payload))
        channel, ts = payload.redraw_channel, payload.redraw_ts
        refused = update_post(
            self.services, self.client, channel=channel, ts=ts, shown=(rendered.text, rendered.blocks)
        )
        if refused is not None:
            raise RedrawRefusedError(refused)
        self._sent(message, channel=channel, ts=ts)
        log.info("outbox %s (%s): the DM sent before was drawn again", message.id, message.kind.value)

    def _keep_claim(self, message: OutboxMessage) -> None:
        """``ClaimLostError`` unless this sender still holds the message's claim (refreshed when it does)."""
        with self.services.db.session() as session:
            ours = keep_outbox_claim(
                session, message_id=message.id, worker_id=message.claimed_by or "", now=self.services.clock()
            )
        if not ours:
            raise ClaimLostError(f"outbox {message.id}")

    def _sent(self, message: OutboxMessage, *, channel: str, ts: str) -> None:
        """Record the message sent — under this sender's claim only: when another worker took it over meanwhile
        (this one stalled past the stale time), the record is theirs to make; this one logs and leaves it. A
        recruiting DM whose label an erasure blanked meanwhile is queued to be drawn again
        (``redraw_if_label_erased``)."""
        with self.services.db.session() as session:
            marked = mark_outbox_sent(
                session,
                message_id=message.id,
                ts=ts,
                channel=channel,
                now=self.services.clock(),
                worker_id=message.claimed_by or "",
            )
            # a recruiting DM whose label an erasure blanked while it was posted: drawn again without it
            if marked and redraw_if_label_erased(session, message_id=message.id, now=self.services.clock()):
                log.info(
                    "outbox %s (%s): its label was erased while posted: drawn again", message.id, message.kind.value
                )
        if not marked:
            log.warning(
                "outbox %s (%s) sent, but its claim had been taken over: not marked", message.id, message.kind.value
            )

    def _failed(
        self, message: OutboxMessage, error: str, *, permanent: bool, not_before: datetime | None = None
    ) -> None:
        """Record a failed send (retried after a backoff, no earlier than ``not_before``, or given up) — under this
        sender's claim only."""
        with self.services.db.session() as session:
            recorded = mark_outbox_failed(
                session,
                message_id=message.id,
                error=error,
                now=self.services.clock(),
                permanent=permanent,
                policy=self.policy,
                worker_id=message.claimed_by or "",
                not_before=not_before,
            )
        if recorded is None:
            log.warning(
                "outbox %s (%s) failed after its claim was taken over: not recorded", message.id, message.kind.value
            )
            return
        triage = self.services.settings.triage_channel_id
        if recorded is FailOutcome.GIVEN_UP and aimed_at_triage(message, triage_channel_id=triage):
            self._tell_staff(message, error)
            return
        if recorded is FailOutcome.GIVEN_UP and message.kind in FALLBACK_KINDS:
            # the end of the line: nothing more is tried (a DM copy is never copied again); what waits stays listed
            # where staff look (the Home tab and `wieweet escalated` for questions, the register and needs views)
            log.error(
                "outbox %s (%s): staff member %s could not be told either (%s): what waits for staff is still listed "
                "on the staff Home tab and by the CLI",
                message.id,
                message.kind.value,
                message.recipient_slack_id,
                error,
            )
            return
        if message.kind in ASKER_KINDS or message.kind is OutboxKind.EXPERTISE_REQUEST:
            # a recruiting DM too: its mark is what recruiting reads (``bot.needs.recruiting``); not a redraw (an
            # update of a DM sent before: its refusal says nothing of whether the person can get a DM)
            if permanent and redraw_of(message) is None:
                self._asker_unreachable(message, error)
            return
        if message.routing_id is None or message.kind not in UNREACHABLE_KINDS:
            return
        if permanent and (
            error == "user_disabled" or (error == "account_inactive" and self._deactivated(message.recipient_slack_id))
        ):  # the account deactivated: all their requests move on, their own questions withdrawn, as the event does
            self._person_gone(message, error)
        elif permanent and error in UNREACHABLE_ERRORS:
            self._move_on(message.id, message.routing_id, error, unreachable=True)
        elif message.kind is OutboxKind.EXPERT_REQUEST and recorded is FailOutcome.GIVEN_UP:
            # given up for another reason: whoever chose the person hears
            self._move_on(message.id, message.routing_id, error, unreachable=False)

    def _tell_staff(self, message: OutboxMessage, error: str) -> None:
        """A message for staff that the triage channel never got (any of ``STAFF_KINDS``, an escalated question
        included): each staff member (the configured ids and the staff user group's members) gets it by DM, once per
        post and person (``bot.staffdm.tell_staff`` queues it). In its own transaction, after the failure is
        recorded; if that fails, it is logged."""
        settings = self.services.settings
        channel = message.channel_id or settings.triage_channel_id
        now = self.services.clock()
        what = f"question #{message.question_id}" if message.kind is OutboxKind.TRIAGE else message.kind.value
        try:
            staff = self.services.staff.members(settings=settings, client=self.client, now=now)
            with self.services.db.session() as session:
                outcome = tell_staff(
                    session, message_id=message.id, staff=staff, channel_id=channel, error=error, now=now
                )
        except Exception:
            log.exception("outbox %s: staff could not be told of %s", message.id, what)
            return
        if outcome == NO_STAFF:
            log.error(
                "outbox %s: the triage channel never got %s (%s) and no staff are configured to tell "
                "(WIEWEET_STAFF_USER_IDS, WIEWEET_STAFF_USERGROUP): it is listed on the staff Home tab and by the CLI",
                message.id,
                what,
                error,
            )
            return
        log.warning("outbox %s: the triage channel never got %s (%s): %s", message.id, what, error, outcome)

    def _deactivated(
        self, user_id: str | None, error: str = "account_inactive", *, unknown_is_gone: bool = True
    ) -> bool:
        """Whether ``users.info`` says ``user_id``'s account is deactivated (``deleted``, or unknown to Slack: the
        event path's reading, ``handlers.deactivated.confirmed_deactivated``). ``account_inactive`` alone does not
        say so — Slack says it of the bot's own token — but when Slack still answers about the recipient and says
        they are gone, they are. With a dead token that call fails too, and nobody is marked or moved on. Asked too
        after ``error`` (``user_not_found``, ``cannot_dm_bot``) from opening an asker's DM."""
        if not user_id:
            return False
        try:
            return confirmed_deactivated(self.client, user_id, unknown_is_gone=unknown_is_gone)
        except (SlackApiError, OSError) as exc:
            log.info("users.info for %s after %s: %r", user_id, error, exc)
            return False

    def _asker_unreachable(self, message: OutboxMessage, error: str) -> None:
        """A DM to the asker (or a recruiting DM) failed for good: when it can never arrive (their account
        deactivated), they are treated as gone (``_person_gone``), which withdraws everything they asked and marks
        their register entry away. One failed answer is not enough for that:
        after ``account_inactive``, ``user_not_found`` or ``cannot_dm_bot``, only when ``users.info`` then says the
        account is deleted (``user_disabled`` says so itself); for a recruiting DM, whose id is the register's (maybe
        mistyped), Slack not knowing the id either is no such answer (``UNCONFIRMED_REASONS``, as routing reads it).
        Otherwise nothing follows."""
        user, asker = message.recipient_slack_id, message.kind is not OutboxKind.EXPERTISE_REQUEST
        if (
            not asker and error == "user_not_found"
        ):  # Slack may know the account after all: ``handlers.recruit_refused``
            if unknown_id_refused(self.services, self.client, message):
                self._person_gone(message, error)
            return
        if error == "user_disabled" or (
            error in ("account_inactive", "user_not_found", "cannot_dm_bot")
            and self._deactivated(user, error, unknown_is_gone=asker)
        ):
            self._person_gone(message, error)

    def _person_gone(self, message: OutboxMessage, error: str) -> None:
        """Someone who can never get a DM, their account deactivated: as for Slack's ``user_change`` — the same
        service function and reason (``handlers.deactivated.person_gone_after_send``). In its own transaction, after
        the failure is recorded; if this fails, it is logged (the timers and the escalation deadline still run)."""
        user = message.recipient_slack_id
        if not user:
            return
        try:
            outcome = person_gone_after_send(self.services, self.client, user_id=user, now=self.services.clock())
        except Exception:
            log.exception("outbox %s: the deactivated recipient could not be acted on after %s", message.id, error)
            return
        log.warning("outbox %s (%s) not delivered (%s): %s", message.id, message.kind.value, error, outcome)

    def _move_on(self, message_id: int, routing_id: int, error: str, *, unreachable: bool) -> None:
        """A request given up: when its expert can never get a DM, the next one is asked at once and an expert in
        the register is marked away; whoever chose the person by hand is told either way. In its own transaction,
        after the failure is recorded: if this fails (a lock timeout, a matcher error), the failure stays recorded,
        the rest of the batch is sent, and the routing waits for its timers as any unanswered request does."""
        routing = self.services.routing
        if routing is None:
            return
        react = routing.recipient_unreachable if unreachable else routing.request_undelivered
        try:
            with self.services.db.session() as session:
                outcome = react(session, routing_id=routing_id, error=error, now=self.services.clock())
        except Exception:
            log.exception("outbox %s: routing %s could not move on (its timers will)", message_id, routing_id)
            return
        log.warning("outbox %s: routing %s not delivered (%s): %s", message_id, routing_id, error, outcome)


def check_triage_channel(services: Services, client: WebClient) -> bool:
    """At start: whether the configured triage channel is shared with another organisation (Slack Connect), with
    one WARNING saying what that means when it is (nothing for staff is posted there: each staff member gets it by
    DM). The bot still starts: the guard before every post (``OutboxSender._not_shared_triage``) keeps private
    questions out of the channel, also when it becomes shared later. Slack not saying now: logged, and left to
    that guard."""
    triage = services.settings.triage_channel_id
    if not triage:
        return False
    try:
        shared = services.channels.shared_outside_or_raise(client=client, channel_id=triage, now=services.clock())
    except SlackApiError as exc:
        log.warning("could not check the triage channel %s (%s)", triage, exc.response.get("error"))
        return False
    if shared:
        log.warning(
            "WIEWEET_TRIAGE_CHANNEL %s is shared with another organisation (Slack Connect): nothing for staff is "
            "posted there (escalated questions, private ones included, reviews, proposals): each staff member gets "
            "it by DM instead. Set WIEWEET_TRIAGE_CHANNEL to a channel of the network alone.",
            triage,
        )
    return shared
