from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from tests.emulator import EmulatorConfig, SlackEmulator


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    config = EmulatorConfig(ack_timeout=1.0, socket_wait=1.0)
    with SlackEmulator(signing_secret="selftest-secret", config=config) as emulator:
        emulator.add_user(
            "U001", name="an", real_name="An Peeters", locale="nl-BE", email="an@gent.be", tz="Europe/Brussels"
        )
        emulator.add_user("U002", name="bert", real_name="Bert Claes", email="bert@leuven.be")
        emulator.add_user("U003", name="chris", real_name="Chris Janssens", email="chris@brugge.be")
        emulator.add_channel("C001", name="wonen", members=["U001", "U002"])
        emulator.add_channel("C002", name="mobiliteit", members=["U001"])
        emulator.add_channel("C003", name="geheim", is_private=True, members=["U002"], bot_is_member=False)
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(base_url=emu.api_url, token=emu.bot_token)
