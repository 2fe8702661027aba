"""Someone who withdrew their listing ("Remove me") or opted out of questions is no longer named on their earlier
answers in "who knows" results, as the digest already leaves them unnamed (README: "never shown or asked again").
The index re-reads their answers when the expert changes: in this process at the commit, in another replica at its
next ``sync``; confirming the listing again names them again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.actors import Actor
from bot.knowledge import KnowledgeBase
from bot.presenter import build_answer_view, render_text
from bot.register import consent, profiles
from storage import question_repo
from storage.db import Database
from storage.models import Availability
from tests import factories

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NAME = "Bram Vermeersch"
SLACK = "UBRAM0001"
QUERY = "leegstandsheffing winkelpanden"
ANSWERED = NOW - timedelta(days=30)  # long before the expert's last change: only their change has it re-read


@pytest.fixture
def expert_id(database: Database) -> int:
    with database.session() as s:
        expert = factories.add_expert(s, NAME, created_at=NOW, slack=SLACK, expertise=["parkeren"])
        question_repo.create_answered_question(
            s,
            text="Hoe innen jullie de leegstandsheffing op winkelpanden?",
            answer_text="Via een register van leegstaande winkelpanden.",
            expert=expert,
            answered_by_name=NAME,
            themes=[],
            asked_at=ANSWERED,
            answered_at=ANSWERED,
            channel_id="C0WONEN01",
        )
        return expert.id


@pytest.fixture
def kb(database: Database, expert_id: int) -> Iterator[KnowledgeBase]:
    knowledge = KnowledgeBase(database)
    knowledge.load()
    yield knowledge
    knowledge.close()


def _named(kb: KnowledgeBase) -> tuple[list[str], str]:
    result = kb.search(QUERY, now=NOW + timedelta(hours=2))
    assert [h.doc.id for h in result.answers], "the answer is still found"
    return [h.doc.answered_by for h in result.answers], render_text(build_answer_view(result, lang="nl"))


def _stop(database: Database, expert_id: int, how: str) -> None:
    actor = Actor.slack(SLACK, is_staff=False)
    with database.session() as s:
        if how == "withdraw":
            consent.withdraw_listing(s, actor=actor, expert_id=expert_id, now=NOW + timedelta(hours=1))
        else:
            profiles.set_availability(
                s,
                actor=actor,
                expert_id=expert_id,
                availability=Availability.OPTED_OUT,
                today=NOW.date(),
                now=NOW + timedelta(hours=1),
            )


@pytest.mark.parametrize("how", ["withdraw", "opt_out"])
def test_an_expert_who_stopped_is_not_named_on_their_answers(
    database: Database, kb: KnowledgeBase, expert_id: int, how: str
) -> None:
    assert _named(kb)[0] == [NAME]
    _stop(database, expert_id, how)
    answered_by, shown = _named(kb)  # this process: followed at the commit
    assert answered_by == [""]
    if how == "withdraw":  # (opted out, they are still listed as an expert, "not available for questions")
        assert NAME not in shown

    with database.session() as s:  # listed again, by themselves: named again
        consent.confirm_listing(s, actor=Actor.slack(SLACK, is_staff=False), expert_id=expert_id, now=NOW)
        if how == "opt_out":
            profiles.set_availability(
                s,
                actor=Actor.slack(SLACK, is_staff=False),
                expert_id=expert_id,
                availability=Availability.AVAILABLE,
                today=NOW.date(),
                now=NOW + timedelta(hours=1),
            )
    assert _named(kb)[0] == [NAME]


def test_another_replica_follows_it_at_its_next_sync(
    database: Database, database_url: str, kb: KnowledgeBase, expert_id: int
) -> None:
    other = Database(database_url)  # another process: its commits reach this index only through ``sync``
    try:
        _stop(other, expert_id, "withdraw")
    finally:
        other.dispose()
    assert _named(kb)[0] == [NAME]  # not followed yet
    kb.sync()
    answered_by, shown = _named(kb)
    assert answered_by == [""] and NAME not in shown
