"""Identifier and timestamp generators that look like Slack's."""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time

_ALNUM = string.ascii_uppercase + string.digits


def random_id(prefix: str, length: int = 10) -> str:
    """A Slack-style object id such as ``V0123ABCDE`` or ``F07XYZ12AB``: a digit first, as Slack's ids have (a
    channel id without a digit is taken for a name: ``bot.text.is_slack_channel_id``)."""
    return prefix + secrets.choice("0123456789") + "".join(secrets.choice(_ALNUM) for _ in range(length - 1))


def stable_id(prefix: str, seed: str, length: int = 10) -> str:
    """A deterministic Slack-style id derived from ``seed`` (same seed, same id)."""
    digest = hashlib.sha1(seed.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    return prefix + digest[:length]


def event_id() -> str:
    return random_id("Ev", 10)


def trigger_id(team_number: int = 1) -> str:
    """Looks like ``1732770000123.0001.5f0c9e...`` (Slack's ``<ms>.<team>.<hash>``)."""
    return f"{int(time.time() * 1000)}.{team_number:04d}.{secrets.token_hex(16)}"


def view_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


class TsClock:
    """Hands out message timestamps (``"1732770000.000100"``) that strictly increase."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_us = 0

    def next(self) -> str:
        with self._lock:
            now_us = int(time.time() * 1_000_000)
            self._last_us = max(now_us, self._last_us + 1)
            seconds, micros = divmod(self._last_us, 1_000_000)
        return f"{seconds}.{micros:06d}"
