"""End to end: staff decide on the version of a practice they were shown. A submitter who edits a waiting practice
after staff read it (here: staff click the buttons of the message as it was before the edit) gets nothing approved
or rejected unseen; the review shows the new version, and its buttons decide on that one."""

from __future__ import annotations

import pytest

from handlers import ids
from storage.db import Database
from storage.models import RecordStatus
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.staffing import STAFF, TRIAGE
from tests.e2e.test_practices import (  # noqa: F401
    initial_values,
    practice_bot,
    stored,
    submit_by_command,
    triage_message,
)
from tests.emulator import SlackEmulator

TITLE = "Deelfietsen voor stadspersoneel"
CHANGED = "aangepast nadat je ze las"  # error.practice_changed (nl)
SUMMARY = "Medewerkers nemen een deelfiets voor verplaatsingen tijdens de werkuren."


def told(emu: SlackEmulator) -> int:
    """How often staff were told a practice changed since they read it (where they clicked, or by DM)."""
    posts = [p["body"] for p in emu.response_posts] + list(emu.messages(emu.dm_channel_with(STAFF)))
    return sum(1 for post in posts if CHANGED in flat(post))


@pytest.mark.postgres_too
def test_a_practice_edited_after_staff_read_it_is_not_decided_unseen(
    practice_bot: BotProcess,  # noqa: F811
    emulator: SlackEmulator,
    db: Database,
) -> None:
    delivery = submit_by_command(emulator, NL_USER, title=TITLE, summary=SUMMARY, url="https://gent.be/deelfiets")
    assert delivery.response_action is None
    seen = triage_message(emulator, TITLE)  # what staff read

    # the submitter changes the link through the modal (their Edit button)
    emulator.click_button(NL_USER, ids.ACTION_PRACTICE_EDIT, message=seen["ts"], channel=TRIAGE)
    view = emulator.wait_for(lambda: [v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_PRACTICE])[
        -1
    ]
    values = {**initial_values(view), ids.practice_block("url"): "https://evil.example/deelfiets"}
    assert emulator.submit_view(NL_USER, view["id"], values).response_action is None
    emulator.wait_for(lambda: (p := stored(db, TITLE)) is not None and "evil" in p.url)

    # staff reject, then approve, from the message as they read it: nothing decided, they are told why
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_REJECT, message=seen, channel=TRIAGE)
    reject = emulator.wait_for(
        lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_PRACTICE_REJECT]
    )[-1]
    emulator.submit_view(STAFF, reject["id"], {ids.BLOCK_PRACTICE_REJECT_REASON: "Dubbel."})
    emulator.wait_for(lambda: told(emulator) == 1)
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_APPROVE, message=seen, channel=TRIAGE)
    emulator.wait_for(lambda: told(emulator) == 2)
    emulator.wait_for_call(
        "chat.update",
        lambda c: c.params.get("ts") == seen["ts"] and "Sindsdien aangepast" in flat(c.params),
    )
    practice = stored(db, TITLE)
    assert practice is not None and practice.status is RecordStatus.PENDING

    # the refreshed review shows the new link, and its Approve publishes what it shows
    current = [m for m in emulator.messages(TRIAGE) if m["ts"] == seen["ts"]][-1]
    assert "evil.example" in flat(current["blocks"])
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_APPROVE, message=current["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: (p := stored(db, TITLE)) is not None and p.status is RecordStatus.PUBLISHED)
    assert told(emulator) == 2
