"""Slash command ``/wieweet``: a question, or a sub-command (``help``, ``digest …``, ``mijn gegevens``, ...).

Each feature says whether the text is one of its sub-commands; what is none of them is a "who knows" question. That
is decided from the text alone (the sub-commands are a fixed vocabulary: ``is_question``, ``is_change``), before the
ack and without the database, so a question is recorded in the inbox *before* its ack (``handle_question``) and
answered from there, and so is a sub-command that changes something (``digest uit``, ``afwezig tot …``: run from the
record by ``handlers.recorded``). The other sub-commands are acked first: they open a modal (whose trigger id is valid
for 3 s only) or read and show something, so a lost ack loses nothing the user does not see missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot.i18n import t
from handlers import ids
from handlers.answers import command_who_knows
from handlers.blocks.answer import build_help_blocks
from handlers.digests import is_digest_off, route_digest_command
from handlers.kit import message
from handlers.listener import listener
from handlers.needs import route_needs_command
from handlers.practices import route_practice_command
from handlers.privacy import route_privacy_command
from handlers.profiles import is_admin_mention, route_profile_command
from handlers.requestspec import Kind
from handlers.routing import is_away_command, route_command
from handlers.services import Services
from handlers.slack_text import from_slack, normalise_command
from handlers.turn import Turn
from handlers.typos import HELP_WORDS, is_subcommand, mistyped_command


def command_text(body: Mapping[str, Any]) -> str:
    """The command's text as the person typed it (Slack sends ``&``, ``<``, ``>`` encoded: ``from_slack``),
    normalised (``normalise_command``): every sub-command is read from here. The one sub-command whose argument is
    a person, ``beheer @name``, keeps Slack's mention: its user id is what it needs."""
    raw = normalise_command(str(body.get("text") or ""))
    return raw if is_admin_mention(raw) else normalise_command(from_slack(raw))


def is_question(services: Services, text: str) -> bool:
    """Whether ``/wieweet <text>`` is a "who knows" question: none of the sub-commands of the features this
    process offers, nor a typo of one (``mistyped_command``). Pure: no database, no Slack (it runs before the ack)."""
    return not is_subcommand(services, text) and mistyped_command(services, text) is None


def is_change(services: Services, text: str) -> bool:
    """Whether ``/wieweet <text>`` is a sub-command that changes something (``digest uit``, ``afwezig tot …``).
    Pure, like ``is_question``."""
    return is_digest_off(text) or (services.routing is not None and is_away_command(text))


def handle_change(turn: Turn, text: str) -> None:
    """A sub-command that changes something, run from its inbox record (``handlers.recorded.run_change``)."""
    if not (route_digest_command(turn, text) or (turn.services.routing is not None and route_command(turn, text))):
        raise RuntimeError(f"not a sub-command that changes something: {text[:40]!r}")


def handle_question(turn: Turn) -> None:
    """``/wieweet <question>``: recorded in the inbox (its trigger id the dedupe claim), then acked; answered from
    the record (``handlers.answers.answer_command``)."""
    command_who_knows(turn, command_text(turn.body))
    turn.ack()


def handle_wieweet_command(turn: Turn) -> None:
    """A sub-command (acked already)."""
    text = command_text(turn.body)
    assert turn.respond is not None  # slash commands always carry a response_url
    if text.casefold() in HELP_WORDS:
        turn.respond(
            text=t("slack.help_body", turn.lang), blocks=build_help_blocks(turn.lang), response_type="ephemeral"
        )
        return
    for route in (
        route_digest_command,
        route_profile_command,
        route_practice_command,
        route_privacy_command,
        route_needs_command,
    ):
        if route(turn, text):
            return
    if turn.services.routing is not None and route_command(turn, text):
        return
    meant = mistyped_command(turn.services, text)
    if meant is not None:  # not searched, so no knowledge gap either
        said = t("slack.did_you_mean", turn.lang, command=f"/wieweet {meant}")
        turn.respond(text=said, blocks=message(said), response_type="ephemeral")
        turn.outcome = "did you mean"
        return
    command_who_knows(turn, text)  # a sub-command's word used where it does not apply (no channel): a question


def register(app: App, services: Services) -> None:
    def question(body: dict[str, Any]) -> bool:
        return is_question(services, command_text(body))

    def change(body: dict[str, Any]) -> bool:
        return is_change(services, command_text(body))

    # Bolt runs the first listener whose matchers accept the request
    app.command(ids.COMMAND, matchers=[question])(listener(services, Kind.COMMAND, handle_question, inbox=True))
    app.command(ids.COMMAND, matchers=[change])(
        listener(services, Kind.COMMAND, handle_change, claim=command_text, deferred=True)
    )
    app.command(ids.COMMAND)(listener(services, Kind.COMMAND, handle_wieweet_command, ack_first=True))
