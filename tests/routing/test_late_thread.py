"""An answer given before the question's channel message exists (its post was delayed: Slack down, a rate limit)
reached the asker by DM; once the message is posted, the answer follows in its thread too — once, saying it was
given earlier, and never for a question that is not public."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.outbox import QuestionAnswered, read_payload
from handlers.blocks.routing import build_question_answered
from storage.models import OutboxKind as K
from storage.models import Question, Visibility
from tests.routing.conftest import ASKER, NOW, World, seed_housing

LATER = NOW + timedelta(minutes=5)
POSTED = NOW + timedelta(minutes=10)
CHANNEL, TS = "C0WONEN01", "1700000000.000900"


def _answer_before_thread(world: World, visibility: Visibility = Visibility.PUBLIC) -> int:
    seed_housing(world)
    qid = world.ask(thread_ts=None, visibility=visibility)  # recorded; its channel message not posted yet
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None and question.thread_ts is None
        routing = question.routings[0]
        world.service.answer(
            s, routing_id=routing.id, actor_slack_id=routing.recipient_slack_id or "", text="Een register.", now=LATER
        )
    return qid


def _set_thread(world: World, qid: int) -> None:
    with world.db.session() as s:
        world.service.set_question_thread(s, question_id=qid, thread_ts=TS, now=POSTED)


def test_an_answer_given_before_the_thread_is_posted_in_it_once(world: World) -> None:
    qid = _answer_before_thread(world)
    # no thread yet: the asker got the answer (with the rating) by DM, nothing for the channel
    (dm,) = world.outbox(K.ANSWER_TO_ASKER, question_id=qid)
    assert dm.recipient_slack_id == ASKER and dm.thread_ts is None and dm.payload["in_thread"] is False
    assert world.outbox(K.QUESTION_ANSWERED, question_id=qid) == []
    _set_thread(world, qid)
    _set_thread(world, qid)  # a retry of the post (or a second process): nothing more
    (posted,) = world.outbox(K.QUESTION_ANSWERED, question_id=qid)
    assert (posted.channel_id, posted.thread_ts, posted.recipient_slack_id) == (CHANNEL, TS, None)
    payload = read_payload(K.QUESTION_ANSWERED, posted.payload)
    assert isinstance(payload, QuestionAnswered) and payload.earlier and payload.answer_text == "Een register."
    assert [m.id for m in world.outbox(K.ANSWER_TO_ASKER, question_id=qid)] == [dm.id]  # the DM stays the only one
    # the thread copy says it is the answer given earlier (and names the asker, as any answer there)
    for lang, word in (("nl", "eerder"), ("en", "earlier")):
        text = build_question_answered(payload, lang).text
        assert word in text and f"<@{ASKER}>" in text


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.ANONYMOUS])
def test_a_question_that_is_not_public_never_gets_the_answer_in_a_channel(world: World, visibility: Visibility) -> None:
    qid = _answer_before_thread(world, visibility)
    _set_thread(world, qid)
    assert world.outbox(K.QUESTION_ANSWERED, question_id=qid) == []
    assert len(world.outbox(K.ANSWER_TO_ASKER, question_id=qid)) == 1


def test_an_answer_after_the_thread_is_posted_there_as_before(world: World) -> None:
    seed_housing(world)
    qid = world.ask(thread_ts=None)
    _set_thread(world, qid)
    assert world.outbox(K.QUESTION_ANSWERED, question_id=qid) == []  # nothing answered yet: nothing posted
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        routing = question.routings[0]
        world.service.answer(
            s, routing_id=routing.id, actor_slack_id=routing.recipient_slack_id or "", text="Een register.", now=LATER
        )
    (posted,) = world.outbox(K.QUESTION_ANSWERED, question_id=qid)
    assert posted.thread_ts == TS and posted.payload.get("earlier") in (None, False)
