"""Pure Block Kit builders for modals with a form: the "ask an expert" modal and the one-text-field modals.

``TextModal`` describes a modal with one multi-line field (a reason, a note, an answer); routing's decline, add
information, answer and close modals are defined here, and the practice and profile builders define theirs with
it. Field ids are ``handlers.ids``'; ``handlers.forms`` parses what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import N_, t
from handlers import ids
from handlers.kit import (
    LABEL_LIMIT,
    MAX_OPTIONS,
    OPTION_TEXT_LIMIT,
    ThemeChoice,
    modal,
    plain,
    quoted_sections,
)
from storage.models import Visibility


def build_ask_modal(
    lang: str,
    *,
    text: str,
    themes: Sequence[ThemeChoice],
    theme_key: str | None,
    metadata: Mapping[str, Any],
    desired_by: str | None = None,
) -> View:
    """The "ask an expert" modal: question, context, theme, desired date, visibility."""
    options = [Option(value=c.key, text=plain(c.label, OPTION_TEXT_LIMIT)) for c in themes[:MAX_OPTIONS]]
    initial = next((o for o in options if o.value == theme_key), None)
    visibilities = [
        Option(value=v, text=plain(t(key, lang), OPTION_TEXT_LIMIT))
        for v, key in (
            (Visibility.PUBLIC.value, N_("routing.visibility_public")),
            (Visibility.PRIVATE.value, N_("routing.visibility_private")),
            (Visibility.ANONYMOUS.value, N_("routing.visibility_anonymous")),
        )
    ]
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.BLOCK_ASK_TEXT,
            label=plain(t("routing.field_question", lang), LABEL_LIMIT),
            element=PlainTextInputElement(
                action_id=ids.INPUT_ASK_TEXT, multiline=True, initial_value=text[:3000] or None, max_length=3000
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_ASK_CONTEXT,
            label=plain(t("routing.field_context", lang), LABEL_LIMIT),
            element=PlainTextInputElement(action_id=ids.INPUT_ASK_CONTEXT, multiline=True, max_length=3000),
            optional=True,
        ),
    ]
    if options:
        blocks.append(
            InputBlock(
                block_id=ids.BLOCK_ASK_THEME,
                label=plain(t("routing.field_theme", lang), LABEL_LIMIT),
                element=StaticSelectElement(action_id=ids.INPUT_ASK_THEME, options=options, initial_option=initial),
                optional=True,
            )
        )
    blocks.append(
        InputBlock(
            block_id=ids.BLOCK_ASK_DATE,
            label=plain(t("routing.field_date", lang), LABEL_LIMIT),
            element=DatePickerElement(action_id=ids.INPUT_ASK_DATE, initial_date=desired_by),
            optional=True,
        )
    )
    blocks.append(
        InputBlock(
            block_id=ids.BLOCK_ASK_VISIBILITY,
            label=plain(t("routing.field_visibility", lang), LABEL_LIMIT),
            element=RadioButtonsElement(
                action_id=ids.INPUT_ASK_VISIBILITY, options=visibilities, initial_option=visibilities[0]
            ),
        )
    )
    return modal(ids.VIEW_ASK, t("routing.ask_title", lang), t("routing.ask_submit", lang), lang, blocks, metadata)


@dataclass(frozen=True, slots=True)
class TextModal:
    """A modal with one multi-line text field (a reason, a note, an answer): its ids and text keys."""

    callback_id: str
    block_id: str
    action_id: str
    title_key: str
    submit_key: str
    label_key: str
    optional: bool = False
    max_length: int = 2000


def build_text_modal(spec: TextModal, lang: str, *, metadata: Mapping[str, Any], question: str | None = None) -> View:
    """``spec``'s modal in ``lang``, quoting ``question`` above the field when given."""
    blocks: list[Block] = []
    if question is not None:
        blocks.extend(quoted_sections(question, f"*{t('routing.question', lang)}*"))
    blocks.append(
        InputBlock(
            block_id=spec.block_id,
            label=plain(t(spec.label_key, lang), LABEL_LIMIT),
            element=PlainTextInputElement(action_id=spec.action_id, multiline=True, max_length=spec.max_length),
            optional=spec.optional,
        )
    )
    title, submit = t(spec.title_key, lang), t(spec.submit_key, lang)
    return modal(spec.callback_id, title, submit, lang, blocks, metadata)


DECLINE_MODAL = TextModal(
    ids.VIEW_DECLINE,
    ids.BLOCK_DECLINE_REASON,
    ids.INPUT_DECLINE_REASON,
    N_("routing.decline_title"),
    N_("routing.btn_decline"),
    N_("routing.field_decline_reason"),
    optional=True,
)
ADD_INFO_MODAL = TextModal(
    ids.VIEW_ADD_INFO,
    ids.BLOCK_ADD_INFO,
    ids.INPUT_ADD_INFO,
    N_("routing.add_info_title"),
    N_("routing.btn_add_info"),
    N_("routing.field_add_info"),
    max_length=3000,
)
ANSWER_MODAL = TextModal(
    ids.VIEW_ANSWER,
    ids.BLOCK_ANSWER_TEXT,
    ids.INPUT_ANSWER_TEXT,
    N_("routing.answer_title"),
    N_("routing.answer_submit"),
    N_("routing.field_answer"),
    max_length=3000,
)
TRIAGE_CLOSE_MODAL = TextModal(
    ids.VIEW_TRIAGE_CLOSE,
    ids.BLOCK_TRIAGE_NOTE,
    ids.INPUT_TRIAGE_NOTE,
    N_("routing.close_title"),
    N_("routing.btn_close"),
    N_("routing.field_close_note"),
    optional=True,
)


def build_decline_modal(lang: str, *, routing_id: int, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(DECLINE_MODAL, lang, metadata={**metadata, "routing_id": routing_id})


def build_add_info_modal(lang: str, *, question_id: int, question: str) -> View:
    """The asker adds information to an open question; everyone still asked gets it."""
    return build_text_modal(ADD_INFO_MODAL, lang, metadata={"question_id": question_id}, question=question)


def build_answer_modal(lang: str, *, routing_id: int, question: str, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(ANSWER_MODAL, lang, metadata={**metadata, "routing_id": routing_id}, question=question)


def build_triage_close_modal(lang: str, *, question_id: int, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(TRIAGE_CLOSE_MODAL, lang, metadata={**metadata, "question_id": question_id})
