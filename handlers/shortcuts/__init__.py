"""Message shortcuts: "Wie weet dit?" (answer in the thread: recorded in the inbox before its ack), "Vraag een
expert" (the ask modal), "Bewaar als praktijk" (the practice modal pre-filled from the message): acked first, as a
modal must open within the trigger's 3 s. Callback ids are in ``manifest.yml`` too."""

from __future__ import annotations

from slack_bolt import App

from handlers import answers, ids, practices, routing
from handlers.listener import listener
from handlers.requestspec import Kind
from handlers.services import Services


def register(app: App, services: Services) -> None:
    # recorded in the inbox before its ack, answered from the record
    app.shortcut(ids.SHORTCUT_WHO_KNOWS)(
        listener(services, Kind.SHORTCUT, answers.handle_who_knows_shortcut, inbox=True)
    )
    # these open a modal (the trigger id is valid for 3 s only): acked first, nothing recorded
    shortcuts = [(ids.SHORTCUT_SAVE_PRACTICE, practices.handle_save_practice_shortcut)]
    if services.routing is not None:
        shortcuts.append((ids.SHORTCUT_ASK_EXPERT, routing.handle_ask_shortcut))
    for callback_id, handler in shortcuts:
        app.shortcut(callback_id)(listener(services, Kind.SHORTCUT, handler, ack_first=True))
