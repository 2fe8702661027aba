"""The Home tab: published when a person opens it and re-published after every change to what it shows.

A request marks whose Home tab changed (``Turn.home_changed``); the listener wrapper publishes them once the
request has committed, and the outbox sender does the same after a DM it delivers. After an erasure
(``publish_after_erasure``) the erased person's tab says they were forgotten and every staff member's is published
again. What the tab shows is one core
query (``bot.home.home_view``); how it looks is ``handlers.blocks.home.build_home_view``. Staff also see the
quarter's most asked knowledge needs (``handlers.blocks.needs.build_needs_home_section``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.actors import Actor
from bot.home import home_view
from bot.needs.periods import current_quarter
from handlers.blocks.home import build_home_view, home_data
from handlers.blocks.needs import HOME_TOPICS, build_needs_home_section
from handlers.blocks.privacy import build_forgotten_home
from handlers.kit import HOME_MAX_BLOCKS
from handlers.services import Services

log = logging.getLogger(__name__)


def publish_home(services: Services, client: WebClient, user_id: str) -> None:
    """Publish ``user_id``'s Home tab from the committed data (its own session)."""
    now = services.clock()
    with services.db.session() as session:
        lang = services.locales.language(session=session, client=client, user_id=user_id, now=now)
        staff = services.staff.is_staff(settings=services.settings, client=client, user_id=user_id, now=now)
        home = home_view(
            session,
            user_id=user_id,
            routing=services.routing,
            is_staff=staff,
            reconfirm_days=services.settings.reconfirm_days,
            now=now,
        )
        data = home_data(home, lang, tz=ZoneInfo(services.settings.timezone))
        view = build_home_view(data, lang)
        if staff and services.needs is not None:  # "Kennisbehoeften": the quarter's most asked topics
            overview = services.needs.overview(
                session,
                actor=Actor.slack(user_id, is_staff=True),
                period=current_quarter(now, timezone=services.settings.timezone),
                now=now,
                update=False,
                limit=HOME_TOPICS,
            )
            view.blocks = [*view.blocks, *build_needs_home_section(overview, lang)][:HOME_MAX_BLOCKS]
    client.views_publish(user_id=user_id, view=view)


def publish_homes(services: Services, client: WebClient, user_ids: Iterable[str | None]) -> None:
    """Re-publish these people's Home tabs, after a commit. A failure is logged and undoes nothing."""
    for user_id in sorted({u for u in user_ids if u}):
        try:
            publish_home(services, client, user_id)
        except Exception:  # after the commit: the change stands; the next change or visit publishes again
            log.warning("could not publish the Home tab of %s", user_id, exc_info=True)


def publish_after_erasure(services: Services, client: WebClient, *, slack_user_id: str | None, lang: str) -> None:
    """Once an erasure has committed: the erased person's Home tab shows that they were forgotten — built from
    nothing stored (their usual tab would look them up in Slack and cache their profile again) — and every staff
    member's is published again (a question of theirs may have waited for staff, a profile of theirs for review).
    Failures are logged and undo nothing; the next visit publishes again. What this process keeps of them in memory
    (their language, team and Slack profile: ``LocaleCache``) goes first."""
    if slack_user_id:
        services.locales.forget(slack_user_id)
        try:
            client.views_publish(user_id=slack_user_id, view=build_forgotten_home(lang))
        except Exception:
            log.warning("could not publish the Home tab of an erased person", exc_info=True)
    try:
        staff = services.staff.members(settings=services.settings, client=client, now=services.clock())
    except Exception:
        log.warning("could not list the staff to refresh their Home tabs", exc_info=True)
        return
    publish_homes(services, client, staff - {slack_user_id})
