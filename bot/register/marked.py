"""The experts marked away because Slack cannot reach them, read at once (``profiles.mark_unreachable``): for a
cache of the Slack layer that must not read the database for every member's profile change."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from bot.register.profiles import get_marked_away_for
from storage import register_repo as repo


def list_marked_away_ids(session: Session, *, reasons: Collection[str]) -> frozenset[str]:
    """The Slack ids of the experts marked away for one of ``reasons`` while that still holds (reads only)."""
    away = repo.list_slack_ids_away_undated(session)
    return frozenset(i for i in away if get_marked_away_for(session, slack_user_id=i, reasons=reasons) is not None)
