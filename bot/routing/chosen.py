"""Who a question may be given to by hand: one check for everyone a person chooses (an expert passing a question
on, staff assigning it, someone volunteering to help), made before anything is written.

Refused, with nothing changed:

- the asker (they cannot answer their own question). For an anonymous question the refusal is the very one given
  for anybody else who cannot be asked (``cannot_ask``), so that choosing people one by one never tells who asked;
  each such pick is logged as a refusal, so repeated probing shows in the log.
- a person whose register entry says not to ask them: consent withdrawn ("Remove me": never shown or asked again)
  or opted out of questions (``Availability.OPTED_OUT``). Someone volunteering chooses themselves and may help.
- a person away (``selection.is_away``, the matcher's own test), with a message that says so and until when
  (``chosen_away_until``; ``chosen_away`` without a date): their profile shows it anyway. Staff may assign them
  all the same once they confirm (``allow_away``), audited; someone volunteering may help while away.

Whether Slack can deliver the DM at all (a bot, a deactivated account, someone outside the network) is the Slack
layer's check (``handlers.routing.require_reachable``), before this one.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.orm import Session

from bot.routing.errors import RoutingInputError
from bot.routing.selection import is_away
from storage import register_repo
from storage.models import Availability, Consent, Expert, Question, RecordStatus, Routing, Visibility

log = logging.getLogger(__name__)

CANNOT_ASK = "cannot_ask"  # one refusal, whoever it is that may not be given the question


def routable_expert(session: Session, slack_user_id: str) -> Expert | None:
    """The register entry of a Slack user, if they are in the register and may be linked to a routing."""
    return _linkable(register_repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id))


def _linkable(expert: Expert | None) -> Expert | None:
    if expert is None or expert.consent is Consent.WITHDRAWN or expert.status is not RecordStatus.PUBLISHED:
        return None
    return expert


def routing_for(question: Question, slack_user_id: str, expert: Expert | None) -> Routing | None:
    """The routing of ``question`` that asked this person already, if any."""
    for routing in question.routings:
        if routing.recipient_slack_id == slack_user_id:
            return routing
        if expert is not None and routing.expert_id == expert.id:
            return routing
    return None


def _not_to_ask(entry: Expert | None) -> str | None:
    """Why a register entry says never to ask this person (None: it does not)."""
    if entry is None:
        return None
    if entry.consent is Consent.WITHDRAWN:
        return "consent withdrawn"
    return "opted out" if entry.availability is Availability.OPTED_OUT else None


def away_error(expert: Expert, slack_user_id: str) -> RoutingInputError:
    """The refusal for choosing someone away: who (a Slack mention of the id chosen, checked before: nothing of the
    profile's own text goes into the message), and until when (when known)."""
    values = {"name": f"<@{slack_user_id}>"}
    if expert.away_until is None:
        return RoutingInputError("chosen_away", f"expert {expert.id} is away", values=values)
    until = expert.away_until.isoformat()
    return RoutingInputError("chosen_away_until", f"expert {expert.id} is away", values=values | {"until": until})


def chosen_expert(
    session: Session,
    question: Question,
    to_slack_id: str,
    *,
    actor: str,
    today: date,
    volunteered: bool = False,
    allow_away: bool = False,
) -> Expert | None:
    """Refuse (``RoutingInputError``) a person who may not be given ``question`` by ``actor``'s choice; else their
    register entry to link the routing to (None: not in the register, or not to be linked). ``today``: the local
    date an away period is compared with; ``allow_away``: staff confirmed they want someone away."""
    if question.asker_slack_id and to_slack_id == question.asker_slack_id:
        if volunteered:
            raise RoutingInputError("help_own_question")
        if question.visibility is not Visibility.ANONYMOUS:
            raise RoutingInputError("forward_to_asker")
        # the chooser must not learn who asked: the reply is the one for anybody else who cannot be asked
        log.warning("refused pick: asker of anonymous question=%s chosen by=%s", question.id, actor)
        raise RoutingInputError(CANNOT_ASK)
    entry = register_repo.get_expert_by_slack_id(session, slack_user_id=to_slack_id)
    reason = _not_to_ask(entry)
    if entry is not None and reason and not volunteered:
        log.info("refused pick: expert=%s (%s) for question=%s chosen by=%s", entry.id, reason, question.id, actor)
        raise RoutingInputError(CANNOT_ASK)
    if entry is not None and not volunteered and not allow_away and is_away(entry, today):
        log.info("refused pick: expert=%s away for question=%s chosen by=%s", entry.id, question.id, actor)
        raise away_error(entry, to_slack_id)
    return _linkable(entry)
