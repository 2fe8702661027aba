"""Sending the routing outbox: render each message by kind (``handlers.outbox_render``), post it (DM or channel), mark
it sent or failed. What follows a failure once it is recorded (staff told by DM, a person gone, a routing moved
on) is ``handlers.outbox_refused``'s.

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
)
from bot.routing.policy import RoutingPolicy
from bot.routing.stopped import end_if_not_askable
from bot.staffdm import STAFF_KINDS, aimed_at_triage, end_if_decided
from digests.subscriptions import end_if_told_with, end_told_with
from handlers.home import publish_homes
from handlers.kit import Rendered
from handlers.marker import MARKER_EVENT, find_marked_message
from handlers.needs_refresh import shared_stand_in
from handlers.outbox_refused import after_failure
from handlers.outbox_render import render_message, render_payload
from handlers.services import Services, slack_retry_after
from handlers.turn import update_post
from handlers.users_info import BatchAnswers
from storage.models import OutboxKind, OutboxMessage

log = logging.getLogger("wieweet.outbox")

# Slack errors that a retry will not fix: the outbox message is given up at once (recorded failed). The weekly digest
# has its own list (``handlers.digest_post.DIGEST_FAILED_ERRORS``).
OUTBOX_GIVE_UP_ERRORS = frozenset(
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
REDRAW_REFUSED = OUTBOX_GIVE_UP_ERRORS | {"message_not_found", "cant_update_message", "edit_window_closed"}


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
        # what ``users.info`` answered in this batch, for a DM's language and a refused DM's recipient
        # (``handlers.outbox_refused``) alike: asked once per person and batch; a new batch asks again
        self._answers = BatchAnswers()

    def send_pending(self, *, worker_id: str) -> BatchResult:
        """Claim a batch and send it: counted sent, failed (to be retried or given up), ended unsent (decided while
        it waited) or lost (another worker took it over)."""
        messages = claim_outbox(self.services.db, now=self.services.clock(), worker_id=worker_id, limit=self.batch_size)
        self._answers.clear()
        outcomes = Counter(self.send(message) for message in messages)
        self._answers.clear()
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
                session=session,
                client=self.client,
                user_id=message.recipient_slack_id,
                now=self.services.clock(),
                answers=self._answers,
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
            # given up: each staff member gets it by DM instead (``handlers.outbox_refused``)
            raise NoTargetError("no triage channel (WIEWEET_TRIAGE_CHANNEL)")
        raise NoTargetError(f"outbox {message.id} ({message.kind.value}) has no recipient or channel")

    def send_one(self, message: OutboxMessage) -> bool:
        """Send one claimed message; True when sent. Failures are recorded (retried later, or given up)."""
        self._answers.clear()  # a batch of its own
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
            permanent = error in OUTBOX_GIVE_UP_ERRORS
            wait = slack_retry_after(exc)  # longer than the client waits in-process: not before Slack asked
            not_before = self.services.clock() + timedelta(seconds=wait) if wait else None
            log.warning("outbox %s (%s) failed: %s", message.id, message.kind.value, error)
        except SharedTriageError as exc:  # given up at once: staff get it by DM (``handlers.outbox_refused``)
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
            # recruiting DM whose label may no longer be shown, or a copy of a grouped notice of refused channels (for
            # a release before grouped notices): ended unsent, committed with this unit of work
            ended = any(
                end(session, message_id=message.id, worker_id=worker, now=now)
                for end in (end_if_decided, end_if_not_askable, end_if_label_gone, end_if_told_with)
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
        (``redraw_if_label_erased``); a grouped notice of refused digest channels ends its copies for an older
        release (``digests.subscriptions.end_told_with``)."""
        with self.services.db.session() as session:
            marked = mark_outbox_sent(
                session,
                message_id=message.id,
                ts=ts,
                channel=channel,
                now=self.services.clock(),
                worker_id=message.claimed_by or "",
            )
            # a grouped notice of refused digest channels: the copies for a release before it are not sent
            if marked and message.kind is OutboxKind.DIGEST_STOPPED and message.dedupe_key:
                end_told_with(session, dedupe_key=message.dedupe_key, now=self.services.clock())
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
            # a grouped notice of refused digest channels given up reaches staff by DM, grouped: not its copies too
            if recorded is FailOutcome.GIVEN_UP and message.kind is OutboxKind.DIGEST_STOPPED and message.dedupe_key:
                end_told_with(session, dedupe_key=message.dedupe_key, now=self.services.clock())
        if recorded is None:
            log.warning(
                "outbox %s (%s) failed after its claim was taken over: not recorded", message.id, message.kind.value
            )
            return
        after_failure(
            self.services, self.client, message, error, permanent=permanent, recorded=recorded, answers=self._answers
        )


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
