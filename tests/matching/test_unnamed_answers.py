"""Someone who withdrew their listing ("Remove me") or opted out of questions is no longer named on their earlier
answers in "who knows" results, as the digest already leaves them unnamed (README: "never shown or asked again").
The index re-reads their answers when the expert changes: in this process at the commit, in another replica at its
next ``sync``; confirming the listing again names them again. An answer tied to them by their Slack id alone (chosen
by hand, or answered in the thread before they were in the register: no expert id) follows the same rule, and an
unnamed answer shows no organisation either."""

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


ORGANISATION = "Stad Lier"


@pytest.fixture(params=["by_expert", "by_slack_id"])
def expert_id(request: pytest.FixtureRequest, database: Database) -> int:
    """The expert and their answer, tied to them by the expert id, or by their Slack id alone."""
    with database.session() as s:
        expert = factories.add_expert(
            s, NAME, created_at=NOW, slack=SLACK, expertise=["parkeren"], organisation=ORGANISATION
        )
        question = question_repo.create_answered_question(
            s,
            text="Hoe innen jullie de leegstandsheffing op winkelpanden?",
            answer_text="Via een register van leegstaande winkelpanden.",
            expert=expert if request.param == "by_expert" else None,
            answered_by_name=NAME,
            themes=[],
            asked_at=ANSWERED,
            answered_at=ANSWERED,
            channel_id="C0WONEN01",
        )
        answer = question.answers[0]
        answer.answered_by_slack_id, answer.organisation = SLACK, ORGANISATION
        return expert.id


@pytest.fixture
def kb(database: Database, expert_id: int) -> Iterator[KnowledgeBase]:
    knowledge = KnowledgeBase(database)
    knowledge.load()
    yield knowledge
    knowledge.close()


def _named(kb: KnowledgeBase) -> tuple[list[str], str]:
    """Who the answer names, and the answer as shown; an answer without a name shows no organisation either."""
    result = kb.search(QUERY, now=NOW + timedelta(hours=2))
    assert [h.doc.id for h in result.answers], "the answer is still found"
    shown = render_text(build_answer_view(result, lang="nl"))
    [byline] = [line for line in shown.splitlines() if "beantwoord op" in line]
    for hit in result.answers:
        assert hit.doc.organisation == (ORGANISATION if hit.doc.answered_by else "")
        assert (ORGANISATION in byline) == bool(hit.doc.answered_by)
    return [h.doc.answered_by for h in result.answers], shown


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


@pytest.mark.parametrize("how", ["withdraw", "opt_out"])
def test_a_fresh_index_leaves_them_unnamed(database: Database, expert_id: int, how: str) -> None:
    """The index built after they stopped (a restart, the nightly rebuild) reads the same rule."""
    _stop(database, expert_id, how)
    fresh = KnowledgeBase(database)
    fresh.load()
    try:
        assert _named(fresh)[0] == [""]
    finally:
        fresh.close()
