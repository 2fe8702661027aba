"""The weekly digest for a terminal (``wieweet digest --dry-run``): its Block Kit messages as plain text.

Reads the blocks ``handlers.blocks.digest.build_digest`` made, so the terminal shows exactly what Slack would: links
as "label (url)", mentions as @U…, emoji as characters, emphasis and escapes removed, buttons as [label].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")


_EMOJI = {
    ":books:": "📚",
    ":white_check_mark:": "✅",
    ":raising_hand:": "🙋",
    ":wave:": "👋",
    ":mag:": "🔍",
    ":bar_chart:": "📊",
    ":pray:": "🙏",
    ":zzz:": "💤",
    ":large_yellow_circle:": "🟡",
    ":x:": "❌",
    ":grey_question:": "❔",
}
_EMOJI_CODE = re.compile(r":[a-z_]+:")


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as terminal text: links as "label (url)", mentions as @U…, emphasis and escapes removed."""
    text = _EMOJI_CODE.sub(lambda m: _EMOJI.get(m.group(0), m.group(0)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1).replace('&amp;', '&')})", text)
    text = _BARE_LINK.sub(lambda m: m.group(1).replace("&amp;", "&"), text)
    text = _MENTION.sub(r"@\1", text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return _unescape(text)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_text(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "divider":
        return ["─" * 60]
    if kind == "header":
        title = _unescape(str(block["text"]["text"]))
        return [title, "=" * min(60, len(title))]
    if kind == "context":
        return [" ".join(mrkdwn_to_text(str(e.get("text", ""))) for e in block.get("elements", []))]
    if kind == "section":
        text = mrkdwn_to_text(str(block.get("text", {}).get("text", "")))
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            text += f"   [{accessory['text']['text']}]"
        return [text]
    return []


def render_digest_text(messages: Sequence[Sequence[Block]]) -> str:
    """The digest for a terminal: plain text, messages separated by a rule."""
    lines: list[str] = []
    for index, blocks in enumerate(messages):
        if index:
            lines.extend(["", "━" * 60, ""])
        for block in blocks:
            lines.extend(_block_text(block.to_dict()))
    return "\n".join(lines) + ("\n" if lines else "")
