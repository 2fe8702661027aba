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
sent minutes late (the first one dropped logged with what it was, the others counted in one line with the next job
after a minute, which says how long it counted). A caller whose dropped message would leave a person's request
unanswered without a word keeps its places before the ack (``reserve``: no other thread can take them meanwhile) and
does not acknowledge the request when they do not fit, so Slack delivers it again.
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
    """The acknowledgement (``status``, ``body``), and ``then``: what is done once Slack has it; ``unsent``: what
    gives back what ``then`` was to use (``Places.release``) when the adapter could not send the ack (``not_sent``)."""

    def __init__(
        self,
        *,
        status: int,
        body: str | dict[str, Any],
        then: Callable[[], None],
        unsent: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(status=status, body=body)
        self.then = then
        if unsent is not None:
            setattr(self, _UNSENT, unsent)


_THEN = "wieweet_then"  # the work ``defer`` leaves on a response Bolt made
_UNSENT = "wieweet_unsent"  # what an ``AckThen`` gives back when it could not be sent
ANSWER = "wieweet_answer"  # in a request's context: its ``Answering``, given by the adapter before dispatching
WAITING_MAX = 100  # messages waiting for a thread of a ``BoundedPool``; beyond that they are dropped (logged)
DROPS_PERIOD = 60.0  # seconds: a ``BoundedPool`` logs the first message it dropped, then how many more in this time


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


class Places:
    """Places kept on a ``BoundedPool`` (``reserve``) before the ack, for the jobs handed over after it: another
    thread's job cannot take them meanwhile. ``submit`` uses one (beyond those kept: as ``BoundedPool.submit``);
    ``release`` gives back those not used."""

    def __init__(self, pool: BoundedPool, count: int) -> None:
        self._pool, self._left = pool, count

    def submit(self, work: Callable[[], None], *, what: str) -> bool:
        with self._pool._lock:
            kept = self._left > 0
            if kept:
                self._left -= 1
        if not kept:
            return self._pool.submit(work, what=what)
        self._pool._start(work, what)
        return True

    def release(self) -> None:
        with self._pool._lock:
            self._pool._held -= self._left
            self._left = 0


class BoundedPool:
    """``workers`` threads and at most ``waiting`` jobs waiting for one: ``submit`` drops a job beyond that, with
    one WARNING line naming ``what`` for the first one dropped in ``DROPS_PERIOD`` seconds and one line counting the
    others once that period is over (a flood writes a line a minute, not one per message)."""

    def __init__(
        self,
        *,
        workers: int,
        waiting: int = WAITING_MAX,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._limit = workers + waiting  # running + waiting
        self._held = 0
        self._clock = clock
        self._drops_from: float | None = None  # when the period of the drops counted began
        self._drops_unlogged = 0
        self.name = name

    def reserve(self, jobs: int, *, spare: int = 0) -> Places | None:
        """``jobs`` places kept now for jobs handed over later (``Places``), while ``spare`` places stay free for
        others; None (nothing kept) when they do not fit."""
        self._log_drops()
        with self._lock:
            if self._held + jobs > self._limit - spare:
                return None
            self._held += jobs
        return Places(self, jobs)

    def submit(self, work: Callable[[], None], *, what: str) -> bool:
        """Queue ``work``; False (and logged) when ``waiting`` jobs wait already."""
        self._log_drops()
        with self._lock:
            full = self._held >= self._limit
            if not full:
                self._held += 1
        if full:
            self.dropped(what)
            return False
        self._start(work, what)
        return True

    def dropped(self, what: str) -> None:
        """Log ``what`` dropped: the first of a period at WARNING, the others counted (``_log_drops``)."""
        now = self._clock()
        with self._lock:
            first = self._drops_from is None
            if first:
                self._drops_from = now
            else:
                self._drops_unlogged += 1
        if first:
            log.warning("%s: too many messages waiting, dropped %s", self.name, what)
        else:
            self._log_drops()

    def _log_drops(self) -> None:
        """One line counting the messages dropped since the first one logged, once ``DROPS_PERIOD`` is over."""
        now = self._clock()
        with self._lock:
            if self._drops_from is None or now - self._drops_from < DROPS_PERIOD:
                return
            count, since = self._drops_unlogged, now - self._drops_from
            self._drops_from, self._drops_unlogged = None, 0
        if count:  # written with the next job, which may come long after the minute: the line says how long it counted
            log.warning(
                "%s: too many messages waiting, %d more dropped in the %s since the first one",
                self.name,
                count,
                _span(since),
            )

    def _start(self, work: Callable[[], None], what: str) -> None:
        """Run ``work`` on a thread (its place counted already), the place given back when it ends."""

        def run() -> None:
            try:
                work()
            except Exception:  # a thread of its own: nothing else would report it
                log.exception("%s: %s failed", self.name, what)
            finally:
                with self._lock:
                    self._held -= 1

        self._pool.submit(run)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _span(seconds: float) -> str:
    """A time span for the operator: ``61 s``, ``45 min``, ``3 h 0 min``."""
    whole = int(seconds)
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


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
    unsent = getattr(response, _UNSENT, None)
    if callable(unsent):
        setattr(copy, _UNSENT, unsent)
    return copy


def not_sent(response: BoltResponse) -> None:
    """The adapter could not send ``response`` (the connection failed): its work never starts, and what it kept for
    that work is given back (``AckThen``'s ``unsent``)."""
    unsent = getattr(response, _UNSENT, None)
    if callable(unsent):
        unsent()


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
