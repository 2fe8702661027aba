"""Pure Block Kit builders for privacy rights: the "forget me" question with its confirm dialog, the outcome (as a
message, and as the erased person's Home tab).

Typed blocks (``slack_sdk.models``), texts from the i18n catalogue.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block
from slack_sdk.models.views import View

from bot.i18n import t
from handlers import ids
from handlers.kit import Rendered, danger_button, fallback, section


def build_forget_prompt(lang: str, *, slack_user_id: str) -> Rendered:
    """What erasure does, and a danger button behind Slack's confirm dialog."""
    intro = t("privacy.forget_intro", lang)
    button = danger_button(
        t("privacy.forget_button", lang),
        ids.ACTION_PRIVACY_FORGET,
        slack_user_id,
        title=t("privacy.confirm_title", lang),
        text=t("privacy.confirm_text", lang),
        confirm=t("privacy.confirm_yes", lang),
        deny=t("privacy.confirm_no", lang),
    )
    blocks: list[Block] = [section(intro), ActionsBlock(block_id=ids.BLOCK_PRIVACY_FORGET, elements=[button])]
    return Rendered(text=fallback(intro), blocks=blocks)


def build_forgotten(lang: str) -> Rendered:
    text = t("privacy.forgotten", lang)
    return Rendered(text=fallback(text), blocks=[section(text)])


def build_forgotten_home(lang: str) -> View:
    """The erased person's Home tab: that they were forgotten, nothing else (no profile, no questions)."""
    return View(type="home", blocks=build_forgotten(lang).blocks)
