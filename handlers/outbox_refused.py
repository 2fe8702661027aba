"""What follows a send recorded failed (``handlers.outbox.OutboxSender``), in its own transactions after the
failure is recorded: a post the triage channel never got goes to each staff member by DM; a DM to an asker (or a
recruiting DM) that can never arrive treats the person as gone; a routing's request to someone who can never get a
DM moves on to the next expert; a request given up for another reason is told to whoever chose the person.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.outbox import FailOutcome, redraw_of
from bot.register.marked import UNCONFIRMED_REASONS
from bot.register.refusals import LOOKED_UP, Lookup, Verdict, verdict
from bot.staffdm import FALLBACK_KINDS, NO_STAFF, aimed_at_triage, tell_staff
from handlers.deactivated import is_deactivated, person_gone_after_send
from handlers.recruit_refused import recruit_refused
from handlers.services import Services
from handlers.users_info import BatchAnswers
from storage.models import OutboxKind, OutboxMessage

log = logging.getLogger("wieweet.outbox")

# Of the errors a retry will not fix (``handlers.outbox.OUTBOX_GIVE_UP_ERRORS``), the ones saying the recipient can
# never get a DM: a routing's request failing so is not waited on. Not "account_inactive" by itself: Slack says it of
# the bot's own token (the app or workspace disabled, which an admin can undo), and moving on would spend every open
# question's experts on messages that cannot go out either; only when ``users.info`` then says the recipient's
# account is deleted, or does not know it (``bot.register.refusals.verdict``, the rule every kind of DM follows).
UNREACHABLE_KINDS = frozenset({OutboxKind.EXPERT_REQUEST, OutboxKind.EXPERT_REMINDER})
# DMs to an asker: when one can never arrive (the account deactivated: ``_asker_unreachable``), the
# person is treated as Slack's ``user_change`` for a deactivated account would have them (``handlers.deactivated``)
ASKER_KINDS = frozenset({OutboxKind.ASKER_UPDATE, OutboxKind.ANSWER_TO_ASKER})


def after_failure(
    services: Services,
    client: WebClient,
    message: OutboxMessage,
    error: str,
    *,
    permanent: bool,
    recorded: FailOutcome,
    answers: BatchAnswers | None = None,
) -> None:
    """What follows a failed send of ``message`` recorded as ``recorded`` (see the module docstring); ``permanent``:
    Slack's ``error`` is one a retry will not fix. ``answers``: what ``users.info`` answered of each person so far in
    this batch (``handlers.users_info``: the DM's language look-up too), filled as it is asked, so a storm of
    refusals for one person asks Slack once, and not again after the language."""
    triage = services.settings.triage_channel_id
    if recorded is FailOutcome.GIVEN_UP and aimed_at_triage(message, triage_channel_id=triage):
        _tell_staff(services, client, message, error)
        return
    if recorded is FailOutcome.GIVEN_UP and message.kind in FALLBACK_KINDS:
        # the end of the line: nothing more is tried (a DM copy is never copied again); what waits stays listed
        # where staff look (the Home tab and `wieweet escalated` for questions, the register and needs views)
        log.error(
            "outbox %s (%s): staff member %s could not be told either (%s): what waits for staff is still listed "
            "on the staff Home tab and by the CLI",
            message.id,
            message.kind.value,
            message.recipient_slack_id,
            error,
        )
        return
    if message.kind in ASKER_KINDS or message.kind is OutboxKind.EXPERTISE_REQUEST:
        # a recruiting DM too: its mark is what recruiting reads (``bot.needs.recruiting``); not a redraw (an
        # update of a DM sent before: its refusal says nothing of whether the person can get a DM)
        if permanent and redraw_of(message) is None:
            _asker_unreachable(services, client, message, error, answers)
        return
    if message.routing_id is None or message.kind not in UNREACHABLE_KINDS:
        return
    found, reason = _verdict(client, message, error, answers) if permanent else (Verdict.OTHER, "")
    if found is Verdict.GONE:  # the account deactivated: all their requests move on, their own questions withdrawn
        _person_gone(services, client, message, error)
    elif found in (Verdict.UNREACHABLE, Verdict.KNOWN_ACTIVE):
        _move_on(services, message.id, message.routing_id, reason, unreachable=True)
    elif message.kind is OutboxKind.EXPERT_REQUEST and recorded is FailOutcome.GIVEN_UP:
        # given up for another reason: whoever chose the person hears
        _move_on(services, message.id, message.routing_id, error, unreachable=False)


def _tell_staff(services: Services, client: WebClient, message: OutboxMessage, error: str) -> None:
    """A message for staff that the triage channel never got (any of ``STAFF_KINDS``, an escalated question
    included): each staff member (the configured ids and the staff user group's members) gets it by DM, once per
    post and person (``bot.staffdm.tell_staff`` queues it). In its own transaction, after the failure is
    recorded; if that fails, it is logged."""
    settings = services.settings
    channel = message.channel_id or settings.triage_channel_id
    now = services.clock()
    what = f"question #{message.question_id}" if message.kind is OutboxKind.TRIAGE else message.kind.value
    try:
        staff = services.staff.members(settings=settings, client=client, now=now)
        with services.db.session() as session:
            outcome = tell_staff(session, message_id=message.id, staff=staff, channel_id=channel, error=error, now=now)
    except Exception:
        log.exception("outbox %s: staff could not be told of %s", message.id, what)
        return
    if outcome == NO_STAFF:
        log.error(
            "outbox %s: the triage channel never got %s (%s) and no staff are configured to tell "
            "(WIEWEET_STAFF_USER_IDS, WIEWEET_STAFF_USERGROUP): it is listed on the staff Home tab and by the CLI",
            message.id,
            what,
            error,
        )
        return
    log.warning("outbox %s: the triage channel never got %s (%s): %s", message.id, what, error, outcome)


def _verdict(
    client: WebClient, message: OutboxMessage, error: str, answers: BatchAnswers | None
) -> tuple[Verdict, str]:
    """What Slack's refusal ``error`` says of the recipient (``bot.register.refusals.verdict``: one rule for every
    kind of DM), ``users.info`` asked only after a refusal its answer decides (``LOOKED_UP``), and once per
    person in a batch (``answers``): a failed call too is not repeated, so a rate limit (``429``, waited on up to
    ``MAX_RATE_LIMIT_WAIT``) holds the sender up once, not once per refusal."""
    if error not in LOOKED_UP:
        return verdict(error, Lookup.FAILED)
    return verdict(error, _lookup(client, message.recipient_slack_id, error, answers or BatchAnswers()))


def _lookup(client: WebClient, user_id: str | None, error: str, answers: BatchAnswers) -> Lookup:
    """What ``users.info`` answers of ``user_id``'s account after Slack refused a DM with ``error``: with a dead
    token (``account_inactive`` said of the bot's own) that call fails too (``FAILED``), and nobody is marked or
    moved on; ``user_not_found`` is Slack answering about the recipient (``NOT_FOUND``)."""
    if not user_id:
        return Lookup.FAILED
    answer = answers.ask(client, user_id, refusal=error)
    if answer.unknown:
        return Lookup.NOT_FOUND
    if answer.account is None:
        log.info("users.info for %s after %s: %s", user_id, error, answer.error)
        return Lookup.FAILED
    return Lookup.DEACTIVATED if is_deactivated(answer.account) else Lookup.ACTIVE


def _asker_unreachable(
    services: Services, client: WebClient, message: OutboxMessage, error: str, answers: BatchAnswers | None
) -> None:
    """A DM to the asker (or a recruiting DM) failed for good: when it can never arrive (their account
    deactivated: ``Verdict.GONE``), they are treated as gone (``_person_gone``), which withdraws everything they
    asked and marks their register entry away. Slack not knowing the id (``user_not_found``, after
    ``account_inactive`` too) is no such answer (``UNCONFIRMED_REASONS``, as routing reads it): an asker's questions
    stay; a recruiting DM is recorded so (``handlers.recruit_refused``), which keeps recruiting from asking again
    while staff check the id, or, the account active, lets the next ask try again. Otherwise nothing follows but a
    log line."""
    user, asker = message.recipient_slack_id, message.kind is not OutboxKind.EXPERTISE_REQUEST
    found, reason = _verdict(client, message, error, answers)
    if found is Verdict.GONE:
        _person_gone(services, client, message, error)
    elif not asker:
        recruit_refused(services, message, found=found, reason=reason)
    elif reason in UNCONFIRMED_REASONS:
        log.warning(
            "outbox %s (%s) not delivered (%s): Slack does not confirm the asker %s is gone; their questions stay",
            message.id,
            message.kind.value,
            error,
            user,
        )


def _person_gone(services: Services, client: WebClient, message: OutboxMessage, error: str) -> None:
    """Someone who can never get a DM, their account deactivated: as for Slack's ``user_change`` — the same
    service function and reason (``handlers.deactivated.person_gone_after_send``). In its own transaction, after
    the failure is recorded; if this fails, it is logged (the timers and the escalation deadline still run)."""
    user = message.recipient_slack_id
    if not user:
        return
    try:
        outcome = person_gone_after_send(services, client, user_id=user, now=services.clock())
    except Exception:
        log.exception("outbox %s: the deactivated recipient could not be acted on after %s", message.id, error)
        return
    log.warning("outbox %s (%s) not delivered (%s): %s", message.id, message.kind.value, error, outcome)


def _move_on(services: Services, message_id: int, routing_id: int, error: str, *, unreachable: bool) -> None:
    """A request given up: when its expert can never get a DM, the next one is asked at once and an expert in
    the register is marked away; whoever chose the person by hand is told either way. In its own transaction,
    after the failure is recorded: if this fails (a lock timeout, a matcher error), the failure stays recorded,
    the rest of the batch is sent, and the routing waits for its timers as any unanswered request does."""
    routing = services.routing
    if routing is None:
        return
    react = routing.recipient_unreachable if unreachable else routing.request_undelivered
    try:
        with services.db.session() as session:
            outcome = react(session, routing_id=routing_id, error=error, now=services.clock())
    except Exception:
        log.exception("outbox %s: routing %s could not move on (its timers will)", message_id, routing_id)
        return
    log.warning("outbox %s: routing %s not delivered (%s): %s", message_id, routing_id, error, outcome)
