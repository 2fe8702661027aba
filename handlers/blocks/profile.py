"""Pure Block Kit builders for expert self-service: the profile modal, the Home tab, consent DMs, staff views.

Builders take plain values (``ProfileCard``, ``HomeData``, typed outbox payloads) and a language and return typed blocks
(``slack_sdk.models``), which check Slack's limits. Every text from the register or a user is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.error_texts import field_error_text
from bot.i18n import N_, format_number, format_stored_date, local_day, t, theme_label
from bot.outbox import (
    ConsentRequest,
    ConsentRequestKind,
    ProfilePart,
    ProfileReview,
    SubmissionOutcome,
    SubmissionOutcomeKind,
)
from bot.register.profile_decisions import removable
from bot.register.profiles import append_expertise, profile_version
from bot.register.validation import MAX_LENGTH, FieldError, split_list
from handlers import ids
from handlers.blocks.modals import TextModal, build_text_modal
from handlers.kit import (
    LABEL_LIMIT,
    MAX_BLOCKS,
    MAX_OPTIONS,
    OPTION_TEXT_LIMIT,
    Rendered,
    ThemeChoice,
    button,
    context,
    danger_button,
    escape_truncate,
    fallback,
    header,
    modal,
    plain,
    section,
    user_mention,
)
from storage.models import Expert, RecordStatus

MULTILINE_FIELDS = frozenset({"expertise", "bio"})
FIELD_MAX = {"expertise": 3000, "bio": 3000, "languages": 100}


@dataclass(frozen=True, slots=True)
class ProfileCard:
    expert_id: int
    name: str
    email: str
    organisation: str
    city: str = ""
    role: str = ""
    expertise: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()  # labels in the reader's language
    languages: tuple[str, ...] = ()
    availability: str = "available"  # available | away | opted_out
    away_until: str | None = None
    consent: str = "confirmed"  # pending | confirmed | withdrawn
    last_confirmed: str | None = None
    stale: bool = False
    pending_approval: bool = False
    rejected: bool = False  # staff rejected it (kept: its owner had stopped): not listed until filled in again
    slack_user_id: str | None = None
    version: str = ""  # ``profiles.review_version``: what staff approve or reject from the card
    removable: bool = True  # ``profile_decisions.removable``: not someone who withdrew or opted out (erased instead)


@dataclass(frozen=True, slots=True)
class AdminData:
    stale: Sequence[ProfileCard] = ()
    pending: Sequence[ProfileCard] = ()
    extra_blocks: Sequence[Block] = field(default_factory=tuple)  # other registers' pending items (practices)
    queue_blocks: Sequence[Block] = field(default_factory=tuple)  # questions held back (the Home tab's list)


def profile_card(
    expert: Expert, lang: str, *, stale: bool, tz: tzinfo | None = None, submission: str = ""
) -> ProfileCard:
    """An expert as the builders show them (theme labels in ``lang``; ``stale``: needs re-confirming; the day of the
    last confirmation local, in ``tz``; ``submission``: the stamp of the submission waiting for review,
    ``profile_reviews.current_submission``, which its Approve and Reject name)."""
    return ProfileCard(
        expert_id=expert.id,
        name=expert.name,
        email=expert.email,
        organisation=expert.organisation,
        city=expert.city,
        role=expert.role,
        expertise=tuple(expert.expertise),
        themes=tuple(theme_label(th, lang) for th in expert.themes),
        languages=tuple(expert.languages),
        availability=expert.availability.value,
        away_until=expert.away_until.isoformat() if expert.away_until else None,
        consent=expert.consent.value,
        last_confirmed=local_day(expert.last_confirmed_at, tz).isoformat() if expert.last_confirmed_at else None,
        stale=stale,
        pending_approval=expert.status is RecordStatus.PENDING,
        rejected=expert.status is RecordStatus.REJECTED,
        slack_user_id=expert.slack_user_id,
        version=profile_version(expert) + submission,
        removable=removable(expert),
    )


# --- the profile modal -----------------------------------------------------------------------------------------------


def build_profile_modal(
    lang: str,
    *,
    values: Mapping[str, str],
    themes: Sequence[ThemeChoice],
    expert_id: int | None,
    joining: bool,
    channel_id: str | None = None,
    add_expertise: str = "",
) -> View:
    """The profile form with the register's fields; ``values`` are raw texts (lists joined with ``;``).

    A stored text longer than its input takes (Slack's 3,000 characters; e.g. expertise imported from a file) is
    not offered cut, which would lose its end on save: the field is left out with a note, named in the metadata's
    ``keep``, and saving keeps it as stored. ``add_expertise`` (topics a command brought) is appended to the
    expertise input when the sum fits in it; when it does not, or the expertise is kept, an input "expertise to
    add" below (pre-filled with them) takes topics the save appends to the expertise, so nothing typed is lost."""
    blocks: list[Block] = []
    kept: list[str] = []
    if joining:
        blocks.append(section(t("profile.join_intro", lang)))
    for name in ids.PROFILE_FIELDS:
        field_blocks, is_kept = _field_blocks(
            lang, name, values=values, themes=themes, expert_id=expert_id, add_expertise=add_expertise
        )
        blocks += field_blocks
        if is_kept:
            kept.append(name)
    title = t("profile.join_title" if joining else "profile.edit_title", lang)
    metadata: dict[str, object] = {"expert_id": expert_id}
    if channel_id is not None:  # where it was opened: the submitter's notice goes there
        metadata["channel_id"] = channel_id
    if kept:
        metadata["keep"] = kept
    return modal(ids.VIEW_PROFILE, title, t("profile.save", lang), lang, blocks, metadata)


def _field_blocks(
    lang: str,
    name: str,
    *,
    values: Mapping[str, str],
    themes: Sequence[ThemeChoice],
    expert_id: int | None,
    add_expertise: str,
) -> tuple[list[Block], bool]:
    """One field's blocks, and whether it is kept as stored (too long for the form: left out, with a note)."""
    if name == "themes":
        if not themes:
            return [], False
        options = [Option(value=c.key, text=plain(c.label, OPTION_TEXT_LIMIT)) for c in themes[:MAX_OPTIONS]]
        chosen = {v.strip() for v in (values.get("themes") or "").split(";")}
        initial = [o for o in options if o.value in chosen] or None
        select = StaticMultiSelectElement(action_id=ids.profile_input(name), options=options, initial_options=initial)
        return [_field_input(lang, name, select)], False
    initial_value = (values.get(name) or "").strip()
    limit = FIELD_MAX.get(name, MAX_LENGTH.get(name, 3000))
    if len(initial_value) > limit and expert_id is not None:  # stored: never cut, kept as it is
        label, length, most = (
            t(LABEL_KEYS[name], lang),
            format_number(len(initial_value), lang),
            format_number(limit, lang),
        )
        if name == "expertise":  # topics can still be added: the input below
            note = t("profile.field_kept_add", lang, field=label, length=length, limit=most)
            return [section(note), _add_expertise_block(lang, add_expertise)], True
        return [section(t("profile.field_kept", lang, field=label, length=length, limit=most))], True
    adding = name == "expertise" and bool(split_list(add_expertise))
    if adding:
        combined = append_expertise(initial_value, add_expertise)
        if len(combined) <= limit or expert_id is None:  # joining: typed, not stored (the form checks it)
            initial_value, adding = combined, False
    element = PlainTextInputElement(
        action_id=ids.profile_input(name),
        multiline=name in MULTILINE_FIELDS,
        initial_value=initial_value[:limit] or None,
        max_length=limit,
    )
    blocks: list[Block] = [_field_input(lang, name, element)]
    if adding:  # the stored expertise fits but not with the topics brought: those go below, not cut off
        blocks.append(_add_expertise_block(lang, add_expertise))
    return blocks, False


def _field_input(lang: str, name: str, element: Any) -> InputBlock:
    return InputBlock(
        block_id=ids.profile_block(name),
        label=plain(t(LABEL_KEYS[name], lang), LABEL_LIMIT),
        hint=plain(t(HINT_KEYS[name], lang), LABEL_LIMIT) if name in HINT_KEYS else None,
        element=element,
        optional=name not in ("name", "email", "organisation"),
    )


def _add_expertise_block(lang: str, add_expertise: str) -> InputBlock:
    """The input whose topics the save appends to the (kept) expertise; pre-filled with those a command brought."""
    initial = "\n".join(split_list(add_expertise))[: FIELD_MAX["expertise"]]
    return InputBlock(
        block_id=ids.BLOCK_PROFILE_ADD_EXPERTISE,
        label=plain(t("profile.field_add_expertise", lang), LABEL_LIMIT),
        hint=plain(t("profile.hint_add_expertise", lang), LABEL_LIMIT),
        element=PlainTextInputElement(
            action_id=ids.INPUT_PROFILE_ADD_EXPERTISE,
            multiline=True,
            initial_value=initial or None,
            max_length=FIELD_MAX["expertise"],
        ),
        optional=True,
    )


LABEL_KEYS = {  # one per ids.PROFILE_FIELDS
    "name": N_("profile.field_name"),
    "email": N_("profile.field_email"),
    "organisation": N_("profile.field_organisation"),
    "city": N_("profile.field_city"),
    "role": N_("profile.field_role"),
    "expertise": N_("profile.field_expertise"),
    "themes": N_("profile.field_themes"),
    "languages": N_("profile.field_languages"),
    "bio": N_("profile.field_bio"),
}
HINT_KEYS = {
    "expertise": N_("profile.hint_expertise"),
    "languages": N_("profile.hint_languages"),
    "email": N_("profile.hint_email"),
}


def read_profile_form(state_values: Mapping[str, Any]) -> dict[str, str]:
    """The submitted modal's values as the validation's raw texts (themes and lists joined with ``;``)."""
    values: dict[str, str] = {}
    for name in ids.PROFILE_FIELDS:
        entry = (state_values.get(ids.profile_block(name)) or {}).get(ids.profile_input(name)) or {}
        if name == "themes":
            values[name] = "; ".join(str(o.get("value")) for o in entry.get("selected_options") or [])
        elif name == "expertise":
            # one topic per line or separated by ; — the register's list syntax
            values[name] = "; ".join(line for line in str(entry.get("value") or "").splitlines() if line.strip())
        else:
            values[name] = str(entry.get("value") or "")
    return values


def field_errors(errors: Sequence[FieldError], lang: str, *, kept: Collection[str] = ()) -> dict[str, str]:
    """Inline modal errors: block id -> message in the reader's language (with the suggestion, if any). An error on
    a kept expertise (the topics appended to it) is shown on the input "expertise to add"."""
    result: dict[str, str] = {}
    for error in errors:
        if error.column == "expertise" and "expertise" in kept:
            block = ids.BLOCK_PROFILE_ADD_EXPERTISE
        else:
            block = ids.profile_block(
                error.column if error.column in ids.PROFILE_FIELDS and error.column not in kept else "name"
            )
        text = field_error_text(error, lang)
        result[block] = (result[block] + " " + text) if block in result else text
    return {block: message[:2000] for block, message in result.items()}


REJECT_PROFILE_MODAL = TextModal(
    ids.VIEW_PROFILE_REJECT,
    ids.BLOCK_PROFILE_REJECT_REASON,
    ids.INPUT_PROFILE_REJECT_REASON,
    N_("profile.reject_title"),
    N_("profile.btn_reject"),
    N_("profile.field_reject_reason"),
)


def build_reject_profile_modal(lang: str, *, expert_id: int, version: str, metadata: Mapping[str, Any]) -> View:
    meta = {**metadata, "expert_id": expert_id, "version": version}  # the version of the profile staff were shown
    return build_text_modal(REJECT_PROFILE_MODAL, lang, metadata=meta)


# --- a profile, as text --------------------------------------------------------------------------------------------


def availability_text(card: ProfileCard, lang: str) -> str:
    if card.availability == "away":
        if not card.away_until:  # until they say otherwise (e.g. marked away when Slack could not reach them)
            return t("profile.away", lang)
        return t("profile.away_until", lang, date=format_stored_date(card.away_until, lang))
    if card.availability == "opted_out":
        return t("profile.opted_out", lang)
    return t("profile.available", lang)


def confirmation_text(card: ProfileCard, lang: str) -> str:
    if card.consent == "pending":
        return t("profile.never_confirmed", lang)
    if card.consent == "withdrawn":
        return t("profile.withdrawn", lang)
    if card.last_confirmed is None:
        return t("profile.confirmed_no_date", lang)
    key = N_("profile.confirmed_stale") if card.stale else N_("profile.confirmed_on")
    return t(key, lang, date=format_stored_date(card.last_confirmed, lang))


def profile_text(card: ProfileCard, lang: str) -> str:
    who = f"*{escape_truncate(card.name, 150)}*"
    mention = user_mention(card.slack_user_id)
    if mention:
        who += f" ({mention})"
    org = ", ".join(escape_truncate(x, 150) for x in (card.role, card.organisation, card.city) if x)
    lines = [who + (f"\n{org}" if org else "")]
    if card.expertise:
        lines.append(f"*{t('profile.field_expertise', lang)}:* " + escape_truncate(", ".join(card.expertise), 900))
    if card.themes:
        lines.append(f"*{t('profile.field_themes', lang)}:* " + escape_truncate(", ".join(card.themes), 500))
    if card.languages:
        lines.append(f"*{t('profile.field_languages', lang)}:* " + escape_truncate(", ".join(card.languages), 100))
    if card.rejected:  # never shown or asked: its availability and confirmation do not count
        lines.append(t("profile.rejected", lang))
    else:
        lines.append(f"{availability_text(card, lang)} · {confirmation_text(card, lang)}")
    if card.pending_approval:
        lines.append(t("profile.pending_approval", lang))
    return "\n".join(lines)


# --- messages ------------------------------------------------------------------------------------------------------


def _card_from_payload(payload: ProfilePart, *, consent: str, show_user: bool = False) -> ProfileCard:
    return ProfileCard(
        expert_id=payload.expert_id,
        name=payload.name,
        email=payload.email,
        organisation=payload.organisation,
        city=payload.city,
        role=payload.role,
        expertise=payload.expertise,
        themes=payload.themes,
        last_confirmed=payload.last_confirmed,
        consent=consent,
        slack_user_id=payload.slack_user_id or None if show_user else None,
    )


def build_consent_request(payload: ConsentRequest, lang: str) -> Rendered:
    """DM: please confirm (or re-confirm) your listing, with confirm / edit / remove-me buttons."""
    initial = payload.request is ConsentRequestKind.INITIAL
    card = _card_from_payload(payload, consent="pending" if initial else "confirmed")
    intro_key = N_("profile.consent_initial") if initial else N_("profile.consent_reconfirm")
    intro = t(intro_key, lang, date=format_stored_date(card.last_confirmed, lang) or "?")
    blocks: list[Block] = [section(intro), section(profile_text(card, lang)), consent_actions(card.expert_id, lang)]
    return Rendered(text=fallback(intro), blocks=blocks)


def consent_actions(expert_id: int, lang: str) -> ActionsBlock:
    value = str(expert_id)
    withdraw = danger_button(
        t("profile.btn_withdraw", lang),
        ids.ACTION_CONSENT_WITHDRAW,
        value,
        title=t("profile.withdraw_confirm_title", lang),
        text=t("profile.withdraw_confirm_text", lang),
        deny=t("routing.modal_close", lang),
    )
    return ActionsBlock(
        block_id=ids.block_id(ids.BLOCK_CONSENT, expert_id),
        elements=[
            button(t("profile.btn_confirm", lang), ids.ACTION_CONSENT_CONFIRM, value, style="primary"),
            button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, value),
            withdraw,
        ],
    )


def build_consent_done(text: str) -> list[Block]:
    return [section(text)]


def build_profile_review(payload: ProfileReview, lang: str, *, status: str | None = None) -> Rendered:
    """To staff: a new profile waits for approval; Approve and Reject decide on this version; ``status`` above them."""
    card = _card_from_payload(payload, consent="confirmed", show_user=True)
    intro = t("profile.review_intro", lang)
    value = ids.versioned_value(card.expert_id, payload.version)
    blocks: list[Block] = [section(intro), section(profile_text(card, lang))]
    if status:
        blocks.append(context(status))
    blocks.append(
        ActionsBlock(
            block_id=ids.block_id(ids.BLOCK_PROFILE_REVIEW, card.expert_id),
            elements=[
                button(t("profile.btn_approve", lang), ids.ACTION_PROFILE_APPROVE, value, style="primary"),
                button(t("profile.btn_reject", lang), ids.ACTION_PROFILE_REJECT, value, style="danger"),
            ],
        )
    )
    return Rendered(text=fallback(intro), blocks=blocks)


def build_review_done(payload: ProfileReview, lang: str, *, status: str) -> Rendered:
    """The staff message after a decision: the profile and who decided, no buttons."""
    rendered = build_profile_review(payload, lang)
    return Rendered(text=rendered.text, blocks=[*rendered.blocks[:2], context(status)])


# --- staff overview -----------------------------------------------------------------------------------------------


def expert_card_blocks(card: ProfileCard, lang: str) -> list[Block]:
    """One expert with the staff's buttons: edit, remove (with confirmation; not for someone who withdrew or opted
    out, whom erasure removes: ``ProfileCard.removable``)."""
    value = str(card.expert_id)
    remove = danger_button(
        t("profile.btn_remove", lang),
        ids.ACTION_EXPERT_REMOVE,
        value,
        title=t("profile.remove_confirm_title", lang),
        text=t("profile.remove_confirm_text", lang, name=escape_truncate(card.name, 150)),
        deny=t("routing.modal_close", lang),
    )
    buttons: list[Any] = [button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, value)]
    if card.pending_approval:
        decide = ids.versioned_value(card.expert_id, card.version)
        buttons.insert(0, button(t("profile.btn_approve", lang), ids.ACTION_PROFILE_APPROVE, decide, style="primary"))
        buttons.insert(1, button(t("profile.btn_reject", lang), ids.ACTION_PROFILE_REJECT, decide))
    if card.removable:
        buttons.append(remove)
    return [
        section(profile_text(card, lang)),
        ActionsBlock(block_id=ids.block_id(ids.BLOCK_EXPERT_CARD, card.expert_id), elements=buttons),
    ]


def build_admin_blocks(data: AdminData, lang: str, *, limit: int = 6) -> list[Block]:
    """``/wieweet beheer``: questions held back (when any), profiles waiting for approval, stale profiles, and
    other pending submissions."""
    blocks: list[Block] = [header(t("profile.admin_title", lang))]
    if data.queue_blocks:
        blocks.extend([*data.queue_blocks, DividerBlock()])
    blocks.append(section(t("profile.admin_pending", lang, count=format_number(len(data.pending), lang))))
    for card in data.pending[:limit]:
        blocks.extend(expert_card_blocks(card, lang))
    blocks.append(DividerBlock())
    blocks.append(section(t("profile.admin_stale", lang, count=format_number(len(data.stale), lang))))
    for card in data.stale[:limit]:
        blocks.extend(expert_card_blocks(card, lang))
    if len(data.stale) > limit:
        blocks.append(context(t("profile.admin_more", lang, count=format_number(len(data.stale) - limit, lang))))
    if data.extra_blocks:
        blocks.append(DividerBlock())
        blocks.extend(data.extra_blocks)
    blocks.append(context(t("profile.admin_hint", lang)))
    return blocks[:MAX_BLOCKS]


# --- outcome of a submission (profile or practice), told to the person who submitted it --------------------------

# the outcome -> text key; each feature adds its own outcomes here
OUTCOME_TEXTS: dict[SubmissionOutcomeKind, str] = {
    SubmissionOutcomeKind.PROFILE_APPROVED: N_("profile.approved_notice"),
    SubmissionOutcomeKind.PROFILE_REJECTED: N_("profile.rejected_notice"),
    SubmissionOutcomeKind.PRACTICE_APPROVED: N_("practice.approved_notice"),
    SubmissionOutcomeKind.PRACTICE_REJECTED: N_("practice.rejected_notice"),
}


def build_submission_outcome(payload: SubmissionOutcome, lang: str) -> Rendered:
    """DM to a submitter: what staff decided (``outcome``), about what (``title``), and why (``note``); or what became
    of a staff member's work-session invitation the bot gave up on."""
    if payload.outcome is SubmissionOutcomeKind.INVITE_GIVEN_UP:
        return _invite_given_up(payload, lang)
    key = OUTCOME_TEXTS[payload.outcome]
    title, note = payload.title[:200], (payload.note or "—")[:2000]
    shown = t(key, lang, title=escape_truncate(title, 200), note=escape_truncate(note, 2000))
    return Rendered(text=fallback(shown), blocks=[section(shown)])


_CHANNEL = re.compile(r"[CG][A-Z0-9]+")


def _invite_given_up(payload: SubmissionOutcome, lang: str) -> Rendered:
    """Nobody was invited, the channel the attempt made archived (when it was), and they can invite again."""
    ref = escape_truncate(payload.ref or "?", 40)
    if _CHANNEL.fullmatch(payload.channel_id):  # the id Slack gave the channel it made (never typed by anyone)
        shown = t("needs.invite_given_up_archived", lang, channel=f"<#{payload.channel_id}>", ref=ref)
    else:
        shown = t("needs.invite_given_up", lang, ref=ref)
    return Rendered(text=fallback(shown), blocks=[section(shown)])
