"""End to end: knowledge needs through the real bot process, the Slack emulator and the background jobs.

Questions from several organisations → a proposed work session in the triage channel → a forged click by someone
who is not staff refused (and logged) → invite refused while the bot lacks the scope, with the scope named → invite
→ a channel created with the right members → the proposal updated and audited → dismissed. ``/wieweet behoeften``
and ``/wieweet rapport`` for staff (the chart and the workbook uploaded) and refused for others; the recruiting DM's
button adds the topic to the asked person's profile, and only theirs.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.actors import Actor
from bot.knowledge import KnowledgeBase
from bot.needs import NeedsService
from bot.needs.jobs import run_needs_pass
from handlers import ids
from storage import needs_repo
from storage.db import Database
from storage.models import (
    Answer,
    AuditLog,
    Expert,
    NeedProposal,
    NeedTopic,
    Practice,
    ProposalStatus,
    Question,
    QuestionStatus,
    RecordStatus,
    Visibility,
)
from tests.e2e.chaos import acks_while_locked
from tests.e2e.conftest import CHANNEL, NL_USER, PRIVATE_C
from tests.e2e.harness import BotProcess, flat, replay
from tests.e2e.needs_seed import ASKERS, LEAD, add_askers_and_lead
from tests.e2e.staffing import STAFF, TRIAGE, add_staff, staff_bot
from tests.emulator import SlackEmulator

TOPIC_WORD = "zwerfkatten"


@pytest.fixture
def needs_bot(emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path) -> Iterator[BotProcess]:
    add_staff(emulator)
    add_askers_and_lead(
        emulator, db, now=datetime.now(UTC), lead_expertise=("zwerfkatten", "dierenwelzijn", "sterilisatie")
    )
    process = staff_bot(emulator, demo_db_url, tmp_path)
    process.start()
    yield process
    process.stop()


def needs_pass(db: Database, *, timeout: float = 30.0) -> list[int]:
    """A needs pass as another replica runs it: groups the questions and queues proposals (the bot sends them).
    While the bot's own pass holds the grouping lock this one skips (``ran`` False): it is run again until it ran,
    so what the bot's pass placed and claimed is committed when this returns."""
    knowledge = KnowledgeBase(db)
    knowledge.load()
    deadline = time.monotonic() + timeout
    try:
        while True:
            result = run_needs_pass(db, service=NeedsService(knowledge), now=datetime.now(UTC), worker_id="e2e")
            if result.ran:
                return list(result.proposals)
            if time.monotonic() > deadline:
                raise AssertionError(f"the needs pass found the grouping lock held for {timeout:.0f} s")
            threading.Event().wait(0.05)  # the bot's pass holds the lock: try again shortly
    finally:
        knowledge.close()


def our_proposal(db: Database) -> NeedProposal:
    with db.session() as session:
        for proposal in session.scalars(select(NeedProposal)):
            topic = session.get(NeedTopic, proposal.topic_id)
            if topic is not None and TOPIC_WORD in topic.label.lower():
                session.expunge(proposal)
                return proposal
    raise AssertionError("no proposal about the stray cats")


def triage_proposal(emu: SlackEmulator, proposal_id: int) -> dict[str, Any]:
    block = ids.block_id(ids.BLOCK_NEEDS_PROPOSAL, proposal_id)
    return dict(
        emu.wait_for(lambda: [m for m in emu.messages(TRIAGE) if block in flat(m.get("blocks"))], timeout=20)[-1]
    )


def status_of(db: Database, proposal_id: int) -> ProposalStatus:
    with db.session() as session:
        proposal = session.get(NeedProposal, proposal_id)
        assert proposal is not None
        return proposal.status


def uploaded(emu: SlackEmulator, suffix: str) -> list[dict[str, Any]]:
    """Files whose upload completed, with their content (bytes)."""
    return [f for f in emu.files() if f.get("completed") and str(f.get("name", "")).endswith(suffix)]


def answers(emu: SlackEmulator) -> str:
    return flat([p["body"] for p in emu.response_posts])


def test_proposal_forged_click_missing_scope_invite_and_dismiss(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    assert needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    text = flat(message["blocks"])
    assert "zwerfkatten" in text.lower() and f"<@{LEAD}>" in text  # the expert who could lead it
    assert all(f"<@{slack}>" in text for slack in ASKERS)  # the askers who would likely come

    # forged: an official (not staff) presses Dismiss and Invite
    emulator.click_button(
        NL_USER, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message["ts"], channel=TRIAGE
    )
    emulator.click_button(
        NL_USER, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message["ts"], channel=TRIAGE
    )
    for action in ("invite people to a work session", "dismiss a work session proposal"):
        emulator.wait_for(lambda action=action: f"user={NL_USER} action={action}" in needs_bot.log())
    assert status_of(db, proposal.id) == ProposalStatus.OPEN
    assert not [v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_NEEDS_INVITE]

    # staff invite; the bot lacks channels:manage: the modal says which scope, nothing is recorded
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message["ts"], channel=TRIAGE)
    view = emulator.wait_for(
        lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_NEEDS_INVITE]
    )[-1]
    name = next(
        b["element"]["initial_value"] for b in view["blocks"] if b.get("block_id") == ids.BLOCK_NEEDS_CHANNEL_NAME
    )
    assert name.startswith("werksessie-") and "zwerfkatten" in name
    emulator.set_bot_scopes(["chat:write", "im:write", "users:read", "channels:read", "files:write"])
    refused = emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: name})
    assert refused.acked and refused.response_action is None  # recorded; Slack refuses it after the ack
    told = emulator.wait_for(
        lambda: "channels:manage" in flat(emulator.messages(emulator.dm_channel_with(STAFF))), timeout=20
    )
    assert told and f"> {name}" in flat(emulator.messages(emulator.dm_channel_with(STAFF)))  # what they typed
    assert status_of(db, proposal.id) == ProposalStatus.OPEN and emulator.channel_info(name) is None

    # with the scope: the channel is created and exactly the proposed people are invited
    emulator.set_bot_scopes(None)
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message["ts"], channel=TRIAGE)
    view = emulator.wait_for(
        lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_NEEDS_INVITE]
    )[-1]
    done = emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: name})
    assert done.response_action is None
    channel = emulator.wait_for(lambda: emulator.channel_info(name))
    # created first, the invitations follow (another Slack call): wait for them, then exactly the proposed people
    wanted = {emulator.bot_user_id, LEAD, *ASKERS}
    emulator.wait_for(lambda: wanted <= set((emulator.channel_info(name) or {}).get("members") or []))
    channel = emulator.channel_info(name)
    assert channel is not None and set(channel["members"]) == wanted
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.INVITED)  # committed after the ack
    emulator.wait_for(lambda: any("zwerfkatten" in flat(m).lower() for m in emulator.messages(channel["id"])))
    update = emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and channel["id"] in flat(c.params)
    )
    assert ids.ACTION_NEEDS_INVITE not in flat(update.params.get("blocks"))  # invited: done and dismiss remain
    assert ids.ACTION_NEEDS_DISMISS in flat(update.params.get("blocks"))

    def told_staff() -> list[Any]:  # (the forged clicks' refusals above go to NL_USER, maybe still arriving)
        return [p for p in emulator.response_posts if p.get("user") == STAFF] + [
            c for c in emulator.calls_to("chat.postEphemeral") if c.params.get("user") == STAFF
        ]

    creates, said = len(emulator.calls_to("conversations.create")), len(told_staff())
    replay(emulator, needs_bot, done)  # submitted again: no second channel, nothing said to staff
    assert len(emulator.calls_to("conversations.create")) == creates and len(told_staff()) == said

    # dismissed by staff: the buttons go, and a second click is told it is closed
    emulator.click_button(
        STAFF, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message["ts"], channel=TRIAGE
    )
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.DISMISSED)
    emulator.wait_for_call(
        "chat.update",
        lambda c: c.params.get("ts") == message["ts"] and ids.ACTION_NEEDS_DISMISS not in flat(c.params.get("blocks")),
    )
    with db.session() as session:
        actions = [
            (a.action, a.actor)
            for a in session.scalars(
                select(AuditLog).where(AuditLog.entity_type == "need_proposal", AuditLog.entity_key == str(proposal.id))
            )
        ]
    assert ("invite", STAFF) in actions and ("dismiss", STAFF) in actions
    assert not [a for a in actions if a[1] == NL_USER]


@pytest.mark.postgres_too
def test_needs_and_report_commands_for_staff_only(needs_bot: BotProcess, emulator: SlackEmulator, db: Database) -> None:
    needs_pass(db)
    emulator.send_command(STAFF, CHANNEL, text="behoeften")
    emulator.wait_for(lambda: "zwerfkatten" in answers(emulator).lower())
    assert "Kennisbehoeften" in answers(emulator)

    emulator.send_command(NL_USER, CHANNEL, text="behoeften")
    emulator.wait_for(lambda: f"user={NL_USER} action=see knowledge needs" in needs_bot.log())

    emulator.send_command(STAFF, CHANNEL, text="rapport")
    files = emulator.wait_for(lambda: uploaded(emulator, ".xlsx"))
    assert uploaded(emulator, ".png")
    assert files[-1]["channels"] == [emulator.dm_channel_with(STAFF)]  # the staff member's DM, not the channel
    workbook = load_workbook(io.BytesIO(files[-1]["content"]))
    assert (
        "zwerfkatten"
        in json.dumps([list(row) for ws in workbook for row in ws.iter_rows(values_only=True)], default=str).lower()
    )
    assert any(ws._charts for ws in workbook)  # native Excel charts
    emulator.send_command(NL_USER, CHANNEL, text="rapport")
    emulator.wait_for(lambda: f"user={NL_USER} action=make a knowledge-needs report" in needs_bot.log())
    assert len(uploaded(emulator, ".xlsx")) == 1
    with db.session() as s:  # who got a report (it names experts) of which period: counts only, the refusal none
        reports = [(a.actor, a.entity_type) for a in s.scalars(select(AuditLog).where(AuditLog.action == "report"))]
    assert reports == [(STAFF, "needs_report")]


def test_staff_home_tab_shows_the_needs(needs_bot: BotProcess, emulator: SlackEmulator, db: Database) -> None:
    needs_pass(db)
    emulator.open_home(STAFF)
    home = emulator.wait_for(lambda: emulator.home_view(STAFF))
    assert "Kennisbehoeften" in flat(home) and "zwerfkatten" in flat(home).lower()
    emulator.open_home(NL_USER)
    other = emulator.wait_for(lambda: emulator.home_view(NL_USER))
    assert "Kennisbehoeften" not in flat(other)


def test_done_with_notes_becomes_a_practice(needs_bot: BotProcess, emulator: SlackEmulator, db: Database) -> None:
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    emulator.click_button(STAFF, ids.ACTION_NEEDS_DONE, value=str(proposal.id), message=message["ts"], channel=TRIAGE)
    view = emulator.wait_for(lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_NEEDS_DONE])[
        -1
    ]
    refused = emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_NOTES: "javascript:alert(1)"})
    assert refused.response_action == "errors" and status_of(db, proposal.id) == ProposalStatus.OPEN
    url = "https://wiki.example.org/werksessie-zwerfkatten"
    done = emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_NOTES: url, ids.BLOCK_NEEDS_SUMMARY: "Vangacties"})
    assert done.response_action is None
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.DONE)
    replay(emulator, needs_bot, done)  # submitted again: still one practice (``one()`` below)
    with db.session() as session:
        practice = session.scalars(select(Practice).where(Practice.url == url)).one()
        assert practice.status is RecordStatus.PENDING and "zwerfkatten" in practice.title.lower()
    # the practice waits for the staff's approval as usual: its review is posted in the triage channel
    emulator.wait_for(lambda: [m for m in emulator.messages(TRIAGE) if ids.ACTION_PRACTICE_APPROVE in flat(m)])
    emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and url in flat(c.params.get("blocks"))
    )


def test_recruiting_dm_adds_the_topic_for_the_person_asked_only(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    now = datetime.now(UTC)
    answerer = "U0GENT001"
    with db.session() as session:
        expert = session.scalars(select(Expert).where(Expert.slack_user_id == answerer)).one()
        for n, (slack, text) in enumerate(
            [
                ("U0LEUV001", "Wie weet iets over rattenbestrijding in rioleringen?"),
                ("U0BRUG001", "rattenbestrijding riool"),
            ]
        ):
            question = Question(
                text=text,
                asker_slack_id=slack,
                asker_name="",
                visibility=Visibility.PUBLIC,
                status=QuestionStatus.ANSWERED if n == 0 else QuestionStatus.ROUTED,
                channel_id=CHANNEL,
                channel_is_private=False,
                created_at=now - timedelta(days=3 - n),
                updated_at=now - timedelta(days=3 - n),
                answered_at=now - timedelta(days=2) if n == 0 else None,
            )
            if n == 0:
                question.answers.append(
                    Answer(
                        expert_id=expert.id,
                        answered_by_name=expert.name,
                        answered_by_slack_id=answerer,
                        organisation=expert.organisation,
                        text="Wij werken met een gespecialiseerde firma.",
                        created_at=now - timedelta(days=2),
                    )
                )
            session.add(question)
        expert_id = expert.id
    needs_pass(db)
    knowledge = KnowledgeBase(db)
    knowledge.load()
    staff = Actor.slack(STAFF, is_staff=True)
    try:
        service = NeedsService(knowledge)
        with db.session() as session:
            topic = next(t for t in needs_repo.list_need_topics(session) if "rattenbestrijding" in t.label.lower())
            plan = service.recruiting(session, actor=staff, topic_id=topic.id, now=now)
            assert [c.expert_id for c in plan.candidates] == [expert_id]
            service.ask_to_add_expertise(session, actor=staff, topic_id=topic.id, expert_ids=[expert_id], now=now)
            topic_id = topic.id
    finally:
        knowledge.close()
    dm = emulator.dm_channel_with(answerer)
    message = emulator.wait_for(
        lambda: [m for m in emulator.messages(dm) if ids.ACTION_ADD_TOPIC in flat(m.get("blocks"))], timeout=20
    )[-1]
    # someone else presses the button (a forged payload): refused and logged, nothing added
    emulator.click_button("U0LEUV001", ids.ACTION_ADD_TOPIC, value=str(topic_id), message=message["ts"], channel=dm)
    emulator.wait_for(lambda: "user=U0LEUV001 action=add a topic they were not asked about" in needs_bot.log())
    emulator.click_button(answerer, ids.ACTION_ADD_TOPIC, value=str(topic_id), message=message["ts"], channel=dm)
    emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and ids.ACTION_ADD_TOPIC not in flat(c.params)
    )
    with db.session() as session:
        added = session.get(Expert, expert_id)
        assert added is not None and any("rattenbestrijding" in e.lower() for e in added.expertise)
        others = session.scalars(select(Expert).where(Expert.slack_user_id == "U0LEUV001")).one()
        assert not any("rattenbestrijding" in e.lower() for e in others.expertise)


@pytest.mark.postgres_too
def test_invite_and_done_are_acked_under_a_database_lock_and_saved_once(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database, demo_db_url: str
) -> None:
    """Issue 12: both work-session modals are acked (and close) while another process holds the database's write
    lock — the ack does not wait for the database; the invite and the practice are made once the lock is released,
    and a replay makes nothing more."""
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message["ts"], channel=TRIAGE)
    invite = emulator.wait_for(
        lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_NEEDS_INVITE]
    )[-1]
    with acks_while_locked(emulator, demo_db_url) as acked_under_the_lock:
        invited = emulator.submit_view(STAFF, invite["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: "werksessie-katten"})
        acked_under_the_lock(invited)
        assert invited.response_action is None
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.INVITED, timeout=30)
    assert emulator.channel_info("werksessie-katten") is not None
    replay(emulator, needs_bot, invited)
    assert len(emulator.calls_to("conversations.create")) == 1

    emulator.click_button(STAFF, ids.ACTION_NEEDS_DONE, value=str(proposal.id), message=message["ts"], channel=TRIAGE)
    view = emulator.wait_for(lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_NEEDS_DONE])[
        -1
    ]
    url = "https://wiki.example.org/werksessie-katten"
    with acks_while_locked(emulator, demo_db_url) as acked_under_the_lock:
        done = emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_NOTES: url})
        acked_under_the_lock(done)
        assert done.response_action is None
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.DONE, timeout=30)
    replay(emulator, needs_bot, done)
    with db.session() as session:
        assert len(list(session.scalars(select(Practice).where(Practice.url == url)))) == 1
    needs_bot.assert_no_slack_calls_in_transactions()


# --- an attacker's pass: hostile periods and arguments, stale and forged proposal clicks -------------------------

UNKNOWN_PERIOD = "Die periode ken ik niet"


def views_of(emu: SlackEmulator, user: str, callback_id: str) -> list[dict[str, Any]]:
    return [v for v in emu.views(user) if v.get("callback_id") == callback_id]


CALENDAR_ENDS = [
    "9999-W52",  # the week's last day is past the calendar's end
    "9999-12",  # the day after the month is in year 10000
    "9999-Q4",
    "9999-12-01..9999-12-31",
    "0001-Q1",  # the quarters before it, for the trend, are before year 1
    "0001-01",
    "0001-W01",
]


def test_a_period_at_the_ends_of_the_calendar_is_an_unknown_period_not_a_crash(
    needs_bot: BotProcess, emulator: SlackEmulator
) -> None:
    def answered(count: int) -> bool:
        return len(emulator.response_posts) >= count

    sent = 0
    for period in CALENDAR_ENDS:
        for word in ("behoeften", "rapport"):
            emulator.send_command(STAFF, CHANNEL, text=f"{word} {period}")
            sent += 1
            emulator.wait_for(partial(answered, sent))
    emulator.wait_for(lambda: answers(emulator).count(UNKNOWN_PERIOD) == sent)
    assert "Er ging iets mis" not in answers(emulator)
    assert "Traceback" not in needs_bot.log()
    assert not uploaded(emulator, ".xlsx")


def test_huge_and_hostile_command_arguments(needs_bot: BotProcess, emulator: SlackEmulator) -> None:
    # a period-like argument of thousands of characters: the usage, once, no traceback
    emulator.send_command(STAFF, CHANNEL, text="behoeften 2026" + "-" * 3000)
    emulator.wait_for(lambda: UNKNOWN_PERIOD in answers(emulator))
    # not period-like: a question to search, the hostile text never echoed as markup
    emulator.send_command(STAFF, CHANNEL, text="behoeften <!channel> <@U0NLUSER1> <https://evil.example|klik>")
    shown = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]], timeout=20)
    for forbidden in ("<!channel>", "<@U0NLUSER1>", "<https://evil.example"):
        assert forbidden not in flat(shown)
    assert "Traceback" not in needs_bot.log()


def test_stale_and_forged_proposal_clicks_and_metadata(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)

    # not staff: the done button opens nothing and is logged as a refusal
    emulator.click_button(NL_USER, ids.ACTION_NEEDS_DONE, value=str(proposal.id), message=message, channel=TRIAGE)
    emulator.wait_for(lambda: f"user={NL_USER} action=see a work session proposal" in needs_bot.log())
    assert not views_of(emulator, NL_USER, ids.VIEW_NEEDS_DONE)

    # staff open the invite modal, then the proposal is dismissed from the message (the state moves on)
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
    invite_view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE))[-1]
    emulator.click_button(STAFF, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message, channel=TRIAGE)
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.DISMISSED)
    # the stale modal submitted after all: no channel, nothing invited; staff are told by DM, what they typed quoted
    creates = len(emulator.calls_to("conversations.create"))
    emulator.submit_view(STAFF, invite_view["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: "werksessie-te-laat"})
    dm = emulator.dm_channel_with(STAFF)
    emulator.wait_for(lambda: "> werksessie-te-laat" in flat(emulator.messages(dm)), timeout=20)
    assert len(emulator.calls_to("conversations.create")) == 0 == creates
    assert status_of(db, proposal.id) == ProposalStatus.DISMISSED

    # stale buttons on the decided proposal: no modal opens
    opened = len(emulator.views(STAFF))
    for action in (ids.ACTION_NEEDS_INVITE, ids.ACTION_NEEDS_DONE, ids.ACTION_NEEDS_DISMISS):
        emulator.click_button(STAFF, action, value=str(proposal.id), message=message, channel=TRIAGE)
    emulator.wait_for(lambda: len([p for p in emulator.response_posts if p.get("user") == STAFF]) >= 3, timeout=20)
    assert len(emulator.views(STAFF)) == opened and status_of(db, proposal.id) == ProposalStatus.DISMISSED

    # a proposal id that does not exist, and one the value and block id disagree on
    emulator.click_button(STAFF, ids.ACTION_NEEDS_DONE, value="999999", block_id="x", message=message, channel=TRIAGE)
    block = ids.block_id(ids.BLOCK_NEEDS_PROPOSAL, proposal.id)
    emulator.click_button(
        STAFF, ids.ACTION_NEEDS_DONE, value=str(proposal.id + 1), block_id=block, message=message, channel=TRIAGE
    )
    emulator.wait_for(lambda: "action=send a malformed work session proposal id" in needs_bot.log())
    assert len(emulator.views(STAFF)) == opened
    assert "Traceback" not in needs_bot.log()


def test_staff_cannot_invite_a_work_session_into_a_channel_they_are_not_in(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    """The channel picked in the invite modal is a claim: staff may hold a session only in a channel they are in.
    Forged (a private channel wieweet is in but they are not, someone else's DM): refused, nobody is invited there,
    nothing is posted there, the proposal stays open; staff are told by DM with what they typed."""
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    for forged in (PRIVATE_C, emulator.dm_channel_with(NL_USER)):
        before = set((emulator.channel_info(forged) or {}).get("members") or [])
        emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
        view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE))[-1]
        typed = f"werksessie-{forged.lower()}"
        picked = {ids.INPUT_NEEDS_CHANNEL: {"type": "conversations_select", "selected_conversation": forged}}
        emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_CHANNEL: picked, ids.BLOCK_NEEDS_CHANNEL_NAME: typed})
        emulator.wait_for(lambda typed=typed: f"> {typed}" in flat(emulator.messages(emulator.dm_channel_with(STAFF))))
        emulator.wait_for(lambda forged=forged: f"target=channel:{forged}" in needs_bot.log())
        assert set((emulator.channel_info(forged) or {}).get("members") or []) == before
        assert not [c for c in emulator.calls_to("conversations.invite") if c.params.get("channel") == forged]
        assert not [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == forged]
    assert status_of(db, proposal.id) == ProposalStatus.OPEN
    # a channel they are in: the people are invited there
    emulator.add_channel("C0SESSIE1", name="sessies", members=[STAFF, emulator.bot_user_id])
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
    view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE))[-1]
    picked = {ids.INPUT_NEEDS_CHANNEL: {"type": "conversations_select", "selected_conversation": "C0SESSIE1"}}
    emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_CHANNEL: picked})
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.INVITED)
    assert {LEAD, *ASKERS} <= set((emulator.channel_info("C0SESSIE1") or {}).get("members") or [])


def test_no_work_session_in_a_channel_shared_with_another_organisation(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    """A work session's invitation names the network's people and their question: not in a Slack Connect channel,
    even one staff are in. Refused before anyone is invited or anything is posted; staff are told why by DM."""
    shared = "C0SHARED1"
    emulator.add_channel(shared, name="samen", is_ext_shared=True, members=[STAFF, emulator.bot_user_id])
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
    view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE))[-1]
    picked = {ids.INPUT_NEEDS_CHANNEL: {"type": "conversations_select", "selected_conversation": shared}}
    emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_CHANNEL: picked})
    emulator.wait_for(lambda: "andere organisatie" in flat(emulator.messages(emulator.dm_channel_with(STAFF))))
    assert (emulator.channel_info(shared) or {}).get("members") == [STAFF, emulator.bot_user_id]
    assert not [c for c in emulator.calls_to("conversations.invite") if c.params.get("channel") == shared]
    assert not [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == shared]
    assert status_of(db, proposal.id) == ProposalStatus.OPEN


def test_an_invitation_under_way_elsewhere_makes_no_second_channel_until_its_hold_runs_out(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    """Another staff member's invite submission (on another replica) holds the proposal's invitation: this one's
    creates no channel and invites nobody, and the staff member is told by DM that it is being invited and by whom,
    with what they typed. Once that hold has run out (its attempt died), a new submission takes the invitation over."""
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
    invite_view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE))[-1]

    def hold(until: datetime) -> None:
        with db.session() as session:
            row = session.get(NeedProposal, proposal.id)
            assert row is not None
            row.invite_held_by, row.invite_held_until = "needs_invite:VELSEWHERE", until
            row.invite_held_for = LEAD  # (as if) the staff member who submitted it

    hold(datetime.now(UTC) + timedelta(minutes=5))
    emulator.submit_view(STAFF, invite_view["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: "werksessie-tegelijk"})
    dm = emulator.dm_channel_with(STAFF)
    emulator.wait_for(lambda: "> werksessie-tegelijk" in flat(emulator.messages(dm)), timeout=20)
    assert "op dit moment al uit" in flat(emulator.messages(dm))  # being invited by someone else
    assert f"<@{LEAD}> nodigt" in flat(emulator.messages(dm))  # named
    assert emulator.calls_to("conversations.create") == [] and emulator.calls_to("conversations.invite") == []
    assert status_of(db, proposal.id) == ProposalStatus.OPEN

    hold(datetime.now(UTC) - timedelta(seconds=1))  # that attempt died and its hold ran out
    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
    again = emulator.wait_for(
        lambda: [v for v in views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE) if v["id"] != invite_view["id"]]
    )[-1]
    emulator.submit_view(STAFF, again["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: "werksessie-overgenomen"})
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.INVITED, timeout=20)
    channel = emulator.channel_info("werksessie-overgenomen")
    assert channel is not None and len(emulator.calls_to("conversations.create")) == 1
    with db.session() as session:
        row = session.get(NeedProposal, proposal.id)
        assert row is not None and row.channel_id == channel["id"] and row.invite_held_by is None
