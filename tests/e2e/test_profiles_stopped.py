"""End to end: ``/wieweet beheer`` does not offer "remove" on the card of someone who withdrew or opted out.

Their entry is what keeps their earlier answers unnamed; removing it is refused (erasure is the way), so the card
offers only what staff can do. A press of "remove" on a card shown before they stopped is still refused by the
service, and the entry stays.
"""

from __future__ import annotations

import pytest

from handlers import ids
from storage.db import Database
from storage.models import Availability, Consent, Expert
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import flat
from tests.e2e.test_profiles import (  # noqa: F401
    STAFF,
    StartBot,
    clock_file,
    db,
    ephemeral_text,
    expert_of,
    start_bot,
)
from tests.emulator import SlackEmulator


@pytest.mark.postgres_too
@pytest.mark.parametrize("how", ["withdraw", "opt_out"])
def test_the_card_of_someone_who_stopped_offers_no_remove_and_an_earlier_ones_is_refused(
    start_bot: StartBot,  # noqa: F811
    emulator: SlackEmulator,
    db: Database,  # noqa: F811
    how: str,
) -> None:
    expert = expert_of(db, slack_user_id="U0DEMO020")
    start_bot()
    emulator.send_command(STAFF, CHANNEL, text=f"beheer {expert.email}")  # before they stop: "remove" offered
    emulator.wait_for(lambda: ids.ACTION_EXPERT_REMOVE in flat(emulator.ephemerals(STAFF)))
    [earlier] = [e for e in emulator.ephemerals(STAFF) if ids.ACTION_EXPERT_REMOVE in flat(e)]
    with db.session() as session:
        stored = session.get(Expert, expert.id)
        assert stored is not None
        if how == "withdraw":
            stored.consent = Consent.WITHDRAWN
        else:
            stored.availability = Availability.OPTED_OUT
    shown = len(emulator.ephemerals(STAFF))
    emulator.send_command(STAFF, CHANNEL, text=f"beheer {expert.email}")
    emulator.wait_for(lambda: len(emulator.ephemerals(STAFF)) > shown)
    card = emulator.ephemerals(STAFF)[-1]
    assert expert.name in flat(card) and ids.ACTION_PROFILE_EDIT in flat(card)
    assert ids.ACTION_EXPERT_REMOVE not in flat(card)  # only what staff can do: edit (erasure removes them)

    # the card shown before they stopped still has the button: pressing it is refused, the entry stays
    emulator.click_button(STAFF, ids.ACTION_EXPERT_REMOVE, message=str(earlier["message_ts"]), channel=CHANNEL)
    emulator.wait_for(lambda: "wieweet privacy erase" in ephemeral_text(emulator))
    with db.session() as session:
        assert session.get(Expert, expert.id) is not None
