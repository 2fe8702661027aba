"""Modal submissions. (The "who knows" flow has none; routing and self-service add theirs here.)"""

from __future__ import annotations

from slack_bolt import App

from handlers.context import Services


def register(app: App, services: Services) -> None:
    """No modals yet: nothing to register."""
