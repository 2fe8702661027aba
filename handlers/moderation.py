"""Staff decisions on the version of a record they were shown (practices and expert profiles).

Approve and Reject carry the version of the record the review showed (``handlers.claims.Versioned``); the service
refuses a decision on any other version with its ``*Changed`` error. The flow around that call is the same for every
kind of record and lives here: a rejection needs a reason (an error under the modal's field); a modal submission is
acked once the service has decided, whichever way; a refused decision runs the caller's ``on_changed`` (the review
shows the stored version, the staff member is told) and returns None; a decision made sends the messages it queued
once the request commits and comes back as a 1-tuple (a service may return None: a rejected profile is gone). What is
shown afterwards stays with the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol, TypeVar

from bot.errors import WieweetError
from bot.i18n import t
from handlers.turn import Turn

T = TypeVar("T")


class RejectForm(Protocol):
    ERROR_BLOCK: ClassVar[str]

    @property
    def reason(self) -> str: ...


def reason_missing(turn: Turn, form: RejectForm) -> bool:
    """Whether a rejection came without a reason; if so, the modal says so under its field."""
    if form.reason:
        return False
    turn.form_errors({form.ERROR_BLOCK: t("field.missing", turn.lang)})
    return True


def decide_shown_version(
    turn: Turn,
    decide: Callable[[], T],
    *,
    changed: type[WieweetError],
    on_changed: Callable[[], None],
    submission: bool = False,
) -> tuple[T] | None:
    """``(decide()'s result,)``, or None when the service refused it as ``changed`` (``on_changed`` has run then).
    ``submission``: a modal's submission, acked after the decision (a button was acked before)."""
    try:
        result = decide()
    except changed:
        if submission:
            turn.ack()
        on_changed()
        return None
    if submission:
        turn.ack()
    turn.queued_messages()
    return (result,)
