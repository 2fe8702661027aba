"""What a person's home page shows: their expert profile, the questions sent to them, the questions they asked, and
(for staff) how many profiles and escalated questions wait for them. One query for the Slack Home tab
(``handlers.home``) or any other UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.register import profiles
from bot.routing import RoutingService
from bot.routing.queries import StaffQueue
from storage.models import Expert, Question, Routing

HOME_LIST = 10  # questions per list


@dataclass(frozen=True, slots=True)
class HomeView:
    profile: Expert | None
    stale_profile: bool  # the person's own profile needs re-confirming
    routed: tuple[Routing, ...] = ()  # questions sent to them, newest first
    asked: tuple[Question, ...] = ()  # questions they asked, newest first
    is_staff: bool = False
    stale_count: int = 0  # staff: profiles to re-confirm
    pending_count: int = 0  # staff: profiles waiting for approval
    waiting: StaffQueue | None = None  # staff: escalated questions waiting for them


def home_view(
    session: Session,
    *,
    user_id: str,
    routing: RoutingService | None,
    is_staff: bool,
    reconfirm_days: int,
    now: datetime,
) -> HomeView:
    """``user_id``'s home page (``routing`` None: question routing is not run in this process)."""
    expert = profiles.get_profile(session, slack_user_id=user_id)
    routed: list[Routing] = []
    asked: list[Question] = []
    if routing is not None:
        routed = routing.list_my_routings(session, slack_user_id=user_id, open_only=False, limit=HOME_LIST)
        asked = routing.list_my_questions(session, asker_slack_id=user_id, limit=HOME_LIST)
    stale = pending = 0
    waiting: StaffQueue | None = None
    if is_staff:
        stale, pending = profiles.count_profiles_to_review(session, now=now, reconfirm_days=reconfirm_days)
        if routing is not None:
            waiting = routing.waiting_for_staff(session, limit=HOME_LIST)
    return HomeView(
        profile=expert,
        stale_profile=expert is not None and profiles.is_stale(expert, now=now, reconfirm_days=reconfirm_days),
        routed=tuple(routed),
        asked=tuple(asked),
        is_staff=is_staff,
        stale_count=stale,
        pending_count=pending,
        waiting=waiting,
    )
