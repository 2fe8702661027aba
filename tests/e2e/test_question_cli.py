"""End to end: with the bot stopped (Slack down, a restore), an operator closes one escalated question and hands
another to an expert from the command line; the bot, started again, sends what that queued — the asker told of the
close with its reason, the expert asked, the asker told who was asked — each exactly once; and the triage posts
of both questions show what became of them, their buttons gone, as after a click on them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.cli import main
from handlers import ids
from storage.models import OutboxMessage, QuestionStatus
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import flat
from tests.e2e.staffing import add_demo_users, add_staff, staff_bot
from tests.e2e.test_routing import BREAD, ask, questions
from tests.e2e.test_staff_told import post_at, triage_posts
from tests.emulator import SlackEmulator

PIGEONS = "Wie weet hoe je duiven weghoudt van een kerktoren zonder netten?"  # nobody in the register matches
REASON = "Zie de receptenbundel op het intranet"
EXPERT, EXPERT_EMAIL = "U0DEMO020", "nathalie.rombaut@ocmwgent.be"
LATER = "2026-11-30T11:00:00+01:00"  # the clock after the outage


def unsent(db_url: str) -> int:
    engine = create_engine(db_url)
    with Session(engine) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all()
        count = len([m for m in rows if m.failed_at is None and m.ended_at is None])
    engine.dispose()
    return count


def posts_with(emu: SlackEmulator, text: str, since: int) -> list[object]:
    return [c for c in emu.calls_to("chat.postMessage", since) if text in flat(c.params)]


@pytest.mark.postgres_too
def test_a_question_closed_and_one_assigned_by_the_cli_go_out_once_when_the_bot_starts(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    add_staff(emulator)
    add_demo_users(emulator)
    first = staff_bot(emulator, demo_db_url, tmp_path, clock_file=clock_file).start()
    try:
        ask(emulator, NL_USER, BREAD)
        ask(emulator, NL_USER, PIGEONS)
        posts = emulator.wait_for(lambda: len(triage_posts(emulator)) >= 2 and triage_posts(emulator), timeout=30)
        emulator.wait_for(lambda: unsent(demo_db_url) == 0, timeout=20)
    finally:
        first.stop()
    assert "Traceback" not in first.log()
    by_text = {q.text: q for q in questions(demo_db_url)}
    bread, pigeons = by_text[BREAD], by_text[PIGEONS]
    assert bread.status is QuestionStatus.ESCALATED and pigeons.status is QuestionStatus.ESCALATED

    # the bot is down: the operator settles both by hand
    clock_file.write_text(LATER, encoding="utf-8")
    since = len(emulator.calls)
    cli = ["--database", demo_db_url, "--by", "anna", "question"]
    closed = CliRunner().invoke(main, [*cli, "close", str(bread.id), "--reason", REASON, "--now", LATER])
    assert closed.exit_code == 0, closed.output
    assigned = CliRunner().invoke(main, [*cli, "assign", str(pigeons.id), "--expert", EXPERT_EMAIL, "--now", LATER])
    assert assigned.exit_code == 0, assigned.output
    assert f"in de wachtrij: expert_request aan {EXPERT}" in assigned.output  # WIEWEET_LANGUAGE: Dutch unless set
    assert len(emulator.calls) == since  # nothing reached Slack: it is all queued
    assert unsent(demo_db_url) == 3  # the close for the asker; the request and "asked" for the other question

    second = staff_bot(emulator, demo_db_url, tmp_path, clock_file=clock_file).start()
    try:
        expert_dm = emulator.dm_channel_with(EXPERT)
        emulator.wait_for(lambda: posts_with(emulator, REASON, since), timeout=30)
        emulator.wait_for(
            lambda: [m for m in emulator.messages(expert_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))], timeout=30
        )
        emulator.wait_for(lambda: unsent(demo_db_url) == 0, timeout=30)
        time.sleep(1.5)  # a few more job runs: nothing sent a second time
        told_closed = posts_with(emulator, REASON, since)
        assert len(told_closed) == 1
        requests = [c for c in emulator.calls_to("chat.postMessage", since) if ids.ACTION_CLAIM in flat(c.params)]
        assert [c.params["channel"] for c in requests] == [expert_dm]
        assert PIGEONS in flat(requests[0].params)
        told_asked = [c for c in posts_with(emulator, EXPERT, since) if c.params["channel"] != expert_dm]
        assert len(told_asked) == 1 and PIGEONS in flat(told_asked[0].params)  # the asker: who was asked
        assert len(emulator.calls_to("chat.postMessage", since)) == 3
        # the triage posts say what became of each question, their buttons gone, as after a click on them
        emulator.wait_for(lambda: not triage_posts(emulator), timeout=30)
        closed, asked = flat(post_at(emulator, posts[bread.id])), flat(post_at(emulator, posts[pigeons.id]))
        assert "anna sloot deze vraag af" in closed and ids.ACTION_TRIAGE_CLOSE not in closed
        assert f"anna vroeg <@{EXPERT}> om te antwoorden" in asked and ids.ACTION_TRIAGE_ASSIGN not in asked
        assert REASON not in closed  # the note is the asker's, never in the triage channel
        time.sleep(1.5)
        assert len(emulator.calls_to("chat.update", since)) == 2  # once each
    finally:
        second.stop()
    assert "Traceback" not in second.log()
    second.assert_no_slack_calls_in_transactions()
