"""Message shortcuts: "Wie weet dit?" (answer in the thread), "Vraag een expert" (the ask modal), "Bewaar als
praktijk" (the practice modal pre-filled from the message). Callback ids are in ``manifest.yml`` too."""

from __future__ import annotations

from slack_bolt import App

from handlers import answers, ids, practices, routing
from handlers.listener import Kind, listener
from handlers.services import Services


def register(app: App, services: Services) -> None:
    shortcuts = [
        (ids.SHORTCUT_WHO_KNOWS, answers.handle_who_knows_shortcut),
        (ids.SHORTCUT_SAVE_PRACTICE, practices.handle_save_practice_shortcut),
    ]
    if services.routing is not None:
        shortcuts.append((ids.SHORTCUT_ASK_EXPERT, routing.handle_ask_shortcut))
    for callback_id, handler in shortcuts:
        app.shortcut(callback_id)(listener(services, Kind.SHORTCUT, handler, ack_first=True))
