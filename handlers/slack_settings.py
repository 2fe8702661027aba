"""The Slack settings ``wieweet run`` and the commands that call Slack check before any call: the bot token, the
app-level token and the signing secret, each refused with what is wrong with it (in the operator's language,
``bot.operator_texts``) without showing the value."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from bot.config import Settings, settings_error
from bot.errors import ConfigError, Count, Detail, Problem
from bot.text import counted, shown_text

# checked with ``fullmatch`` (``$`` would let a line break through): a token pasted with a space, a line break or
# a second token after it is refused at start, not by Slack later in an obscure way (``token_problem``)
BOT_TOKEN = re.compile(r"xoxb-[A-Za-z0-9-]+")
APP_TOKEN = re.compile(r"xapp-[A-Za-z0-9-]+")
SIGNING_SECRET = re.compile(r"[A-Za-z0-9]{16,}")

SLACK_SIGNING_SECRET_IS = (
    "Slack's Signing Secret is 32 characters, digits and the letters a-f (the app's Basic Information → App "
    "Credentials → Signing Secret, not the Verification Token or Client Secret)"
)


def signing_secret_problem(secret: str) -> Problem:
    """What is wrong with a ``secret`` that ``SIGNING_SECRET`` refuses, saying what it is like without showing it."""
    others = sum(not (char.isascii() and char.isalnum()) for char in secret)
    if others:
        return Problem(
            f"SLACK_SIGNING_SECRET holds {counted(others, 'character')} other than letters and digits (a space, quote "
            f"or line break copied along?); {SLACK_SIGNING_SECRET_IS}",
            "setting_secret_characters",
            {"count": Count(others)},
        )
    return Problem(
        f"SLACK_SIGNING_SECRET is too short ({len(secret)} characters); {SLACK_SIGNING_SECRET_IS}",
        "setting_secret_short",
        {"count": Count(len(secret))},
    )


QUOTES = "'\"`‘’“”"
# the kinds of character a token or secret may hold by mistake: (the English word for one, for more, the operator
# text's code)
_LINE_BREAKS = ("line break", "line breaks", "setting_chars_line_breaks")
_SPACES = ("space or tab", "spaces or tabs", "setting_chars_spaces")
_QUOTE_MARKS = ("quote", "quotes", "setting_chars_quotes")
_OTHERS = ("other character", "other characters", "setting_chars_other")


def _other_characters(value: str, allowed: Callable[[str], bool]) -> tuple[Problem, ...]:
    """What kind of characters ``value`` holds that ``allowed`` refuses, counted, without showing ``value``: "2 line
    breaks, 1 space or tab" (each kind a ``Problem`` the operator's language says)."""
    kinds: dict[tuple[str, str, str], int] = {}
    for char in value:
        if allowed(char):
            continue
        kind = (
            _LINE_BREAKS
            if char in "\r\n"
            else _SPACES
            if char.isspace()
            else _QUOTE_MARKS
            if char in QUOTES
            else _OTHERS
        )
        kinds[kind] = kinds.get(kind, 0) + 1
    return tuple(
        Problem(counted(count, word, words), code, {"count": Count(count)})
        for (word, words, code), count in kinds.items()
    )


def _token_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "-")


TOKEN_KINDS = {"xoxb-": "a bot token", "xapp-": "an app-level token"}  # by prefix; the operator text names the kind


def token_problem(name: str, token: str, *, prefix: str) -> Problem:
    """What is wrong with a Slack token its pattern refuses (the wrong kind, quotes kept around it, "Bearer " or
    other characters copied along), saying what it is like without showing it."""
    kind = TOKEN_KINDS[prefix]
    values: dict[str, object] = {"name": name, "prefix": prefix, "kind": prefix}
    start = token.find(prefix)
    if start < 0:
        return Problem(f"{name} must be {kind} starting with {prefix}", "setting_token_kind", values)
    before = token[:start].strip(QUOTES + " \t\r\n")  # what is left before the token once quotes are taken off
    if before.lower() == "bearer":  # an Authorization header's value pasted whole
        return Problem(
            f'{name} starts with "Bearer ", the word before a token in an HTTP header; give {kind} ({prefix}…) alone',
            "setting_token_bearer",
            values,
        )
    if before:
        return Problem(
            f"{name} holds {counted(start, 'character')} before {prefix} (a name or a word copied along?); "
            f"give {kind} ({prefix}…) alone",
            "setting_token_before",
            {**values, "count": Count(len(token[:start]))},
        )
    others = _other_characters(token, _token_char)
    if not others:  # only "xoxb-"
        return Problem(
            f"{name} must be {kind} starting with {prefix}, followed by the rest of the token",
            "setting_token_prefix_only",
            values,
        )
    shown = ", ".join(others)
    values["others"] = others
    stripped = token.strip()
    inner = stripped[1:-1] if len(stripped) > 1 else ""
    if stripped[0] in QUOTES and stripped[-1] in QUOTES and len(inner) > len(prefix) and all(map(_token_char, inner)):
        return Problem(
            f"{name} is in quotes, kept as part of the value (docker --env-file, a Kubernetes secret or a CI "
            f"variable keeps them; {shown} besides the token); give {kind} ({prefix}…) without them",
            "setting_token_quoted",
            values,
        )
    pasted = any(char.isspace() for char in stripped)
    more = " (two tokens pasted together?)" if pasted else " (copied along?)"
    return Problem(
        f"{name} holds {shown} besides the token's letters, digits and dashes{more}; give {kind} ({prefix}…) alone",
        "setting_token_pasted" if pasted else "setting_token_copied",
        values,
    )


def bot_token_problem(settings: Settings) -> Problem | None:
    """What is wrong with a SLACK_BOT_TOKEN that is set but malformed (``token_problem``); None when it is not set or
    looks like a bot token."""
    token = settings.slack_bot_token
    if token and not BOT_TOKEN.fullmatch(token):
        return token_problem("SLACK_BOT_TOKEN", token, prefix="xoxb-")
    return None


def check_bot_token(settings: Settings) -> None:
    """Refuse a malformed SLACK_BOT_TOKEN as ``wieweet run`` does (``check_tokens``): for the commands that call Slack
    with it (``digest --send-due``, ``register check-slack``, an import that asks Slack for e-mail addresses), before
    their first call. Sent as it is, a token with a line break made Python's HTTP client quote it whole into its
    error (the log, the command's output, a traceback), and a quoted one came back from Slack as "invalid_auth"."""
    problem = bot_token_problem(settings)
    if problem is not None:
        raise settings_error([problem])


def settings_problems(settings: Settings, *, http: bool) -> list[str]:
    """Every Slack setting the chosen mode lacks or that is malformed, one line each (a ``Problem`` each, which the
    command line says in the operator's language)."""
    problems: list[str] = []
    if not settings.slack_bot_token:
        problems.append(Problem("set SLACK_BOT_TOKEN to the app's bot token (xoxb-…)", "setting_no_bot_token"))
    elif problem := bot_token_problem(settings):
        problems.append(problem)
    if http:
        secret = settings.slack_signing_secret
        if not secret:
            problems.append(MISSING_SECRET)
        elif not SIGNING_SECRET.fullmatch(secret):  # fullmatch: "$" would let a line break through
            problems.append(signing_secret_problem(secret))
    else:
        app_token = settings.slack_app_token
        if not app_token:
            problems.append(
                Problem(
                    "set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write for Socket Mode, "
                    "or run with --http and SLACK_SIGNING_SECRET",
                    "setting_no_app_token",
                )
            )
        elif not APP_TOKEN.fullmatch(app_token):
            problems.append(token_problem("SLACK_APP_TOKEN", app_token, prefix="xapp-"))
    return problems


MISSING_SECRET = Problem("set SLACK_SIGNING_SECRET (Basic Information → Signing Secret)", "setting_no_signing_secret")


def check_tokens(settings: Settings, *, http: bool, problems: Sequence[str] = ()) -> None:
    """One clear message listing every missing or malformed setting (``problems``: those found earlier, such as
    a malformed WIEWEET_JOB_INTERVAL), instead of one at a time or a traceback deep inside Bolt."""
    found = [*problems, *settings_problems(settings, http=http)]
    if found:
        raise settings_error(found)


def slack_unreachable(
    api_url: str, exc: Exception, kind: str = "unreachable", detail: str | None = None
) -> ConfigError:
    """The one line a command that needs Slack stops with when Slack cannot be reached at ``api_url``
    (``SLACK_API_URL``, masked where it is quoted): ``kind`` says why in the operator's language (``bot.errors.Detail``:
    ``unreachable``, no connection; ``timeout``; ``server_error``, a 5xx; ``not_slack``, an answer that is not
    Slack's), ``detail`` (by default the error's own text) after it, masked."""
    url = shown_text(api_url, limit=200)
    said = str(exc) if detail is None else detail
    english = f"cannot reach Slack at {url}: {shown_text(said, limit=500)}"
    return ConfigError(
        "unreachable", Problem(english, "setting_slack_unreachable", {"url": url, "detail": Detail(said, kind)})
    )


# the lines slack_sdk's Web API client logs at ERROR by itself: one per connection attempt, and a page it could not
# decode (a proxy's) quoted whole; when Slack is out of reach, ``slack_unreachable`` says all of it in one line
CLIENT_FAILURES = ("Failed to send a request to Slack API server", "Failed to decode Slack API response")
CLIENT_LOGGER = "slack_sdk.web.base_client"  # the logger slack_sdk's Web API client writes them to (its ``logger``)


class _ClientFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(CLIENT_FAILURES)


@contextmanager
def quiet_client_failures(logger: logging.Logger) -> Iterator[None]:
    """Leave out the Web API client's own failure lines (``CLIENT_FAILURES``) while a call runs whose failure the
    caller explains itself in one line (``slack_unreachable``): `wieweet run`'s start-up check, and every command
    line command but `run` for as long as it runs (``bot.cli.main``: `import experts`, `register check-slack`,
    `digest --send-due`). Only then: elsewhere they are a running bot's log (masked by the log formatter,
    ``bot.cli.logs``).
    ``logger`` is the client's (``client.logger``, slack_sdk's module logger: for the call's length, every client's)."""
    quiet = _ClientFailures()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
