"""Slash command ``/wieweet``: a question, or a sub-command (``help``, ``digest …``, ``mijn gegevens``, ...)."""

from __future__ import annotations

from slack_bolt import App

from bot.i18n import t
from handlers import ids
from handlers.blocks import build_help_blocks
from handlers.context import Services, Turn, listener
from handlers.digests import route_digest_command
from handlers.needs import route_needs_command
from handlers.practices import route_practice_command
from handlers.privacy import route_privacy_command
from handlers.profiles import route_profile_command
from handlers.routing import route_command
from handlers.whoknows import prepare_answer, respond_privately

HELP_WORDS = frozenset({"", "help", "hulp", "?", "aide"})


def handle_wieweet_command(turn: Turn) -> None:
    turn.ack()
    text = str(turn.body.get("text") or "").strip()
    assert turn.respond is not None  # slash commands always carry a response_url
    if text.casefold() in HELP_WORDS:
        turn.respond(
            text=t("slack.help_body", turn.lang), blocks=build_help_blocks(turn.lang), response_type="ephemeral"
        )
        return
    if route_digest_command(turn, text):
        return
    if route_profile_command(turn, text):
        return
    if route_practice_command(turn, text):
        return
    if route_privacy_command(turn, text):
        return
    if route_needs_command(turn, text):
        return
    if turn.services.routing is not None and route_command(turn, text):
        return
    respond_privately(turn, prepare_answer(turn, text, shareable=True))


def register(app: App, services: Services) -> None:
    app.command(ids.COMMAND)(listener(services, "command", handle_wieweet_command))
