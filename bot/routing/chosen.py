"""Who a question may be given to by hand: one check for everyone a person chooses (an expert passing a question
on, staff assigning it, someone volunteering to help), made before anything is written.

Refused, with nothing changed:

- the asker (they cannot answer their own question). For an anonymous question the refusal is the very one given
  for anybody else who cannot be asked (``cannot_ask``: "this person cannot be given this question"), to staff as to
  an expert passing it on, in Slack as on the command line; each such pick is logged as a refusal, so repeated
  probing shows in the log. The audit entry of such a refusal says only what the chooser was told: whoever reads
  the audit log (the operator who chose, too) must not learn who asked. A refusal is still not "asked": whoever sees
  the person they chose listed and available (or, staff, confirmed someone away and is refused) learns it is the
  asker or someone who withdrew. Only asking the asker as anyone else would close that, which the product does not
  do; the limit below keeps guessing slow.
- a person whose register entry says not to ask them: consent withdrawn ("Remove me": never shown or asked again)
  or opted out of questions (``Availability.OPTED_OUT``). Someone volunteering who said so is refused too, with a
  message of their own that tells them how to undo it on their Home tab (``help_withdrawn``, ``help_opted_out``):
  the sender never posts a question to such a person (``bot.routing.stopped.end_if_not_askable``), so accepting
  the click would thank them for a question that never reaches them.
- for staff (assigning from the triage channel or ``wieweet question assign``), a person whose listing was never
  confirmed (consent *pending*: imported from a file, the confirmation DM not answered) while the routing policy
  asks only confirmed experts (``RoutingPolicy.require_confirmed_consent``, ``WIEWEET_REQUIRE_CONSENT``): staff
  choose from the register on the network's behalf, as the automatic routing does, and so by its rule
  (``chosen_unconfirmed``, naming the person: their profile shows it to staff anyway; no "assign anyway"). An expert
  passing a question on asks a colleague of their own, in the register or not, and someone volunteering chooses
  themselves: neither is held to it.
- a person away (``selection.is_away``, the matcher's own test), with a message that says so and until when
  (``chosen_away_until``; ``chosen_away`` without a date): their profile shows it anyway. Checked before the asker:
  an away anonymous asker gets the very refusal any away person gets. Staff may assign them
  all the same once they confirm (``allow_away``), audited; someone volunteering may help while away.

Probing is limited: each ``cannot_ask``, unconfirmed or away refusal of a pick is recorded in the audit log (who
chose, which question, what they were told and, for ``cannot_ask`` on a question that names its asker, the real
reason under ``REFUSED_PICK_REASON``; never whom they chose. On an anonymous question no reason at all is recorded:
``asker`` would name the asker, and so would its absence beside the reasons of the others; the chooser's own export
of their data leaves the reason out too),
and the request keeps that record (``keep_changes``). After ``MAX_REFUSED_PICKS`` of them by the same chooser within
``REFUSED_WINDOW``, any further pick of someone else by them is refused (``too_many_picks``: try later), with one
WARNING line, before anything else is looked at. Staff too: assigning by hand is a pick like any other, an anonymous
question's asker is kept from staff as from everyone, and someone who gets five refusals in an hour waits at most that
hour. Someone volunteering chooses themselves: never counted, never limited.

Whether Slack can deliver the DM at all (a bot, a deactivated account, someone outside the network) is the Slack
layer's check (``handlers.routing.require_reachable``), before this one.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.routing.errors import ChosenRefusal, RoutingInputError
from bot.routing.selection import is_away
from storage import question_repo, register_repo
from storage.enums import REFUSED_PICK_ENTITY, REFUSED_PICK_REASON
from storage.models import Availability, Consent, Expert, Question, RecordStatus, Routing, Visibility

log = logging.getLogger(__name__)

CANNOT_ASK = "cannot_ask"  # one refusal, whoever it is that may not be given the question
TOO_MANY_PICKS = "too_many_picks"  # too many refused picks lately: try later
UNCONFIRMED = "chosen_unconfirmed"  # staff chose someone whose listing was never confirmed
HELP_WITHDRAWN = "help_withdrawn"  # someone who removed their listing offering help: undo it on the Home tab first
HELP_OPTED_OUT = "help_opted_out"  # someone who asked to be asked nothing offering help: likewise
MAX_REFUSED_PICKS = 5
REFUSED_WINDOW = timedelta(hours=1)
REFUSED_PICK = REFUSED_PICK_ENTITY  # the audit log's entity type of a refused pick (keyed by the question)


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
        return "consent_withdrawn"
    return "opted_out" if entry.availability is Availability.OPTED_OUT else None


def away_error(expert: Expert, slack_user_id: str, *, keep_changes: bool = False) -> ChosenRefusal:
    """The refusal for choosing someone away: who (the Slack user id chosen, checked before: nothing of the profile's
    own text goes into the message; a mention in Slack, their name on the command line), and until when (when
    known)."""
    values = {"name": slack_user_id}
    if expert.away_until is None:
        return ChosenRefusal("chosen_away", f"expert {expert.id} is away", values=values, keep_changes=keep_changes)
    until = expert.away_until.isoformat()
    values |= {"until": until}
    return ChosenRefusal("chosen_away_until", f"expert {expert.id} is away", values=values, keep_changes=keep_changes)


def chosen_expert(
    session: Session,
    question: Question,
    to_slack_id: str,
    *,
    actor: str,
    today: date,
    now: datetime,
    volunteered: bool = False,
    allow_away: bool = False,
    require_consent: bool = False,
) -> Expert | None:
    """Refuse (``RoutingInputError``) a person who may not be given ``question`` by ``actor``'s choice; else their
    register entry to link the routing to (None: not in the register, or not to be linked). ``today``: the local
    date an away period is compared with; ``allow_away``: staff confirmed they want someone away;
    ``require_consent``: staff choose, and the routing policy asks only experts who confirmed their listing; ``now``:
    when (refused picks are counted over the last ``REFUSED_WINDOW``)."""
    if not volunteered:
        _not_probing(session, question, actor=actor, now=now)
    is_asker = bool(question.asker_slack_id) and to_slack_id == question.asker_slack_id
    if is_asker and volunteered:
        raise RoutingInputError("help_own_question")
    if is_asker and question.visibility is not Visibility.ANONYMOUS:
        raise RoutingInputError("forward_to_asker")
    entry = register_repo.get_expert_by_slack_id(session, slack_user_id=to_slack_id)
    reason = _not_to_ask(entry)
    if entry is not None and reason and volunteered:
        log.info("refused volunteer: expert=%s (%s) for question=%s", entry.id, reason, question.id)
        raise RoutingInputError(HELP_WITHDRAWN if reason == "consent_withdrawn" else HELP_OPTED_OUT, reason)
    if entry is not None and reason and not volunteered:
        log.info("refused pick: expert=%s (%s) for question=%s chosen by=%s", entry.id, reason, question.id, actor)
        raise _cannot_ask(session, question, actor=actor, now=now, reason=reason)
    if entry is not None and require_consent and not volunteered and entry.consent is not Consent.CONFIRMED:
        # before the asker check too: an unconfirmed anonymous asker gets the refusal any unconfirmed person gets
        log.info(
            "refused pick: expert=%s listing unconfirmed for question=%s chosen by=%s", entry.id, question.id, actor
        )
        _record_refusal(session, question, actor=actor, now=now, refused=UNCONFIRMED)
        raise ChosenRefusal(
            UNCONFIRMED,
            f"expert {entry.id} never confirmed their listing",
            values={"name": to_slack_id},
            keep_changes=True,
        )
    if entry is not None and not volunteered and not allow_away and is_away(entry, today):
        # before the asker check: an away anonymous asker gets the very refusal any away person gets
        log.info("refused pick: expert=%s away for question=%s chosen by=%s", entry.id, question.id, actor)
        _record_refusal(session, question, actor=actor, now=now, refused="away")
        raise away_error(entry, to_slack_id, keep_changes=True)
    if is_asker:
        # the chooser must not learn who asked: the reply is the one for anybody else who cannot be asked
        log.warning("refused pick: asker of anonymous question=%s chosen by=%s", question.id, actor)
        raise _cannot_ask(session, question, actor=actor, now=now, reason=None)
    return _linkable(entry)


def _not_probing(session: Session, question: Question, *, actor: str, now: datetime) -> None:
    """``too_many_picks`` once ``actor`` had ``MAX_REFUSED_PICKS`` picks refused within ``REFUSED_WINDOW``. The
    chooser's lock is taken first and held until the request's transaction ends: a pick made at the same time
    elsewhere (another replica) counts the refusal this one records, never the count from before it."""
    question_repo.claim_chooser_lock(session, chooser=actor)
    refused = register_repo.count_audit_log(session, actor=actor, entity_type=REFUSED_PICK, since=now - REFUSED_WINDOW)
    if refused >= MAX_REFUSED_PICKS:
        log.warning(
            "refused pick: too many attempts (%d refused in the last hour) by=%s question=%s",
            refused,
            actor,
            question.id,
        )
        raise RoutingInputError(TOO_MANY_PICKS, f"{refused} picks refused in the last hour")


def _cannot_ask(
    session: Session, question: Question, *, actor: str, now: datetime, reason: str | None
) -> RoutingInputError:
    """The one refusal for anybody who cannot be asked, whatever the ``reason`` (never told), recorded and kept when
    the request's other changes are not (``keep_changes``: nothing else was written yet). The reason is audited only
    for a question that names its asker: on an anonymous one, every such refusal is recorded alike, or the audit log
    would tell whoever reads it (the operator who chose, too) which pick was the asker."""
    audited = reason if question.visibility is not Visibility.ANONYMOUS else None
    _record_refusal(session, question, actor=actor, now=now, refused=CANNOT_ASK, reason=audited)
    return RoutingInputError(CANNOT_ASK, keep_changes=True)


def _record_refusal(
    session: Session, question: Question, *, actor: str, now: datetime, refused: str, reason: str | None = None
) -> None:
    """A refused pick in the audit log: who chose, for which question, the kind of refusal they were told and, when
    that does not say it and the question names its asker, the real reason (never whom)."""
    after = {"refused": refused} | ({REFUSED_PICK_REASON: reason} if reason else {})
    register_repo.create_audit_log(
        session,
        actor=actor,
        action="refuse",
        entity_type=REFUSED_PICK,
        entity_key=f"question:{question.id}",
        before=None,
        after=after,
        now=now,
    )
