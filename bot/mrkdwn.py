"""Safe text for Slack's mrkdwn.

Everything that comes from users or from the registers goes through ``escape``: Slack only treats ``<...>`` as
a control sequence (mentions, ``<!channel>``, links), so escaping ``&``, ``<`` and ``>`` is what makes it
impossible to post ``<!here>``, ping a user or disguise a link. Links and mentions wieweet makes itself are built
by ``link`` and ``user_mention`` from validated parts.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves, and drop control characters."""
    text = _CONTROL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, visibly (ending in "…")."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def escape_truncate(text: str, limit: int) -> str:
    """Escape, then cut so the *escaped* text fits (never cuts an entity like ``&amp;`` in half)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - 1)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def user_mention(user_id: str | None) -> str | None:
    """``<@U123>`` for a well-formed Slack user id, else None."""
    if user_id and _SLACK_ID.match(user_id):
        return f"<@{user_id}>"
    return None


def link(url: str, label: str, *, limit: int = 300) -> str:
    """A mrkdwn link when ``url`` is a plain http(s) URL; otherwise just the escaped label."""
    label_text = escape_truncate(label, limit).replace("|", "¦")
    if url and _SAFE_URL.match(url):
        return f"<{url.replace('&', '&amp;')}|{label_text}>"
    return label_text
