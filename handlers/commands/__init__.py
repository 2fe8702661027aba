"""Slash command ``/wieweet``: a question, or a sub-command (``help``, ``digest …``, ``mijn gegevens``, ...)."""

from __future__ import annotations

from slack_bolt import App

from bot.i18n import t
from handlers import ids, inbox
from handlers.blocks import build_help_blocks
from handlers.context import Services, Turn, listener
from handlers.digests import route_digest_command
from handlers.practices import route_practice_command
from handlers.privacy import route_privacy_command
from handlers.profiles import route_profile_command
from handlers.routing import route_command
from handlers.whoknows import ANSWER_COMMAND

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
    if turn.services.routing is not None and route_command(turn, text):
        return
    # A question: recorded in the inbox under the command's trigger id (a retried or replayed command is one
    # question) and answered from there (``handlers.whoknows.answer_command``).
    new = inbox.record(
        turn.services,
        request_key=f"cmd:{turn.body.get('trigger_id') or turn.correlation_id}",
        kind_name=ANSWER_COMMAND,
        payload={"text": text, "channel": turn.channel_id, "response_url": turn.body.get("response_url")},
        user_id=turn.user_id,
    )
    turn.context["wieweet_outcome"] = "recorded" if new else "duplicate"


def register(app: App, services: Services) -> None:
    app.command(ids.COMMAND)(listener(services, "command", handle_wieweet_command))
