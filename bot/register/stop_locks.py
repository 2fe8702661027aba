"""The locks taken before someone stops being asked (a withdrawal, an opt-out, Slack reporting their account gone):
the questions of their open requests, in id order, then their register row — the order of every routing pass (its
question, then the candidates' rows ``FOR SHARE``) and of a failed request DM (its question, then the expert marked
away). One order everywhere: a pass waits for the withdrawal or the withdrawal for the pass, never both.

The open requests are read without a lock first. A routing that asked them in between holds their row (``FOR SHARE``)
until it commits, so it is seen once their row is locked: then the locks are given back (to a savepoint) and taken
again with its question, until nothing new turns up (``MAX_ROUNDS``; a request found later still is moved on with its
question locked after the row, and its DM is never posted: ``bot.routing.stopped``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage import question_repo, routing_repo
from storage import register_repo as repo
from storage.models import Expert, RoutingStatus

# The requests still waiting for the person (``bot.routing.states.ROUTING_OPEN``)
OPEN_STATUSES = (RoutingStatus.ASKED, RoutingStatus.CLAIMED)
MAX_ROUNDS = 5
MAX_OPEN = 500  # open requests of one person read (as ``expert_stopped`` moves them on)


def open_question_ids(session: Session, *, slack_user_id: str | None) -> set[int]:
    """The questions of the requests still open for this Slack user (by recipient or their register entry)."""
    if not slack_user_id:
        return set()
    routings = routing_repo.list_routings_for(
        session, slack_user_id=slack_user_id, statuses=OPEN_STATUSES, limit=MAX_OPEN
    )
    return {r.question_id for r in routings}


def lock_questions(session: Session, *, slack_user_id: str | None) -> set[int]:
    """Lock, in id order, the questions of this person's open requests (before anything of theirs is locked)."""
    wanted = open_question_ids(session, slack_user_id=slack_user_id)
    question_repo.list_questions_in_id_order(session, question_ids=wanted, lock=True)
    return wanted


def lock_expert_to_stop(session: Session, *, expert_id: int) -> Expert | None:
    """The expert's row locked until commit, after the questions of their open requests (see the module); None when
    there is no such expert."""
    expert = repo.get_expert(session, expert_id=expert_id)
    if expert is None:
        return None
    wanted = open_question_ids(session, slack_user_id=expert.slack_user_id)
    for _ in range(MAX_ROUNDS):
        savepoint = session.begin_nested()
        question_repo.list_questions_in_id_order(session, question_ids=wanted, lock=True)
        expert = repo.get_expert(session, expert_id=expert_id, lock=True)
        found = open_question_ids(session, slack_user_id=expert.slack_user_id) if expert is not None else set()
        if found <= wanted:
            savepoint.commit()
            return expert
        savepoint.rollback()  # their row and the questions given back: taken again with the new question
        wanted = wanted | found
    # still more: keep them (locked after the row; rare, and their DMs are ended by the sender's check)
    question_repo.list_questions_in_id_order(session, question_ids=wanted, lock=True)
    return repo.get_expert(session, expert_id=expert_id, lock=True)
