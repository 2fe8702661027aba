"""The needs repository reads by id in bounded IN lists (500 ids a statement), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from storage import needs_people_repo, needs_repo
from storage.db import Database
from storage.models import NeedTopic
from tests.needs.conftest import NOW

TOPICS = 1201  # more than two chunks of 500


@contextmanager
def bound_parameters(database: Database) -> Iterator[list[int]]:
    """The number of parameters bound by each statement executed inside the block."""
    counts: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        counts.append(len(parameters or ()))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def test_list_need_topics_reads_many_ids_500_at_a_time(database: Database) -> None:
    with database.session() as session:
        session.add_all(NeedTopic(label=f"t{i}", created_at=NOW, updated_at=NOW) for i in range(TOPICS))
        session.flush()
        last = needs_repo.get_last_need_topic_id(session)
        wanted = [*range(last, last - TOPICS, -1), last + 1, last + 2]  # unsorted, two that do not exist
        with bound_parameters(database) as counts:
            topics = needs_repo.list_need_topics(session, ids=wanted)
        assert [t.id for t in topics] == sorted(wanted)[:TOPICS]  # every one, by id
        assert [t.label for t in topics][:2] == ["t0", "t1"]
        assert len(counts) == 3 and max(counts) <= 500
        assert needs_repo.list_need_topics(session, ids=[]) == []


def test_experts_and_answers_by_many_ids_are_read_500_at_a_time(database: Database) -> None:
    many = range(TOPICS, 0, -1)  # ids that need not exist: only the statements are counted
    with database.session() as session:
        with bound_parameters(database) as counts:
            assert needs_people_repo.list_experts_by_ids(session, expert_ids=many) == {}
        assert len(counts) == 3 and max(counts) <= 500
        with bound_parameters(database) as counts:
            assert needs_people_repo.list_answers_to(session, question_ids=list(many)) == []
        assert len(counts) == 3 and max(counts) <= 500
        assert needs_people_repo.list_experts_by_ids(session, expert_ids=[]) == {}
        assert needs_people_repo.list_answers_to(session, question_ids=[]) == []
