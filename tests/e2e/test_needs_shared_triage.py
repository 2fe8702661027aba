"""End to end: a triage channel shared with another organisation (Slack Connect) gets nothing for staff. A
knowledge-needs report asked there (topics, figures, named people and organisations) goes to the staff member's DM."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database
from storage.models import Question, QuestionStatus, Visibility
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import BotProcess
from tests.e2e.test_needs import ASKERS, LEAD, STAFF, TRIAGE, _expert, needs_pass, uploaded
from tests.emulator import SlackEmulator

OTHER_ORG_USER = "U0EXTERN1"


@pytest.fixture
def db(demo_db_url: str) -> Iterator[Database]:
    database = Database(demo_db_url)
    yield database
    database.dispose()


@pytest.fixture
def shared_bot(emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path) -> Iterator[BotProcess]:
    now = datetime.now(UTC)
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(LEAD, name="lead", real_name="Lies Dierckx", locale="nl-BE")
    emulator.add_user(OTHER_ORG_USER, name="extern", real_name="Eve Extern", team_id="T0OTHER01")
    for slack in ASKERS:
        emulator.add_user(slack, name=slack.lower(), real_name=f"Ambtenaar {slack}", locale="nl-BE")
    emulator.add_channel(
        TRIAGE, name="triage", members=[STAFF, OTHER_ORG_USER, emulator.bot_user_id], is_ext_shared=True
    )
    with db.session() as session:
        session.add(_expert("Lies Dierckx", LEAD, "Stad Kortrijk", "Kortrijk", ["zwerfkatten", "sterilisatie"], now))
        for n, (slack, (organisation, city, text)) in enumerate(ASKERS.items()):
            session.add(_expert(f"Ambtenaar {city}", slack, organisation, city, ["archiefbeheer"], now))
            at = now - timedelta(days=10 - n)
            session.add(
                Question(
                    text=text,
                    asker_slack_id=slack,
                    asker_name=f"Ambtenaar {city}",
                    visibility=Visibility.PUBLIC,
                    status=QuestionStatus.ROUTED,
                    channel_id=CHANNEL,
                    channel_is_private=False,
                    created_at=at,
                    updated_at=at,
                )
            )
    process = BotProcess(
        emulator,
        database_url=demo_db_url,
        mode="socket",
        log_path=tmp_path / "bot.log",
        extra_env={"WIEWEET_JOB_INTERVAL": "0.5", "WIEWEET_TRIAGE_CHANNEL": TRIAGE, "WIEWEET_STAFF_USER_IDS": STAFF},
    )
    process.start()
    yield process
    process.stop()


def test_a_report_asked_in_a_shared_triage_channel_goes_to_the_staff_members_dm(
    shared_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    warning = f"WIEWEET_TRIAGE_CHANNEL {TRIAGE} is shared with another organisation"
    emulator.wait_for(lambda: warning in shared_bot.log())
    needs_pass(db)
    emulator.send_command(STAFF, TRIAGE, text="rapport")
    files = emulator.wait_for(lambda: uploaded(emulator, ".xlsx"), timeout=30)
    assert TRIAGE not in files[-1]["channels"]  # the other organisation's member never gets the report
    [dm] = files[-1]["channels"]
    assert dm.startswith("D")
    assert all(TRIAGE not in f["channels"] for f in emulator.files())  # nor the chart
