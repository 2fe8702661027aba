"""End to end: "mijn gegevens" and "vergeet mij" through the real bot process and the Slack emulator."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.cli import main
from handlers import ids
from storage.models import Answer, Expert, SearchLog
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat, replay
from tests.e2e.test_record_first import inbox_path, keys_at_ack, sent_with_inbox_held
from tests.e2e.test_routing import STAFF, TRIAGE, ask
from tests.emulator import SlackEmulator
from tests.emulator.models import Delivery
from tests.privacy.test_privacy import occurrences

JORIS = "U0DEMO017"  # a demo expert: Joris Bauwens, Stad Gent, with an answered question in the demo register
JORIS_NAME = "Joris Bauwens"
JORIS_EMAIL = "joris.bauwens@stad.gent"


@pytest.fixture
def privacy_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    emulator.add_user(JORIS, name="joris.b", real_name=JORIS_NAME, locale="nl-BE", email=JORIS_EMAIL)
    emulator.add_member(CHANNEL, JORIS)
    process = BotProcess(emulator, database_url=demo_db_url, mode="socket", log_path=tmp_path / "bot.log")
    process.start()
    yield process
    process.stop()


def session_on(url: str) -> Session:
    return Session(create_engine(url))


def forget_prompt(emulator: SlackEmulator, user: str) -> dict[str, Any]:
    emulator.send_command(user, CHANNEL, text="vergeet mij")
    return emulator.wait_for(
        lambda: [e for e in emulator.ephemerals(user) if ids.ACTION_PRIVACY_FORGET in flat(e.get("blocks"))]
    )[-1]


def test_my_data_arrives_as_a_json_file_in_the_dm(privacy_bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.send_command(JORIS, CHANNEL, text="wie weet iets over leegstandsheffing?")
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])
    emulator.send_command(JORIS, CHANNEL, text="Mijn  gegevens")
    emulator.wait_for(lambda: "privébericht" in flat([p["body"] for p in emulator.response_posts]), timeout=15)
    files = [f for f in emulator.files() if f["completed"]]
    assert len(files) == 1
    upload = files[0]
    assert upload["channels"] == [emulator.dm_channel_with(JORIS)]
    assert upload["name"].endswith(".json")
    data = json.loads(upload["content"])
    assert data["person"] == {"slack_user_id": JORIS, "email": JORIS_EMAIL}
    assert data["expert_profile"]["name"] == JORIS_NAME and data["expert_profile"]["organisation"] == "Stad Gent"
    assert data["answers_given"], "his answers in the demo register"
    assert any("leegstandsheffing" in s["query"] for s in data["searches"])
    assert data["slack_user_cache"]["name"] == JORIS_NAME
    dm = emulator.messages(emulator.dm_channel_with(JORIS))
    assert any(m.get("upload") and "Wie weet?" in (m.get("text") or "") for m in dm)


@pytest.mark.postgres_too
def test_forget_me_erases_everything_after_the_confirm_button(
    privacy_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    emulator.send_command(JORIS, CHANNEL, text="wie weet iets over leegstandsheffing?")
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])
    with session_on(demo_db_url) as s:
        assert occurrences(s, [JORIS_NAME, JORIS_EMAIL, JORIS])
        answered = s.scalar(select(Expert.id).where(Expert.email == JORIS_EMAIL))
        assert answered is not None
    prompt = forget_prompt(emulator, JORIS)
    button = next(e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["style"] == "danger" and button["confirm"]["style"] == "danger" and button["value"] == JORIS
    emulator.click_button(JORIS, ids.ACTION_PRIVACY_FORGET, message=prompt["message_ts"], channel=CHANNEL)
    emulator.wait_for(lambda: "heeft je gegevens gewist" in flat([p["body"] for p in emulator.response_posts]))

    def erased() -> bool:
        with session_on(demo_db_url) as s:
            return s.scalar(select(Expert).where(Expert.email == JORIS_EMAIL)) is None

    emulator.wait_for(erased, timeout=10)
    with session_on(demo_db_url) as s:
        assert occurrences(s, [JORIS_NAME, JORIS_EMAIL, JORIS]) == []
        assert s.scalars(select(SearchLog.user_slack_id)).all() == [None]  # the search stays, without him
        kept = s.scalars(select(Answer).where(Answer.answered_by_name == "")).all()
        assert len(kept) == 1 and kept[0].organisation == "Stad Gent"  # his public answer, now anonymous knowledge
    assert f"user={JORIS}" in privacy_bot.log() and "outcome=recorded" in privacy_bot.log()


def test_a_forged_forget_button_for_someone_else_is_refused_and_logged(
    privacy_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    prompt = forget_prompt(emulator, NL_USER)
    emulator.click_button(
        NL_USER, ids.ACTION_PRIVACY_FORGET, value=JORIS, message=prompt["message_ts"], channel=CHANNEL
    )
    emulator.wait_for(lambda: "Dat mag je niet doen" in flat([p["body"] for p in emulator.response_posts]))
    emulator.wait_for(lambda: "refused ref=" in privacy_bot.log())
    assert f"user={NL_USER} action=erase personal data" in privacy_bot.log()
    with session_on(demo_db_url) as s:
        assert s.scalar(select(Expert).where(Expert.email == JORIS_EMAIL)) is not None


def inbox_rows(bot: BotProcess) -> list[tuple[str, str | None, str, bool]]:
    """Every inbox row: its key, user, payload and result (as text), and whether it is done."""
    conn = sqlite3.connect(inbox_path(bot), timeout=5)
    try:
        query = "SELECT request_key, user_slack_id, payload, result, done_at FROM inbox_requests"
        return [(str(k), u, f"{p} {r}", d is not None) for k, u, p, r, d in conn.execute(query)]
    finally:
        conn.close()


def test_forget_me_is_recorded_before_its_ack_erases_once_and_leaves_no_inbox_row_of_the_person(
    privacy_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    """A kill -9 after the ack cannot lose "forget me": it is in the inbox when Slack gets its ack. Run from the
    record it erases and confirms once (a replay does neither again), and once it is done no inbox row names or
    quotes the person: their other requests are gone, its own row has forgotten them."""
    emulator.send_command(JORIS, CHANNEL, text="wie weet iets over leegstandsheffing?")
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])
    assert any(user == JORIS for _, user, _, _ in inbox_rows(privacy_bot))
    prompt = forget_prompt(emulator, JORIS)

    def click() -> Delivery:
        return emulator.click_button(JORIS, ids.ACTION_PRIVACY_FORGET, message=prompt["message_ts"], channel=CHANNEL)

    forget = sent_with_inbox_held(privacy_bot, emulator, click)
    key = f"action:{forget.payload['trigger_id']}"
    assert key in keys_at_ack(forget)
    done = "heeft je gegevens gewist"
    emulator.wait_for(lambda: done in flat([p["body"] for p in emulator.response_posts]), timeout=20)
    emulator.wait_for(lambda: any(k == key and finished for k, _, _, finished in inbox_rows(privacy_bot)), timeout=20)
    rows = inbox_rows(privacy_bot)
    assert [user for k, user, _, _ in rows if k == key] == [None]
    assert not [row for row in rows if row[1] == JORIS or JORIS in row[2] or JORIS_NAME in row[2]]
    with session_on(demo_db_url) as s:
        assert occurrences(s, [JORIS_NAME, JORIS_EMAIL, JORIS]) == []
    replay(emulator, privacy_bot, forget)
    assert sum(done in flat(p["body"]) for p in emulator.response_posts) == 1
    assert not [row for row in inbox_rows(privacy_bot) if row[1] == JORIS or JORIS in row[2]]


BREAD = "Wie kent de beste recepten voor zuurdesembrood met spelt?"  # nobody in the register matches: to staff


@pytest.fixture
def staff_privacy_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    """The privacy bot with staff and a triage channel: Joris's question nobody can answer waits for staff."""
    emulator.add_user(JORIS, name="joris.b", real_name=JORIS_NAME, locale="nl-BE", email=JORIS_EMAIL)
    emulator.add_member(CHANNEL, JORIS)
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF, emulator.bot_user_id])
    process = BotProcess(
        emulator,
        database_url=demo_db_url,
        mode="socket",
        log_path=tmp_path / "bot.log",
        extra_env={"WIEWEET_TRIAGE_CHANNEL": TRIAGE, "WIEWEET_STAFF_USER_IDS": STAFF, "WIEWEET_JOB_INTERVAL": "0.5"},
    )
    process.start()
    yield process
    process.stop()


def _homes_before_the_erasure(emulator: SlackEmulator) -> None:
    """Joris's question waits for staff; his Home tab and the staff's show it."""
    ask(emulator, JORIS, BREAD)
    emulator.wait_for(lambda: [m for m in emulator.messages(TRIAGE) if "zuurdesembrood" in flat(m)], timeout=20)
    for user in (JORIS, STAFF):
        emulator.open_home(user)
        emulator.wait_for(lambda u=user: "zuurdesembrood" in flat(emulator.home_view(u)), timeout=15)


def _homes_after_the_erasure(emulator: SlackEmulator) -> None:
    """Without anyone opening a tab: his says he was forgotten, the staff's no longer lists his question."""
    emulator.wait_for(lambda: "heeft je gegevens gewist" in flat(emulator.home_view(JORIS)), timeout=20)
    home = flat(emulator.home_view(JORIS))
    assert "zuurdesembrood" not in home and JORIS_NAME not in home
    emulator.wait_for(lambda: "zuurdesembrood" not in flat(emulator.home_view(STAFF)), timeout=20)


@pytest.mark.postgres_too
def test_forget_me_publishes_the_forgotten_home_tab_and_the_staffs(
    staff_privacy_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    _homes_before_the_erasure(emulator)
    prompt = forget_prompt(emulator, JORIS)
    emulator.click_button(JORIS, ids.ACTION_PRIVACY_FORGET, message=prompt["message_ts"], channel=CHANNEL)
    _homes_after_the_erasure(emulator)
    with session_on(demo_db_url) as s:  # publishing his tab did not look him up (and cache him) again
        assert occurrences(s, [JORIS_NAME, JORIS_EMAIL, JORIS]) == []
    assert "Traceback" not in staff_privacy_bot.log()


def test_an_erasure_on_the_command_line_has_the_running_bot_publish_the_home_tabs(
    staff_privacy_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    _homes_before_the_erasure(emulator)
    result = CliRunner().invoke(main, ["--database", demo_db_url, "privacy", "erase", "--slack-id", JORIS, "--yes"])
    assert result.exit_code == 0, result.output
    _homes_after_the_erasure(emulator)
    with session_on(demo_db_url) as s:
        assert occurrences(s, [JORIS_NAME, JORIS_EMAIL, JORIS]) == []
    emulator.wait_for(lambda: not [row for row in inbox_rows(staff_privacy_bot) if JORIS in row[2]], timeout=10)
    assert "Traceback" not in staff_privacy_bot.log()
