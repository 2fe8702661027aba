"""Question routing without Slack: the state machines, expert selection, business time and timers.

The Slack layer calls ``RoutingService`` (one per process) inside a ``db.session()`` per request, runs
``run_due_timers(db, ..., handler=service.handle_timer)`` every minute, and sends what ``bot.outbox.claim_outbox``
returns.
"""

from __future__ import annotations

from bot.routing.business_time import BusinessCalendar
from bot.routing.errors import NotYours, RoutingInputError, StaleActionError
from bot.routing.policy import RoutingPolicy
from bot.routing.service import RoutingService
from bot.routing.timers import TimerRun, run_due_timers

__all__ = [
    "BusinessCalendar",
    "NotYours",
    "RoutingInputError",
    "RoutingPolicy",
    "RoutingService",
    "StaleActionError",
    "TimerRun",
    "run_due_timers",
]
