"""Who may use a search's buttons (issue 11, finding 5): the asker, and — once the answer was posted where others see
it — that conversation's members; never someone holding another user's search log id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot import knowledge
from bot.actors import Actor, NotAuthorized
from bot.error_texts import not_found_text
from bot.errors import NotFoundError, QueryError
from storage.db import Database
from storage.models import Feedback, SearchLog

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ASKER = Actor.slack("U0ASKER01", is_staff=False)
OTHER = Actor.slack("U0OTHER01", is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)


def add_search(database: Database, *, posted: str | None = None, user: str | None = "U0ASKER01") -> int:
    with database.session() as s:
        log = SearchLog(
            query="vertrouwelijk: ontslag na burn-out",
            user_slack_id=user,
            channel_id="C0WONEN01",
            posted_channel_id=posted,
            created_at=NOW,
        )
        s.add(log)
        s.flush()
        return log.id


def members_of(*channels: str) -> knowledge.MemberOf:
    return lambda channel: channel in channels


def votes(database: Database) -> list[tuple[int, str | None]]:
    with database.session() as s:
        return [(f.vote, f.user_slack_id) for f in s.scalars(select(Feedback))]


ALL_ACTIONS = (knowledge.SEARCH_MORE, knowledge.SEARCH_SHARE, knowledge.SEARCH_ASK, knowledge.SEARCH_FEEDBACK)


def test_the_asker_may_do_everything_with_their_own_search(database: Database) -> None:
    log_id = add_search(database)
    with database.session() as s:
        for action in ALL_ACTIONS:
            assert knowledge.get_search_for(s, actor=ASKER, search_log_id=log_id, action=action).id == log_id
        knowledge.record_feedback(s, actor=ASKER, search_log_id=log_id, vote=1, now=NOW)
    assert votes(database) == [(1, "U0ASKER01")]


@pytest.mark.parametrize("actor", [OTHER, STAFF, Actor.cli("root"), Actor.system()])
def test_nobody_else_may_see_a_private_answer_not_even_staff(database: Database, actor: Actor) -> None:
    log_id = add_search(database)
    for action in ALL_ACTIONS:
        with pytest.raises(NotAuthorized) as refused, database.session() as s:
            knowledge.get_search_for(
                s, actor=actor, search_log_id=log_id, action=action, member_of=members_of("C0WONEN01")
            )
        assert (refused.value.code, refused.value.target) == ("not_your_search", f"search_log:{log_id}")
    with pytest.raises(NotAuthorized), database.session() as s:
        knowledge.record_feedback(s, actor=actor, search_log_id=log_id, vote=-1, now=NOW)
    assert votes(database) == []


def test_members_of_the_conversation_it_was_posted_in_may_read_and_vote_but_not_share(database: Database) -> None:
    log_id = add_search(database, posted="C0WONEN01")
    member = members_of("C0WONEN01")
    with database.session() as s:
        for action in (knowledge.SEARCH_MORE, knowledge.SEARCH_ASK, knowledge.SEARCH_FEEDBACK):
            assert knowledge.get_search_for(s, actor=OTHER, search_log_id=log_id, action=action, member_of=member)
        knowledge.record_feedback(s, actor=OTHER, search_log_id=log_id, vote=-1, now=NOW, member_of=member)
    assert votes(database) == [(-1, "U0OTHER01")]
    with pytest.raises(NotAuthorized), database.session() as s:
        knowledge.get_search_for(s, actor=OTHER, search_log_id=log_id, action=knowledge.SEARCH_SHARE, member_of=member)
    # not a member of that conversation: refused like anyone else
    with pytest.raises(NotAuthorized), database.session() as s:
        knowledge.get_search_for(
            s, actor=OTHER, search_log_id=log_id, action=knowledge.SEARCH_MORE, member_of=members_of("C0ANDERS1")
        )


def test_an_erased_askers_search_is_nobodys_unless_posted(database: Database) -> None:
    log_id = add_search(database, user=None)
    with pytest.raises(NotAuthorized), database.session() as s:
        knowledge.get_search_for(s, actor=OTHER, search_log_id=log_id, action=knowledge.SEARCH_MORE)


def test_gone_searches_and_bad_votes(database: Database) -> None:
    log_id = add_search(database)
    with pytest.raises(NotFoundError) as gone, database.session() as s:
        knowledge.get_search_for(s, actor=ASKER, search_log_id=log_id + 1000, action=knowledge.SEARCH_MORE)
    assert gone.value.code == "search_expired"
    # said to an operator as a record not found, with its id, in their language (not "search log N not found")
    assert not_found_text(gone.value, "nl") == f"zoekopdracht {log_id + 1000} bestaat niet"
    assert not_found_text(gone.value, "en") == f"search log {log_id + 1000} not found"
    for vote in (0, 2, -5):
        with pytest.raises(QueryError), database.session() as s:
            knowledge.record_feedback(s, actor=ASKER, search_log_id=log_id, vote=vote, now=NOW)
    assert votes(database) == []


def test_posting_an_answer_opens_it_to_that_conversation(database: Database) -> None:
    log_id = add_search(database)
    with database.session() as s:
        knowledge.mark_search_posted(s, search_log_id=log_id, channel_id="C0WONEN01")
    with database.session() as s:
        found = knowledge.get_search_for(
            s, actor=OTHER, search_log_id=log_id, action=knowledge.SEARCH_MORE, member_of=members_of("C0WONEN01")
        )
        assert found.posted_channel_id == "C0WONEN01"
