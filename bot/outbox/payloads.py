"""The outbox's payloads: one frozen dataclass per ``OutboxKind`` (its ``kind``), stored as plain JSON in
``outbox_messages.payload`` — the same keys as ever, so rows queued by an earlier version still load — and read back
validated (``read_payload``): wrong types are a ``PayloadError``, missing optional fields take their defaults,
unknown keys are ignored, and a value an optional enum field does not know reads as None; one a required enum field
does not know is a ``PayloadError`` saying it was written by a newer version.

Which facts a routing message may carry (anonymity, private questions) is decided by ``bot.routing.payloads``.
Queueing and sending them is ``bot.outbox.delivery``.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import msgspec

from bot.staff_notices import ChannelCheckFailed, DigestStopped, ExpertReactivated
from storage.models import EscalationReason, OutboxKind, Outcome, RecordStatus, RoutingStatus, Visibility

# --- vocabularies ----------------------------------------------------------------------------------------------------


class CloseReason(enum.StrEnum):
    """Why a routing was closed without its expert answering (``RoutingClosed.reason``)."""

    ANSWERED = "answered"  # someone else answered
    CANCELLED = "cancelled"  # the asker withdrew the question
    RESOLVED = "resolved"  # the asker marked it resolved
    CLOSED = "closed"  # staff closed it
    ASKER_GONE = "asker_gone"  # the asker's Slack account was deactivated (told as "no longer needed")


class AskerUpdateKind(enum.StrEnum):
    """What an ``AskerUpdate`` tells the asker."""

    ROUTED = "routed"
    ADDED = "added"  # nobody answered in time: ``experts`` were asked besides those asked before
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    CLOSED = "closed"
    HELD = "held"  # kept, not asked of anyone yet: the asker has enough questions with experts


class ConsentRequestKind(enum.StrEnum):
    INITIAL = "initial"  # imported, never confirmed
    RECONFIRM = "reconfirm"  # confirmed longer ago than the re-confirmation period


class SubmissionOutcomeKind(enum.StrEnum):
    PROFILE_APPROVED = "profile_approved"
    PROFILE_REJECTED = "profile_rejected"
    PRACTICE_APPROVED = "practice_approved"
    PRACTICE_REJECTED = "practice_rejected"
    # a staff member's work-session invitation the bot gave up on (Slack kept failing): nobody was invited
    INVITE_GIVEN_UP = "invite_given_up"


class PayloadError(ValueError):
    """An outbox payload that does not fit its kind (a bug or a damaged row, never user input)."""


# --- parts -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Someone a message names: an expert in the register, or a Slack user who is not."""

    expert_id: int | None = None
    name: str | None = None
    organisation: str | None = None
    slack_user_id: str | None = None
    in_register: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionPart:
    """What every message about a question carries. ``language`` is the reader's (None: their Slack locale)."""

    question_id: int
    text: str | None = None  # None: redacted (staff, private question)
    context: str | None = None
    themes: tuple[str, ...] = ()
    theme_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> language -> label
    desired_by: str | None = None  # ISO date
    visibility: Visibility | None = None
    question_language: str | None = None
    asked_at: str | None = None  # ISO timestamp
    language: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowsAsker(QuestionPart):
    """A question with who asked it (None and ``anonymous`` for an anonymous question)."""

    asker_name: str | None = None
    asker_slack_id: str | None = None
    anonymous: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ForAsker(QuestionPart):
    """A question as its asker sees it (their own words; no need to name them)."""

    anonymous: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ForExpert(ShowsAsker):
    """A question as the person asked to answer it sees it, with the routing that asks them."""

    additions: tuple[str, ...] = ()
    routing_id: int
    routing_status: RoutingStatus | None = None
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    volunteered: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerPart(QuestionPart):
    """A question with its answer: what its asker is sent and what its channel thread shows."""

    anonymous: bool = False
    answer_id: int | None = None
    answer_text: str = ""
    answered_by: Person | None = None
    answered_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilePart:
    """An expert profile as a DM or a staff message shows it."""

    expert_id: int
    name: str = ""
    email: str = ""
    slack_user_id: str | None = None
    organisation: str = ""
    city: str = ""
    role: str = ""
    expertise: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    last_confirmed: str | None = None  # ISO date


# --- one payload per kind --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertRequest(ForExpert):
    """DM: can you answer this question? (claim, decline, later, forward)."""

    kind: ClassVar[OutboxKind] = OutboxKind.EXPERT_REQUEST
    resent: bool = False  # again after a snooze
    forwarded_by: Person | None = None
    forward_note: str | None = None
    assigned_by_staff: bool = False
    staff_note: str | None = None
    match_score: float | None = None
    decline_penalty: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertReminder(ForExpert):
    kind: ClassVar[OutboxKind] = OutboxKind.EXPERT_REMINDER
    routing_asked_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingClosed(ForExpert):
    """DM: no longer needed; with the answer when someone else answered a public question."""

    kind: ClassVar[OutboxKind] = OutboxKind.ROUTING_CLOSED
    reason: CloseReason | None = None
    answered_by: Person | None = None
    answer_text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionUpdated(ForExpert):
    kind: ClassVar[OutboxKind] = OutboxKind.QUESTION_UPDATED
    addition: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerToAsker(AnswerPart):
    """The answer for the asker, with the rating. ``in_thread``: the answer is posted in the question's channel
    thread (``QuestionAnswered``), so this only offers the rating, to the asker alone (ephemeral in that thread,
    ``channel_id``/``thread_ts`` of the message); where that cannot be shown it falls back to a DM with the answer."""

    kind: ClassVar[OutboxKind] = OutboxKind.ANSWER_TO_ASKER
    in_thread: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionAnswered(AnswerPart):
    """In the question's (public) channel thread, mentioning who asked (None for an anonymous question).
    ``earlier``: given before the thread existed (the asker had it by DM then); posted once the thread is there."""

    kind: ClassVar[OutboxKind] = OutboxKind.QUESTION_ANSWERED
    asker_name: str | None = None
    asker_slack_id: str | None = None
    earlier: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AskerUpdate(ForAsker):
    """DM to the asker: routed to ``experts``, ``experts`` added, claimed by ``expert``, escalated (``reason``),
    closed (``note``)."""

    kind: ClassVar[OutboxKind] = OutboxKind.ASKER_UPDATE
    update: AskerUpdateKind | None = None
    experts: tuple[Person, ...] = ()
    expert: Person | None = None
    reason: EscalationReason | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Triage(ShowsAsker):
    """To staff: an escalated question (``redacted``: text and asker left out)."""

    kind: ClassVar[OutboxKind] = OutboxKind.TRIAGE
    redacted: bool = False
    reason: EscalationReason | None = None
    escalated_at: str | None = None
    routing_counts: dict[str, int] = field(default_factory=dict)  # routing status -> how many


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentRequest(ProfilePart):
    kind: ClassVar[OutboxKind] = OutboxKind.CONSENT_REQUEST
    request: ConsentRequestKind | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileReview(ProfilePart):
    kind: ClassVar[OutboxKind] = OutboxKind.PROFILE_REVIEW
    version: str = ""  # ``profiles.profile_version`` of what is shown: staff decide on that version


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmissionOutcome:
    """DM to a submitter: what staff decided about ``title``, and why (``note``); or (``INVITE_GIVEN_UP``) what
    became of a staff member's own invitation to a work session: given up, with the channel it made archived
    (``channel_id``; "": none archived) and the reference for the log (``ref``)."""

    kind: ClassVar[OutboxKind] = OutboxKind.SUBMISSION_OUTCOME
    outcome: SubmissionOutcomeKind
    title: str = ""
    note: str = ""
    channel_id: str = ""
    ref: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PracticeReview:
    """To staff: a practice submitted from chat (also what its cards show)."""

    kind: ClassVar[OutboxKind] = OutboxKind.PRACTICE_REVIEW
    practice_id: int
    title: str = ""
    summary: str = ""
    city: str = ""
    organisation: str = ""
    themes: tuple[str, ...] = ()
    theme_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    outcome: Outcome | None = None
    lessons: str = ""
    contact_email: str = ""
    url: str = ""
    year: int | None = None
    status: RecordStatus | None = None
    submitted_by: str | None = None
    moderation_note: str = ""
    version: str = ""  # ``submissions.practice_version`` of what is shown: staff decide on that version


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedsProposal:
    """To staff (the triage channel): a proposed work session (``bot.needs``); ``proposal`` is the proposal as
    ``ProposalView.to_json()`` (shareable wording only), ``status_line`` what staff did with it (safe mrkdwn)."""

    kind: ClassVar[OutboxKind] = OutboxKind.NEEDS_PROPOSAL
    proposal: dict[str, Any]
    status_line: str = ""


# ``outbox_messages.ended_reason`` of an ``ExpertiseRequest`` ended unsent: the label it carries may no longer be shown
# (``bot.needs.recruiting.end_if_label_gone``) or an erasure dropped it (``bot.privacy.erasure``)
LABEL_GONE = "label_gone"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertiseRequest:
    """To someone who might cover a topic nobody covers: would they add it to their profile (``bot.needs``)."""

    kind: ClassVar[OutboxKind] = OutboxKind.EXPERTISE_REQUEST
    topic_id: int
    label: str = ""
    reason: str = ""
    expert_id: int | None = None
    added: bool = False
    # not a DM of its own: the sent DM at ``redraw_channel``/``redraw_ts`` is drawn again (``gone``: without its label
    # and button), after an erasure took its label (``bot.privacy.erasure``)
    gone: bool = False
    redraw_channel: str = ""
    redraw_ts: str = ""
    # Slack refused it once with ``user_not_found`` although ``users.info`` knew the account, active
    # (``bot.needs.reachability.record_unknown_id``): kept here, where a failed attempt's error does not overwrite it
    refused_active: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFailed:
    """A request that could not reach the one asked (``error``: Slack's reason). By DM to whoever chose them by hand
    (``by_staff``: staff assigning; else an expert forwarding), or to staff (no recipient: the triage channel) when
    an expert in the register is marked away for it (``marked_away``). ``moved_on``: the next expert was asked (or
    staff were handed the question) at once."""

    kind: ClassVar[OutboxKind] = OutboxKind.DELIVERY_FAILED
    question_id: int
    recipient: Person
    error: str = ""
    by_staff: bool = False
    marked_away: bool = False
    moved_on: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffDM:
    """DM to one staff member: a message for the triage channel that was given up there (``triage_channel_id``; None:
    none configured; ``error``: Slack's reason), carried whole: ``original`` is its payload, of ``original_kind``
    (``bot.staffdm``): a review, a proposal, an escalated question (``Triage``, redacted as the channel has it)."""

    kind: ClassVar[OutboxKind] = OutboxKind.STAFF_DM
    original_kind: OutboxKind
    original: dict[str, Any]
    triage_channel_id: str | None = None
    error: str = ""


OutboxPayload = (
    ExpertRequest
    | ExpertReminder
    | RoutingClosed
    | QuestionUpdated
    | AnswerToAsker
    | QuestionAnswered
    | AskerUpdate
    | Triage
    | ConsentRequest
    | ProfileReview
    | SubmissionOutcome
    | PracticeReview
    | NeedsProposal
    | ExpertiseRequest
    | DeliveryFailed
    | DigestStopped
    | ChannelCheckFailed
    | ExpertReactivated
    | StaffDM
)
_ALL: tuple[type[OutboxPayload], ...] = typing.get_args(OutboxPayload)
PAYLOAD_TYPES: dict[OutboxKind, type[OutboxPayload]] = {cls.kind: cls for cls in _ALL}
P = TypeVar("P", bound=OutboxPayload)


# --- to and from the JSON column -------------------------------------------------------------------------------------


def payload_json(payload: OutboxPayload) -> dict[str, Any]:
    """The payload as the JSON column stores it (plain values: enums by value, lists)."""
    return msgspec.json.decode(msgspec.json.encode(payload), type=dict[str, Any])


def _optional_enums(cls: type[OutboxPayload]) -> dict[str, frozenset[str]]:
    """The fields of ``cls`` typed ``SomeEnum | None``, with the values they know: another value reads as None."""
    found: dict[str, frozenset[str]] = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint)
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if type(None) in args and len(enums) == 1:
            found[name] = frozenset(str(m.value) for m in enums[0])
    return found


def _required_enums(cls: type[OutboxPayload]) -> dict[str, frozenset[str]]:
    """The fields of ``cls`` typed ``SomeEnum`` (no None), with their values: the message cannot be shown without."""
    return {
        name: frozenset(str(m.value) for m in hint)
        for name, hint in typing.get_type_hints(cls).items()
        if isinstance(hint, type) and issubclass(hint, enum.Enum)
    }


_OPTIONAL_ENUMS = {kind: _optional_enums(cls) for kind, cls in PAYLOAD_TYPES.items()}
_REQUIRED_ENUMS = {kind: _required_enums(cls) for kind, cls in PAYLOAD_TYPES.items()}


def read_as(cls: type[P], raw: Mapping[str, Any]) -> P:
    """``raw`` (a stored payload) as ``cls``; ``PayloadError`` when it does not fit."""
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{cls.kind.value} payload is not an object: {type(raw).__name__}")
    values = dict(raw)
    for name, known in _OPTIONAL_ENUMS[cls.kind].items():
        value = values.get(name)
        if isinstance(value, str) and value not in known:
            values[name] = None  # e.g. a reason written by a newer version: shown without it
    for name, known in _REQUIRED_ENUMS[cls.kind].items():
        value = values.get(name)
        if isinstance(value, str) and value not in known:  # said so, not msgspec's bare "Invalid enum value"
            raise PayloadError(
                f"{cls.kind.value} payload: {name} {value!r} is unknown to this version (written by a newer version "
                "of wieweet: run the same version everywhere)"
            )
    try:
        return msgspec.convert(values, type=cls)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"{cls.kind.value} payload: {exc}") from exc


def read_payload(kind: OutboxKind, raw: Mapping[str, Any]) -> OutboxPayload:
    """A stored payload of ``kind`` as its typed payload; ``PayloadError`` when it does not fit."""
    return read_as(PAYLOAD_TYPES[kind], raw)


def message_language(payload: OutboxPayload) -> str | None:
    """The language the message is written in, when the payload says (routing messages do)."""
    return payload.language if isinstance(payload, QuestionPart) else None
