"""Block Kit for the digest subscription modal (typed builders, no network)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_name, t, weekday_name
from digests.schedule import DAY_NAMES
from handlers import ids
from handlers.kit import LABEL_LIMIT, ThemeChoice, modal, plain


def build_digest_modal(
    lang: str,
    *,
    channel_id: str,
    themes: Sequence[ThemeChoice],
    selected: Sequence[str] = (),
    weekday: int = 0,
    hour: int = 9,
    minute: int = 0,
    language: str = DEFAULT_LANGUAGE,
    post_empty: bool = False,
) -> View:
    """Which themes (none = all), day and time (the configured time zone), language, and whether to post on quiet
    weeks."""
    theme_options = [Option(value=c.key, text=plain(c.label)) for c in themes[:100]]
    day_options = [Option(value=d, text=plain(weekday_name(i, lang))) for i, d in enumerate(DAY_NAMES)]
    lang_options = [Option(value=code, text=plain(language_name(code))) for code in LANGUAGES]
    empty_option = Option(value="yes", text=plain(t("digest.field_empty_option", lang), 150))
    initial_themes = [o for o in theme_options if o.value in selected] or None
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.BLOCK_DIGEST_THEMES,
            label=plain(t("digest.field_themes", lang), LABEL_LIMIT),
            element=StaticMultiSelectElement(
                action_id=ids.INPUT_DIGEST_THEMES, options=theme_options, initial_options=initial_themes
            ),
            optional=True,
        ),
        InputBlock(
            block_id=ids.BLOCK_DIGEST_DAY,
            label=plain(t("digest.field_day", lang), LABEL_LIMIT),
            element=StaticSelectElement(
                action_id=ids.INPUT_DIGEST_DAY, options=day_options, initial_option=day_options[weekday]
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_DIGEST_TIME,
            label=plain(t("digest.field_time", lang), LABEL_LIMIT),
            element=TimePickerElement(action_id=ids.INPUT_DIGEST_TIME, initial_time=f"{hour:02d}:{minute:02d}"),
        ),
        InputBlock(
            block_id=ids.BLOCK_DIGEST_LANG,
            label=plain(t("digest.field_lang", lang), LABEL_LIMIT),
            element=RadioButtonsElement(
                action_id=ids.INPUT_DIGEST_LANG,
                options=lang_options,
                initial_option=next((o for o in lang_options if o.value == language), lang_options[0]),
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_DIGEST_EMPTY,
            label=plain(t("digest.field_empty", lang), LABEL_LIMIT),
            element=CheckboxesElement(
                action_id=ids.INPUT_DIGEST_EMPTY,
                options=[empty_option],
                initial_options=[empty_option] if post_empty else None,
            ),
            optional=True,
        ),
    ]
    title, submit = t("digest.modal_title", lang), t("digest.modal_submit", lang)
    return modal(
        ids.VIEW_DIGEST, title, submit, lang, blocks, {"channel_id": channel_id}, close=t("digest.modal_close", lang)
    )
