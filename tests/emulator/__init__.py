"""A Slack lookalike for end-to-end tests: Web API, Events API over HTTP, and Socket Mode, on 127.0.0.1."""

from .emulator import EmulatorTimeoutError, SlackEmulator
from .models import Attempt, Call, Delivery, EmulatorConfig

__all__ = ["Attempt", "Call", "Delivery", "EmulatorConfig", "EmulatorTimeoutError", "SlackEmulator"]
