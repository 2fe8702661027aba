"""Text as Slack sends it, made plain once, where it comes in.

Slack sends the text of a message, a mention, a message shortcut's message and a slash command in its own markup:
the ``&``, ``<`` and ``>`` a person typed arrive as ``&amp;``, ``&lt;`` and ``&gt;``, and mentions, channel
references and links as control sequences (``<@U123>``, ``<#C123|wonen>``, ``<!here>``, ``<https://x|label>``).
A modal's inputs arrive as typed. ``from_slack`` turns the first into the second, so what wieweet stores reads as
the person typed it, is searched on the words they typed, carries no live mention into digests, DMs or reports, and
is escaped exactly once on the way out (``handlers.kit``). Every listener that reads free text from a Slack
message or command reads it through here; modal inputs never do (they would be decoded twice).

Control characters (a NUL, an escape) are dropped from the whole payload of every request before that, once
(``plain_payload``): no person types them, and PostgreSQL refuses a NUL in a text field.

slack_sdk and slack_bolt have no such helper (they leave the text as Slack sent it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse

from bot.text import drop_controls

PERSON = "@…"  # a user mention Slack sent without a name: nobody is named, nobody is pinged
CHANNEL = "#…"
WIDE_AT = "\uff20"  # "＠": reads as "@", yet no Slack parser (``link_names``, automatic parsing) makes it a mention
_SEQUENCE = re.compile(r"<([^<>]*)>")
_SPACES = re.compile(r"(?<=\S) {2,}")  # where a mention was left out (indentation is kept)
_BROADCASTS = frozenset({"here", "channel", "everyone", "group"})


def _render(inner: str, *, keep_mentions: bool) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|griet>
        if not keep_mentions:
            return " "
        return f"@{label}" if label else PERSON
    if target.startswith("#"):  # <#C123|wonen>
        return f"#{label}" if label else CHANNEL
    if target.startswith("!"):  # <!here>, <!subteam^S123|@team>, <!date^…|fallback>
        word = target[1:].split("^", 1)[0]
        if word in _BROADCASTS or word == "subteam":  # many people: a full-width "＠" no parser takes for a mention
            name = label.removeprefix("@") or (word if word in _BROADCASTS else "…")
            return f"{WIDE_AT}{name}"
        return label
    if label:  # <https://x|label>, <mailto:a@b.be|a@b.be>
        return label
    return target.removeprefix("mailto:")


def unescape(text: str) -> str:
    """Slack's three entities back to the characters typed; ``&amp;`` last, so a typed ``&lt;`` stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def from_slack(text: str, *, keep_mentions: bool = True) -> str:
    """Slack's markup of a message or command text → the plain text the person typed.

    Mentions become ``@name`` when Slack sent the name, else a neutral ``@…`` (``keep_mentions=False``: left out,
    e.g. the bot's own name in a question put to it); channels ``#name``; links their label, else their address;
    ``<!here>``, ``<!channel>``, ``<!everyone>`` and user groups ``＠here``, ``＠team`` (a full-width at sign); a
    date its fallback text — text that pings nobody once escaped on the way out. Then the three entities are
    decoded, once."""
    rendered = _SEQUENCE.sub(lambda m: _render(m.group(1), keep_mentions=keep_mentions), text)
    return unescape(rendered)


def question_from_slack(text: str) -> str:
    """A question from a message put to the bot (a mention, a DM, a message shortcut): plain, without mentions."""
    return _SPACES.sub(" ", drop_format_characters(from_slack(text, keep_mentions=False))).strip()


ZWJ = "\u200d"  # the one format character kept, between two symbols: it joins emoji ("👩‍💻")
_BLANKS = re.compile(r"[^\S\n]+")  # a run of spaces, tabs, no-break spaces, ... (line breaks are kept)
_AROUND_BREAKS = re.compile(r" ?\n ?")


def _is_symbol(char: str) -> bool:
    return bool(char) and not char.isalnum() and not char.isspace()


def normalise_command(text: str) -> str:
    """Drop the invisible format characters (Unicode category Cf: zero-width spaces, bidi marks, BOM, word joiners;
    a zero-width joiner between two symbols stays) and make each run of whitespace one space (tabs, no-break
    spaces; a line break stays one line break), so ``afwezig\u200b tot …`` or ``rapport\t2026-Q1`` reads as the
    sub-command it looks like."""
    return _AROUND_BREAKS.sub("\n", _BLANKS.sub(" ", drop_format_characters(text))).strip()


def drop_format_characters(text: str) -> str:
    """``text`` without the invisible format characters (Unicode category Cf: zero-width spaces, bidi marks, BOM,
    word joiners), except a zero-width joiner between two symbols (it joins emoji)."""
    kept = [
        char
        for i, char in enumerate(text)
        if unicodedata.category(char) != "Cf"
        or (char == ZWJ and _is_symbol(text[i - 1 : i]) and _is_symbol(text[i + 1 : i + 2]))
    ]
    return "".join(kept)


def drop_control_characters(value: object) -> object:
    """``value`` (a request's payload: dicts, lists, strings) with every string's control characters dropped, in
    place: U+0000 and the other C0 and C1 controls and DEL, except tab, line feed and carriage return.

    No keyboard types them and no text wieweet stores or sends means them; a signed payload can still carry one
    (JSON's ``\\u0000``), and PostgreSQL refuses a NUL in a text field. Run on every request before any listener
    (``plain_payload``), so messages, commands, modal inputs and clicks are all cleaned in one place.
    """
    if isinstance(value, str):
        return drop_controls(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = drop_control_characters(item)
    elif isinstance(value, list):
        value[:] = [drop_control_characters(item) for item in value]
    return value


def plain_payload(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
    """Global middleware, the first: the request's payload without control characters (``drop_control_characters``)
    before any other middleware or listener reads it."""
    drop_control_characters(req.body)
    return next()
