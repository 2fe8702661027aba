"""End to end: staff hear of every question that waits for them, and of every choice that changes nothing.

* An escalated question whose post to the triage channel fails for good (the bot is not in the channel, it was
  archived or deleted, Slack rate-limits beyond every retry) reaches each staff member by DM instead — the ones named
  in WIEWEET_STAFF_USER_IDS and the members of WIEWEET_STAFF_USERGROUP — once per escalation, naming the channel and
  what went wrong in plain words; a private question's DM leaves its text out, as the triage channel does. Once
  staff assign someone or close it, every staff member's copy says so and loses its buttons.
* The asker hears "sent to X" once per question and person; staff choosing someone who already has the question
  are told so, and that person gets no second request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers import ids
from storage.models import QuestionStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.staffing import STAFF, TRIAGE
from tests.e2e.test_routing import BREAD, QUESTION, ask, asker_dms, expert_dms, questions
from tests.emulator import SlackEmulator

STAFF2 = "U0STAFF02"  # staff through the staff user group
STAFF_GROUP = "S0STAFF01"
NOT_IN_CHANNEL = "geen lid van het kanaal"  # the Dutch plain words for Slack's not_in_channel
ARCHIVED = "gearchiveerd"


def start(emulator: SlackEmulator, db_url: str, log: Path, clock: Path) -> BotProcess:
    env = {
        "WIEWEET_FAKE_NOW_FILE": str(clock),
        "WIEWEET_JOB_INTERVAL": "0.5",
        "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
        "WIEWEET_STAFF_USER_IDS": STAFF,
        "WIEWEET_STAFF_USERGROUP": STAFF_GROUP,
    }
    return BotProcess(emulator, database_url=db_url, mode="socket", log_path=log, extra_env=env).start()


def _people(emulator: SlackEmulator, *, triage_members: list[str] | None = None) -> None:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(STAFF2, name="staff2", real_name="Kenniscentrum Twee", locale="en-GB")
    emulator.add_usergroup(STAFF_GROUP, "kenniscentrum", [STAFF2])
    for n in range(1, 121):
        emulator.add_user(f"U0DEMO{n:03d}", name=f"demo{n}", real_name=f"Demo {n}", locale="nl-BE")
    members = triage_members if triage_members is not None else [STAFF, emulator.bot_user_id]
    emulator.add_channel(TRIAGE, name="triage", members=members, bot_is_member=emulator.bot_user_id in members)


@pytest.fixture
def staff_bot(emulator: SlackEmulator, any_db_url: str, tmp_path: Path, clock_file: Path) -> Iterator[BotProcess]:
    """The bot with two staff members (one by id, one through the user group); the bot is not in the triage channel."""
    _people(emulator, triage_members=[STAFF])
    process = start(emulator, any_db_url, tmp_path / "bot.log", clock_file)
    yield process
    process.stop()


def staff_alerts(emulator: SlackEmulator, user: str, word: str) -> list[str]:
    return [flat(m) for m in emulator.messages(emulator.dm_channel_with(user)) if word in flat(m)]


def test_an_escalation_the_triage_channel_never_got_reaches_each_staff_member_by_dm_once(
    staff_bot: BotProcess, emulator: SlackEmulator, any_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    ask(emulator, NL_USER, BREAD)  # nobody in the register matches: straight to staff
    emulator.wait_for(lambda: staff_alerts(emulator, STAFF, NOT_IN_CHANNEL), timeout=30)
    emulator.wait_for(lambda: staff_alerts(emulator, STAFF2, "not a member of the channel"), timeout=30)
    bread = next(q for q in questions(any_db_url) if q.text == BREAD)
    assert emulator.messages(TRIAGE) == []
    nl = staff_alerts(emulator, STAFF, NOT_IN_CHANNEL)[0]
    assert f"#{bread.id}" in nl and f"<#{TRIAGE}>" in nl and "zuurdesembrood" in nl
    en = staff_alerts(emulator, STAFF2, "not a member of the channel")[0]
    assert f"#{bread.id}" in en and f"<#{TRIAGE}>" in en and "/invite" in en
    # a restart (or another replica) does not tell them again
    staff_bot.stop()
    again = start(emulator, any_db_url, tmp_path / "bot2.log", clock_file)
    try:
        time.sleep(1.5)  # a few outbox runs of the new process
        assert len(staff_alerts(emulator, STAFF, NOT_IN_CHANNEL)) == 1
        assert len(staff_alerts(emulator, STAFF2, "not a member of the channel")) == 1
        # a private question: staff hear that it waits, not what it says
        ask(emulator, NL_USER, "Geheim: wie kent recepten voor zuurdesembrood met rogge?", visibility="private")
        emulator.wait_for(lambda: len(staff_alerts(emulator, STAFF, NOT_IN_CHANNEL)) == 2, timeout=30)
        private = staff_alerts(emulator, STAFF, NOT_IN_CHANNEL)[-1]
        assert "rogge" not in private and "Geheim" not in private and NL_USER not in private
        assert "Traceback" not in again.log()
        again.assert_no_slack_calls_in_transactions()
    finally:
        again.stop()


def test_an_archived_triage_channel_reaches_staff_by_dm_and_a_dm_that_fails_too_is_logged_once(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    _people(emulator)
    emulator.archive_channel(TRIAGE)
    # one staff member's account is deactivated: no DM reaches them either
    emulator.add_user(STAFF, name="staff", real_name="Vertrokken", locale="nl-BE", deleted=True)
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock_file)
    try:
        ask(emulator, NL_USER, BREAD)
        emulator.wait_for(lambda: staff_alerts(emulator, STAFF2, "the channel is archived"), timeout=30)
        emulator.wait_for(lambda: "could not be told either" in bot.log(), timeout=30)
        time.sleep(1.5)  # a few more outbox runs: nothing more is tried or logged
        assert bot.log().count("could not be told either") == 1  # logged once, never a loop
        assert len(staff_alerts(emulator, STAFF2, "the channel is archived")) == 1
        bread = next(q for q in questions(demo_db_url) if q.text == BREAD)
        assert bread.status is QuestionStatus.ESCALATED  # still listed for staff (Home tab, CLI)
        assert "Traceback" not in bot.log()
    finally:
        bot.stop()


def test_a_working_triage_channel_sends_staff_no_dm(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    _people(emulator)
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock_file)
    try:
        ask(emulator, NL_USER, BREAD)
        emulator.wait_for(lambda: [m for m in emulator.messages(TRIAGE) if "zuurdesembrood" in flat(m)], timeout=30)
        time.sleep(1.5)
        assert not [c for c in emulator.calls_to("conversations.open") if c.params.get("users") in (STAFF, STAFF2)]
    finally:
        bot.stop()


# --- once per question and person ----------------------------------------------------------------------------------


def test_staff_choosing_an_expert_who_already_has_the_question_are_told_and_nobody_hears_twice(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    _people(emulator)
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock_file)
    try:
        ask(emulator, NL_USER, QUESTION)
        emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=30)
        question = next(q for q in questions(demo_db_url) if q.text == QUESTION)
        first, second = sorted(r.recipient_slack_id or "" for r in question.routings)
        routed = f"<@{first}>"
        emulator.wait_for(lambda: any(routed in m for m in asker_dms(emulator, NL_USER)), timeout=30)
        # the other expert forwards it to the first, who has it already: told so, nobody asked twice
        other_dm = emulator.dm_channel_with(second)
        other = [m for m in emulator.messages(other_dm) if ids.ACTION_CLAIM in flat(m.get("blocks"))][-1]
        shown = len(emulator.response_posts)
        emulator.select_user(second, ids.ACTION_FORWARD, first, message=other["ts"], channel=other_dm)
        emulator.wait_for(lambda: len(emulator.response_posts) > shown, timeout=30)
        assert "kreeg de vraag al" in flat([p["body"] for p in emulator.response_posts[shown:]])
        # nobody answered in time: the question goes to staff, both experts still asked
        clock_file.write_text("2026-12-07T09:35:00+01:00", encoding="utf-8")
        triage = emulator.wait_for(
            lambda: [m for m in emulator.messages(TRIAGE) if ids.ACTION_TRIAGE_ASSIGN in flat(m.get("blocks"))],
            timeout=30,
        )[-1]
        requests_before = len(expert_dms(emulator))
        shown = len(emulator.response_posts)
        emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, first, message=triage["ts"], channel=TRIAGE)
        emulator.wait_for(lambda: len(emulator.response_posts) > shown, timeout=30)
        assert "kreeg de vraag al" in flat([p["body"] for p in emulator.response_posts[shown:]])
        time.sleep(1.5)  # a few more outbox runs
        assert len(expert_dms(emulator)) == requests_before  # no second request
        assert len([m for m in asker_dms(emulator, NL_USER) if routed in m]) == 1
        # the expert declines; staff then choose them again on purpose: asked again, the asker not told again
        channel = emulator.dm_channel_with(first)
        request = [m for m in emulator.messages(channel) if ids.ACTION_DECLINE in flat(m.get("blocks"))][-1]
        emulator.click_button(first, ids.ACTION_DECLINE, message=request["ts"], channel=channel)
        emulator.wait_for(lambda: emulator.views(first))
        emulator.submit_view(first, emulator.views(first)[-1]["id"], {ids.BLOCK_DECLINE_REASON: "Geen tijd"})
        emulator.wait_for_call("chat.update", lambda c: c.params.get("ts") == request["ts"], timeout=30)
        posted = len(emulator.messages(channel))
        emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, first, message=triage["ts"], channel=TRIAGE)
        emulator.wait_for(
            lambda: [m for m in emulator.messages(channel)[posted:] if ids.ACTION_CLAIM in flat(m.get("blocks"))],
            timeout=30,
        )
        time.sleep(1.5)
        assert len([m for m in asker_dms(emulator, NL_USER) if routed in m]) == 1
        assert "Traceback" not in bot.log()
        bot.assert_no_slack_calls_in_transactions()
    finally:
        bot.stop()


# --- the DM copies kept current ----------------------------------------------------------------------------------


def copies(emulator: SlackEmulator, user: str) -> dict[int, str]:
    """``user``'s DM copies of triage posts that still have their buttons: question id -> message ts."""
    found = {}
    for message in emulator.messages(emulator.dm_channel_with(user)):
        for block in message.get("blocks") or []:
            head, _, qid = str(block.get("block_id") or "").partition(":")
            if head == ids.BLOCK_TRIAGE_ACTIONS:
                found[int(qid)] = str(message["ts"])
    return found


def shown(emulator: SlackEmulator, user: str, ts: str) -> dict[str, Any]:
    return next(m for m in emulator.messages(emulator.dm_channel_with(user)) if m["ts"] == ts)


def test_every_staff_dm_about_an_escalated_question_shows_who_took_it_or_that_it_is_closed(
    staff_bot: BotProcess, emulator: SlackEmulator, any_db_url: str
) -> None:
    rye = "Wie kent recepten voor zuurdesembrood met rogge?"
    ask(emulator, NL_USER, BREAD)
    ask(emulator, NL_USER, rye)
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: len(copies(emulator, user)) == 2, timeout=30)
    by_text = {q.text: q.id for q in questions(any_db_url)}
    bread, other = by_text[BREAD], by_text[rye]
    before = {user: copies(emulator, user) for user in (STAFF, STAFF2)}
    # assigned from one staff member's copy: every copy says who took it, and has no buttons any more
    channel = emulator.dm_channel_with(STAFF)
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO001", message=before[STAFF][bread], channel=channel)
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: bread not in copies(emulator, user), timeout=30)
        updated = flat(shown(emulator, user, before[user][bread]))
        assert "<@U0DEMO001>" in updated and f"<@{STAFF}>" in updated and "zuurdesembrood" in updated
        assert other in copies(emulator, user)  # the other question's copy still waits
    # closed from the other staff member's copy: every copy says so, the buttons gone
    channel = emulator.dm_channel_with(STAFF2)
    emulator.click_button(STAFF2, ids.ACTION_TRIAGE_CLOSE, str(other), message=before[STAFF2][other], channel=channel)
    emulator.wait_for(lambda: emulator.views(STAFF2), timeout=30)
    emulator.submit_view(STAFF2, emulator.views(STAFF2)[-1]["id"], {ids.BLOCK_TRIAGE_NOTE: "Dubbel gesteld."})
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: not copies(emulator, user), timeout=30)
        assert f"<@{STAFF2}>" in flat(shown(emulator, user, before[user][other]))
    assert "Traceback" not in staff_bot.log()
    staff_bot.assert_no_slack_calls_in_transactions()


def withdraw(emulator: SlackEmulator, user: str, question_id: int) -> None:
    """``user`` withdraws their question from the "mijn vragen" list."""
    emulator.send_command(user, CHANNEL, text="mijn vragen")
    mine = emulator.wait_for(
        lambda: [e for e in emulator.ephemerals(user) if ids.ACTION_CANCEL_QUESTION in flat(e.get("blocks"))]
    )[-1]
    listed = {**mine, "ts": mine["message_ts"]}
    block = next(  # the buttons of that question (each listed question has its own)
        b["block_id"]
        for b in mine.get("blocks") or []
        if any(
            e.get("action_id") == ids.ACTION_CANCEL_QUESTION and e.get("value") == str(question_id)
            for e in b.get("elements") or []
        )
    )
    told = len(emulator.response_posts)
    emulator.click_button(
        user, ids.ACTION_CANCEL_QUESTION, str(question_id), block_id=block, message=listed, channel=CHANNEL
    )
    emulator.wait_for(lambda: "geannuleerd" in flat(emulator.response_posts[told:]), timeout=30)


def answer(emulator: SlackEmulator, user: str, text: str) -> None:
    """``user`` takes the newest question the bot asked them, then answers it."""
    channel = emulator.dm_channel_with(user)
    request = emulator.wait_for(
        lambda: [m for m in emulator.messages(channel) if ids.ACTION_CLAIM in flat(m.get("blocks"))], timeout=30
    )[-1]
    emulator.click_button(user, ids.ACTION_CLAIM, message=request["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")), timeout=30)
    emulator.click_button(user, ids.ACTION_ANSWER, message=request["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(user))
    emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_ANSWER_TEXT: text})


def test_every_staff_dm_shows_that_the_asker_withdrew_the_question_or_who_answered_it(
    staff_bot: BotProcess, emulator: SlackEmulator, any_db_url: str
) -> None:
    rye = "Wie kent recepten voor zuurdesembrood met rogge?"
    ask(emulator, NL_USER, BREAD)
    ask(emulator, NL_USER, rye)
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: len(copies(emulator, user)) == 2, timeout=30)
    by_text = {q.text: q.id for q in questions(any_db_url)}
    bread, other = by_text[BREAD], by_text[rye]
    before = {user: copies(emulator, user) for user in (STAFF, STAFF2)}
    stale = shown(emulator, STAFF, before[STAFF][bread])
    # the asker withdraws it: every copy says so (in the default language, as the channel), no buttons left
    withdraw(emulator, NL_USER, bread)
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: bread not in copies(emulator, user), timeout=30)
        updated = flat(shown(emulator, user, before[user][bread]))
        assert "De vrager trok deze vraag in." in updated and "zuurdesembrood met spelt" in updated
        assert other in copies(emulator, user)
    # a click on a copy from before (a stale client): refused with a clear message, nobody asked
    told = len(emulator.response_posts)
    channel = emulator.dm_channel_with(STAFF)
    emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO002", message=stale, channel=channel)
    emulator.wait_for(lambda: len(emulator.response_posts) > told, timeout=30)
    assert "afgesloten of geannuleerd" in flat([p["body"] for p in emulator.response_posts[told:]])
    assert not next(q for q in questions(any_db_url) if q.id == bread).routings
    # the other is assigned, then answered by the one asked: every copy names who answered it
    stale = shown(emulator, STAFF2, before[STAFF2][other])
    channel = emulator.dm_channel_with(STAFF2)
    emulator.select_user(STAFF2, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO001", message=stale, channel=channel)
    emulator.wait_for(lambda: not copies(emulator, STAFF), timeout=30)
    answer(emulator, "U0DEMO001", "Bij de bakkerij van het stadhuis.")
    done = "<@U0DEMO001> beantwoordde deze vraag."
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: done in flat(shown(emulator, user, before[user][other])), timeout=30)
    # assigning again from a copy of a question that no longer waits: refused, the one asked keeps it alone
    told = len(emulator.response_posts)
    emulator.select_user(STAFF2, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO002", message=stale, channel=channel)
    emulator.wait_for(lambda: len(emulator.response_posts) > told, timeout=30)
    assert "already been answered" in flat([p["body"] for p in emulator.response_posts[told:]])
    assert [r.recipient_slack_id for r in next(q for q in questions(any_db_url) if q.id == other).routings] == [
        "U0DEMO001"
    ]
    assert "Traceback" not in staff_bot.log()
    staff_bot.assert_no_slack_calls_in_transactions()


def test_the_triage_post_shows_who_was_asked_and_once_the_channel_is_shared_no_question_or_names(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    _people(emulator)
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock_file)
    try:
        rye = "Wie kent recepten voor zuurdesembrood met rogge?"
        ask(emulator, NL_USER, BREAD)
        ask(emulator, NL_USER, rye)
        posts = emulator.wait_for(lambda: len(triage_posts(emulator)) == 2 and triage_posts(emulator), timeout=30)
        by_text = {q.text: q.id for q in questions(demo_db_url)}
        bread, other = by_text[BREAD], by_text[rye]
        # assigned from the channel post: the post says who asked whom, its buttons gone
        emulator.select_user(STAFF, ids.ACTION_TRIAGE_ASSIGN, "U0DEMO001", message=posts[bread], channel=TRIAGE)
        emulator.wait_for(lambda: bread not in triage_posts(emulator), timeout=30)
        updated = flat(post_at(emulator, posts[bread]))
        assert f"<@{STAFF}>" in updated and "<@U0DEMO001>" in updated and "zuurdesembrood met spelt" in updated
        # the channel becomes shared with another organisation (seen once the cached answer is old): the asker
        # withdrawing the other question leaves its post without the question, its asker or anyone's name
        emulator.share_channel(TRIAGE)
        clock_file.write_text("2026-11-30T09:45:00+01:00", encoding="utf-8")
        withdraw(emulator, NL_USER, other)
        emulator.wait_for(lambda: other not in triage_posts(emulator), timeout=30)
        bare = flat(post_at(emulator, posts[other]))
        assert "gedeeld met een andere organisatie" in bare and f"#{other}" in bare
        assert "rogge" not in bare and NL_USER not in bare and "Griet" not in bare and "<@" not in bare
        assert "Traceback" not in bot.log()
        bot.assert_no_slack_calls_in_transactions()
    finally:
        bot.stop()


def triage_posts(emulator: SlackEmulator) -> dict[int, dict[str, Any]]:
    """The triage channel's posts that still have their buttons: question id -> message."""
    found = {}
    for message in emulator.messages(TRIAGE, include_replies=False):
        for block in message.get("blocks") or []:
            head, _, qid = str(block.get("block_id") or "").partition(":")
            if head == ids.BLOCK_TRIAGE_ACTIONS:
                found[int(qid)] = message
    return found


def post_at(emulator: SlackEmulator, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in emulator.messages(TRIAGE, include_replies=False) if m["ts"] == message["ts"])
