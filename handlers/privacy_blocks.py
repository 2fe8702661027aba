"""Pure Block Kit builders for privacy rights: the "forget me" question with its confirm dialog, the outcome.

Typed blocks (``slack_sdk.models``), texts from the i18n catalogue.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject

from bot.i18n import t
from handlers import ids
from handlers.routing_blocks import Rendered, _fallback, _plain, _section


def build_forget_prompt(lang: str, *, slack_user_id: str) -> Rendered:
    """What erasure does, and a danger button behind Slack's confirm dialog."""
    intro = t("privacy.forget_intro", lang)
    confirm = ConfirmObject(
        title=_plain(t("privacy.confirm_title", lang), 100),
        text=t("privacy.confirm_text", lang),
        confirm=_plain(t("privacy.confirm_yes", lang), 30),
        deny=_plain(t("privacy.confirm_no", lang), 30),
        style="danger",
    )
    button = ButtonElement(
        text=_plain(t("privacy.forget_button", lang)),
        action_id=ids.ACTION_PRIVACY_FORGET,
        value=slack_user_id,
        style="danger",
        confirm=confirm,
    )
    blocks: list[Block] = [_section(intro), ActionsBlock(block_id=ids.BLOCK_PRIVACY_FORGET, elements=[button])]
    return Rendered(text=_fallback(intro), blocks=blocks)


def build_forgotten(lang: str) -> Rendered:
    text = t("privacy.forgotten", lang)
    return Rendered(text=_fallback(text), blocks=[_section(text)])
