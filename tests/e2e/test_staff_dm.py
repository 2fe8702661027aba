"""End to end: nothing for staff is lost when the triage channel cannot be reached.

Every message the bot posts for staff in the triage channel — a practice or a new profile waiting for review, a
proposed work session, an expert marked away, an escalated question — reaches each staff member by DM when that post
is given up (the bot not in the channel, the channel archived or gone, none configured): once per record and person,
with the same content and buttons the channel would have shown, and the buttons work there. (Escalated questions:
``tests/e2e/test_staff_told.py``.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from handlers import ids
from storage.db import Database
from storage.models import Expert, Practice, RecordStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_practices import SUMMARY, TITLE, submit_by_command
from tests.emulator import SlackEmulator

TRIAGE = "C0TRIAGE1"
STAFF = "U0STAFF01"  # Dutch
STAFF2 = "U0STAFF02"  # English
CHANNEL_WORDS = {STAFF: "geen lid van het kanaal", STAFF2: "not a member of the channel"}


def _start(emulator: SlackEmulator, db_url: str, log: Path, **env: str) -> BotProcess:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(STAFF2, name="staff2", real_name="Kenniscentrum Twee", locale="en-GB")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, STAFF2], bot_is_member=False)
    extra = {
        "WIEWEET_JOB_INTERVAL": "0.5",
        "WIEWEET_TRIAGE_CHANNEL": TRIAGE,
        "WIEWEET_STAFF_USER_IDS": f"{STAFF},{STAFF2}",
        **env,
    }
    return BotProcess(emulator, database_url=db_url, mode="socket", log_path=log, extra_env=extra).start()


@pytest.fixture
def bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    process = _start(emulator, demo_db_url, tmp_path / "bot.log", WIEWEET_EXPERT_APPROVAL="true")
    yield process
    process.stop()


def staff_dms(emulator: SlackEmulator, user: str, action: str) -> list[dict[str, Any]]:
    """The DMs ``user`` got that carry the button ``action``."""
    return [m for m in emulator.messages(emulator.dm_channel_with(user)) if action in flat(m.get("blocks"))]


@pytest.mark.postgres_too
def test_a_practice_review_the_triage_channel_never_got_reaches_each_staff_member_with_its_buttons(
    bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    submit_by_command(emulator, NL_USER, title=TITLE, summary=SUMMARY, city="Mechelen", outcome="good", year="2025")
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: staff_dms(emulator, user, ids.ACTION_PRACTICE_APPROVE), timeout=30)
    assert emulator.messages(TRIAGE) == []
    for user, words in CHANNEL_WORDS.items():
        (dm,) = staff_dms(emulator, user, ids.ACTION_PRACTICE_APPROVE)
        shown = flat(dm)
        assert TITLE in shown and words in shown and f"<#{TRIAGE}>" in shown
        assert ids.ACTION_PRACTICE_REJECT in flat(dm.get("blocks"))
    # the button works in the DM: approved, and every staff member's copy shows it
    dm = staff_dms(emulator, STAFF, ids.ACTION_PRACTICE_APPROVE)[0]
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_APPROVE, message=dm["ts"], channel=emulator.dm_channel_with(STAFF))
    emulator.wait_for(lambda: _practice(db) is not None and _practice(db).status is RecordStatus.PUBLISHED)  # type: ignore[union-attr]
    emulator.wait_for(
        lambda: (
            emulator.calls_to("chat.update")
            and {c.params.get("channel") for c in emulator.calls_to("chat.update")}
            >= {emulator.dm_channel_with(STAFF), emulator.dm_channel_with(STAFF2)}
        ),
        timeout=30,
    )
    time.sleep(1.5)  # a few more outbox runs: nobody is told twice
    assert len([m for m in emulator.messages(emulator.dm_channel_with(STAFF2)) if TITLE in flat(m)]) == 1
    assert "refused" not in bot.log() and "Traceback" not in bot.log()
    bot.assert_no_slack_calls_in_transactions()


def test_a_profile_review_the_triage_channel_never_got_reaches_each_staff_member_once(
    bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    emulator.add_user(NL_USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE", email="griet@gent.be")
    emulator.send_command(NL_USER, CHANNEL, text="i know about participatory budgeting")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    for user in (STAFF, STAFF2):
        emulator.wait_for(lambda user=user: staff_dms(emulator, user, ids.ACTION_PROFILE_APPROVE), timeout=30)
    (dm,) = staff_dms(emulator, STAFF2, ids.ACTION_PROFILE_APPROVE)
    assert "Griet Verhoeven" in flat(dm) and CHANNEL_WORDS[STAFF2] in flat(dm)
    emulator.click_button(
        STAFF2, ids.ACTION_PROFILE_APPROVE, message=dm["ts"], channel=emulator.dm_channel_with(STAFF2)
    )
    emulator.wait_for(lambda: _expert(db) is not None and _expert(db).status is RecordStatus.PUBLISHED)  # type: ignore[union-attr]
    # the other staff member's copy shows the decision too (no second decision from a stale button)
    emulator.wait_for_call("chat.update", lambda c: c.params.get("channel") == emulator.dm_channel_with(STAFF))
    time.sleep(1.5)
    assert not staff_dms(emulator, STAFF, ids.ACTION_PROFILE_APPROVE)  # updated: no buttons left
    assert "refused" not in bot.log() and "Traceback" not in bot.log()


def test_without_a_triage_channel_staff_get_the_review_by_dm(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    bot = _start(emulator, demo_db_url, tmp_path / "bot.log", WIEWEET_TRIAGE_CHANNEL="")
    try:
        submit_by_command(emulator, NL_USER, title=TITLE, summary=SUMMARY, city="Mechelen", outcome="good")
        dm = emulator.wait_for(lambda: staff_dms(emulator, STAFF2, ids.ACTION_PRACTICE_APPROVE), timeout=30)[0]
        assert "no triage channel is set up" in flat(dm) and TITLE in flat(dm)
        assert "Traceback" not in bot.log()
    finally:
        bot.stop()


def _practice(db: Database) -> Practice | None:
    with db.session() as session:
        return session.scalars(select(Practice).where(Practice.title == TITLE)).first()


def _expert(db: Database) -> Expert | None:
    with db.session() as session:
        return session.scalars(select(Expert).where(Expert.slack_user_id == NL_USER)).first()
