"""Block Kit for the digest subscription modal (typed builders, no network)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextObject,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_name, t, weekday_name
from bot.mrkdwn import truncate
from handlers import ids
from handlers.routing_blocks import ThemeChoice

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _plain(text: str, limit: int = 75) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, limit))


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
    """Which themes (none = all), day and time (Brussels), language, and whether to post on quiet weeks."""
    theme_options = [Option(value=c.key, text=_plain(c.label)) for c in themes[:100]]
    day_options = [Option(value=d, text=_plain(weekday_name(i, lang))) for i, d in enumerate(DAYS)]
    lang_options = [Option(value=code, text=_plain(language_name(code))) for code in LANGUAGES]
    empty_option = Option(value="yes", text=_plain(t("digest.field_empty_option", lang), 150))
    initial_themes = [o for o in theme_options if o.value in selected] or None
    return View(
        type="modal",
        callback_id=ids.VIEW_DIGEST,
        private_metadata=json.dumps({"channel_id": channel_id}),
        title=_plain(t("digest.modal_title", lang), 24),
        submit=_plain(t("digest.modal_submit", lang), 24),
        close=_plain(t("digest.modal_close", lang), 24),
        blocks=[
            InputBlock(
                block_id=ids.BLOCK_DIGEST_THEMES,
                label=_plain(t("digest.field_themes", lang), 2000),
                element=StaticMultiSelectElement(
                    action_id=ids.INPUT_DIGEST_THEMES, options=theme_options, initial_options=initial_themes
                ),
                optional=True,
            ),
            InputBlock(
                block_id=ids.BLOCK_DIGEST_DAY,
                label=_plain(t("digest.field_day", lang), 2000),
                element=StaticSelectElement(
                    action_id=ids.INPUT_DIGEST_DAY, options=day_options, initial_option=day_options[weekday]
                ),
            ),
            InputBlock(
                block_id=ids.BLOCK_DIGEST_TIME,
                label=_plain(t("digest.field_time", lang), 2000),
                element=TimePickerElement(action_id=ids.INPUT_DIGEST_TIME, initial_time=f"{hour:02d}:{minute:02d}"),
            ),
            InputBlock(
                block_id=ids.BLOCK_DIGEST_LANG,
                label=_plain(t("digest.field_lang", lang), 2000),
                element=RadioButtonsElement(
                    action_id=ids.INPUT_DIGEST_LANG,
                    options=lang_options,
                    initial_option=next((o for o in lang_options if o.value == language), lang_options[0]),
                ),
            ),
            InputBlock(
                block_id=ids.BLOCK_DIGEST_EMPTY,
                label=_plain(t("digest.field_empty", lang), 2000),
                element=CheckboxesElement(
                    action_id=ids.INPUT_DIGEST_EMPTY,
                    options=[empty_option],
                    initial_options=[empty_option] if post_empty else None,
                ),
                optional=True,
            ),
        ],
    )
