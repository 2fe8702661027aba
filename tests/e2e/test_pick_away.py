"""End to end: someone marked away is not given a question by hand. An expert passing it on is told they are away
and until when; staff assigning it are told the same and may assign them all the same (a second click, audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from handlers import ids
from storage.models import AuditLog, QuestionStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.staffing import STAFF, TRIAGE
from tests.e2e.test_routing import BREAD, QUESTION, ask, expert_dms, open_requests, questions
from tests.emulator import SlackEmulator

AWAY = "U0DEMO060"  # in the demo register
TOLD_AWAY = "afwezig tot en met 15 dec 2026"


def _replies(emu: SlackEmulator, since: int) -> str:
    return flat([p["body"] for p in emu.response_posts[since:]])


def _audit(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        rows = [
            (a.actor, a.action, a.entity_key) for a in session.scalars(select(AuditLog)) if a.action == "assign_away"
        ]
    engine.dispose()
    return rows


@pytest.mark.postgres_too
def test_someone_away_is_refused_when_passed_on_and_staff_may_assign_them_anyway(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    emulator.send_command(AWAY, CHANNEL, text="afwezig tot 2026-12-15")
    emulator.wait_for(lambda: "15 dec 2026" in _replies(emulator, 0), timeout=30)
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=30)
    user, channel, message = open_requests(emulator)[0]
    question = next(q for q in questions(demo_db_url) if q.text == QUESTION)
    before = {(r.recipient_slack_id, r.status) for r in question.routings}
    shown = len(emulator.response_posts)
    emulator.select_user(user, ids.ACTION_FORWARD, AWAY, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: len(emulator.response_posts) > shown, timeout=20)
    told = _replies(emulator, shown)
    assert TOLD_AWAY in told and f"<@{AWAY}>" in told and ids.ACTION_TRIAGE_ASSIGN_AWAY not in told
    after = next(q for q in questions(demo_db_url) if q.id == question.id)
    assert {(r.recipient_slack_id, r.status) for r in after.routings} == before  # nothing changed
    away_dm = emulator.dm_channel_with(AWAY)
    assert not [m for m in emulator.messages(away_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))]

    # staff assigning an escalated question to them: the same warning, and a button to assign them anyway
    ask(emulator, NL_USER, BREAD)
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_TRIAGE_CLOSE in flat(c.params.get("blocks")))
    triage = [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))][-1]
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, AWAY, message=triage["ts"], channel=TRIAGE)
    warning = emulator.wait_for(
        lambda: [e for e in emulator.ephemerals(STAFF) if ids.ACTION_TRIAGE_ASSIGN_AWAY in flat(e)], timeout=20
    )[-1]
    assert TOLD_AWAY in flat(warning)
    bread = next(q for q in questions(demo_db_url) if q.text == BREAD)
    assert not bread.routings and bread.status is QuestionStatus.ESCALATED
    assert _audit(demo_db_url) == []
    # someone who is not staff pressing it: refused, nothing changes
    emulator.click_button(NL_USER, ids.ACTION_TRIAGE_ASSIGN_AWAY, message=warning["message_ts"], channel=TRIAGE)
    emulator.wait_for(lambda: "kenniscentrum kunnen dit" in _replies(emulator, 0), timeout=20)
    emulator.click_button(STAFF, ids.ACTION_TRIAGE_ASSIGN_AWAY, message=warning["message_ts"], channel=TRIAGE)
    emulator.wait_for(
        lambda: [m for m in emulator.messages(away_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))], timeout=30
    )
    bread = next(q for q in questions(demo_db_url) if q.text == BREAD)
    assert [r.recipient_slack_id for r in bread.routings] == [AWAY] and bread.status is QuestionStatus.ROUTED
    assert _audit(demo_db_url) == [(f"staff:{STAFF}", "assign_away", str(bread.id))]
    assert "Traceback" not in routing_bot.log()
    routing_bot.assert_no_slack_calls_in_transactions()
