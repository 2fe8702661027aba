"""End to end: text as Slack sends it (``&amp;``, ``&lt;``, ``&gt;``, ``<@U…>``, ``<!here>``, ``<https://x|label>``)
is stored, searched and pre-filled as the person typed it, and shown escaped exactly once, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.matching.analysis import words
from bot.setting_values import normalise_database_url
from handlers import ids
from storage.db import Database
from storage.models import SearchLog
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.emulator import SlackEmulator

# What Slack sends when someone types:  /wieweet wie weet iets over R&D-subsidies <5 jaar?
SLACK_TEXT = "wie weet iets over R&amp;D-subsidies &lt;5 jaar?"
TYPED = "wie weet iets over R&D-subsidies <5 jaar?"
SHOWN = "R&amp;D-subsidies &lt;5 jaar"  # mrkdwn escaped once: the reader sees what was typed


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The demo database on SQLite, then on PostgreSQL (skipped without WIEWEET_TEST_POSTGRES_URL)."""
    name = "demo_db_url" if request.param == "sqlite" else "postgres_demo_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def entity_bot(emulator: SlackEmulator, db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(emulator, database_url=db_url, mode="socket", log_path=tmp_path / "bot.log")
    process.start()
    yield process
    process.stop()


def logged_queries(db_url: str) -> list[str]:
    database = Database(normalise_database_url(db_url))
    try:
        with database.session() as session:
            return list(session.scalars(select(SearchLog.query).order_by(SearchLog.id)))
    finally:
        database.dispose()


def assert_searched_as_typed(query: str) -> None:
    assert "amp" not in words(query) and "lt" not in words(query) and "gt" not in words(query)


def no_double_escape(shown: str) -> None:
    assert "&amp;amp;" not in shown and "&amp;lt;" not in shown and "&amp;gt;" not in shown, shown[:300]


def test_a_command_question_is_searched_stored_and_shown_as_typed(
    entity_bot: BotProcess, emulator: SlackEmulator, db_url: str
) -> None:
    emulator.send_command(NL_USER, CHANNEL, text=SLACK_TEXT)
    body = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])[0]["body"]
    shown = flat(body["blocks"])
    no_double_escape(shown)
    assert SHOWN in shown
    assert logged_queries(db_url) == [TYPED]
    assert_searched_as_typed(TYPED)


def test_a_mention_with_slack_markup_is_stored_plain_and_pings_nobody(
    entity_bot: BotProcess, emulator: SlackEmulator, db_url: str
) -> None:
    text = (
        f"<@{emulator.bot_user_id}> {SLACK_TEXT} <!here> zie <#{CHANNEL}|wonen> en "
        "<https://example.org/a?b=1&amp;c=2|de nota> &amp;lt;geen tag&amp;gt;"
    )
    mention, _ = emulator.send_mention_message(NL_USER, CHANNEL, text)
    ts = mention.payload["event"]["ts"]
    replies = emulator.wait_for(lambda: [m for m in emulator.thread(CHANNEL, ts) if m.get("bot_id")])
    shown = flat(replies[0]["blocks"]) + flat(replies[0].get("text"))
    assert SHOWN in shown and "R&amp;amp;D" not in shown and "&amp;lt;5" not in shown
    assert "de nota &amp;lt;geen tag&amp;gt;" in shown  # the "&lt;" typed as such shows as typed
    assert "<!here>" not in shown and "<#" not in shown and "<https://example.org/a" not in shown
    assert logged_queries(db_url) == [f"{TYPED} \uff20here zie #wonen en de nota &lt;geen tag&gt;"]


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    return {
        block["block_id"]: (block.get("element") or {}).get("initial_value")
        for block in view.get("blocks") or []
        if block.get("type") == "input"
    }


def test_the_message_shortcuts_use_the_message_as_typed(
    entity_bot: BotProcess, emulator: SlackEmulator, db_url: str
) -> None:
    posted = emulator.add_message(NL_USER, CHANNEL, f"<@{NL_USER}> {SLACK_TEXT}")
    ts = str(posted["ts"])
    # "Wie weet dit?": searched on the words typed, answered in the thread
    emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_WHO_KNOWS, ts)
    replies = emulator.wait_for(lambda: [m for m in emulator.thread(CHANNEL, ts) if m.get("bot_id")])
    no_double_escape(flat(replies[0]["blocks"]))
    assert logged_queries(db_url) == [TYPED]
    # "Vraag een expert": the ask form holds the text as typed
    emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_ASK_EXPERT, ts)
    ask = emulator.wait_for(lambda: [v for v in emulator.views(NL_USER) if ids.BLOCK_ASK_TEXT in flat(v)])[-1]
    assert view_values(ask)[ids.BLOCK_ASK_TEXT] == TYPED
    # "Bewaar als praktijk": the practice form likewise
    emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_SAVE_PRACTICE, ts)
    practice = emulator.wait_for(
        lambda: [v for v in emulator.views(NL_USER) if ids.practice_block("summary") in flat(v)]
    )[-1]
    assert view_values(practice)[ids.practice_block("summary")] == TYPED
