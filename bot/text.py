"""Invisible characters that change how text *looks* without being text: stripped where names and titles enter.

Bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) reorder what follows
them, so "evil<U+202E>fdp.exe" reads as "evilexe.pdf" and a name can pose as someone else's; zero-width
characters (U+200B–U+200F, U+2060–U+2064, U+FEFF, U+180E, U+00AD, U+061C) make two different names look the
same. None of them belongs in a person's name, an organisation, a title or a question.

``strip_invisible`` is for names, titles, one-line fields, list items and question texts (at validation, in
``bot.register.validation``, in routing and wherever Slack display names are stored). ``strip_bidi`` is for longer
free text (a bio, a summary), where a zero-width joiner may legitimately glue an emoji together but reordering
controls never belong; ``handlers.kit.escape`` applies it to everything it shows, for text stored before.

``drop_controls`` is for input as it comes in (a Slack payload, a command line, a console line): no keyboard types
a control character, and PostgreSQL refuses a NUL in a text field.

``printable`` is for stored text written where control characters *act*: a terminal (the CLI) or a picture. It
drops C0 controls but tab and line feed (a carriage return would let "ok\rEVIL" overwrite the line it is on), DEL,
the C1 controls (U+0080–U+009F: U+009B is a one-character CSI) and the bidi controls, so an ANSI escape sequence in
a name loses its ESC and shows as harmless text such as "[31m".

``is_slack_user_id`` is the one check of a Slack user id's form (the register's import, routing's choices, staff
lists, mentions, the ids a payload claims): ``U`` or ``W`` and 2 to 31 upper-case letters or digits, the whole
string — a trailing newline included, which ``$`` would let through. ``is_slack_channel_id`` likewise for a
conversation: ``C``, ``G`` or ``D``, a digit, then 7 to 30 upper-case letters or digits, so that a channel's name
typed in capitals (``GENERAL``, ``CULTUUR2025``) is not taken for its id.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u061c"
ZERO_WIDTH = "\u200b-\u200f\u2060-\u2064\ufeff\u180e\u00ad"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_INVISIBLE = re.compile(f"[{BIDI_CONTROLS}{ZERO_WIDTH}]")
# Control characters (category Cc) but tab, line feed and carriage return: the C0 controls, DEL and the C1 controls.
# No keyboard types them and no text wieweet stores, shows or sends means them. A character class, for ``[...]``.
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
CONTROLS = re.compile(f"[{CONTROL_CHARACTERS}]")
# What acts on a terminal or a picture: those, and on purpose also the carriage return (it moves back to the start
# of the line, and what follows overwrites it) and the bidi controls
ACTING_CONTROLS = f"{CONTROL_CHARACTERS}\r{BIDI_CONTROLS}"
_ACTING = re.compile(f"[{ACTING_CONTROLS}]")
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")  # the whole string: use ``is_slack_user_id`` (fullmatch)
# a public or private channel, or a DM: the prefix, then at least 8 upper-case letters and digits, one a digit at
# least (``GENERAL`` is a channel's name in capitals, not its id). Ids of older workspaces have a letter right after
# the prefix (``CEL9HCSN4``) and keep it for ever, so a digit may come anywhere; a name in capitals with a digit
# (``CULTUUR2025``) passes here and is refused by Slack (``channel_not_found``) at the first call
SLACK_CHANNEL_ID = re.compile(r"[CDG](?=[A-Z]*[0-9])[A-Z0-9]{8,31}")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional reordering controls."""
    return _BIDI.sub("", text)


def strip_invisible(text: str) -> str:
    """``text`` without bidirectional controls and zero-width / invisible formatting characters."""
    return _INVISIBLE.sub("", text)


def has_invisible(text: str) -> bool:
    return _INVISIBLE.search(text) is not None


def drop_controls(text: str) -> str:
    """``text`` without ``CONTROLS``: what comes in from Slack (``handlers.slack_text``) and from the command line
    and its console (arguments, piped or typed lines) goes through this one rule before anything reads it."""
    return CONTROLS.sub("", text) if CONTROLS.search(text) else text


def printable(text: str) -> str:
    """``text`` without the characters that act on a terminal or a picture (see the module doc)."""
    return _ACTING.sub("", text)


def is_slack_user_id(value: object) -> bool:
    """Whether ``value`` is a Slack user id (``U012AB3CD``, ``W…`` in Enterprise Grid), all of it."""
    return isinstance(value, str) and SLACK_USER_ID.fullmatch(value) is not None


def is_slack_channel_id(value: object, *, prefixes: str = "CDG") -> bool:
    """Whether ``value`` is a Slack conversation id (``C…``, ``G…``, ``D…``; ``prefixes``: only some of them), all of
    it."""
    return isinstance(value, str) and value[:1] in prefixes and SLACK_CHANNEL_ID.fullmatch(value) is not None


# A web address (``scheme://`` and what follows up to a space): its user information is masked ...
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)((?:(?!\b[a-z][a-z0-9+.-]*://)\S)+)")  # to the next one
# ... a query or fragment value whose name says it is a secret (``?token=…``, ``&password=…``, ``&sig=…``,
# ``#access_token=…``) ...
_SECRET_QUERY = re.compile(r"(?i)([?&;#][^=&#;\s]*(?:pass|token|secret|key|sig|auth)[^=&#;\s]*=)[^&#;\s]+")
# ... a Slack webhook's secret path (``https://hooks.slack.com/services/T…/B…/…``, also workflows and triggers) ...
_SLACK_HOOK = re.compile(r"(?i)(\bhooks\.slack\.com/(?:services|workflows|triggers)/)[^\s?#]+")
# ... and a Slack token (bot, user, app-level, configuration: ``xoxb-…``, ``xoxp-…``, ``xapp-…``, ``xoxe.xoxp-…``;
# also as a header cell reads once its column name is normalised, ``xoxb_…``), wherever it starts: glued to what
# comes before it too (``Cxoxb-…``, ``SLACK_BOT_TOKENxoxb-…``, ``2026-Q4xoxb-…``), which a word boundary would let by.
_SLACK_TOKEN = re.compile(r"(xox[a-z]|xapp)([._-])[A-Za-z0-9._-]+")
_AUTHORITY_END = re.compile(r"[/?#]")


def _userinfo_end(rest: str) -> int:
    """Where the user information of a web address (``rest``: what follows ``scheme://``) ends, at its ``@``; -1
    for none. Up to the last ``@`` before the host, so a password with an unencoded ``@`` is masked whole; a password
    with an unencoded ``/``, ``?`` or ``#`` ends the host early (``https://dienst:Ge/heim@…``: the "port" is not a
    number), so then up to the next ``@`` and on to the last one before the host after it."""
    authority = _AUTHORITY_END.search(rest)
    end = authority.start() if authority else len(rest)
    at = rest.rfind("@", 0, end)
    if at >= 0:
        return at
    host, colon, port = rest[:end].rpartition(":")
    if not colon or port.isdigit() or host.startswith("["):
        return -1  # no user information (a port, an IPv6 address), or a link whose path holds an @
    at = rest.find("@", end)
    if at < 0:
        return -1
    after = _AUTHORITY_END.search(rest, at)
    return rest.rfind("@", at, after.start() if after else len(rest))


def _masked_url(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    at = _userinfo_end(rest)
    if at < 0:
        return match.group(0)
    user, colon, _password = rest[:at].partition(":")
    return f"{scheme}{user}:***{rest[at:]}" if colon else f"{scheme}***{rest[at:]}"


def mask_secrets(text: str) -> str:
    """``text`` with the secrets a quoted value may hold masked: a web address's password (``https://dienst:***@…``;
    a user name alone, which may be a token, as ``https://***@…``; up to the last ``@`` before the host), a query or
    fragment value named like a secret (``?token=***``, ``#access_token=***``), a Slack webhook's secret path
    (``hooks.slack.com/services/***``) and a Slack token (``xoxb-***``). For text a person or a log reads (an
    import's problem lines); an e-mail address is left: it is what the line is about."""
    text = _URL.sub(_masked_url, text)
    text = _SECRET_QUERY.sub(r"\1***", text)
    text = _SLACK_HOOK.sub(r"\1***", text)
    return _SLACK_TOKEN.sub(r"\1\2***", text)


# how much of a refused cell value an import's problem line shows
SHOWN_VALUE_CHARS = 60


def shown_text(value: str, limit: int = SHOWN_VALUE_CHARS) -> str:
    """Text quoted to a reader as ``shown_value`` quotes a cell's value, without the quotes (a "did you mean"
    suggestion, a library's error text): without control characters (nor anything else that acts on a terminal),
    whitespace runs as one space, its secrets masked (``mask_secrets``: a link's password, a token), cut at
    ``limit`` characters."""
    text = mask_secrets(" ".join(printable(value).split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def shown_value(value: str) -> str:
    """A cell's value as a problem line quotes it: ``shown_text`` (printable, one line, its secrets masked, cut at
    ``SHOWN_VALUE_CHARS``) in quotes."""
    return repr(shown_text(value))


def counted(n: int, word: str, words: str | None = None) -> str:
    """``n`` and the English noun for it, for a log line (logs are English, without the catalogue): "1 question",
    "3 questions" (``words``: a plural that is not ``word`` + "s")."""
    return f"{n} {noun(n, word, words)}"


def noun(n: int, word: str, words: str | None = None) -> str:
    """The English noun for ``n`` of it, without the number: "column" for one, "columns" for the rest (an English
    line without the catalogue, e.g. "lacks the required columns 'a', 'b'")."""
    return word if n == 1 else words or word + "s"
