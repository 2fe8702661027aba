"""End to end: shared channel messages are in the network's language, whoever clicks or asks.

An English-speaking staff member deciding a profile in the (Dutch) triage channel, and an official with a French
Slack locale asking in a public channel: the shared messages stay Dutch; what the clicker or asker alone reads
(an ephemeral answer, a DM) is in their own language.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers import ids
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.staffing import TRIAGE, add_demo_users, staff_bot
from tests.emulator import SlackEmulator

STAFF_EN = "U0STAFFEN"
FR_USER = "U0FRUSER1"


@pytest.fixture
def english_staff_bot(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> Iterator[BotProcess]:
    emulator.add_user(STAFF_EN, name="kc", real_name="KC Staff", locale="en-GB")
    emulator.add_user(NL_USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE", email="griet@gent.be")
    emulator.add_user(FR_USER, name="amelie", real_name="Amélie Dupont", locale="fr-BE", email="amelie@mons.be")
    emulator.add_channel(TRIAGE, name="triage", members=[STAFF_EN, emulator.bot_user_id])
    emulator.add_member(CHANNEL, FR_USER)
    add_demo_users(emulator)
    process = staff_bot(
        emulator,
        demo_db_url,
        tmp_path,
        clock_file=clock_file,
        WIEWEET_STAFF_USER_IDS=STAFF_EN,
        WIEWEET_EXPERT_APPROVAL="true",
    )
    process.start()
    yield process
    process.stop()


def _staff_answers(emulator: SlackEmulator) -> str:
    return flat([p["body"] for p in emulator.response_posts if p.get("user") == STAFF_EN])


def test_an_english_staff_members_reject_keeps_the_dutch_review_and_a_late_approve_is_already_handled(
    english_staff_bot: BotProcess, emulator: SlackEmulator
) -> None:
    emulator.send_command(NL_USER, CHANNEL, text="ik weet iets over zwemdiploma's")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
    emulator.wait_for_call("chat.postMessage", lambda c: ids.ACTION_PROFILE_REJECT in flat(c.params.get("blocks")))
    review = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_REJECT in flat(m.get("blocks"))][-1]
    assert "Nieuw expertprofiel" in flat(review)

    emulator.click_button(STAFF_EN, ids.ACTION_PROFILE_REJECT, message=review["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: emulator.views(STAFF_EN))
    modal = emulator.views(STAFF_EN)[-1]
    assert "Reject" in flat(modal)  # the modal is the clicker's own: English
    emulator.submit_view(STAFF_EN, modal["id"], {ids.BLOCK_PROFILE_REJECT_REASON: "Please use your work address."})
    update = emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("channel") == TRIAGE and "work address" in flat(c.params), timeout=20
    )
    shown = flat(update.params)
    assert "Nieuw expertprofiel" in shown and "New expert profile" not in shown  # the channel's language

    # an Approve still on another copy of the review, clicked after the reject: decided already, not "unknown"
    emulator.click_button(STAFF_EN, ids.ACTION_PROFILE_APPROVE, message=review, channel=TRIAGE)
    emulator.wait_for(lambda: "already handled" in _staff_answers(emulator), timeout=20)
    assert "does not exist" not in _staff_answers(emulator)


def test_a_french_officials_question_is_announced_in_the_channel_in_the_networks_language(
    english_staff_bot: BotProcess, emulator: SlackEmulator
) -> None:
    emulator.send_command(FR_USER, CHANNEL, text="ask Comment gérez-vous la taxe sur les logements vides?")
    emulator.wait_for(lambda: emulator.views(FR_USER))
    view = emulator.views(FR_USER)[-1]
    assert "Ask" in flat(view)  # the asker's own modal: English
    emulator.submit_view(
        FR_USER,
        view["id"],
        {ids.BLOCK_ASK_TEXT: "Comment gérez-vous la taxe sur les logements vides?", ids.BLOCK_ASK_VISIBILITY: "public"},
    )
    posted = emulator.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("channel") == CHANNEL and "logements" in flat(c.params), timeout=20
    )
    assert "stelde een vraag aan de experts van het netwerk" in flat(posted.params)
    assert "asked the network's experts" not in flat(posted.params)
