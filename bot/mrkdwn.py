"""Safe text for Slack's mrkdwn — and the one rule for it.

Slack only treats ``<...>`` as a control sequence (mentions, ``<!channel>``, links) and decodes ``&amp;``, ``&lt;``
and ``&gt;``; escaping ``&``, ``<`` and ``>`` is what makes it impossible to post ``<!here>``, ping a user or
disguise a link. The rule, for every builder (blocks, the notification ``text`` field, ephemeral texts):

1. Text from users or the registers is *plain text*. It becomes mrkdwn exactly once, where it is put into a
   mrkdwn string: ``escape`` / ``escape_truncate`` (or ``link``, ``user_mention`` for what wieweet makes itself).
2. A string built from escaped pieces and catalogue texts *is* mrkdwn. It is never escaped again; it is only cut
   to a limit with ``cut``, which never splits an entity or a ``<...>`` sequence.
3. The notification ``text`` of a message is built from the same mrkdwn as its blocks (so a mention in the
   blocks is a mention in the notification too, and a name shows as typed), then ``cut``.

A value escaped twice shows as ``&amp;lt;`` to the reader; a value not escaped at all can ping a channel. Both are
bugs; ``tests/slack/test_text_once.py`` renders every outgoing message with hostile text to keep it that way.
"""

from __future__ import annotations

import re

from bot.text import strip_bidi

ELLIPSIS = "…"
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape(text: str) -> str:
    """Plain text → mrkdwn: escape the three characters Slack reserves; drop control and bidi reordering characters."""
    text = strip_bidi(_CONTROL.sub("", text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut *plain* text to at most ``limit`` characters, visibly (ending in "…"). For mrkdwn use ``cut``."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def cut(mrkdwn: str, limit: int) -> str:
    """Cut *mrkdwn* (already safe) to at most ``limit`` characters, visibly, without splitting an entity such as
    ``&amp;`` or a control sequence such as ``<@U123>`` (an unfinished one is dropped whole). Never escapes."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    kept = mrkdwn[: max(0, limit - 1)]
    amp = kept.rfind("&")
    if amp != -1 and ";" not in kept[amp:]:
        kept = kept[:amp]
    opening = kept.rfind("<")
    if opening != -1 and ">" not in kept[opening:]:
        kept = kept[:opening]
    return kept.rstrip() + ELLIPSIS


def escape_truncate(text: str, limit: int) -> str:
    """Escape plain text, then cut so the *escaped* text fits (never cuts an entity like ``&amp;`` in half)."""
    return cut(escape(text), limit)


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
