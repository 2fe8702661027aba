"""What the listener wrapper (``handlers.listener``) and the runner of recorded requests (``handlers.recorded``)
share: the kinds of Slack request, one listener's declaration (``Spec``), and how a redelivery is recognised."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot import inbox as inbox_core
from bot.errors import WieweetError
from handlers.errors import refuse_in_form
from handlers.forms import Draft, Form
from handlers.services import Services
from handlers.turn import Turn

log = logging.getLogger("handlers.listener")

DUPLICATE = "duplicate"  # the outcome of a redelivery, in the request log


class Kind(StrEnum):
    COMMAND = "command"
    EVENT = "event"
    ACTION = "action"
    SHORTCUT = "shortcut"
    VIEW = "view"


class Redelivered(Exception):
    """This delivery was claimed by another copy of it meanwhile: roll back what this copy did."""


def handler_name(handler: Callable[..., None]) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


@dataclass(frozen=True, slots=True)
class Spec:
    """One listener's declaration."""

    services: Services
    kind: str
    handler: Callable[..., None]
    parse: Callable[[Turn], Any] | None
    form: type[Form] | None
    ack_first: bool
    inbox: bool = False
    deferred: bool = False
    check: Callable[[Any, Draft], Mapping[str, str]] | None = None
    name: str = ""  # a deferred request's record names its handler so (a modal: its callback_id)
    # A deferred click: what its payload claims, read from the payload alone (no database) before the ack
    claim: Callable[[Mapping[str, Any]], Any] | None = None

    def run(self, turn: Turn, key: str | None = None) -> WieweetError | None:
        """Parse the payload (when declared), then the handler; a modal refused before its ack says so on the form,
        unless a copy of this delivery (``key``) made the change it was refused on: then it says nothing. A refusal
        that keeps its record (``WieweetError.keep_changes``) is returned, not raised: the caller commits the
        request's transaction (without claiming the delivery: a retry asks again), then raises it."""
        try:
            if self.parse is None:
                self.handler(turn)
            else:
                self.handler(turn, self.parse(turn))
        except WieweetError as error:
            if self.form is None or turn.acked:
                if error.keep_changes:
                    return error
                raise
            if key is not None and claimed_meanwhile(self.services, key):
                # e.g. on PostgreSQL: it waited on the other copy's row lock, then met its change ("already
                # answered"): the modal closes, nothing is shown or sent, the request logs a duplicate
                raise Redelivered(key) from error
            refuse_in_form(turn, error, self.form.ERROR_BLOCK)  # not theirs, gone meanwhile: said on the form
        if self.form is not None and not turn.acked:
            turn.ack()  # a modal that was accepted closes
        return None


def claimed_meanwhile(services: Services, key: str) -> bool:
    """Whether a copy of this delivery claimed it (and made its change) meanwhile."""
    try:
        return inbox_core.delivery_claimed(services.db, key=key)
    except Exception:  # the error that brought us here is reported instead
        log.warning("could not check delivery %s", key, exc_info=True)
        return False
