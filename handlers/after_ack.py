"""What a request's handling tells Slack only once Slack has the request's acknowledgement.

A response answered before any listener (the network check, ``handlers.network``) may have something to say to the
person as well (a message, a Home tab). Handed to a thread of its own while the response is still on its way, that
message reached Slack before the ack. ``AckThen`` is such a response with its work (``then``); the adapters start the
work once they sent the ack (``after_ack``): Socket Mode once its answer is written to the connection
(``handlers.app.AckFirstSocketModeHandler``), HTTP once the WSGI server has written the response
(``handlers.http_edge``, the body's ``close``). ``then`` only hands the work over (to a pool): it must not wait.

The global error handler (``handlers.errors``) cannot hand Bolt an ``AckThen``: Bolt copies only the status, headers
and body of what it returns onto the response it sends. It leaves its work on that very response (``defer``), and
the adapters read both kinds the same way (``work_after``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from slack_bolt import BoltResponse

log = logging.getLogger(__name__)


class AckThen(BoltResponse):
    """The acknowledgement (``status``, ``body``), and ``then``: what is done once Slack has it."""

    def __init__(self, *, status: int, body: str | dict[str, Any], then: Callable[[], None]) -> None:
        super().__init__(status=status, body=body)
        self.then = then


_THEN = "wieweet_then"  # the work ``defer`` leaves on a response Bolt made


def defer(response: BoltResponse, then: Callable[[], None]) -> None:
    """Leave ``then`` on ``response`` (one Bolt sends as it is) for the adapter to start once Slack has it."""
    setattr(response, _THEN, then)


def work_after(response: BoltResponse | None) -> Callable[[], None] | None:
    """What ``response`` leaves for after the ack: an ``AckThen``'s or a deferred ``then`` (None: nothing)."""
    if isinstance(response, AckThen):
        return response.then
    then = getattr(response, _THEN, None)
    return then if callable(then) else None


def after_ack(response: BoltResponse | None) -> None:
    """Start what ``response`` leaves for after the ack (nothing for any other response); called by an adapter once
    it sent the ack (or, for a response that is no ack, once it sent that)."""
    then = work_after(response)
    if then is None:
        return
    try:
        then()
    except Exception:  # the ack is out: nothing else would report it
        log.exception("the work after an acknowledgement could not be started")


class ThenBody:
    """A WSGI response body that starts ``then`` when the server closes it, which it does once it has written the
    response (with waitress' ``send_bytes`` of 1, the default, sent to the socket by then)."""

    def __init__(self, chunks: list[bytes], then: Callable[[], None]) -> None:
        self.chunks, self.then = chunks, then

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        try:
            self.then()
        except Exception:
            log.exception("the work after an acknowledgement could not be started")
