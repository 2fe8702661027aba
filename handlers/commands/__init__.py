"""Slash command ``/wieweet``: a question, or a sub-command (``help``, ``digest …``, ``mijn gegevens``, ...).

Each feature says whether the text is one of its sub-commands; what is none of them is a "who knows" question.
"""

from __future__ import annotations

from slack_bolt import App

from bot.i18n import t
from handlers import ids
from handlers.answers import command_who_knows
from handlers.blocks.answer import build_help_blocks
from handlers.digests import route_digest_command
from handlers.listener import Kind, listener
from handlers.needs import route_needs_command
from handlers.practices import route_practice_command
from handlers.privacy import route_privacy_command
from handlers.profiles import route_profile_command
from handlers.routing import route_command
from handlers.services import Services
from handlers.turn import Turn

HELP_WORDS = frozenset({"", "help", "hulp", "?", "aide"})


def handle_wieweet_command(turn: Turn) -> None:
    text = str(turn.body.get("text") or "").strip()
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
    command_who_knows(turn, text)


def register(app: App, services: Services) -> None:
    app.command(ids.COMMAND)(listener(services, Kind.COMMAND, handle_wieweet_command, ack_first=True))
