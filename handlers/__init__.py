"""The Slack layer: thin listeners (ack, parse, call a core service, render blocks, send).

``register(app, services)`` is the one entry point; each kind of request has its own package.
"""

from __future__ import annotations

from slack_bolt import App

from handlers import (
    actions,
    commands,
    digests,
    errors,
    events,
    needs,
    practices,
    privacy,
    profiles,
    routing,
    shortcuts,
    views,
)
from handlers.context import Services


def register(app: App, services: Services) -> None:
    errors.register(app, services)
    for kind in (commands, events, shortcuts, actions, views):
        kind.register(app, services)
    routing.register(app, services)
    digests.register(app, services)
    profiles.register(app, services)
    practices.register(app, services)
    privacy.register(app, services)
    needs.register(app, services)
