"""How the composition root writes log records: one physical line per record, whatever text a record carries.

Log messages carry text from outside: a question, a name, a Slack payload's values, an exception's message. A line
feed or carriage return in it would let whoever wrote that text forge log lines ("...\\n2026-12-05 09:00:00,000
WARNING wieweet.errors: refused ...") for whoever reads the logs, and terminal escapes or bidi controls would change
what they see. ``OneLineFormatter`` therefore escapes every control character in a record's formatted line (its
message with its arguments filled in): C0 (``\\n``, ``\\r``, ``\\t`` by name, the others as ``\\xNN``), DEL, C1,
the Unicode line and paragraph separators and the bidirectional controls. A traceback or stack stays readable on
its own lines, but each of them starts with ``CONTINUATION`` (and is escaped the same way): a line that does not is
always the start of a record. The escaping is done in the formatter, not in each call, so no ``log.info`` anywhere
can forget it; it works on a copy of the text and leaves the record (other handlers, pytest's capture) alone.

The same text may carry a secret: a proxy's error page that echoes the request's ``Authorization: Bearer xoxb-…``
(slack_sdk logs such a page at ERROR by itself), a database address with its password in an exception's message.
The formatter therefore also masks every line it writes, the head and each traceback line (the exception's text
included), with ``bot.text.mask_secrets`` (a Slack token as ``xoxb-***``, a web address's password, a secret-named
query value, a webhook's path): no logger, a library's or a traceback's included, can put one in the log.
"""

from __future__ import annotations

import logging
import re
from typing import IO

from bot.text import BIDI_CONTROLS, mask_secrets

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTINUATION = "  | "  # the start of every line of a record after its first (a traceback's)
_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (see the module doc): it fits on one line."""
    return _CONTROLS.sub(_escaped, text)


def logged_line(text: str) -> str:
    """One physical line of a record as the log shows it: its secrets masked, its control characters escaped."""
    return escape_controls(mask_secrets(text))


class OneLineFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose record is one line, continued only by ``CONTINUATION`` lines (a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        extra: list[str] = []
        if record.exc_info:  # formatted here, not taken from ``record.exc_text``: another handler may have set it
            extra += self.formatException(record.exc_info).splitlines()
        elif record.exc_text:
            extra += record.exc_text.splitlines()
        if record.stack_info:
            extra += self.formatStack(record.stack_info).splitlines()
        head = logged_line(self.formatMessage(record))
        return head + "".join(f"\n{CONTINUATION}{logged_line(line)}" for line in extra)


def log_handler(stream: IO[str]) -> logging.Handler:
    """The handler the composition root logs through (to ``stream``), with the one-line formatter."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    return handler


def configure_logging(*, verbose: bool, stream: IO[str]) -> None:
    """Log to ``stream``: INFO and up with ``verbose``, else WARNING and up (nothing, if logging is set up already)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[log_handler(stream)])
