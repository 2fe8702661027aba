"""Routing's domain errors.

Every refused action raises a ``WieweetError`` subclass with a stable ``code``; nothing has changed when it is
raised (the caller's transaction is rolled back). The UI's text per code is in the catalogue (``bot.error_texts``).
"""

from __future__ import annotations

from bot.actors import NotAuthorized
from bot.errors import WieweetError


class StaleActionError(WieweetError):
    """A button or command that no longer applies: a second claim, a click after cancel, someone else's routing."""

    code = "stale_action"
    refusal = True


class NotYours(NotAuthorized, StaleActionError):
    """Someone else's routing or question (``not_yours``, ``not_asker``): a refusal, logged as one like every
    ``NotAuthorized``; still a ``StaleActionError`` for callers that treat every unusable button alike."""


class RoutingInputError(WieweetError):
    """Input the user has to fix (an empty answer, a rating of 7, a date in the past)."""

    code = "invalid_input"


class ChosenRefusal(RoutingInputError):
    """A person chosen by hand who may not be given the question now (``chosen_away``, ``chosen_away_until``,
    ``chosen_unconfirmed``): ``values["name"]`` is their Slack user id, shown per surface by ``error_text`` (a
    mention in Slack, their name on the command line)."""

    people = frozenset({"name"})
