"""Pure Block Kit builders for expert self-service: the profile modal, the Home tab, consent DMs, staff views.

Builders take plain values (``ProfileCard``, ``HomeData``, typed outbox payloads) and a language and return typed blocks
(``slack_sdk.models``), which check Slack's limits. Every text from the register or a user is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.error_texts import field_error_text
from bot.i18n import N_, t, tn
from bot.mrkdwn import escape_truncate, user_mention
from bot.outbox import ConsentRequest, ConsentRequestKind, ProfilePart, SubmissionOutcome, SubmissionOutcomeKind
from bot.register.validation import MAX_LENGTH, FieldError
from handlers import ids
from handlers.routing_blocks import (
    MAX_BLOCKS,
    MAX_OPTIONS,
    OPTION_TEXT_LIMIT,
    Rendered,
    TextModal,
    ThemeChoice,
    _button,
    _context,
    _danger_button,
    _fallback,
    _header,
    _modal,
    _plain,
    _section,
    build_text_modal,
)

HOME_MAX_BLOCKS = 100
HOME_LIST = 10  # questions shown per list on the Home tab
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
    slack_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class HomeItem:
    text: str
    state: str  # already translated
    date: str


@dataclass(frozen=True, slots=True)
class HomeData:
    profile: ProfileCard | None
    routed: Sequence[HomeItem] = ()
    asked: Sequence[HomeItem] = ()
    is_staff: bool = False
    stale_count: int = 0
    pending_count: int = 0


@dataclass(frozen=True, slots=True)
class AdminData:
    stale: Sequence[ProfileCard] = ()
    pending: Sequence[ProfileCard] = ()
    extra_blocks: Sequence[Block] = field(default_factory=tuple)  # other registers' pending items (practices)


# --- the profile modal -----------------------------------------------------------------------------------------------


def build_profile_modal(
    lang: str,
    *,
    values: Mapping[str, str],
    themes: Sequence[ThemeChoice],
    expert_id: int | None,
    joining: bool,
) -> View:
    """The profile form with the register's fields; ``values`` are raw texts (lists joined with ``;``)."""
    blocks: list[Block] = []
    if joining:
        blocks.append(_section(t("profile.join_intro", lang)))
    for name in ids.PROFILE_FIELDS:
        if name == "themes":
            if not themes:
                continue
            options = [Option(value=c.key, text=_plain(c.label, OPTION_TEXT_LIMIT)) for c in themes[:MAX_OPTIONS]]
            chosen = {v.strip() for v in (values.get("themes") or "").split(";")}
            initial = [o for o in options if o.value in chosen] or None
            element: Any = StaticMultiSelectElement(
                action_id=ids.profile_input(name), options=options, initial_options=initial
            )
        else:
            initial_value = (values.get(name) or "").strip()
            element = PlainTextInputElement(
                action_id=ids.profile_input(name),
                multiline=name in MULTILINE_FIELDS,
                initial_value=initial_value[: FIELD_MAX.get(name, MAX_LENGTH.get(name, 3000))] or None,
                max_length=FIELD_MAX.get(name, MAX_LENGTH.get(name, 3000)),
            )
        blocks.append(
            InputBlock(
                block_id=ids.profile_block(name),
                label=_plain(t(LABEL_KEYS[name], lang), 2000),
                hint=_plain(t(HINT_KEYS[name], lang), 2000) if name in HINT_KEYS else None,
                element=element,
                optional=name not in ("name", "email", "organisation"),
            )
        )
    title = t("profile.join_title" if joining else "profile.edit_title", lang)
    return _modal(ids.VIEW_PROFILE, title, t("profile.save", lang), lang, blocks, json.dumps({"expert_id": expert_id}))


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


def field_errors(errors: Sequence[FieldError], lang: str) -> dict[str, str]:
    """Inline modal errors: block id -> message in the reader's language (with the suggestion, if any)."""
    result: dict[str, str] = {}
    for error in errors:
        block = ids.profile_block(error.column if error.column in ids.PROFILE_FIELDS else "name")
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


def build_reject_profile_modal(lang: str, *, expert_id: int, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(REJECT_PROFILE_MODAL, lang, metadata={**metadata, "expert_id": expert_id})


# --- a profile, as text --------------------------------------------------------------------------------------------


def availability_text(card: ProfileCard, lang: str) -> str:
    if card.availability == "away":
        return t("profile.away_until", lang, date=card.away_until or "?")
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
    return t(key, lang, date=card.last_confirmed)


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
    lines.append(f"{availability_text(card, lang)} · {confirmation_text(card, lang)}")
    if card.pending_approval:
        lines.append(t("profile.pending_approval", lang))
    return "\n".join(lines)


# --- the Home tab ----------------------------------------------------------------------------------------------------


def _items(items: Sequence[HomeItem], empty: str) -> list[Block]:
    if not items:
        return [_context(empty)]
    return [
        _section(f"{escape_truncate(item.text, 280)}\n_{escape_truncate(item.state, 80)}_ · {item.date}")
        for item in items[:HOME_LIST]
    ]


def build_home_view(data: HomeData, lang: str) -> View:
    """The bot's Home tab: your profile and its buttons, questions routed to you, questions you asked."""
    blocks: list[Block] = [_header(t("profile.home_title", lang))]
    card = data.profile
    if card is None or card.consent == "withdrawn":
        blocks.append(_section(t("profile.home_not_expert", lang)))
        blocks.append(
            ActionsBlock(
                block_id=ids.BLOCK_HOME_PROFILE_ACTIONS,
                elements=[_button(t("profile.btn_join", lang), ids.ACTION_PROFILE_JOIN, "join", style="primary")],
            )
        )
    else:
        blocks.append(_section(profile_text(card, lang)))
        value = str(card.expert_id)
        buttons: list[Any] = [_button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, value)]
        if card.consent == "pending" or card.stale:
            buttons.insert(
                0, _button(t("profile.btn_confirm", lang), ids.ACTION_CONSENT_CONFIRM, value, style="primary")
            )
        buttons.append(
            DatePickerElement(
                action_id=ids.ACTION_HOME_AWAY,
                placeholder=_plain(t("profile.btn_away", lang)),
                initial_date=card.away_until if card.availability == "away" else None,
            )
        )
        if card.availability != "available":
            buttons.append(_button(t("profile.btn_available", lang), ids.ACTION_HOME_AVAILABLE, value))
        else:
            buttons.append(_button(t("profile.btn_opt_out", lang), ids.ACTION_HOME_OPT_OUT, value, style="danger"))
        blocks.append(ActionsBlock(block_id=ids.BLOCK_HOME_PROFILE_ACTIONS, elements=buttons))
    blocks.append(DividerBlock())
    blocks.append(_header(t("profile.home_routed", lang)))
    blocks.extend(_items(data.routed, t("profile.home_routed_none", lang)))
    blocks.append(DividerBlock())
    blocks.append(_header(t("profile.home_asked", lang)))
    blocks.extend(_items(data.asked, t("profile.home_asked_none", lang)))
    blocks.append(DividerBlock())
    footer: list[Any] = [_button(t("profile.btn_refresh", lang), ids.ACTION_HOME_REFRESH, "refresh")]
    blocks.append(ActionsBlock(block_id="home_footer", elements=footer))
    if data.is_staff:
        stale = tn("profile.home_stale", "profile.home_stale_plural", data.stale_count, lang, count=data.stale_count)
        pending = tn(
            "profile.home_pending", "profile.home_pending_plural", data.pending_count, lang, count=data.pending_count
        )
        blocks.append(_context(t("profile.home_staff", lang, stale=stale, pending=pending)))
    return View(type="home", blocks=blocks[:HOME_MAX_BLOCKS])


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
    intro = t(intro_key, lang, date=card.last_confirmed or "?")
    blocks: list[Block] = [_section(intro), _section(profile_text(card, lang)), consent_actions(card.expert_id, lang)]
    return Rendered(text=_fallback(intro), blocks=blocks)


def consent_actions(expert_id: int, lang: str) -> ActionsBlock:
    value = str(expert_id)
    withdraw = _danger_button(
        t("profile.btn_withdraw", lang),
        ids.ACTION_CONSENT_WITHDRAW,
        value,
        title=t("profile.withdraw_confirm_title", lang),
        text=t("profile.withdraw_confirm_text", lang),
        deny=t("routing.modal_close", lang),
    )
    return ActionsBlock(
        block_id=f"consent:{expert_id}",
        elements=[
            _button(t("profile.btn_confirm", lang), ids.ACTION_CONSENT_CONFIRM, value, style="primary"),
            _button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, value),
            withdraw,
        ],
    )


def build_consent_done(text: str) -> list[Block]:
    return [_section(text)]


def build_profile_review(payload: ProfilePart, lang: str) -> Rendered:
    """To staff: a new profile made in Slack waits for approval."""
    card = _card_from_payload(payload, consent="confirmed", show_user=True)
    intro = t("profile.review_intro", lang)
    value = str(card.expert_id)
    blocks: list[Block] = [
        _section(intro),
        _section(profile_text(card, lang)),
        ActionsBlock(
            block_id=f"profile_review:{card.expert_id}",
            elements=[
                _button(t("profile.btn_approve", lang), ids.ACTION_PROFILE_APPROVE, value, style="primary"),
                _button(t("profile.btn_reject", lang), ids.ACTION_PROFILE_REJECT, value, style="danger"),
            ],
        ),
    ]
    return Rendered(text=_fallback(intro), blocks=blocks)


def build_review_done(payload: ProfilePart, lang: str, *, status: str) -> Rendered:
    """The staff message after a decision: the profile and who decided, no buttons."""
    rendered = build_profile_review(payload, lang)
    return Rendered(text=rendered.text, blocks=[*rendered.blocks[:2], _context(status)])


# --- staff overview -----------------------------------------------------------------------------------------------


def expert_card_blocks(card: ProfileCard, lang: str) -> list[Block]:
    """One expert with the staff's buttons: edit, remove (with confirmation)."""
    value = str(card.expert_id)
    remove = _danger_button(
        t("profile.btn_remove", lang),
        ids.ACTION_EXPERT_REMOVE,
        value,
        title=t("profile.remove_confirm_title", lang),
        text=t("profile.remove_confirm_text", lang, name=escape_truncate(card.name, 150)),
        deny=t("routing.modal_close", lang),
    )
    buttons: list[Any] = [_button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, value)]
    if card.pending_approval:
        buttons.insert(0, _button(t("profile.btn_approve", lang), ids.ACTION_PROFILE_APPROVE, value, style="primary"))
        buttons.insert(1, _button(t("profile.btn_reject", lang), ids.ACTION_PROFILE_REJECT, value))
    buttons.append(remove)
    return [_section(profile_text(card, lang)), ActionsBlock(block_id=f"expert:{card.expert_id}", elements=buttons)]


def build_admin_blocks(data: AdminData, lang: str, *, limit: int = 6) -> list[Block]:
    """``/wieweet beheer``: profiles waiting for approval, stale profiles, and other pending submissions."""
    blocks: list[Block] = [_header(t("profile.admin_title", lang))]
    blocks.append(_section(t("profile.admin_pending", lang, count=len(data.pending))))
    for card in data.pending[:limit]:
        blocks.extend(expert_card_blocks(card, lang))
    blocks.append(DividerBlock())
    blocks.append(_section(t("profile.admin_stale", lang, count=len(data.stale))))
    for card in data.stale[:limit]:
        blocks.extend(expert_card_blocks(card, lang))
    if len(data.stale) > limit:
        blocks.append(_context(t("profile.admin_more", lang, count=len(data.stale) - limit)))
    if data.extra_blocks:
        blocks.append(DividerBlock())
        blocks.extend(data.extra_blocks)
    blocks.append(_context(t("profile.admin_hint", lang)))
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
    """DM to a submitter: what staff decided (``outcome``), about what (``title``), and why (``note``)."""
    key = OUTCOME_TEXTS[payload.outcome]
    title, note = payload.title[:200], (payload.note or "—")[:2000]
    shown = t(key, lang, title=escape_truncate(title, 200), note=escape_truncate(note, 2000))
    return Rendered(text=_fallback(shown), blocks=[_section(shown)])
