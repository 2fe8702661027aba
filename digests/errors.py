"""Errors of the digest feature: input the user has to fix (a bad week, theme, time or channel)."""

from __future__ import annotations

from bot.errors import WieweetError


class DigestError(WieweetError):
    code = "digest"


class InvalidPeriod(DigestError):
    """A week that is not an ISO week like ``2026-W48``."""

    code = "invalid_period"


class InvalidSchedule(DigestError):
    """A weekday, time or language a subscription cannot have."""

    code = "invalid_schedule"


class UnknownTheme(DigestError):
    code = "unknown_theme"


class InvalidChannel(DigestError):
    code = "invalid_channel"


class RetryLaterError(Exception):
    """Raised by a ``post`` function when the chat service asked to wait ``seconds`` before the next try (a rate
    limit's Retry-After, longer than the client waits in-process).

    The run stays claimed and is resumed — by this process or any other — no earlier than that.
    """

    def __init__(self, seconds: int, message: str = "", *, said: bool = True) -> None:
        super().__init__(message or f"asked to wait {seconds} s")
        self.seconds = seconds
        self.said = said  # False: the service named no wait, and a short default is waited


class PermanentPostError(Exception):
    """Raised by a ``post`` function when retrying cannot help (channel gone, bot not in it, bad token).

    The run is marked ``failed`` and not retried this week. Any other exception from ``post`` keeps the claim, so
    the run resumes after the stale timeout.
    """
