"""A channel that turned private: the answers given to questions asked there leave the search index at once
(the index follows the changed questions after the commit), and its gaps are no longer quoted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.knowledge import KnowledgeBase
from bot.privacy import mark_channel_private
from storage import question_repo
from storage.db import Database
from storage.models import KnowledgeGap, Question

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CHANNEL = "C0WONEN01"


def answer_ids(knowledge: KnowledgeBase, query: str) -> list[int]:
    return [hit.doc.id for hit in knowledge.search(query, now=NOW).answers]


def test_answers_from_a_channel_turned_private_leave_the_search(database_url: str) -> None:
    database = Database(database_url)
    with database.session() as session:
        for channel in (CHANNEL, "C0ANDERS1"):
            question_repo.create_answered_question(
                session,
                text="Hoe innen jullie de leegstandsheffing op winkelpanden?",
                answer_text="Via een register van leegstaande winkelpanden en een jaarlijkse aanslag.",
                expert=None,
                answered_by_name="An",
                themes=[],
                asked_at=NOW,
                answered_at=NOW,
                channel_id=channel,
            )
        question_repo.create_knowledge_gap(
            session,
            query="kangoeroewonen",
            normalized="kangoeroewonen",
            themes=[],
            asker_slack_id=None,
            channel_id=CHANNEL,
            channel_is_private=False,
            source="slack",
            now=NOW,
        )
    knowledge = KnowledgeBase(database)
    knowledge.load()
    try:
        assert len(answer_ids(knowledge, "leegstandsheffing winkelpanden")) == 2
        with database.session() as session:
            assert mark_channel_private(session, channel_id=CHANNEL).count == 2
        with database.session() as session:
            kept = session.scalars(select(Question).where(Question.channel_id == "C0ANDERS1")).one()
            assert answer_ids(knowledge, "leegstandsheffing winkelpanden") == [kept.id]  # no reload needed
            assert session.scalars(select(KnowledgeGap)).one().channel_is_private
            assert mark_channel_private(session, channel_id=CHANNEL).count == 0  # a second event changes nothing
        fresh = KnowledgeBase(database)  # and a process started later never indexes it
        fresh.load()
        assert answer_ids(fresh, "leegstandsheffing winkelpanden") == [kept.id]
        fresh.close()
    finally:
        knowledge.close()
        database.dispose()
