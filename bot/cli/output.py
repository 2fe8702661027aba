"""What the ``wieweet`` commands print: everything goes through ``echo``, so stored text that users and register
imports control (names, organisations, titles, questions, labels) never reaches a terminal raw.

A control character in a name could clear the screen, rewrite the window title, move the cursor to hide a line
or, with some terminals, answer back as if typed. ``terminal_text`` shows each C0 control but tab and line feed,
DEL, each C1 control (U+009B is a one-character CSI) and each bidi reordering control as visible ``\\uXXXX`` text,
so an administrator *sees* that a value holds one. Inside ``--json`` output that is a JSON escape of the very same
character: the JSON stays valid and its values unchanged. A register export to standard output (``-``) is the
file's bytes, not text for a terminal: redirect it to a file or a pipe.
"""

from __future__ import annotations

import re

import click

from bot.text import ACTING_CONTROLS

_ACTING = re.compile(f"[{ACTING_CONTROLS}]")


def terminal_text(text: str) -> str:
    """``text`` with every control character that acts on a terminal shown as ``\\uXXXX``."""
    return _ACTING.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for every line a command prints (see the module doc)."""
    click.echo(terminal_text(str(message)), err=err, nl=nl)
