"""End to end: Slack says a member's account was deactivated (``user_change``, ``deleted: true``, through the
emulator). The expert's request moves on to the next expert at once and they are marked away; the asker's question
is withdrawn and the experts still asked hear it is no longer needed; a redelivery changes nothing, and a
deactivated person of another organisation (Slack Connect) is never acted on."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import Availability, Expert, Question, QuestionStatus, RoutingStatus
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess
from tests.e2e.test_routing import QUESTION, ask, expert_dms, open_requests
from tests.emulator import SlackEmulator

FOREIGN = "U0FOREIGN"


def state(db_url: str, expert: str) -> tuple[Availability, QuestionStatus, dict[str, RoutingStatus]]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            entry = session.scalars(select(Expert).where(Expert.slack_user_id == expert)).one()
            question = session.scalars(select(Question).where(Question.text == QUESTION)).one()
            routings = {r.recipient_slack_id or "": r.status for r in question.routings}
            return entry.availability, question.status, routings
    finally:
        engine.dispose()


@pytest.mark.postgres_too
def test_a_deactivated_expert_and_asker_are_acted_on_at_once_and_once(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    gone, _channel, _message = open_requests(emulator)[0]
    emulator.send_user_deactivated(gone, event_id="Ev0GONE0001")
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 3, timeout=20)  # the next expert, without waiting days
    availability, status, routings = state(demo_db_url, gone)
    assert availability is Availability.AWAY and routings[gone] is RoutingStatus.EXPIRED
    assert status is QuestionStatus.ROUTED
    emulator.send_user_deactivated(gone, event_id="Ev0GONE0001")  # Slack's retry
    emulator.send_user_deactivated(gone)  # and a later change of the same deactivated account
    emulator.add_user(FOREIGN, name="ander", real_name="Andere Organisatie", locale="nl-BE", team_id="T0OTHER1")
    emulator.send_user_deactivated(FOREIGN)
    time.sleep(1.5)  # a few outbox runs: nothing more may be sent, so there is no event to wait for
    assert len(expert_dms(emulator)) == 3
    asked = [u for u, s in state(demo_db_url, gone)[2].items() if s is RoutingStatus.ASKED]
    assert len(asked) == 2
    emulator.send_user_deactivated(NL_USER)  # the asker
    emulator.wait_for(lambda: state(demo_db_url, gone)[1] is QuestionStatus.CANCELLED, timeout=20)
    assert all(s is not RoutingStatus.ASKED for s in state(demo_db_url, gone)[2].values())
    for expert in asked:  # told it is no longer needed, in their DM
        channel = emulator.dm_channel_with(expert)
        emulator.wait_for(
            lambda c=channel: any("niet meer nodig" in str(m.get("blocks")) for m in emulator.messages(c)), timeout=20
        )
