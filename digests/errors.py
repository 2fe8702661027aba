"""Errors of the digest feature: input the user has to fix (a bad week, theme, time or channel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Refused:
    """What the chat service answered when it refused a call a digest's post made: its error code (``error``, e.g.
    Slack's ``not_in_channel``) and the call it refused (``method``: the post, or the look-up before it). Carried by
    the errors below as ``refused``; None when the service was not asked (the pass knew it would refuse) or its
    answer was no refusal (a channel shared with another organisation)."""

    error: str
    method: str


class RetryLaterError(Exception):
    """Raised by a ``post`` function when the chat service asked to wait ``seconds`` before the next try (a rate
    limit's Retry-After, longer than the client waits in-process).

    The run stays claimed and is resumed — by this process or any other — no earlier than that.
    """

    def __init__(self, seconds: int, message: str = "", *, said: bool = True, refused: Refused | None = None) -> None:
        super().__init__(message or f"asked to wait {seconds} s")
        self.seconds = seconds
        self.said = said  # False: the service named no wait, and a short default is waited
        self.refused = refused  # None: not asked again (a wait the pass knows already)


class PermanentPostError(Exception):
    """Raised by a ``post`` function when retrying cannot help (channel gone, bot not in it, bad token).

    The run is marked ``failed`` and not retried this week. Any other exception from ``post`` keeps the claim, so
    the run resumes after the stale timeout.
    """

    def __init__(self, message: str = "", *, refused: Refused | None = None) -> None:
        super().__init__(message)
        self.refused = refused


class LookUpRefusedError(PermanentPostError):
    """What a channel's week fails with when the chat service refused the look-up the post waits for (``method``:
    whether the channel is shared with another organisation) for that channel's own reasons (the other channels'
    posts went out: ``handlers.digest_held``), so the post itself was never asked: the week fails as for any
    ``PermanentPostError``, and the run records the look-up's refusal (this type and ``method`` in its error),
    not its post's; later weeks remember it as that channel's refusal all the same, as one of its post
    (``digests.refusals.channel_refused``, ``refused_before``)."""

    def __init__(self, error: str, method: str) -> None:
        super().__init__(f"{method}: {error}", refused=Refused(error, method))
        self.error = error
        self.method = method


class ChatServiceError(Exception):
    """Raised by a ``post`` function when the chat service answered a call with an error this app does not sort (an
    error on its side, such as Slack's ``internal_error`` or ``fatal_error``, or a code it does not know): no
    answer about the channel, so the run stays claimed and is tried again once stale, as for any other exception.
    ``refused`` says what the service answered and to which call (the post, or the look-up before it), so the run's
    result names them (``digest --send-due --json``); the message is the service's own error text."""

    def __init__(self, message: str, *, refused: Refused) -> None:
        super().__init__(message)
        self.refused = refused


class OperatorRefusalError(Exception):
    """Raised by a ``post`` function when the chat service refuses for a reason only the operator can fix (a missing
    scope, a revoked or wrong token): retrying this week helps once it is fixed.

    The run stays claimed and is tried again once stale, so the week's digest goes out once the app is allowed;
    the poster says it once per pass and tells staff once per week (``subscriptions.tell_digests_refused``).
    ``asked``: the service refused this post; False when the poster held it without asking, knowing the pass would be
    refused (no ``refused``: its text says it was not asked), or when the service refused the look-up before it.
    ``held``: the refusal may be the channel's own (Slack's ``no_permission``, held until the pass knows whose it is;
    ``method``: the call refused when it was not the post itself, the look-up before it): kept on the run
    (``refused_at``: later passes ask the runs not refused first). A refusal of the token or of a scope the method
    needs is the app's, never the channel's, however many channels are due."""

    def __init__(
        self,
        error: str,
        needed: str = "",
        *,
        asked: bool = True,
        held: bool = False,
        method: str = "",
        refused: Refused | None = None,
    ) -> None:
        said = f"{error}: needs scope {needed}" if needed else error
        said = f"{method}: {said}" if method else said
        # held without asking the service: never to be read as this channel's post refused
        super().__init__(said if asked or refused is not None else f"not asked, refused earlier in this pass: {said}")
        self.refused = refused
        self.error = error
        self.needed = needed  # the scope the service says is needed, when it says
        self.asked = asked
        self.held = held and asked  # a post not asked was refused by nothing: nothing to keep


class ServiceUnreachableError(Exception):
    """Raised by a ``post`` function (or the look-ups a digest needs) when the chat service cannot be reached at all:
    no connection, or (a call that posts nothing) no answer in time, an answer that is not the service's (a proxy's
    page) when the chat layer finds it is not one channel's own failure (``handlers.digest_sources.SlackReach``; a
    post that may have been posted never raises it but for no connection). Every other channel's call would meet
    it too: the pass stops there (``digests.sender.send_due_digests``), the run it was sending is given up at once
    (stale, so the next pass takes it up, however soon, after the other channels; nothing marked sent or failed)
    and the channels after it are not claimed. ``said``: what the operator is told, in the chat
    layer's words (the one line every command that needs the service says when it is out of reach); ``results``:
    the digests the pass finished before, set by the pass."""

    def __init__(self, said: WieweetError) -> None:
        super().__init__(said.message)
        self.said = said
        self.results: list[Any] = []  # ``digests.sender.SendResult`` (set by the pass)
