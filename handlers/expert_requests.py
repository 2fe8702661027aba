"""The buttons of an expert's request DM in Slack: claim, snooze, decline, pass on to someone else, answer.

Thin listeners, as ``handlers.routing``'s (the asker's and staff's side): the wrapper (``handlers.listener``) has
acknowledged the request and parsed its subject or form; a handler calls ``RoutingService`` (which checks that the
clicking user is the one asked), re-renders the request DMs (``handlers.blocks.routing.build_expert_request``) and
the staff posts, and sends. Someone chosen to pass the question on to is checked with Slack first
(``handlers.routing.require_reachable``).
"""

from __future__ import annotations

from bot.i18n import format_clock, format_date, t
from bot.routing import RoutingService
from handlers import staff_posts
from handlers.blocks.modals import build_answer_modal, build_decline_modal
from handlers.blocks.routing import DmState, build_expert_request
from handlers.claims import UserPick
from handlers.forms import AnswerForm, DeclineForm
from handlers.kit import user_mention
from handlers.routing import require_reachable
from handlers.staff_posts import update_staff_posts
from handlers.turn import Turn
from storage.models import Routing


def _routing(turn: Turn) -> RoutingService:
    return turn.services.routing_service()


def _actor(turn: Turn) -> str:
    return turn.user_id or ""


def _update_requests(turn: Turn, routing: Routing, *, state: DmState, status: str) -> None:
    """Re-render the DMs that asked this expert (the database's, not the clicked container) to the new state."""
    payload = _routing(turn).request_payload(turn.session, routing)
    rendered = build_expert_request(payload, turn.lang, state=state, status=status)
    refs = _routing(turn).request_messages(turn.session, routing)
    turn.update_messages(refs, rendered.text, rendered.blocks, about=f"routing:{routing.id}")


def handle_claim(turn: Turn, routing_id: int) -> None:
    routing = _routing(turn).claim(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), now=turn.now)
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    update_staff_posts(turn, routing.question_id, staff_posts.CLAIMED, name=user_mention(_actor(turn)) or "?")
    _update_requests(turn, routing, state=DmState.CLAIMED, status=t("routing.state_claimed", turn.lang))


def handle_snooze(turn: Turn, routing_id: int) -> None:
    until = _routing(turn).snooze(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), now=turn.now)
    routing = _routing(turn).get_routing_for(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn))
    local = _routing(turn).calendar.local(until)
    shown = f"{format_date(local.date(), turn.lang, year=True)} {format_clock(local.hour, local.minute, turn.lang)}"
    status = t("routing.state_snoozed", turn.lang, date=shown)
    _update_requests(turn, routing, state=DmState.SNOOZED, status=status)


def handle_decline_button(turn: Turn, routing_id: int) -> None:
    routing = _routing(turn).get_routing_for(
        turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), actionable=True
    )
    view = build_decline_modal(turn.lang, routing_id=routing.id, metadata={})
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def handle_decline_submission(turn: Turn, form: DeclineForm) -> None:
    routing = _routing(turn).decline(
        turn.session, routing_id=form.routing_id, actor_slack_id=_actor(turn), now=turn.now, reason=form.reason
    )
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    _update_requests(turn, routing, state=DmState.DONE, status=t("routing.state_declined", turn.lang))


def handle_forward(turn: Turn, pick: UserPick) -> None:
    # the routing is the clicker's (a claim checked first), then the one they chose is asked about
    old = _routing(turn).get_routing_for(turn.session, routing_id=pick.subject_id, actor_slack_id=_actor(turn))
    require_reachable(turn, pick.user_id, question_id=old.question_id)
    _routing(turn).forward(
        turn.session, routing_id=pick.subject_id, actor_slack_id=_actor(turn), to_slack_id=pick.user_id, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    status = t("routing.state_forwarded", turn.lang, name=user_mention(pick.user_id) or "?")
    _update_requests(turn, old, state=DmState.DONE, status=status)


def handle_answer_button(turn: Turn, routing_id: int) -> None:
    routing = _routing(turn).get_routing_for(
        turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), actionable=True
    )
    # the question as stored, not as the clicked message shows it
    view = build_answer_modal(turn.lang, routing_id=routing.id, question=routing.question.text, metadata={})
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def handle_answer_submission(turn: Turn, form: AnswerForm) -> None:
    # not theirs, taken or answered meanwhile: refused, nothing written, the user told by DM (``run_submission``)
    _routing(turn).answer(
        turn.session, routing_id=form.routing_id, actor_slack_id=_actor(turn), text=form.text, now=turn.now
    )
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    routing = _routing(turn).get_routing_for(turn.session, routing_id=form.routing_id, actor_slack_id=_actor(turn))
    _update_requests(turn, routing, state=DmState.DONE, status=t("routing.state_answered", turn.lang))
    update_staff_posts(turn, routing.question_id, staff_posts.ANSWERED, name=user_mention(_actor(turn)) or "?")
