"""A routed question costs at most one ``users.info`` per person in an outbox batch: the DM's language look-up and
the look-up that reads a refused DM (``handlers.outbox_refused``: is the account deleted, unknown, active?) share
one memory of what Slack answered (``handlers.users_info.BatchAnswers``). Routing's DMs name their reader's
language, so here the look-ups are the refusals' and the Home tabs' (``tests/needs/test_recruit_one_lookup.py``
has a DM whose language is looked up, then refused)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from handlers.outbox import OutboxSender
from handlers.services import Services
from tests.emulator import SlackEmulator
from tests.routing.conftest import ASKER, NOW, World, seed_housing

LATER = NOW + timedelta(minutes=1)


@pytest.mark.parametrize("account", ["bot", "unknown", "active"])
def test_a_routed_question_asks_users_info_once_per_person(world: World, account: str) -> None:
    """Everyone a bot (Slack refuses each DM, ``cannot_dm_bot``, and the look-up's answer decides what follows),
    unknown to Slack (``user_not_found``: DM and look-up alike) or active (the DMs go out)."""
    seed_housing(world)
    world.ask()
    world.ask(text="Wie weet iets over de leegstandsheffing op winkelpanden?", thread_ts="1700000000.000200")
    people = {m.recipient_slack_id for m in world.outbox() if m.recipient_slack_id}
    assert ASKER in people and len(people) >= 3
    assert len([m for m in world.outbox() if m.recipient_slack_id == ASKER]) >= 2  # two DMs to the asker
    with SlackEmulator() as emu:
        for user in people if account != "unknown" else ():
            emu.add_user(user, name=user.lower(), real_name=user, is_bot=account == "bot", locale="nl-BE")
        services = Services(
            settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
        )
        sender = OutboxSender(services, WebClient(token=emu.bot_token, base_url=emu.api_url))
        result = sender.send_pending(worker_id="w1")
        asked = Counter(str(call.params.get("user")) for call in emu.calls_to("users.info"))
        posted = [c for c in emu.calls_to("chat.postMessage") if c.ok]
    assert set(asked) <= people and ASKER in asked, asked
    assert max(asked.values()) == 1, asked  # one users.info per person, whatever followed
    assert bool(posted) is (account == "active")
    if account != "active":
        assert result.sent == 0 and result.failed >= len(people)
