"""The Slack toolkit: safe mrkdwn text, Slack's limits, and the Block Kit primitives every builder uses.

One module, so every message escapes, cuts and limits text the same way (a header is escaped like any other text).

Safe text for Slack's mrkdwn — and the one rule for it.

Slack only treats ``<...>`` as a control sequence (mentions, ``<!channel>``, links) and decodes ``&amp;``, ``&lt;``
and ``&gt;``; escaping ``&``, ``<`` and ``>`` is what makes it impossible to post ``<!here>``, ping a user or
disguise a link. The rule, for every builder (blocks, the notification ``text`` field, ephemeral texts):

1. Text from users or the registers is *plain text*. It becomes mrkdwn exactly once, where it is put into a
   mrkdwn string: ``escape`` / ``escape_truncate`` (or ``link``, ``user_mention`` for what wieweet makes itself).
2. A string built from escaped pieces and catalogue texts *is* mrkdwn. It is never escaped again; it is only cut
   to a limit with ``cut``, which never splits an entity or a ``<...>`` sequence.
3. The notification ``text`` of a message is built from the same mrkdwn as its blocks (so a mention in the
   blocks is a mention in the notification too, and a name shows as typed), then ``cut``.

Text coming *in* from Slack (a message, a mention, a slash command) is Slack's markup, not plain text: it is made
plain once where it is read (``handlers.slack_text.from_slack``), so the rule above holds for it too. Modal inputs
are plain already.

A value escaped twice shows as ``&amp;lt;`` to the reader; a value not escaped at all can ping a channel. Both are
bugs; ``tests/slack/test_text_once.py`` renders every outgoing message with hostile text to keep it that way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.i18n import t, theme_label
from bot.text import CONTROLS, is_slack_user_id, strip_bidi

# Slack's limits (https://api.slack.com/reference/block-kit): the typed blocks check them, the builders cut to them.
MAX_BLOCKS = 50  # per message
HOME_MAX_BLOCKS = 100  # per Home tab
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
LABEL_LIMIT = 2000
MAX_OPTIONS = 100
MODAL_TITLE_LIMIT = 24
FALLBACK_LIMIT = 3000  # a message's notification text, as wieweet cuts it
MESSAGE_TEXT_LIMIT = 12_000  # all text of one message together
# a user's long text (a question, an answer) is shown whole up to this many plain characters, over as many
# sections as its escaped form needs (``quoted_sections``); the modals accept 3,000
SHOWN_TEXT_LIMIT = 4000
TEXT_FIELD_LIMIT = 3000  # what a multi-line field of a modal accepts (a question's context, added information)

ELLIPSIS = "…"
# http(s), no space or mrkdwn delimiter, and nothing before the host (``https://gent.be@evil.example/`` opens
# evil.example): such a stored link is shown as its label alone
_SAFE_URL = re.compile(r"^https?://[^\s<>|/?#@\\]+(?:[/?#][^\s<>|]*)?$")


def escape(text: str) -> str:
    """Plain text → mrkdwn: escape the three characters Slack reserves; drop control and bidi reordering characters."""
    text = strip_bidi(CONTROLS.sub("", text))
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
    if user_id and is_slack_user_id(user_id):
        return f"<@{user_id}>"
    return None


def link(url: str, label: str, *, limit: int = 300) -> str:
    """A mrkdwn link when ``url`` is a plain http(s) URL; otherwise just the escaped label. Plain http still links:
    practices stored before https was required keep their link."""
    label_text = escape_truncate(label, limit).replace("|", "¦")
    if url and _SAFE_URL.match(url):
        return f"<{url.replace('&', '&amp;')}|{label_text}>"
    return label_text


# --- Block Kit primitives ------------------------------------------------------------------------------------------


Payload = Mapping[str, Any]  # what an outbox message (or a builder) is given to render


@dataclass(frozen=True, slots=True)
class ThemeChoice:
    """A theme as a menu option: its key and its label in the reader's language."""

    key: str
    label: str


class ThemeLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def label_nl(self) -> str: ...
    @property
    def label_en(self) -> str: ...


def theme_choices(themes: Iterable[ThemeLike], lang: str) -> list[ThemeChoice]:
    """Menu options for the vocabulary's themes, labelled in ``lang``."""
    return [ThemeChoice(key=th.key, label=theme_label(th, lang)) for th in themes]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message: its notification ``text`` and its blocks."""

    text: str
    blocks: list[Block]


def build_shared_stand_in(line: str, shown: Rendered) -> Rendered:
    """What a staff post updated to ``shown`` shows instead in a channel shared with another organisation by then:
    ``line`` (a number and a state: no content, no names) and ``shown``'s buttons, which carry only ids and fixed
    labels, so staff can still act on what still waits."""
    actions = [block for block in shown.blocks if isinstance(block, ActionsBlock)]
    return Rendered(text=fallback(line), blocks=[section(line), *actions])


def section(text: str) -> SectionBlock:
    """A mrkdwn section (``text`` already safe mrkdwn), cut to Slack's limit."""
    return SectionBlock(text=MarkdownTextObject(text=cut(text, SECTION_LIMIT)))


def context(text: str) -> ContextBlock:
    """A context line (``text`` already safe mrkdwn), cut to Slack's limit."""
    return ContextBlock(elements=[MarkdownTextObject(text=cut(text, CONTEXT_LIMIT))])


def header(text: str) -> HeaderBlock:
    """A header from *plain* text: escaped like every other text, then cut to Slack's limit."""
    return HeaderBlock(text=PlainTextObject(text=escape_truncate(text, HEADER_LIMIT), emoji=True))


def plain(text: str, limit: int = BUTTON_TEXT_LIMIT) -> PlainTextObject:
    """A plain-text object (labels, titles, options), cut visibly to ``limit``."""
    return PlainTextObject(text=truncate(text, limit), emoji=True)


def button(label: str, action_id: str, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=plain(label), action_id=action_id, value=value, style=style)


def danger_button(
    label: str, action_id: str, value: str, *, title: str, text: str, deny: str, confirm: str | None = None
) -> ButtonElement:
    """A red button behind Slack's "are you sure?" dialog (``title``, ``text``; ``confirm`` defaults to ``label``)."""
    dialog = ConfirmObject(
        title=plain(title, 100),
        text=text,
        confirm=plain(confirm or label, 30),
        deny=plain(deny, 30),
        style="danger",
    )
    return ButtonElement(text=plain(label), action_id=action_id, value=value, style="danger", confirm=dialog)


def quote(text: str | None, limit: int = 2500) -> str:
    """Plain text as a mrkdwn block quote."""
    return "> " + escape_truncate(text or "", limit).replace("\n", "\n> ")


def split_mrkdwn(mrkdwn: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Safe mrkdwn in pieces of at most ``limit`` characters, each ending at a line break, else at a space, and
    never inside an entity such as ``&amp;`` or a control sequence such as ``<@U123>``. Nothing is dropped but the
    line break or space a piece ends at; a piece continuing a block quote starts with ``> `` again."""
    pieces: list[str] = []
    rest = mrkdwn
    while len(rest) > limit:
        window = rest[:limit]
        at = window.rfind("\n")
        if at < limit // 2:  # a long paragraph: rather its last space than a short piece
            at = max(at, window.rfind(" "))
        at = _outside_entity(rest, at if at >= limit // 2 else limit)
        if at < limit // 2:  # no entity or control sequence is that long in safe text: cut rather than loop
            at = limit
        in_quote = rest.startswith(">", rest.rfind("\n", 0, at) + 1)
        piece, rest = rest[:at], rest[at:]
        if rest[:1] in ("\n", " "):
            rest = rest[1:]
        pieces.append(piece)
        if in_quote and not rest.startswith(">"):
            rest = "> " + rest
    pieces.append(rest)
    return pieces


def _outside_entity(mrkdwn: str, at: int) -> int:
    """``at``, or earlier so that ``mrkdwn[:at]`` does not end inside ``&…;`` or ``<…>``."""
    head = mrkdwn[:at]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        at = amp
    opening = head[:at].rfind("<")
    if opening != -1 and ">" not in head[opening:at]:
        at = opening
    return at


def quoted_sections(text: str | None, heading: str = "", *, limit: int = SHOWN_TEXT_LIMIT) -> list[SectionBlock]:
    """A user's plain ``text`` as a mrkdwn block quote under ``heading`` (safe mrkdwn, may be empty), whole: over as
    many sections as it needs once escaped (every ``&`` costs five characters). Only text longer than ``limit``
    plain characters is cut, visibly. The piece limit leaves room for the ``> `` a continued quote starts with."""
    body = "> " + escape(truncate(text or "", limit)).replace("\n", "\n> ")
    mrkdwn = f"{heading}\n{body}" if heading else body
    return [section(piece) for piece in split_mrkdwn(mrkdwn, SECTION_LIMIT - 2)]


def fallback(mrkdwn: str) -> str:
    """A message's notification ``text``: the same mrkdwn as its blocks (escaped once already), cut. Never escaped
    again — that showed users ``&lt;@U…&gt;`` — so a mention in it is a mention in the notification too."""
    return cut(mrkdwn, FALLBACK_LIMIT)


def message(text: str) -> list[Block]:
    """A short notice (errors, confirmations): one section, already-safe text expected."""
    return [section(text)]


def modal(
    callback_id: str,
    title: str,
    submit: str,
    lang: str,
    blocks: list[Block],
    metadata: Mapping[str, Any],
    *,
    close: str | None = None,
) -> View:
    """A modal with wieweet's title, submit and close buttons; ``metadata`` travels as JSON private_metadata."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, MODAL_TITLE_LIMIT),
        submit=plain(submit, MODAL_TITLE_LIMIT),
        close=plain(close or t("routing.modal_close", lang), MODAL_TITLE_LIMIT),
        blocks=blocks,
        private_metadata=json.dumps(dict(metadata)),
    )
