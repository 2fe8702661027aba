"""What a Slack payload *claims*: ids in button values and block ids, a modal's private_metadata, the clicked message.

One module for every listener, so each claim is read the same way. These functions only check the *form* of a
claim — an id is a positive whole number the database can hold, metadata is a JSON object, a channel id looks like
one — and hand the typed value on. Whether the acting user may see or change the record it names is decided by the
service the handler calls, against the database and with the Slack id Slack signed the request with (``Turn.actor``),
never with an id from the payload. Messages the bot updates are the ones the database ties to the record and the
user (e.g. ``RoutingService.request_messages``), never the clicked ``container``.

A malformed claim cannot come from a button or modal the bot made: it is refused (``NotAuthorized``, one WARNING
log line) before anything is read.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.actors import NotAuthorized
from bot.text import is_slack_channel_id, is_slack_user_id
from handlers import ids

refusals = logging.getLogger("wieweet.errors")
MAX_ID = 2**31 - 1  # the largest id the database's integer keys hold (PostgreSQL ``integer``)
MAX_METADATA = 3000  # Slack's limit for private_metadata
# matched against the whole claim (``fullmatch``: ``$`` would let a trailing newline through)
_ID = re.compile(r"[0-9]{1,10}")
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
_VERSION = re.compile(r"[0-9a-f]{1,64}")
BAD_REFERENCE = "bad_reference"  # the user's message: this button or form is not valid (any more)


def log_refusal(*, ref: str, user: str | None, action: str, target: str | None, level: int = logging.WARNING) -> None:
    """The one log line of a refused request: who, what, on what. WARNING: a forged payload is worth a look.

    Every ``NotAuthorized`` reaches it through the global error handler; a request whose action stands but whose
    claim about a message was not honoured (``Turn.update_messages``) logs it here directly.
    """
    refusals.log(level, "refused ref=%s user=%s action=%s target=%s", ref, user or "-", action, target or "-")


def malformed(what: str, raw: object) -> NotAuthorized:
    """The refusal for a claim that is not even well-formed (shown as "not valid any more", logged as refused)."""
    return NotAuthorized(f"send a malformed {what}", target=repr(raw)[:60], code=BAD_REFERENCE)


def parse_id(raw: object, *, what: str) -> int:
    """A record id from a payload: ASCII digits only, 1 … ``MAX_ID``. Anything else is refused."""
    text = raw if isinstance(raw, str) else str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    if text is None or not _ID.fullmatch(text) or not 0 < int(text) <= MAX_ID:
        raise malformed(f"{what} id", raw)
    return int(text)


def clicked_action(body: Mapping[str, Any]) -> dict[str, Any]:
    """The clicked element of a ``block_actions`` payload ({} for anything else)."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return {}
    return dict(actions[0])


def block_id_suffix(block_id: object, prefix: str) -> str | None:
    """``"12"`` for the block id ``"<prefix>:12"``; None when the block id is not one of ``prefix``'s."""
    head, sep, tail = str(block_id or "").partition(":")
    return tail if sep and head == prefix else None


def clicked_id(body: Mapping[str, Any], *, what: str, block_prefixes: Iterable[str] = ()) -> int:
    """The id a clicked button is about: from its value, and from its block id when that is one of ours
    (``"<prefix>:<id>"``). Both are claims: when both are given they must agree, else the click is refused."""
    action = clicked_action(body)
    from_block = next(
        (s for s in (block_id_suffix(action.get("block_id"), p) for p in block_prefixes) if s is not None), None
    )
    return _agreeing_id(from_block, action.get("value"), what=what)


def _agreeing_id(from_block: str | None, value: object, *, what: str) -> int:
    if from_block is None:
        return parse_id(value, what=what)
    block_value = parse_id(from_block, what=what)
    if value is not None and str(value) != "" and parse_id(value, what=what) != block_value:
        raise malformed(f"{what} id (block and value differ)", f"{from_block}/{value}")
    return block_value


def view_metadata(body: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted modal's private_metadata as a JSON object; refused when it is anything else."""
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if raw in (None, ""):
        return {}
    if not isinstance(raw, str) or len(raw) > MAX_METADATA:
        raise malformed("modal metadata", raw)
    try:
        data = json.loads(raw)
    except ValueError:
        raise malformed("modal metadata", raw) from None
    if not isinstance(data, dict):
        raise malformed("modal metadata", raw)
    return data


def metadata_id(metadata: Mapping[str, Any], key: str, *, what: str) -> int:
    """A required record id from modal metadata (refused when missing or malformed)."""
    return parse_id(metadata.get(key), what=what)


def metadata_version(metadata: Mapping[str, Any]) -> str:
    """The version of a record a modal is about ("" when absent); refused when malformed."""
    raw = metadata.get("version")
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str) or not _VERSION.fullmatch(raw):
        raise malformed("version", raw)
    return raw


def optional_metadata_id(metadata: Mapping[str, Any], key: str, *, what: str) -> int | None:
    """A record id from modal metadata, or None when the key is absent or null (e.g. a form for a new record)."""
    raw = metadata.get(key)
    return None if raw is None else parse_id(raw, what=what)


def channel_id(raw: object, *, what: str = "channel") -> str | None:
    """A Slack conversation id (``C…``, ``G…``, ``D…``), or None when absent; refused when malformed."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not is_slack_channel_id(raw):
        raise malformed(f"{what} id", raw)
    return raw


def message_ts(raw: object) -> str | None:
    """A Slack message timestamp (``1700000000.000100``), or None when absent; refused when malformed."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not _TS.fullmatch(raw):
        raise malformed("message ts", raw)
    return raw


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message in Slack: its conversation and ts (a claim when it comes from a payload)."""

    channel_id: str
    message_ts: str

    def as_ref(self) -> dict[str, str]:
        return {"channel_id": self.channel_id, "message_ts": self.message_ts}

    @classmethod
    def of(cls, ref: Mapping[str, Any]) -> MessageRef | None:
        channel, ts = ref.get("channel_id"), ref.get("message_ts")
        return cls(str(channel), str(ts)) if channel and ts else None


def clicked_message(body: Mapping[str, Any]) -> MessageRef | None:
    """The (non-ephemeral) message a button was clicked in, as the payload claims it; None for views and ephemeral
    messages (which cannot be updated). Only for comparing with what the database knows, never to act on."""
    container = body.get("container")
    if not isinstance(container, dict) or container.get("type") != "message" or container.get("is_ephemeral"):
        return None
    try:
        channel, ts = channel_id(container.get("channel_id")), message_ts(container.get("message_ts"))
    except NotAuthorized:
        return None
    return MessageRef(channel, ts) if channel and ts else None


# --- the subjects of buttons: which record a click is about, read one way for every listener ----------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """Where a kind of button carries its record id: the value, and the block id ``"<prefix>:<id>"`` when the
    block is one of ``block_prefixes`` (both are claims; when both are there they must agree)."""

    what: str  # "routing", "question", ... (in refusals: "a malformed routing id")
    block_prefixes: tuple[str, ...] = ()

    def id_in(self, body: Mapping[str, Any]) -> int:
        return clicked_id(body, what=self.what, block_prefixes=self.block_prefixes)

    def version_in(self, body: Mapping[str, Any]) -> Versioned:
        """A decision button about the version of a record staff were shown: the value is ``"<id>:<version>"``
        (the block id, when one of ours, names the same id). A value without a version (a button made before
        versions were shown) gives the version "", which matches none: the service refuses and the message is
        shown again with the current version."""
        action = clicked_action(body)
        raw = action.get("value")
        head, sep, version = raw.partition(":") if isinstance(raw, str) else (raw, "", "")
        if sep and not _VERSION.fullmatch(version):
            raise malformed(f"{self.what} version", raw)
        from_block = next(
            (s for s in (block_id_suffix(action.get("block_id"), p) for p in self.block_prefixes) if s is not None),
            None,
        )
        return Versioned(_agreeing_id(from_block, head, what=self.what), version)


@dataclass(frozen=True, slots=True)
class Versioned:
    """A record id and the version of it a decision is about ("" when the button showed none)."""

    subject_id: int
    version: str


@dataclass(frozen=True, slots=True)
class UserPick:
    """A users_select about a record (forward a routing, assign a question): the record and the chosen person."""

    subject_id: int
    user_id: str


def picked_user(body: Mapping[str, Any], subject: Subject) -> UserPick:
    """The record a users_select is about (its block id) and the user chosen (a Slack user id; refused otherwise)."""
    chosen = clicked_action(body).get("selected_user")
    if not isinstance(chosen, str) or not is_slack_user_id(chosen):
        raise malformed("selected user", chosen)
    return UserPick(subject.id_in(body), chosen)


def assign_anyway(body: Mapping[str, Any]) -> UserPick:
    """Staff's "assign anyway" after they were told the person they chose is away: the value is
    ``"<question id>:<user id>"`` (the block id, when one of ours, names the same question)."""
    action = clicked_action(body)
    raw = action.get("value")
    head, sep, user = raw.partition(":") if isinstance(raw, str) else ("", "", "")
    if not sep or not is_slack_user_id(user):
        raise malformed("selected user", raw)
    from_block = block_id_suffix(action.get("block_id"), ids.BLOCK_TRIAGE_ACTIONS)
    return UserPick(_agreeing_id(from_block, head, what=TRIAGE.what), user)


def picked_date(body: Mapping[str, Any]) -> date:
    """The date a datepicker was set to (refused when it is not a date)."""
    raw = clicked_action(body).get("selected_date")
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise malformed("date", raw) from None


def own_user(body: Mapping[str, Any]) -> str:
    """The Slack user id a "forget me" button carries (refused when it is not one); whether it is the clicker's
    own is checked by the service from the record."""
    raw = clicked_action(body).get("value")
    if not isinstance(raw, str) or not is_slack_user_id(raw):
        raise malformed("user", raw)
    return raw


def rating(body: Mapping[str, Any], *, prefix: str) -> int:
    """The stars of a rating button: its action id is ``<prefix><1..5>``."""
    raw = str(clicked_action(body).get("action_id") or "")[len(prefix) :]
    if raw not in {"1", "2", "3", "4", "5"}:
        raise malformed("rating", raw)
    return int(raw)


@dataclass(frozen=True, slots=True)
class Rating:
    question_id: int
    stars: int


# The subjects wieweet's buttons carry (one definition each, used by the listener declarations).
SEARCH = Subject("search log")  # buttons on a "who knows" answer
QUESTION = Subject("question", ids.ASKER_BLOCKS)  # the asker's buttons
ROUTING = Subject("routing", (ids.BLOCK_ROUTING_ACTIONS,))  # the expert's buttons
TRIAGE = Subject("question", (ids.BLOCK_TRIAGE_ACTIONS,))  # staff triage
EXPERT = Subject("expert")  # Home tab, consent DM, staff review and overview
PRACTICE = Subject("practice", ids.PRACTICE_BLOCKS)  # staff review, cards, the submitter's edit button
OPEN_QUESTION = Subject("question")  # "Ik kan helpen" in a digest
PROPOSAL = Subject("work session proposal", (ids.BLOCK_NEEDS_PROPOSAL,))  # staff's buttons on a proposal
NEEDS_TOPIC = Subject("topic", (ids.BLOCK_EXPERTISE_REQUEST,))  # "add to my profile" in a recruiting DM


def rated(body: Mapping[str, Any]) -> Rating:
    """A rating button: the question (value and block id) and the stars (its action id)."""
    return Rating(QUESTION.id_in(body), rating(body, prefix=ids.ACTION_RATE_PREFIX))
