"""Routing's domain errors and their user-facing texts (Dutch first, English).

Every refused action raises a ``WieweetError`` subclass with a stable ``code``; nothing has changed when it is
raised (the caller's transaction is rolled back). ``ERROR_MESSAGES`` gives the UI a text per code.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.actors import NotAuthorized
from bot.errors import WieweetError


class StaleActionError(WieweetError):
    """A button or command that no longer applies: a second claim, a click after cancel, someone else's routing."""

    code = "stale_action"


class NotYours(NotAuthorized, StaleActionError):
    """Someone else's routing or question (``not_yours``, ``not_asker``): a refusal, logged as one like every
    ``NotAuthorized``; still a ``StaleActionError`` for callers that treat every unusable button alike."""


class RoutingInputError(WieweetError):
    """Input the user has to fix (an empty answer, a rating of 7, a date in the past)."""

    code = "invalid_input"


ERROR_MESSAGES: Mapping[str, Mapping[str, str]] = {
    # stale actions
    "not_yours": {"nl": "Deze vraag is niet aan jou gesteld.", "en": "This question was not sent to you."},
    "not_asker": {"nl": "Alleen wie de vraag stelde kan dit doen.", "en": "Only the person who asked can do this."},
    "already_claimed": {"nl": "Je hebt deze vraag al opgenomen.", "en": "You already took this question."},
    "claimed_by_other": {
        "nl": "Een collega heeft deze vraag al opgenomen.",
        "en": "A colleague has already taken this question.",
    },
    "already_declined": {"nl": "Je hebt deze vraag al afgewezen.", "en": "You already declined this question."},
    "already_forwarded": {"nl": "Je hebt deze vraag al doorgestuurd.", "en": "You already forwarded this question."},
    "already_answered": {"nl": "Deze vraag is al beantwoord.", "en": "This question has already been answered."},
    "routing_closed": {
        "nl": "Je hoeft deze vraag niet meer te beantwoorden.",
        "en": "This question no longer needs your answer.",
    },
    "question_closed": {
        "nl": "Deze vraag is afgesloten of geannuleerd.",
        "en": "This question has been closed or cancelled.",
    },
    "already_snoozed": {"nl": "Je krijgt deze vraag al later opnieuw.", "en": "This question is already snoozed."},
    "already_asked": {
        "nl": "Deze persoon kreeg de vraag al.",
        "en": "This person has already been asked this question.",
    },
    "not_answered": {"nl": "Deze vraag is nog niet beantwoord.", "en": "This question has not been answered yet."},
    "not_escalated": {
        "nl": "Deze vraag wacht niet (meer) op het kenniscentrum.",
        "en": "This question is not (or no longer) waiting for staff.",
    },
    "concurrent_change": {
        "nl": "Iemand anders wijzigde deze vraag net. Probeer opnieuw.",
        "en": "Someone else just changed this question. Please try again.",
    },
    "invalid_transition": {
        "nl": "Dat kan niet (meer) met deze vraag.",
        "en": "That is not possible for this question.",
    },
    # input
    "empty_question": {"nl": "Je vraag is leeg.", "en": "Your question is empty."},
    "empty_answer": {"nl": "Je antwoord is leeg.", "en": "Your answer is empty."},
    "empty_information": {"nl": "Er is geen extra informatie ingevuld.", "en": "No additional information given."},
    "invalid_rating": {"nl": "Geef een score van 1 tot 5.", "en": "Give a rating from 1 to 5."},
    "unknown_theme": {"nl": "Onbekend thema.", "en": "Unknown theme."},
    "desired_date_past": {"nl": "De gewenste datum ligt in het verleden.", "en": "The desired date is in the past."},
    "away_date_past": {"nl": "Die datum ligt in het verleden.", "en": "That date is in the past."},
    "forward_to_self": {"nl": "Je kan de vraag niet naar jezelf doorsturen.", "en": "You cannot forward to yourself."},
    "forward_to_asker": {
        "nl": "Je kan de vraag niet doorsturen naar wie ze stelde.",
        "en": "You cannot forward the question to the person who asked it.",
    },
    "invalid_slack_id": {"nl": "Kies een collega.", "en": "Choose a colleague."},
    "not_in_register": {"nl": "Je staat niet in het expertenregister.", "en": "You are not in the expert register."},
    "not_found": {"nl": "Deze vraag bestaat niet (meer).", "en": "This question no longer exists."},
}


def error_message(code: str, lang: str = "nl") -> str:
    texts = ERROR_MESSAGES.get(code) or ERROR_MESSAGES["invalid_transition"]
    return texts.get(lang) or texts["nl"]
