"""What a request's handling tells Slack only once Slack has the request's acknowledgement.

A response answered before any listener (the network check, ``handlers.network``) may have something to say to the
person as well (a message, a Home tab). Handed to a thread of its own while the response is still on its way, that
message reached Slack before the ack. ``AckThen`` is such a response with its work (``then``); the adapters start the
work once they sent the ack (``after_ack``): Socket Mode once its answer is written to the connection
(``handlers.app.AckFirstSocketModeHandler``), HTTP once the WSGI server has written the response
(``handlers.http_edge``, the body's ``close``). ``then`` only hands the work over (to a pool): it must not wait.

The global error handler (``handlers.errors``) cannot hand Bolt an ``AckThen``: Bolt copies only the status, headers
and body of what it returns onto the response it sends. It leaves its work on that very response (``defer``), and
the adapters read both kinds the same way (``work_after``). An error in a listener may also come after Bolt stopped
waiting for the listener's ack (3 s: a locked inbox takes two 2 s attempts): Bolt answered already, and what the
error handler answers is never sent. So each adapter gives every request an ``Answering`` (in its context,
``ANSWER``) when it arrives, and tells it what it sent (``after_ack``): work waiting for the answer starts then, work
handed over after that starts at once, and a message meant to be the ack itself is sent by other means when another
answer went instead, or when the ack would come too late for Slack anyway (``ACK_WITHIN``).

Work handed to a pool after the ack goes to a ``BoundedPool``: a few threads and a bounded queue (one for the error
handler's messages, one for the network check's). During an outage (the database, Slack) every request may fail and
queue a message: beyond ``WAITING_MAX`` waiting, a message is dropped with one WARNING line, not kept in memory to be
sent minutes late. A caller whose dropped message would leave a person's request unanswered without a word asks
first (``has_room``) and does not acknowledge the request then, so Slack delivers it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import BoltResponse

log = logging.getLogger(__name__)


class AckThen(BoltResponse):
    """The acknowledgement (``status``, ``body``), and ``then``: what is done once Slack has it."""

    def __init__(self, *, status: int, body: str | dict[str, Any], then: Callable[[], None]) -> None:
        super().__init__(status=status, body=body)
        self.then = then


_THEN = "wieweet_then"  # the work ``defer`` leaves on a response Bolt made
ANSWER = "wieweet_answer"  # in a request's context: its ``Answering``, given by the adapter before dispatching
WAITING_MAX = 100  # messages waiting for a thread of a ``BoundedPool``; beyond that they are dropped (logged)


ACK_WITHIN = 2.5  # seconds after its arrival an ack may still reach Slack in time (Slack waits 3 s from sending)


class Answering:
    """One request's answer: when it arrived, what the adapter sent (``sent``) and the work waiting for that
    (``after``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._arrived = clock()
        self._lock = threading.Lock()
        self._done = False
        self._sent: tuple[int, str] | None = None
        self._waiting: list[tuple[Callable[[], None], str | None]] = []

    def late(self) -> bool:
        """Whether an ack sent now comes too late for Slack (``ACK_WITHIN``)."""
        return self._clock() - self._arrived > ACK_WITHIN

    def after(self, then: Callable[[], None], *, unless_sent: str | None = None) -> None:
        """Start ``then`` once the adapter sent the request's answer, or at once when it sent one already (Bolt
        stopped waiting for a listener and answered by itself). ``unless_sent``: the body of an ack that says what
        ``then`` says; ``then`` starts only when the adapter sent anything else."""
        with self._lock:
            if not self._done:
                self._waiting.append((then, unless_sent))
                return
            sent = self._sent
        if unless_sent is None or sent != (200, unless_sent):
            _start(then)

    def sent(self, status: int, body: str) -> None:
        """The adapter sent ``status`` and ``body`` (for a status other than 200: nothing reached Slack): the work
        waiting starts now."""
        with self._lock:
            self._done, self._sent = True, (status, body)
            waiting, self._waiting = self._waiting, []
        for then, unless_sent in waiting:
            if unless_sent is None or (status, body) != (200, unless_sent):
                _start(then)


def answering(context: dict[str, Any]) -> Answering:
    """A fresh ``Answering`` in a request's ``context`` (an adapter, when the request arrives)."""
    found = Answering()
    context[ANSWER] = found
    return found


def _start(then: Callable[[], None]) -> None:
    try:
        then()
    except Exception:  # the ack is out: nothing else would report it
        log.exception("the work after an acknowledgement could not be started")


class BoundedPool:
    """``workers`` threads and at most ``waiting`` jobs waiting for one: ``submit`` drops a job beyond that, with
    one WARNING line naming ``what``."""

    def __init__(self, *, workers: int, waiting: int = WAITING_MAX, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._limit = workers + waiting  # running + waiting
        self._held = 0
        self.name = name

    def has_room(self, jobs: int = 1) -> bool:
        """Whether ``jobs`` submitted now would be kept (a caller deciding before the ack; another thread may still
        take the last place first, and that job is then dropped as any other)."""
        with self._lock:
            return self._held + jobs <= self._limit

    def submit(self, work: Callable[[], None], *, what: str) -> bool:
        """Queue ``work``; False (and logged) when ``waiting`` jobs wait already."""
        with self._lock:
            full = self._held >= self._limit
            if not full:
                self._held += 1
        if full:
            log.warning("%s: too many messages waiting, dropped %s", self.name, what)
            return False

        def run() -> None:
            try:
                work()
            except Exception:  # a thread of its own: nothing else would report it
                log.exception("%s: %s failed", self.name, what)
            finally:
                with self._lock:
                    self._held -= 1

        self._pool.submit(run)
        return True

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def defer(response: BoltResponse, then: Callable[[], None]) -> None:
    """Leave ``then`` on ``response`` (one Bolt sends as it is) for the adapter to start once Slack has it."""
    setattr(response, _THEN, then)


def work_after(response: BoltResponse | None) -> Callable[[], None] | None:
    """What ``response`` leaves for after the ack: an ``AckThen``'s or a deferred ``then`` (None: nothing)."""
    if isinstance(response, AckThen):
        return response.then
    then = getattr(response, _THEN, None)
    return then if callable(then) else None


def sent_as(response: BoltResponse) -> BoltResponse:
    """A copy of ``response`` as it is now, with what it leaves for after the ack, to send: Bolt may still change the
    one it returned (a listener's error after Bolt stopped waiting for its ack), so what the adapter sends and tells
    ``after_ack`` is this copy."""
    copy = BoltResponse(
        status=response.status, body=response.body, headers={name: list(v) for name, v in response.headers.items()}
    )
    then = work_after(response)
    if then is not None:
        defer(copy, then)
    return copy


def after_ack(response: BoltResponse | None, context: dict[str, Any] | None = None) -> None:
    """Start what ``response`` leaves for after the ack (nothing for any other response), and what waits on the
    request's ``Answering`` in ``context``; called by an adapter once it sent the ack (or, for a response that is no
    ack, once it sent that, or nothing)."""
    then = work_after(response)
    if then is not None:
        _start(then)
    found = context.get(ANSWER) if context is not None else None
    if isinstance(found, Answering):
        body = response.body if response is not None else ""
        found.sent(response.status if response is not None else 0, body if isinstance(body, str) else str(body))


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
