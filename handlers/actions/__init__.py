"""Buttons and menus. Each is declared with what it carries: the ``Subject`` whose id is in its value (and block
id), a typed value (a chosen user or date, a rating), or the search it is about checked for the clicking user; the
service the handler calls decides whether this user may act on the record.

A click that changes something (``changes``, ``changes_with``) is recorded in the inbox *before* its ack: what it
claims is read from the payload alone (malformed: refused at once), the click is recorded under its trigger id and
acked, and the inbox worker runs the handler from the record, checking the claim against the database for the
Slack-signed user (``handlers.recorded``); a refusal is told to the clicker afterwards, where they clicked. Acked
first, recorded nowhere: the buttons that open a modal (Slack's trigger id is valid for 3 s: the modal cannot wait
for a record, and when the ack is lost the user sees nothing and clicks again) and the ones that only read or re-show
(more results, refresh). "Forget me" is recorded too: the erasure removes the person's other inbox records after it
committed, and its own one forgets the person once it is done.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_bolt import App

from bot import knowledge
from handlers import answers, claims, digests, expert_requests, ids, needs, practices, privacy, profiles, routing
from handlers.claims import Subject
from handlers.listener import listener
from handlers.requestspec import Kind
from handlers.services import Services
from handlers.turn import Turn

P = TypeVar("P")
ActionId = str | re.Pattern[str]


def _search_id(turn: Turn) -> int:
    return claims.SEARCH.id_in(turn.body)  # well formed, read without the database (checked from the record)


def _practice_version(turn: Turn) -> claims.Versioned:
    return claims.PRACTICE.version_in(turn.body)


def _profile_version(turn: Turn) -> claims.Versioned:
    return claims.EXPERT.version_in(turn.body)


def register(app: App, services: Services) -> None:
    def plain(action: ActionId, handler: Callable[[Turn], None]) -> None:
        app.action(action)(listener(services, Kind.ACTION, handler, ack_first=True))

    def about(action: ActionId, handler: Callable[[Turn, int], None], subject: Subject) -> None:
        app.action(action)(listener(services, Kind.ACTION, handler, subject=subject, ack_first=True))

    def parsed(action: ActionId, handler: Callable[[Turn, P], None], parse: Callable[[Turn], P]) -> None:
        app.action(action)(listener(services, Kind.ACTION, handler, parse=parse, ack_first=True))

    def changes(action: ActionId, handler: Callable[[Turn, int], None], subject: Subject) -> None:
        app.action(action)(listener(services, Kind.ACTION, handler, subject=subject, deferred=True))

    def changes_with(
        action: ActionId, handler: Callable[[Turn, P], None], claim: Callable[[Mapping[str, Any]], P]
    ) -> None:
        app.action(action)(listener(services, Kind.ACTION, handler, claim=claim, deferred=True))

    # on a "who knows" answer
    # recorded in the inbox before its ack; who may share is checked from the record (``answers.share_answer``)
    app.action(ids.ACTION_SHARE)(listener(services, Kind.ACTION, answers.handle_share, parse=_search_id, inbox=True))
    parsed(ids.ACTION_MORE, answers.handle_more, answers.searched(knowledge.SEARCH_MORE))
    changes(ids.ACTION_FEEDBACK_UP, answers.handle_feedback_up, claims.SEARCH)
    changes(ids.ACTION_FEEDBACK_DOWN, answers.handle_feedback_down, claims.SEARCH)
    # the Home tab, consent DMs and the staff's expert buttons
    plain(ids.ACTION_PROFILE_JOIN, profiles.handle_join_button)
    plain(ids.ACTION_HOME_REFRESH, profiles.handle_refresh)
    changes_with(ids.ACTION_HOME_AWAY, profiles.handle_away, claims.picked_date)
    about(ids.ACTION_PROFILE_EDIT, profiles.handle_edit_button, claims.EXPERT)
    changes(ids.ACTION_HOME_AVAILABLE, profiles.handle_available, claims.EXPERT)
    changes(ids.ACTION_HOME_OPT_OUT, profiles.handle_opt_out, claims.EXPERT)
    changes(ids.ACTION_CONSENT_CONFIRM, profiles.handle_consent_confirm, claims.EXPERT)
    changes(ids.ACTION_CONSENT_WITHDRAW, profiles.handle_consent_withdraw, claims.EXPERT)
    changes_with(ids.ACTION_PROFILE_APPROVE, profiles.handle_approve, claims.EXPERT.version_in)
    parsed(ids.ACTION_PROFILE_REJECT, profiles.handle_reject_button, _profile_version)
    changes(ids.ACTION_EXPERT_REMOVE, profiles.handle_remove, claims.EXPERT)
    # practices: the staff review, cards, the submitter's edit button
    about(ids.ACTION_PRACTICE_EDIT, practices.handle_edit_button, claims.PRACTICE)
    changes_with(ids.ACTION_PRACTICE_APPROVE, practices.handle_approve, claims.PRACTICE.version_in)
    parsed(ids.ACTION_PRACTICE_REJECT, practices.handle_reject_button, _practice_version)
    changes(ids.ACTION_PRACTICE_REMOVE, practices.handle_remove, claims.PRACTICE)
    # privacy: "forget me" (its value is the user's own id, checked by the service from the record)
    changes_with(ids.ACTION_PRIVACY_FORGET, privacy.handle_forget_button, claims.own_user)
    if services.needs is not None:  # knowledge needs: the staff's buttons on a proposal, the recruiting DM
        about(ids.ACTION_NEEDS_INVITE, needs.handle_invite_button, claims.PROPOSAL)
        changes(ids.ACTION_NEEDS_DISMISS, needs.handle_dismiss, claims.PROPOSAL)
        about(ids.ACTION_NEEDS_DONE, needs.handle_done_button, claims.PROPOSAL)
        changes(ids.ACTION_ADD_TOPIC, needs.handle_add_topic, claims.NEEDS_TOPIC)
    if services.routing is None:
        return
    # question routing: the asker's, the expert's and the staff's buttons, and "Ik kan helpen" in a digest
    parsed(ids.ACTION_ASK_EXPERTS, routing.handle_ask_experts_button, answers.searched(knowledge.SEARCH_ASK))
    changes(ids.ACTION_CANCEL_QUESTION, routing.handle_cancel, claims.QUESTION)
    changes(ids.ACTION_RESOLVE_QUESTION, routing.handle_resolve, claims.QUESTION)
    about(ids.ACTION_ADD_INFO, routing.handle_add_info_button, claims.QUESTION)
    changes_with(re.compile(ids.ACTION_RATE_PATTERN), routing.handle_rate, claims.rated)
    changes(ids.ACTION_CLAIM, expert_requests.handle_claim, claims.ROUTING)
    changes(ids.ACTION_SNOOZE, expert_requests.handle_snooze, claims.ROUTING)
    about(ids.ACTION_DECLINE, expert_requests.handle_decline_button, claims.ROUTING)
    about(ids.ACTION_ANSWER, expert_requests.handle_answer_button, claims.ROUTING)
    changes_with(
        ids.ACTION_FORWARD, expert_requests.handle_forward, lambda body: claims.picked_user(body, claims.ROUTING)
    )
    changes_with(
        ids.ACTION_TRIAGE_ASSIGN, routing.handle_triage_assign, lambda body: claims.picked_user(body, claims.TRIAGE)
    )
    changes_with(ids.ACTION_TRIAGE_ASSIGN_AWAY, routing.handle_triage_assign_away, claims.assign_anyway)
    about(ids.ACTION_TRIAGE_CLOSE, routing.handle_triage_close_button, claims.TRIAGE)
    changes(ids.ACTION_CAN_HELP, digests.handle_can_help, claims.OPEN_QUESTION)
