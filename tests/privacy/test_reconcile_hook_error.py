"""The daily channel-privacy reconcile: a failure in ``after_marked`` (updating proposal posts: a network error from
chat.update is not a ``SlackApiError``) must not stop the run, claimed for the day: the next channels found private
would stay public (search, digests, quoted gaps) until the next day."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.privacy import reconcile_channel_privacy
from storage.db import Database
from storage.models import Question
from tests.factories import add_question, seed_themes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_failing_post_update_does_not_leave_the_next_private_channel_public(database: Database) -> None:
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        add_question(s, "Vraag in A", created_at=NOW, channel_id="C0AAAAAA1")
        add_question(s, "Vraag in B", created_at=NOW, channel_id="C0BBBBBB1")

    def after_marked(question_ids: list[int], gap_ids: list[int]) -> None:
        raise ConnectionError("chat.update: connection reset")  # what a WebClient raises on a network failure

    result = reconcile_channel_privacy(database, lookup=lambda channel: True, now=NOW, after_marked=after_marked)
    assert len(result.unrefreshed) == 2  # returned for the caller to try again
    with database.session() as s:
        public = list(s.scalars(select(Question.channel_id).where(Question.channel_is_private.is_(False))))
    assert public == [], public
