"""Events: mentions of the bot and direct messages get an answer in the thread; the Home tab is published when
opened; everything else is acknowledged and ignored.

Slack sends both ``app_mention`` and ``message`` for one message that mentions the bot, and redelivers on
retries; a database claim on the message (channel + ts) makes sure only one answer is ever posted
(``handlers.answers``), whichever process gets which delivery.
"""

from __future__ import annotations

from slack_bolt import App

from handlers import answers, profiles
from handlers.listener import Kind, listener
from handlers.services import Services


def register(app: App, services: Services) -> None:
    for event, handler in (
        ("app_mention", answers.handle_app_mention),
        ("message", answers.handle_message),
        ("app_home_opened", profiles.handle_home_opened),
    ):
        app.event(event)(listener(services, Kind.EVENT, handler, ack_first=True))
