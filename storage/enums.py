"""The schema's enumerations: stored as their string values (short strings with a CHECK constraint, see
``storage.models``), so a member's value is what the database and the outbox JSON hold — never rename one.

``storage.models`` re-exports every one of them (``from storage.models import QuestionStatus`` keeps working).
"""

from __future__ import annotations

import enum


class Availability(enum.StrEnum):
    AVAILABLE = "available"
    AWAY = "away"  # until ``Expert.away_until``
    OPTED_OUT = "opted_out"  # asked not to be routed questions


class Consent(enum.StrEnum):
    PENDING = "pending"  # imported from a file, listing not yet confirmed by the person
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"  # never shown, never routed


class Outcome(enum.StrEnum):
    GOOD = "good"
    MIXED = "mixed"
    FAILED = "failed"


class RecordStatus(enum.StrEnum):
    """Moderation state of a register entry submitted from chat."""

    PUBLISHED = "published"
    PENDING = "pending"
    REJECTED = "rejected"


class Visibility(enum.StrEnum):
    PUBLIC = "public"  # answered in the channel thread, searchable, may appear in digests
    PRIVATE = "private"  # between asker and experts only
    ANONYMOUS = "anonymous"  # asker hidden from experts; never public


class EscalationReason(enum.StrEnum):
    """Why a question went to staff (``Question.escalation_reason``, a plain string column)."""

    NO_MATCH = "no_match"  # nobody in the register knows: a knowledge gap
    NOBODY_AVAILABLE = "nobody_available"  # people match, but none can be asked now (away, at their limit, ...)
    ALL_DECLINED = "all_declined"  # everyone asked declined and nobody is left
    DEADLINE = "deadline"  # unanswered after the routing policy's business days
    DESIRED_DATE = "desired_date"  # the asker's desired date came first


class EventKind(enum.StrEnum):
    """What a question event records (``QuestionEvent.kind``, a plain string column)."""

    STATUS = "status"  # a state change of the question or a routing
    INFO = "info"  # the asker added information
    RATING = "rating"  # the asker rated the answer
    SNOOZE = "snooze"  # the expert asked to be reminded later
    REMINDER = "reminder"  # the expert was reminded
    VOLUNTEER = "volunteer"  # someone offered to help
    HELD = "held"  # not routed yet: the asker had enough questions with experts (it is routed when one closes)


class QuestionStatus(enum.StrEnum):
    OPEN = "open"
    ROUTED = "routed"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"


class RoutingStatus(enum.StrEnum):
    ASKED = "asked"
    CLAIMED = "claimed"
    DECLINED = "declined"
    FORWARDED = "forwarded"
    EXPIRED = "expired"
    ANSWERED = "answered"


class TimerKind(enum.StrEnum):
    REMIND = "remind"  # nudge a silent expert
    NEXT_EXPERT = "next_expert"  # ask the next match
    ESCALATE = "escalate"  # hand over to staff
    SNOOZE = "snooze"  # "Later": re-send at the next business day
    RECONFIRM = "reconfirm"  # periodic consent/profile confirmation


class OutboxKind(enum.StrEnum):
    """What a queued notification is; the Slack layer renders and sends each kind."""

    EXPERT_REQUEST = "expert_request"  # DM: "can you answer this question?" (buttons)
    EXPERT_REMINDER = "expert_reminder"  # DM: nudge a silent expert
    ROUTING_CLOSED = "routing_closed"  # DM: no longer needed (answered elsewhere, cancelled, closed)
    QUESTION_UPDATED = "question_updated"  # DM to open routings: the asker added information
    ANSWER_TO_ASKER = "answer_to_asker"  # DM to the asker with the answer
    QUESTION_ANSWERED = "question_answered"  # in the question's (public) channel thread
    ASKER_UPDATE = "asker_update"  # DM to the asker: routed, claimed, escalated, closed, ...
    TRIAGE = "triage"  # to staff (triage channel): an escalated question
    # self-service (added in revision 0002)
    CONSENT_REQUEST = "consent_request"  # DM: confirm (or re-confirm) your listing in the expert register
    PRACTICE_REVIEW = "practice_review"  # to staff (triage channel): a practice submitted from chat
    PROFILE_REVIEW = "profile_review"  # to staff (triage channel): a new expert profile awaiting approval
    SUBMISSION_OUTCOME = "submission_outcome"  # DM to a submitter: approved, rejected (with the reason), ...
    # knowledge needs (added in revision 0005)
    NEEDS_PROPOSAL = "needs_proposal"  # to staff (triage channel): a proposed work session on a topic
    EXPERTISE_REQUEST = "expertise_request"  # DM: would you add this topic to your expert profile?
    # routing (added in revision 0009_undelivered)
    DELIVERY_FAILED = "delivery_failed"  # a request could not reach the one asked: to who chose them, or staff
    # (added in revision 0012_staffdm; an escalated question's too since 0014_onestaffdm)
    STAFF_DM = "staff_dm"  # DM to each staff member: a message the triage channel never got, as it was
    # (added in revision 0021_digeststopped)
    DIGEST_STOPPED = "digest_stopped"  # to staff: a channel's digest stopped (the channel archived, the bot removed)
    # (added in revision 0022_channelcheck)
    CHANNEL_CHECK_FAILED = "channel_check_failed"  # to staff: the day's channel-privacy check was refused for good
    # (added in revision 0023_reactivated)
    EXPERT_REACTIVATED = "expert_reactivated"  # to staff: an expert marked away as gone has an active account again


class DigestRunStatus(enum.StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    EMPTY = "empty"  # nothing to post and the channel did not want empty digests
    FAILED = "failed"


class ProposalStatus(enum.StrEnum):
    """A proposed work session (``bot.needs``)."""

    OPEN = "open"  # proposed to staff, nothing done yet
    INVITED = "invited"  # staff invited the people to a channel
    DISMISSED = "dismissed"
    DONE = "done"  # the session took place (notes linked, submitted as a practice)


# the audit entry type an erasure is recorded under (``bot.privacy.erase_person``); ``bot.knowledge`` follows it
ERASURE_ENTITY = "person"
# The audit log's entity type of an export of one person's data (``bot.privacy.export``), keyed by their Slack id or
# e-mail address. Not ``ERASURE_ENTITY``: the search index reloads after an entry of that type.
PERSONAL_DATA_ENTITY = "personal_data"
# the audit log's entity types of reads and purges that show or remove data about people (``bot.privacy.audit``)
PURGE_ENTITY = "retention"
REPORT_ENTITY = "needs_report"
ESCALATED_ENTITY = "escalated_questions"
REFUSED_PICK_ENTITY = "refused_pick"  # a refused hand-pick (``bot.routing.chosen``), keyed by the question
# The field of such an entry that says why a "cannot be asked" refusal was made (the asker of an anonymous question,
# consent withdrawn, opted out) where ``refused`` says what the chooser was told: never in the chooser's own export
REFUSED_PICK_REASON = "reason"
# queued messages and timers discarded after a restore (``bot.restore``); a digest marked posted (``digests.restored``)
QUEUED_ENTITY = "queued"
DIGEST_RUN_ENTITY = "digest_run"

# every kind of record the audit log names (``AuditLog.entity_type``), for ``wieweet audit --entity``
AUDIT_ENTITIES = (
    DIGEST_RUN_ENTITY,
    "digest_subscription",
    ESCALATED_ENTITY,
    "expert",
    "need_proposal",
    "need_topic",
    REPORT_ENTITY,
    ERASURE_ENTITY,
    PERSONAL_DATA_ENTITY,
    "practice",
    "question",
    PURGE_ENTITY,
    QUEUED_ENTITY,
    REFUSED_PICK_ENTITY,
    "theme",
)
