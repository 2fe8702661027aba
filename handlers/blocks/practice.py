"""Pure Block Kit builders for practices from chat: the practice modal, the staff triage message, cards.

Builders take plain values (``PracticeReview``: ``bot.register.submissions.practice_payload``, form values, themes)
and a language and return typed blocks (``slack_sdk.models``), which check Slack's limits. Every text from the
register or a user is escaped. Buttons carry the practice id as their value; who may press them is decided by the
service layer from the clicking user, never from the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.error_texts import field_error_text
from bot.i18n import N_, format_number, t
from bot.outbox import PracticeReview
from bot.register.validation import MAX_LENGTH, MULTILINE, FieldError
from handlers import ids
from handlers.blocks.modals import TextModal, build_text_modal
from handlers.blocks.routing import theme_names
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
    link,
    modal,
    plain,
    section,
    split_mrkdwn,
    user_mention,
)
from storage.models import RecordStatus

OUTCOMES = ("good", "mixed", "failed")
OUTCOME_ICONS = {"good": "🟢", "mixed": "🟡", "failed": "🔴"}
REQUIRED = frozenset({"title", "summary"})
TEXT_MAX = 3000  # Slack's plain_text_input limit, for fields without a database limit
FIELD_MAX = {"year": 10, "tags": 1000}
OUTCOME_KEYS = {
    "good": N_("practice.outcome_good"),
    "mixed": N_("practice.outcome_mixed"),
    "failed": N_("practice.outcome_failed"),
}
LABEL_KEYS = {  # one per ids.PRACTICE_FIELDS
    "title": N_("practice.field_title"),
    "summary": N_("practice.field_summary"),
    "city": N_("practice.field_city"),
    "organisation": N_("practice.field_organisation"),
    "themes": N_("practice.field_themes"),
    "tags": N_("practice.field_tags"),
    "outcome": N_("practice.field_outcome"),
    "lessons": N_("practice.field_lessons"),
    "contact_email": N_("practice.field_contact_email"),
    "url": N_("practice.field_url"),
    "year": N_("practice.field_year"),
}
HINT_KEYS = {
    "tags": N_("practice.hint_tags"),
    "contact_email": N_("practice.hint_contact_email"),
    "url": N_("practice.hint_url"),
    "year": N_("practice.hint_year"),
}
STATUS_KEYS = {
    "pending": N_("practice.status_pending"),
    "published": N_("practice.status_published"),
    "rejected": N_("practice.status_rejected"),
}


def _field_max(name: str) -> int:
    return min(FIELD_MAX.get(name, MAX_LENGTH.get(name, TEXT_MAX)), TEXT_MAX)


# --- the practice modal ------------------------------------------------------------------------------------------


def build_practice_modal(
    lang: str,
    *,
    values: Mapping[str, str],
    themes: Sequence[ThemeChoice],
    practice_id: int | None,
    metadata: Mapping[str, Any] | None = None,
    from_message: bool = False,
) -> View:
    """The practice form with the register's fields; ``values`` are raw texts (lists joined with ``;``).

    ``practice_id`` None submits a new practice, else edits that one. ``metadata`` is carried along (for example
    the triage message to update after a staff edit). A stored text longer than its input takes is not offered cut
    (saving would lose its end): it is left out with a note, named in the metadata's ``keep`` and kept as stored.
    """
    blocks: list[Block] = []
    kept: list[str] = []
    if practice_id is None:
        blocks.append(section(t("practice.intro", lang)))
    if from_message:
        blocks.append(context(t("practice.from_message", lang)))
    for name in ids.PRACTICE_FIELDS:
        element: Any
        if name == "themes":
            if not themes:
                continue
            options = [Option(value=c.key, text=plain(c.label, OPTION_TEXT_LIMIT)) for c in themes[:MAX_OPTIONS]]
            chosen = {v.strip() for v in (values.get("themes") or "").split(";")}
            initial = [o for o in options if o.value in chosen] or None
            element = StaticMultiSelectElement(
                action_id=ids.practice_input(name), options=options, initial_options=initial
            )
        elif name == "outcome":
            options = [Option(value=o, text=plain(t(OUTCOME_KEYS[o], lang), OPTION_TEXT_LIMIT)) for o in OUTCOMES]
            current = (values.get("outcome") or "").strip().lower()
            element = StaticSelectElement(
                action_id=ids.practice_input(name),
                options=options,
                initial_option=next((o for o in options if o.value == current), None),
            )
        else:
            limit = _field_max(name)
            initial_value = (values.get(name) or "").strip()
            if len(initial_value) > limit and practice_id is not None:  # stored: never cut, kept as it is
                kept.append(name)
                note = t(
                    "practice.field_kept",
                    lang,
                    field=t(LABEL_KEYS[name], lang),
                    length=format_number(len(initial_value), lang),
                    limit=format_number(limit, lang),
                )
                blocks.append(section(note))
                continue
            element = PlainTextInputElement(
                action_id=ids.practice_input(name),
                multiline=name in MULTILINE,
                initial_value=initial_value[:limit] or None,  # a new one: typed or from a message, not stored
                max_length=limit,
            )
        blocks.append(
            InputBlock(
                block_id=ids.practice_block(name),
                label=plain(t(LABEL_KEYS[name], lang), LABEL_LIMIT),
                hint=plain(t(HINT_KEYS[name], lang), LABEL_LIMIT) if name in HINT_KEYS else None,
                element=element,
                optional=name not in REQUIRED,
            )
        )
    data = {**(metadata or {}), "practice_id": practice_id}
    if kept:
        data["keep"] = kept
    title = t("practice.new_title" if practice_id is None else "practice.edit_title", lang)
    submit = t("practice.submit" if practice_id is None else "practice.save", lang)
    return modal(ids.VIEW_PRACTICE, title, submit, lang, blocks, data)


def read_practice_form(state_values: Mapping[str, Any]) -> dict[str, str]:
    """The submitted modal's values as the validation's raw texts (themes joined with ``;``)."""
    values: dict[str, str] = {}
    for name in ids.PRACTICE_FIELDS:
        entry = (state_values.get(ids.practice_block(name)) or {}).get(ids.practice_input(name)) or {}
        if name == "themes":
            values[name] = "; ".join(str(o.get("value")) for o in entry.get("selected_options") or [])
        elif name == "outcome":
            values[name] = str((entry.get("selected_option") or {}).get("value") or "")
        else:
            values[name] = str(entry.get("value") or "")
    return values


def practice_field_errors(errors: Sequence[FieldError], lang: str) -> dict[str, str]:
    """Inline modal errors: block id -> message in the reader's language (with the suggestion, if any)."""
    result: dict[str, str] = {}
    for error in errors:
        block = ids.practice_block(error.column if error.column in ids.PRACTICE_FIELDS else "title")
        text = field_error_text(error, lang)
        result[block] = f"{result[block]} {text}" if block in result else text
    return {block: message[:2000] for block, message in result.items()}


def prefill_from_message(text: str, *, permalink: str = "") -> dict[str, str]:
    """Form values from a Slack message: the first line is the title, the whole text the description."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    first = next((line for line in lines if line), "")
    title = " ".join(first.lstrip("#*>_ -•").rstrip("*_ ").split())
    title_limit = MAX_LENGTH["title"]
    if len(title) > title_limit:
        title = title[: title_limit - 1].rstrip() + "…"
    return {"title": title, "summary": text.strip()[:TEXT_MAX], "url": permalink}


REJECT_PRACTICE_MODAL = TextModal(
    ids.VIEW_PRACTICE_REJECT,
    ids.BLOCK_PRACTICE_REJECT_REASON,
    ids.INPUT_PRACTICE_REJECT_REASON,
    N_("practice.reject_title"),
    N_("practice.btn_reject"),
    N_("practice.field_reject_reason"),
)


def build_reject_practice_modal(lang: str, *, practice_id: int, version: str, metadata: Mapping[str, Any]) -> View:
    """The reason for rejecting the ``version`` of the practice staff were shown."""
    meta = {**metadata, "practice_id": practice_id, "version": version}
    return build_text_modal(REJECT_PRACTICE_MODAL, lang, metadata=meta)


# --- a practice, as text -------------------------------------------------------------------------------------------


def practice_text(payload: PracticeReview, lang: str, *, whole: bool = False) -> str:
    """Title, place, outcome, description, lessons, themes, keywords, contact and link — all escaped. The
    description and lessons are excerpts, or ``whole`` (as long as their fields accept: more than one section)."""
    title = f"*{escape_truncate(payload.title, 300)}*"
    where = ", ".join(escape_truncate(str(x), 200) for x in (payload.organisation, payload.city, payload.year) if x)
    lines = [title + (f"\n{where}" if where else "")]
    outcome = payload.outcome.value if payload.outcome else ""
    if outcome in OUTCOMES:
        lines.append(
            f"*{t('practice.field_outcome', lang)}:* {OUTCOME_ICONS[outcome]} {t(OUTCOME_KEYS[outcome], lang)}"
        )
    summary = escape_truncate(payload.summary, 5 * TEXT_MAX if whole else 1200)
    if summary:
        lines.append(summary)
    lessons = escape_truncate(payload.lessons, 5 * TEXT_MAX if whole else 600)
    if lessons:
        lines.append(f"*{t('practice.field_lessons', lang)}:* {lessons}")
    themes = theme_names(payload, lang)
    if themes:
        lines.append(f"*{t('practice.field_themes', lang)}:* {themes}")
    tags = list(payload.tags)
    if tags:
        lines.append(f"*{t('practice.field_tags', lang)}:* " + escape_truncate(", ".join(tags), 300))
    contact = payload.contact_email
    if contact:
        lines.append(f"*{t('practice.field_contact_email', lang)}:* " + escape_truncate(contact, 320))
    url = payload.url
    if url:
        lines.append(f"*{t('practice.field_url', lang)}:* " + link(url, url, limit=200))
    return "\n".join(lines)


def _submitter(payload: PracticeReview, lang: str) -> str:
    return user_mention(payload.submitted_by) or t("practice.someone", lang)


def status_text(payload: PracticeReview, lang: str) -> str:
    status = payload.status.value if payload.status else "pending"
    return t(STATUS_KEYS.get(status, N_("practice.status_pending")), lang)


# --- the staff triage message ----------------------------------------------------------------------------------------


def build_practice_review(payload: PracticeReview, lang: str, *, status: str | None = None) -> Rendered:
    """To staff (triage channel): a practice submitted from chat, with Approve / Edit / Reject.

    ``status`` (already translated, e.g. who last edited it) is shown above the buttons.
    """
    practice_id = payload.practice_id
    intro = t("practice.review_intro", lang, name=_submitter(payload, lang))
    value = str(practice_id)
    decide = ids.versioned_value(practice_id, payload.version)  # Approve and Reject: the version shown here
    # staff approve what they read here: the whole description, over as many sections as it needs
    pieces = split_mrkdwn(practice_text(payload, lang, whole=True))
    blocks: list[Block] = [section(intro), *(section(piece) for piece in pieces)]
    if status:
        blocks.append(context(status))
    blocks.append(
        ActionsBlock(
            block_id=ids.block_id(ids.BLOCK_PRACTICE_REVIEW, practice_id),
            elements=[
                button(t("practice.btn_approve", lang), ids.ACTION_PRACTICE_APPROVE, decide, style="primary"),
                button(t("practice.btn_edit", lang), ids.ACTION_PRACTICE_EDIT, value),
                button(t("practice.btn_reject", lang), ids.ACTION_PRACTICE_REJECT, decide, style="danger"),
            ],
        )
    )
    title = escape_truncate(payload.title, 300)
    return Rendered(text=fallback(f"{intro} {title}"), blocks=blocks)


def build_practice_review_done(payload: PracticeReview, lang: str, *, status: str) -> Rendered:
    """The triage message after a decision: the practice and who decided (``status``), no buttons."""
    rendered = build_practice_review(payload, lang)
    return Rendered(text=rendered.text, blocks=[*rendered.blocks[:2], context(status)])


# --- the submitter's confirmation ----------------------------------------------------------------------------------


def build_practice_submitted(payload: PracticeReview, lang: str) -> Rendered:
    """To the submitter, privately: thanks, it waits for review; with a button to edit it meanwhile."""
    text = t("practice.submitted", lang, title=escape_truncate(payload.title, 300))
    value = str(payload.practice_id)
    blocks: list[Block] = [
        section(text),
        ActionsBlock(
            block_id=ids.block_id(ids.BLOCK_PRACTICE_CARD, payload.practice_id),
            elements=[button(t("practice.btn_edit", lang), ids.ACTION_PRACTICE_EDIT, value)],
        ),
    ]
    return Rendered(text=fallback(text), blocks=blocks)


# --- cards for the staff overview ----------------------------------------------------------------------------------


def build_practice_card(payload: PracticeReview, lang: str) -> list[Block]:
    """One practice with its state, its submitter and the staff's buttons: edit, remove (with confirmation)."""
    practice_id = payload.practice_id
    value = str(practice_id)
    title = escape_truncate(payload.title, 150)
    remove = danger_button(
        t("practice.btn_remove", lang),
        ids.ACTION_PRACTICE_REMOVE,
        value,
        title=t("practice.remove_confirm_title", lang),
        text=t("practice.remove_confirm_text", lang, title=title),
        deny=t("routing.modal_close", lang),
    )
    buttons: list[Any] = []
    if payload.status is RecordStatus.PENDING:
        decide = ids.versioned_value(practice_id, payload.version)
        buttons.append(button(t("practice.btn_approve", lang), ids.ACTION_PRACTICE_APPROVE, decide, style="primary"))
        buttons.append(button(t("practice.btn_reject", lang), ids.ACTION_PRACTICE_REJECT, decide))
    buttons.append(button(t("practice.btn_edit", lang), ids.ACTION_PRACTICE_EDIT, value))
    buttons.append(remove)
    meta = [status_text(payload, lang)]
    if payload.submitted_by:
        meta.append(t("practice.submitted_by", lang, name=_submitter(payload, lang)))
    return [
        section(practice_text(payload, lang)),
        context(" · ".join(meta)),
        ActionsBlock(block_id=ids.block_id(ids.BLOCK_PRACTICE_CARD, practice_id), elements=buttons),
    ]


def build_pending_practices(payloads: Sequence[PracticeReview], lang: str, *, limit: int = 5) -> list[Block]:
    """For ``/wieweet beheer``: how many practices wait for approval, and the first ``limit`` as cards."""
    blocks: list[Block] = [section(t("practice.admin_pending", lang, count=format_number(len(payloads), lang)))]
    for payload in payloads[:limit]:
        blocks.extend(build_practice_card(payload, lang))
    if len(payloads) > limit:
        blocks.append(context(t("practice.admin_more", lang, count=format_number(len(payloads) - limit, lang))))
    return blocks[:MAX_BLOCKS]
