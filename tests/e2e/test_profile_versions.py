"""End to end: staff approve the version of a new profile they were shown. When its owner edits it while it waits,
the triage review shows the new version; a click on the buttons as they were before changes nothing."""

from __future__ import annotations

from handlers import ids
from storage.db import Database
from storage.models import RecordStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import flat
from tests.e2e.test_profiles import (  # noqa: F401
    STAFF,
    TRIAGE,
    StartBot,
    clock_file,
    db,
    exists,
    expert_of,
    start_bot,
)
from tests.emulator import SlackEmulator

CHANGED = "aangepast nadat je het las"  # error.profile_changed (nl)


def test_a_profile_edited_after_staff_read_it_is_not_approved_unseen(
    start_bot: StartBot,  # noqa: F811
    emulator: SlackEmulator,
    db: Database,  # noqa: F811
) -> None:
    start_bot(WIEWEET_EXPERT_APPROVAL="true")
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over buurtbudgetten")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    emulator.wait_for(lambda: exists(db, NL_USER))
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_PROFILE_APPROVE in flat(c.params.get("blocks")))
    seen = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks"))][-1]

    # the owner changes their expertise while the profile waits: the review shows the new version
    views_before = len(emulator.views(NL_USER))
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over zwerfkatten")
    emulator.wait_for(lambda: len(emulator.views(NL_USER)) > views_before)
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {})
    emulator.wait_for(lambda: "zwerfkatten" in expert_of(db, slack_user_id=NL_USER).expertise)
    emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == seen["ts"] and "zwerfkatten" in flat(c.params)
    )

    # staff approve from the message as they read it: nothing is published, they are told why
    emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=seen, channel=TRIAGE)
    emulator.wait_for(lambda: CHANGED in flat([p["body"] for p in emulator.response_posts]))
    assert expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PENDING

    # the review as it is now: its Approve publishes what it shows
    current = [m for m in emulator.messages(TRIAGE) if m["ts"] == seen["ts"]][-1]
    assert "zwerfkatten" in flat(current["blocks"]) and "Sindsdien aangepast" in flat(current["blocks"])
    emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=current["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PUBLISHED)
