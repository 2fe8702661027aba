"""End to end: staff approve the version of a new profile they were shown. When its owner edits it while it waits,
the triage review shows the new version; a click on the buttons as they were before changes nothing. A profile
rejected and filled in again, word for word, is decided from its new review only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from handlers import ids
from storage.db import Database
from storage.models import Availability, Expert, RecordStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import flat
from tests.e2e.test_profiles import (  # noqa: F401
    MONDAY,
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
REPLACED = "Deze beoordeling is vervangen"  # error.profile_replaced (nl)


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


def test_a_review_replaced_by_a_new_submission_of_the_same_profile_decides_nothing(
    start_bot: StartBot,  # noqa: F811
    emulator: SlackEmulator,
    db: Database,  # noqa: F811
    clock_file: Path,  # noqa: F811
) -> None:
    start_bot(WIEWEET_EXPERT_APPROVAL="true")
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over buurtbudgetten")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_PROFILE_APPROVE in flat(c.params.get("blocks")))
    first = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks"))][-1]
    with db.session() as session:  # the owner stops while it waits: a rejection keeps the entry, marked rejected
        session.execute(
            update(Expert).where(Expert.slack_user_id == NL_USER).values(availability=Availability.OPTED_OUT)
        )
    emulator.click_button(STAFF, ids.ACTION_PROFILE_REJECT, message=first, channel=TRIAGE)
    emulator.wait_for(lambda: emulator.views(STAFF))
    emulator.submit_view(STAFF, emulator.views(STAFF)[-1]["id"], {ids.BLOCK_PROFILE_REJECT_REASON: "Dubbel"})
    emulator.wait_for(lambda: expert_of(db, slack_user_id=NL_USER).status is RecordStatus.REJECTED)

    # a day later, the owner fills in the very same profile again: a new review is posted
    clock_file.write_text((MONDAY + timedelta(days=1)).isoformat(), encoding="utf-8")
    views_before = len(emulator.views(NL_USER))
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over buurtbudgetten")
    emulator.wait_for(lambda: len(emulator.views(NL_USER)) > views_before)
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {})
    emulator.wait_for(lambda: expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PENDING)

    # the new review is a message of its own (the first may still show its buttons until its rejection's update)
    def new_reviews() -> list[dict[str, Any]]:
        return [
            m
            for m in emulator.messages(TRIAGE)
            if m["ts"] != first["ts"] and ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks"))
        ]

    emulator.wait_for(new_reviews)
    second = new_reviews()[-1]

    # Approve and Reject of the first review, as staff saw it then: nothing decided, and staff are told why
    emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=first, channel=TRIAGE)
    emulator.wait_for(lambda: REPLACED in flat([p["body"] for p in emulator.response_posts]))
    assert expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PENDING
    views_before = len(emulator.views(STAFF))
    emulator.click_button(STAFF, ids.ACTION_PROFILE_REJECT, message=first, channel=TRIAGE)
    emulator.wait_for(lambda: flat([p["body"] for p in emulator.response_posts]).count(REPLACED) >= 2)
    assert len(emulator.views(STAFF)) == views_before  # no reason form for a replaced review

    # the new review decides the new submission
    emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=second["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: expert_of(db, slack_user_id=NL_USER).status is RecordStatus.PUBLISHED, timeout=30)
