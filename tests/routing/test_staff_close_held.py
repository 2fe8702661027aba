"""Staff closing a question by hand: the triage post's Close refuses a question no longer waiting for staff (a stale
copy, assigned or claimed meanwhile), the CLI closes any open one; and a close of a question with experts lets the
asker's held question go at once, as the asker's own close does."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest

from bot.actors import Actor
from bot.routing import StaleActionError
from handlers.forms import TriageCloseForm
from handlers.routing import handle_triage_close_submission
from storage.models import Question, QuestionStatus
from tests.routing.conftest import NOW, World, seed_housing

Q = QuestionStatus
STAFF = Actor.slack("U0STAFF01", is_staff=True)
LATER = NOW + timedelta(hours=1)


def _status(world: World, qid: int) -> QuestionStatus:
    with world.db.session() as s:
        found = s.get(Question, qid)
        assert found is not None
        return found.status


def _escalated_then_assigned(world: World) -> int:
    qid = world.ask(text="Wie weet iets over kwantumcomputers in de bibliotheek?")  # nobody fits: escalated
    assert _status(world, qid) is Q.ESCALATED
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="U0OTHER01", actor=STAFF, now=LATER)
    assert _status(world, qid) is Q.ROUTED
    return qid


def test_a_close_from_a_stale_triage_post_of_a_question_assigned_meanwhile_is_refused(world: World) -> None:
    qid = _escalated_then_assigned(world)
    with pytest.raises(StaleActionError) as refused, world.db.session() as s:
        world.service.staff_close(s, question_id=qid, actor=STAFF, note="x", now=LATER, only_waiting=True)
    assert refused.value.code == "not_escalated"
    assert _status(world, qid) is Q.ROUTED


def test_the_cli_close_still_closes_a_question_with_experts(world: World) -> None:
    qid = _escalated_then_assigned(world)
    with world.db.session() as s:
        world.service.staff_close(s, question_id=qid, actor=STAFF, note="Dubbel.", now=LATER)
    assert _status(world, qid) is Q.CLOSED


def test_the_triage_close_submission_closes_only_a_question_waiting_for_staff() -> None:
    turn = mock.MagicMock()
    turn.lang, turn.user_id = "nl", "U0STAFF01"
    routing = turn.services.routing_service.return_value
    with mock.patch("handlers.routing.update_staff_posts"):
        handle_triage_close_submission(turn, TriageCloseForm(question_id=7, note="Geen beleidsvraag."))
    assert routing.staff_close.call_args.kwargs["only_waiting"] is True


def test_staff_close_of_a_routed_question_routes_the_askers_held_one_at_once(world: World) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0)
    asked = [
        world.ask(
            text=f"wie weet iets over leegstandsheffing? ({i})",
            thread_ts=f"1700000000.00010{i}",
            now=NOW + timedelta(minutes=i),
        )
        for i in range(4)
    ]
    assert _status(world, asked[0]) is Q.ROUTED and _status(world, asked[3]) is Q.OPEN  # held back
    with world.db.session() as s:
        world.service.staff_close(s, question_id=asked[0], actor=STAFF, note="Dubbel.", now=LATER)
    assert _status(world, asked[0]) is Q.CLOSED
    assert _status(world, asked[3]) is Q.ROUTED  # not left for the next job pass
