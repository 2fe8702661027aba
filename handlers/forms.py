"""Submitted modals as typed forms: each read once from the view's state and private_metadata, by the listener
wrapper, before the handler runs (``listener(..., form=AskForm)``).

The values are what the user typed (plain text, validated by the services); the ids in the metadata are claims,
checked for their form here (``handlers.claims``) and for this user by the service the handler calls. A form that
cannot have come from a modal wieweet made (malformed metadata, an option it never offered) is refused on the form
(``ERROR_BLOCK``) before anything is read from the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Protocol, Self

from bot.i18n import DEFAULT_LANGUAGE, t
from handlers import claims, ids
from storage.models import Visibility


class Form(Protocol):
    ERROR_BLOCK: ClassVar[str]  # where a refusal of the whole form is shown

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self: ...


@dataclass(frozen=True, slots=True)
class Draft:
    """What a check of a submitted form before its ack may use: nothing that waits (no database, no Slack call)."""

    lang: str  # the user's language as known in this process (else the default)
    today: date  # the network's local day (``Settings.timezone``)
    user_id: str | None


def required(block: str, text: str, draft: Draft) -> dict[str, str]:
    """The check of a field that must not be empty: its error, or none."""
    return {} if text.strip() else {block: t("field.missing", draft.lang)}


State = Mapping[str, Any]  # a view's ``state.values``: block id -> action id -> the input's value


def state_values(body: Mapping[str, Any]) -> State:
    """A submitted view's input values (``{}`` when there are none)."""
    view = body.get("view")
    values = (view.get("state") or {}).get("values") if isinstance(view, dict) else None
    return values if isinstance(values, dict) else {}


def state_value(values: State, block: str, action: str) -> dict[str, Any]:
    """The submitted value of one input (``{}`` when absent)."""
    entry = (values.get(block) or {}).get(action)
    return dict(entry) if isinstance(entry, dict) else {}


def typed_inputs(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the user typed into a submitted view's text inputs, as (the field's label, the text), in the order of
    the form: quoted back to them when the form can no longer be shown (so nothing typed is lost)."""
    view = body.get("view")
    blocks = view.get("blocks") if isinstance(view, dict) else None
    values = state_values(body)
    typed: list[tuple[str, str]] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        entries = values.get(str(block.get("block_id")))
        label = block.get("label")
        name = str(label.get("text") or "") if isinstance(label, dict) else ""
        for entry in entries.values() if isinstance(entries, dict) else []:
            text = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(text, str) and text.strip():
                typed.append((name, text))
    return typed


def text_value(values: State, block: str, action: str) -> str:
    return str(state_value(values, block, action).get("value") or "")


def selected(values: State, block: str, action: str) -> str | None:
    option = state_value(values, block, action).get("selected_option") or {}
    value = option.get("value") if isinstance(option, dict) else None
    return str(value) if value is not None else None


def selected_all(values: State, block: str, action: str) -> list[str]:
    options = state_value(values, block, action).get("selected_options") or []
    return [str(o.get("value")) for o in options if isinstance(o, dict)]


# --- question routing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskForm:
    """The "ask an expert" modal."""

    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_ASK_TEXT
    text: str
    context: str
    theme: str | None
    desired_by: date | None
    visibility: Visibility
    channel_id: str | None  # where it was asked (a claim: privacy and membership come from Slack)
    thread_ts: str | None

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        raw_visibility = selected(values, ids.BLOCK_ASK_VISIBILITY, ids.INPUT_ASK_VISIBILITY) or Visibility.PUBLIC.value
        raw_date = state_value(values, ids.BLOCK_ASK_DATE, ids.INPUT_ASK_DATE).get("selected_date")
        metadata = claims.view_metadata(body)
        try:
            visibility = Visibility(raw_visibility)
            desired = date.fromisoformat(str(raw_date)) if raw_date else None
        except ValueError:
            raise claims.malformed("question form value", raw_visibility) from None
        return cls(
            text=text_value(values, ids.BLOCK_ASK_TEXT, ids.INPUT_ASK_TEXT).strip(),
            context=text_value(values, ids.BLOCK_ASK_CONTEXT, ids.INPUT_ASK_CONTEXT),
            theme=selected(values, ids.BLOCK_ASK_THEME, ids.INPUT_ASK_THEME),
            desired_by=desired,
            visibility=visibility,
            channel_id=claims.channel_id(metadata.get("channel_id")),
            thread_ts=claims.message_ts(metadata.get("thread_ts")),
        )


@dataclass(frozen=True, slots=True)
class AddInfoForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_ADD_INFO
    question_id: int
    text: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        return cls(
            question_id=claims.metadata_id(claims.view_metadata(body), "question_id", what="question"),
            text=text_value(values, ids.BLOCK_ADD_INFO, ids.INPUT_ADD_INFO).strip(),
        )


@dataclass(frozen=True, slots=True)
class DeclineForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_DECLINE_REASON
    routing_id: int
    reason: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        return cls(
            routing_id=claims.metadata_id(claims.view_metadata(body), "routing_id", what="routing"),
            reason=text_value(values, ids.BLOCK_DECLINE_REASON, ids.INPUT_DECLINE_REASON),
        )


@dataclass(frozen=True, slots=True)
class AnswerForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_ANSWER_TEXT
    routing_id: int
    text: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        return cls(
            routing_id=claims.metadata_id(claims.view_metadata(body), "routing_id", what="routing"),
            text=text_value(values, ids.BLOCK_ANSWER_TEXT, ids.INPUT_ANSWER_TEXT).strip(),
        )


@dataclass(frozen=True, slots=True)
class TriageCloseForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_TRIAGE_NOTE
    question_id: int
    note: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        return cls(
            question_id=claims.metadata_id(claims.view_metadata(body), "question_id", what="question"),
            note=text_value(values, ids.BLOCK_TRIAGE_NOTE, ids.INPUT_TRIAGE_NOTE),
        )


# --- self-service: profiles and practices --------------------------------------------------------------------------


def _topic_lines(values: State, block: str, action: str) -> str:
    """A multi-line list input: one topic per line or separated by ``;`` (the register's list syntax)."""
    return "; ".join(line for line in text_value(values, block, action).splitlines() if line.strip())


def read_profile_form(values: State) -> dict[str, str]:
    """The profile modal's values as the validation's raw texts (themes and lists joined with ``;``)."""
    form: dict[str, str] = {}
    for name in ids.PROFILE_FIELDS:
        block, action = ids.profile_block(name), ids.profile_input(name)
        if name == "themes":
            form[name] = "; ".join(selected_all(values, block, action))
        elif name == "expertise":
            form[name] = _topic_lines(values, block, action)
        else:
            form[name] = text_value(values, block, action)
    return form


def read_practice_form(values: State) -> dict[str, str]:
    """The practice modal's values as the validation's raw texts (themes joined with ``;``)."""
    form: dict[str, str] = {}
    for name in ids.PRACTICE_FIELDS:
        block, action = ids.practice_block(name), ids.practice_input(name)
        if name == "themes":
            form[name] = "; ".join(selected_all(values, block, action))
        elif name == "outcome":
            form[name] = selected(values, block, action) or ""
        else:
            form[name] = text_value(values, block, action)
    return form


def kept_fields(metadata: Mapping[str, Any], fields: Collection[str]) -> frozenset[str]:
    """The metadata's ``keep``: fields a register form left out as too long for it (only known field names; a
    forged one can only keep a stored value)."""
    raw = metadata.get("keep")
    return frozenset(k for k in raw if isinstance(k, str) and k in fields) if isinstance(raw, list) else frozenset()


@dataclass(frozen=True, slots=True)
class ProfileForm:
    ERROR_BLOCK: ClassVar[str] = ids.profile_block("name")
    expert_id: int | None  # None: joining
    values: dict[str, str]
    channel_id: str | None  # where the form was opened: only for a notice to the submitter themselves
    keep: frozenset[str] = frozenset()  # fields too long for the form, left out of it: kept as stored
    add_expertise: str = ""  # topics to append to the expertise (the input shown when it is kept)

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        metadata = claims.view_metadata(body)
        keep = kept_fields(metadata, ids.PROFILE_FIELDS)
        read = read_profile_form(values)
        return cls(
            expert_id=claims.optional_metadata_id(metadata, "expert_id", what="expert"),
            values={name: value for name, value in read.items() if name not in keep},
            channel_id=claims.channel_id(metadata.get("channel_id")),
            keep=keep,
            add_expertise=_topic_lines(values, ids.BLOCK_PROFILE_ADD_EXPERTISE, ids.INPUT_PROFILE_ADD_EXPERTISE),
        )


@dataclass(frozen=True, slots=True)
class ProfileRejectForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_PROFILE_REJECT_REASON
    expert_id: int
    version: str  # the version of the profile staff were shown ("" from a modal opened before versions)
    reason: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        metadata = claims.view_metadata(body)
        return cls(
            expert_id=claims.metadata_id(metadata, "expert_id", what="expert"),
            version=claims.metadata_version(metadata),
            reason=text_value(values, ids.BLOCK_PROFILE_REJECT_REASON, ids.INPUT_PROFILE_REJECT_REASON).strip(),
        )


@dataclass(frozen=True, slots=True)
class PracticeForm:
    ERROR_BLOCK: ClassVar[str] = ids.practice_block("title")
    practice_id: int | None  # None: a new submission
    values: dict[str, str]
    keep: frozenset[str] = frozenset()  # fields too long for the form, left out of it: kept as stored

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        metadata = claims.view_metadata(body)
        keep = kept_fields(metadata, ids.PRACTICE_FIELDS)
        read = read_practice_form(values)
        return cls(
            practice_id=claims.optional_metadata_id(metadata, "practice_id", what="practice"),
            values={name: value for name, value in read.items() if name not in keep},
            keep=keep,
        )


@dataclass(frozen=True, slots=True)
class PracticeRejectForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_PRACTICE_REJECT_REASON
    practice_id: int
    version: str  # the version of the practice staff were shown ("" from a modal opened before versions)
    reason: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        metadata = claims.view_metadata(body)
        return cls(
            practice_id=claims.metadata_id(metadata, "practice_id", what="practice"),
            version=claims.metadata_version(metadata),
            reason=text_value(values, ids.BLOCK_PRACTICE_REJECT_REASON, ids.INPUT_PRACTICE_REJECT_REASON).strip(),
        )


# --- digests -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestForm:
    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_DIGEST_THEMES
    channel_id: str  # a claim: its members and staff only, by Slack's data
    themes: list[str]
    day: str
    time: str
    language: str
    post_empty: bool

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        channel = claims.channel_id(claims.view_metadata(body).get("channel_id"))
        if channel is None:
            raise claims.malformed("digest channel", None)
        raw_time = state_value(values, ids.BLOCK_DIGEST_TIME, ids.INPUT_DIGEST_TIME).get("selected_time")
        return cls(
            channel_id=channel,
            themes=selected_all(values, ids.BLOCK_DIGEST_THEMES, ids.INPUT_DIGEST_THEMES),
            day=selected(values, ids.BLOCK_DIGEST_DAY, ids.INPUT_DIGEST_DAY) or "mon",
            time=str(raw_time or "09:00"),
            language=selected(values, ids.BLOCK_DIGEST_LANG, ids.INPUT_DIGEST_LANG) or DEFAULT_LANGUAGE,
            post_empty=bool(selected_all(values, ids.BLOCK_DIGEST_EMPTY, ids.INPUT_DIGEST_EMPTY)),
        )


# --- knowledge needs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeedsInviteForm:
    """Invite a proposed work session's people: to a picked channel, or to a new one with this name."""

    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_NEEDS_CHANNEL_NAME
    proposal_id: int
    channel_id: str | None  # a claim: wieweet must be in it (Slack says so when inviting)
    channel_name: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        picked = state_value(values, ids.BLOCK_NEEDS_CHANNEL, ids.INPUT_NEEDS_CHANNEL).get("selected_conversation")
        return cls(
            proposal_id=claims.metadata_id(claims.view_metadata(body), "proposal_id", what="work session proposal"),
            channel_id=claims.channel_id(picked),
            channel_name=text_value(values, ids.BLOCK_NEEDS_CHANNEL_NAME, ids.INPUT_NEEDS_CHANNEL_NAME).strip(),
        )


@dataclass(frozen=True, slots=True)
class NeedsDoneForm:
    """A work session took place: the link to its notes (and an optional summary) become a practice."""

    ERROR_BLOCK: ClassVar[str] = ids.BLOCK_NEEDS_NOTES
    proposal_id: int
    notes_url: str
    summary: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        values = state_values(body)
        return cls(
            proposal_id=claims.metadata_id(claims.view_metadata(body), "proposal_id", what="work session proposal"),
            notes_url=text_value(values, ids.BLOCK_NEEDS_NOTES, ids.INPUT_NEEDS_NOTES).strip(),
            summary=text_value(values, ids.BLOCK_NEEDS_SUMMARY, ids.INPUT_NEEDS_SUMMARY).strip(),
        )
