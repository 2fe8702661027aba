"""An id once given is never given again (SQLite as PostgreSQL): an old button, a review staff were sent or a
pending request naming a deleted record's id is refused, never taken for the next person or record.

SQLite reused the highest id after that row was deleted (an INTEGER PRIMARY KEY without AUTOINCREMENT): erasing the
newest profile and letting someone join made the old review's Approve button publish the newcomer unreviewed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.errors import NotFoundError
from bot.privacy import erase_person
from bot.register import profile_decisions, profiles
from bot.register.profiles import ProfileStateError
from bot.register.themes import ensure_default_themes
from storage import needs_repo
from storage.db import Database
from storage.models import Expert, NeedTopic, OutboxKind, OutboxMessage, Practice, RecordStatus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRIET = Actor.slack("U0GRIET01", is_staff=False)
SAM = Actor.slack("U0SAM0001", is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)


def _form(name: str, email: str) -> dict[str, str]:
    return {
        "name": name,
        "email": email,
        "organisation": "Stad Leuven",
        "city": "Leuven",
        "role": "beleidsmedewerker",
        "expertise": "leegstandsheffing",
        "themes": "wonen",
        "languages": "nl",
        "bio": "",
    }


def _join(db: Database, actor: Actor, name: str, email: str) -> int:
    with db.session() as session:
        saved = profiles.save_profile(
            session, actor=actor, values=_form(name, email), slack_email=email, approval_required=True, now=NOW
        )
        return saved.expert.id


def test_an_old_review_of_an_erased_profile_never_approves_the_next_one(database: Database) -> None:
    with database.session() as session:
        ensure_default_themes(session, now=NOW)
    griet = _join(database, GRIET, "Griet Verhoeven", "griet@leuven.be")
    with database.session() as session:
        review = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PROFILE_REVIEW)).one()
        assert review.payload["expert_id"] == griet  # the id staff's Approve and Reject buttons carry
    with database.session() as session:  # Griet asks to be forgotten before staff decided
        erase_person(session=session, actor=GRIET, slack_user_id=GRIET.slack_id, now=NOW)
    sam = _join(database, SAM, "Sam Janssens", "sam@leuven.be")

    assert sam != griet
    with database.session() as session, pytest.raises((ProfileStateError, NotFoundError)):
        profile_decisions.approve_profile(session, actor=STAFF, expert_id=griet, version=None, now=NOW)
    with database.session() as session:
        newcomer = session.get(Expert, sam)
        assert newcomer is not None and newcomer.status is RecordStatus.PENDING  # still waits for its own review


@pytest.mark.parametrize("model", [Expert, Practice, NeedTopic])
def test_the_tables_whose_ids_travel_never_give_an_id_twice(database: Database, model: type) -> None:
    """Below the services: deleting the newest row and adding one gives a new id on both databases."""
    values = {
        Expert: {"email": "a@x.be", "name": "A", "organisation": "X"},
        Practice: {"title": "T", "summary": "S"},
        NeedTopic: {"label": "t"},
    }[model]
    with database.session() as session:
        row = model(**values)
        session.add(row)
        session.flush()
        first = row.id
        session.delete(row)
    with database.session() as session:
        again = model(**values)
        session.add(again)
        session.flush()
        assert again.id != first


def test_the_next_topic_id_foretold_is_the_one_given_after_the_highest_was_deleted(database: Database) -> None:
    """The needs' grouping foretells the ids of the topics it is about to make (``get_next_need_topic_id``)."""
    with database.session() as session:
        first, second = NeedTopic(label="a"), NeedTopic(label="b")
        session.add_all([first, second])
        session.flush()
        session.delete(second)
    with database.session() as session:
        foretold = needs_repo.get_next_need_topic_id(session)
        topic = NeedTopic(label="c")
        session.add(topic)
        session.flush()
        assert topic.id == foretold > second.id
