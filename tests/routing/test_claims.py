"""Routing checks claims against the database (issue 11): volunteering adds a helper and takes nothing away, the
messages to update are the outbox's own, someone else's routing or question is a refusal with a target."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.actors import NotAuthorized
from bot.error_texts import not_found_text
from bot.errors import NotFoundError
from bot.outbox import mark_outbox_sent
from bot.routing import NotYours
from bot.routing.errors import RoutingInputError, StaleActionError
from storage.models import (
    OutboxKind,
    Question,
    QuestionEvent,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Timer,
    TimerKind,
    Visibility,
)
from tests.routing.conftest import ASKER, NOW, World, seed_housing, slack_of

LATER = NOW + timedelta(hours=1)
HELPER = "U0HELPER1"


def _routings(world: World, qid: int) -> dict[str, Routing]:
    with world.db.session() as s:
        rows = list(s.scalars(select(Routing).where(Routing.question_id == qid).order_by(Routing.id)))
        return {(r.expert.name if r.expert else str(r.recipient_slack_id)): r for r in rows}


def _question(world: World, qid: int) -> Question:
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        s.expunge(question)
        return question


def test_a_volunteer_never_takes_a_claimed_question_from_its_expert(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    asked = _routings(world, qid)
    holder = next(iter(asked.values()))
    with world.db.session() as s:
        world.service.claim(s, routing_id=holder.id, actor_slack_id=str(holder.recipient_slack_id), now=NOW)
    escalations_before = [(t.kind, t.due_at) for t in world.pending_timers() if t.kind is TimerKind.ESCALATE]

    with world.db.session() as s:
        helper_id = world.service.volunteer(s, question_id=qid, slack_id=HELPER, now=LATER).id

    question = _question(world, qid)
    assert question.status is QuestionStatus.CLAIMED  # still the holder's
    routings = _routings(world, qid)
    assert routings[str(holder.expert.name if holder.expert else holder.recipient_slack_id)].status is (
        RoutingStatus.CLAIMED
    )
    helper = routings[HELPER]
    assert helper.id == helper_id and helper.volunteered and helper.status is RoutingStatus.ASKED
    # the question's deadlines are untouched, and a silent helper pulls in nobody else
    assert [(t.kind, t.due_at) for t in world.pending_timers() if t.kind is TimerKind.ESCALATE] == escalations_before
    helper_timers = {t.kind for t in world.pending_timers() if t.routing_id == helper_id}
    assert helper_timers == {TimerKind.REMIND}
    # the helper can neither claim nor answer over the holder; nothing changes
    for attempt in (
        lambda s: world.service.claim(s, routing_id=helper_id, actor_slack_id=HELPER, now=LATER),
        lambda s: world.service.answer(s, routing_id=helper_id, actor_slack_id=HELPER, text="Mijn antwoord", now=LATER),
    ):
        with pytest.raises(StaleActionError) as refused, world.db.session() as s:
            attempt(s)
        assert refused.value.code == "claimed_by_other"
    assert {r.status for r in _routings(world, qid).values() if r.id != helper_id} >= {RoutingStatus.CLAIMED}
    assert _question(world, qid).status is QuestionStatus.CLAIMED
    # the offer is on record: a question event by the volunteer
    with world.db.session() as s:
        events = list(s.scalars(select(QuestionEvent).where(QuestionEvent.kind == "volunteer")))
    assert [(e.question_id, e.routing_id, e.actor) for e in events] == [(qid, helper_id, HELPER)]

    # once the holder lets go, the helper may take it up
    with world.db.session() as s:
        world.service.decline(s, routing_id=holder.id, actor_slack_id=str(holder.recipient_slack_id), now=LATER)
        world.service.claim(s, routing_id=helper_id, actor_slack_id=HELPER, now=LATER)
    assert _question(world, qid).status is QuestionStatus.CLAIMED


def test_a_volunteer_leaves_an_escalated_question_with_staff(world: World) -> None:
    qid = world.ask(text="Wie kent de beste recepten voor zuurdesembrood?")  # nobody matches: escalated
    assert _question(world, qid).status is QuestionStatus.ESCALATED
    with world.db.session() as s:
        world.service.volunteer(s, question_id=qid, slack_id=HELPER, now=LATER)
    assert _question(world, qid).status is QuestionStatus.ESCALATED
    assert [m.recipient_slack_id for m in world.outbox(OutboxKind.EXPERT_REQUEST, qid)] == [HELPER]


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"visibility": Visibility.PRIVATE}, "question_closed"),
        ({"visibility": Visibility.ANONYMOUS}, "question_closed"),
        ({"channel_is_private": True}, "question_closed"),
    ],
)
def test_volunteering_for_a_question_never_offered_is_a_refusal(
    world: World, setup: dict[str, object], code: str
) -> None:
    seed_housing(world)
    qid = world.ask(**setup)
    before = _routings(world, qid)
    with pytest.raises(NotAuthorized) as refused, world.db.session() as s:
        world.service.volunteer(s, question_id=qid, slack_id=HELPER, now=LATER)
    assert (refused.value.code, refused.value.target) == (code, f"question:{qid}")
    assert _routings(world, qid).keys() == before.keys()


def test_a_channel_that_turned_private_is_private_for_volunteers(world: World) -> None:
    seed_housing(world)
    qid = world.ask(channel_id="C0NOWPRIV")  # stored as public: the channel was public then
    asked: list[str] = []

    def slack_says_private(channel: str) -> bool:
        asked.append(channel)
        return True

    with pytest.raises(NotAuthorized), world.db.session() as s:
        world.service.volunteer(s, question_id=qid, slack_id=HELPER, now=LATER, is_private_channel=slack_says_private)
    assert asked == ["C0NOWPRIV"]


def test_closed_questions_and_malformed_helpers_change_nothing(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    with world.db.session() as s:
        world.service.cancel(s, question_id=qid, actor_slack_id=ASKER, now=NOW)
    with pytest.raises(StaleActionError), world.db.session() as s:
        world.service.volunteer(s, question_id=qid, slack_id=HELPER, now=LATER)
    open_question = world.ask()
    for bad in ("", "<!channel>", "U0HELPER1 U0OTHER", "C0WONEN01"):
        with pytest.raises(RoutingInputError) as refused, world.db.session() as s:
            world.service.volunteer(s, question_id=open_question, slack_id=bad, now=LATER)
        assert refused.value.code == "invalid_slack_id"


def test_someone_elses_routing_or_question_is_a_refusal_with_its_target(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    bram = _routings(world, qid)["Bram"]
    for call in (
        lambda s: world.service.claim(s, routing_id=bram.id, actor_slack_id=slack_of("Anouk"), now=NOW),
        lambda s: world.service.get_routing_for(s, routing_id=bram.id, actor_slack_id="U0STRANGER"),
    ):
        with pytest.raises(NotYours) as refused, world.db.session() as s:
            call(s)
        assert (refused.value.code, refused.value.target) == ("not_yours", f"routing:{bram.id}")
        assert isinstance(refused.value, NotAuthorized) and isinstance(refused.value, StaleActionError)
    with pytest.raises(NotYours) as refused, world.db.session() as s:
        world.service.cancel(s, question_id=qid, actor_slack_id="U0STRANGER", now=NOW)
    assert (refused.value.code, refused.value.target) == ("not_asker", f"question:{qid}")


def test_request_messages_are_the_outbox_dms_of_that_routing_only(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    first, second = list(_routings(world, qid).values())[:2]
    requests = {m.routing_id: m for m in world.outbox(OutboxKind.EXPERT_REQUEST, qid)}
    with world.db.session() as s:
        mark_outbox_sent(s, message_id=requests[first.id].id, ts="1700000001.000001", channel="D0FIRST01", now=NOW)
        mark_outbox_sent(s, message_id=requests[second.id].id, ts="1700000002.000002", channel="D0SECOND1", now=NOW)
    with world.db.session() as s:
        routing = world.service.get_routing_for(s, routing_id=first.id, actor_slack_id=str(first.recipient_slack_id))
        refs = world.service.request_messages(s, routing)
        assert refs == [{"channel_id": "D0FIRST01", "message_ts": "1700000001.000001"}]
        assert world.service.triage_messages(s, question_id=qid) == []


def test_no_replacement_timer_for_a_volunteer(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    with world.db.session() as s:
        rid = world.service.volunteer(s, question_id=qid, slack_id=HELPER, now=LATER).id
    with world.db.session() as s:
        kinds = {t.kind for t in s.scalars(select(Timer).where(Timer.routing_id == rid))}
    assert TimerKind.NEXT_EXPERT not in kinds


def test_question_titles_and_names_lose_invisible_characters(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text="Wie weet iets over leegstands\u200bheffing\u202e?", asker_name="Griet\u2066 Verhoeven\u2069")
    question = _question(world, qid)
    assert question.text == "Wie weet iets over leegstandsheffing?"
    assert question.asker_name == "Griet Verhoeven"


def test_a_routing_that_does_not_exist_is_said_in_the_operators_words(world: World) -> None:
    """A routing id that names nothing is a record not found, said in the reader's language with its id (as "vraag
    99999 bestaat niet"), not the English "routing 99999 not found"."""
    for call in (
        lambda s: world.service.get_routing_for(s, routing_id=99999, actor_slack_id="U0STRANGER"),
        lambda s: world.service.claim(s, routing_id=99999, actor_slack_id="U0STRANGER", now=NOW),
    ):
        with pytest.raises(NotFoundError) as missing, world.db.session() as s:
            call(s)
        assert not_found_text(missing.value, "nl") == "doorverwijzing 99999 bestaat niet"
        assert not_found_text(missing.value, "en") == "routing 99999 not found"
