"""The outbox: notifications written in the same transaction as the change they announce, sent exactly once.

A core service queues a message with ``enqueue(session, payload, ...)``; the payload is one of the frozen
dataclasses of ``bot.outbox.payloads``, one per ``OutboxKind`` (its ``kind``), stored as plain JSON in
``outbox_messages.payload`` — the same keys as ever, so rows queued by an earlier version still load. The Slack
layer polls ``claim_outbox`` (claimed rows are its own until sent, failed or stale), reads each payload back with
``read_payload`` (validated: wrong types are a ``PayloadError``, missing optional fields take their defaults,
unknown keys are ignored, and a value an optional enum field does not know reads as None; one a required enum
field does not know is a ``PayloadError`` saying it was written by a newer version), renders it, sends it (a DM to
``recipient_slack_id`` or a post in ``channel_id``, in ``thread_ts`` when set), then calls ``mark_outbox_sent``
with the returned channel and ts — or ``mark_outbox_failed``. A staff message with no ``channel_id`` goes to the
configured triage channel.

Which facts a routing message may carry (anonymity, private questions) is decided by ``bot.routing.payloads``;
the queries are ``storage.outbox_repo``'s.

Two parts: the payloads and their JSON (``bot.outbox.payloads``) and queueing, claiming and marking
(``bot.outbox.delivery``); callers import both from here.
"""

from bot.outbox.delivery import (
    FailOutcome,
    claim_outbox,
    enqueue,
    enqueue_expertise_redraw,
    keep_outbox_claim,
    mark_outbox_failed,
    mark_outbox_post_started,
    mark_outbox_sent,
    redraw_of,
    sent_refs,
    shown_kind,
)
from bot.outbox.payloads import (
    LABEL_GONE,
    PAYLOAD_TYPES,
    AnswerPart,
    AnswerToAsker,
    AskerUpdate,
    AskerUpdateKind,
    CloseReason,
    ConsentRequest,
    ConsentRequestKind,
    DeliveryFailed,
    ExpertiseRequest,
    ExpertReminder,
    ExpertRequest,
    ForAsker,
    ForExpert,
    NeedsProposal,
    OutboxPayload,
    PayloadError,
    Person,
    PracticeReview,
    ProfilePart,
    ProfileReview,
    QuestionAnswered,
    QuestionPart,
    QuestionUpdated,
    RoutingClosed,
    ShowsAsker,
    StaffDM,
    SubmissionOutcome,
    SubmissionOutcomeKind,
    Triage,
    message_language,
    payload_json,
    read_as,
    read_payload,
)

__all__ = [
    "LABEL_GONE",
    "PAYLOAD_TYPES",
    "AnswerPart",
    "AnswerToAsker",
    "AskerUpdate",
    "AskerUpdateKind",
    "CloseReason",
    "ConsentRequest",
    "ConsentRequestKind",
    "DeliveryFailed",
    "ExpertReminder",
    "ExpertRequest",
    "ExpertiseRequest",
    "FailOutcome",
    "ForAsker",
    "ForExpert",
    "NeedsProposal",
    "OutboxPayload",
    "PayloadError",
    "Person",
    "PracticeReview",
    "ProfilePart",
    "ProfileReview",
    "QuestionAnswered",
    "QuestionPart",
    "QuestionUpdated",
    "RoutingClosed",
    "ShowsAsker",
    "StaffDM",
    "SubmissionOutcome",
    "SubmissionOutcomeKind",
    "Triage",
    "claim_outbox",
    "enqueue",
    "enqueue_expertise_redraw",
    "keep_outbox_claim",
    "mark_outbox_failed",
    "mark_outbox_post_started",
    "mark_outbox_sent",
    "message_language",
    "payload_json",
    "read_as",
    "read_payload",
    "redraw_of",
    "sent_refs",
    "shown_kind",
]
