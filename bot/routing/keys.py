"""The outbox keys of routing's messages, built and recognised here alone, each builder next to its reader: a
change to a key's shape changes both, and ``tests/routing/test_keys.py`` fails when they no longer agree.

A routing message is queued once per kind, cause and target (``RoutingCore.enqueue``: a retried action queues
nothing). The notice telling staff that an expert was marked away because Slack could not reach them
(``DeliveryFailed`` with ``marked_away``, ``bot.routing.reactions``) has a cause naming the expert, so whether staff
were told of a mark since a moment is read from the keys (``bot.register.reactivated``: the "available again" notice
goes out only then)."""

from __future__ import annotations

from storage.models import OutboxKind


def routing_key(kind: OutboxKind, cause: str, target: str) -> str:
    """The outbox key of a routing message of ``kind`` for ``cause`` (an event, a timer, …) to ``target``."""
    return f"{kind.value}:{cause}:{target}"


def routing_key_prefix(kind: OutboxKind, cause_start: str) -> str:
    """How the key of every routing message of ``kind`` whose cause starts with ``cause_start`` starts."""
    return f"{kind.value}:{cause_start}"


def marked_away_cause(expert_id: int, occasion: str) -> str:
    """The cause of the notice that expert ``expert_id`` was marked away, once per ``occasion`` (non-empty): the
    routing whose DM failed (``r<id>``), the question they were chosen for by hand (``q<id>``)."""
    return f"x{expert_id}-{occasion}"


def marked_away_key_prefix(expert_id: int) -> str:
    """How the key of every notice that expert ``expert_id`` was marked away starts (and no other's: the expert's
    number ends at the ``-``)."""
    return routing_key_prefix(OutboxKind.DELIVERY_FAILED, marked_away_cause(expert_id, ""))
