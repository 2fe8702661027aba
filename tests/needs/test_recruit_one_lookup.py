"""Recruiting costs at most one ``users.info`` per person in an outbox batch: a recruiting
DM names no language, so the sender looks it up; when Slack then refuses the DM, what that look-up answered also
says whether the account is deleted, unknown or active (``handlers.outbox_refused``), from one memory of the
batch (``handlers.users_info.BatchAnswers``). Before, each refused recruiting DM asked Slack twice about the
same person: once for the language, once more for the refusal."""

from __future__ import annotations

from collections import Counter

import pytest
from slack_sdk import WebClient

from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import Expert, OutboxKind, OutboxMessage
from tests.emulator import SlackEmulator
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_claims import _rats
from tests.needs.test_recruit_unreachable_sender import services  # noqa: F401


@pytest.mark.parametrize("account", ["bot", "unknown", "active"])
def test_recruiting_asks_users_info_once_per_person(
    network: Network,
    services: Services,  # noqa: F811
    account: str,
) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        chosen = [c.expert_id for c in plan.candidates if c.expert_id is not None]
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=chosen, now=NOW)
    with network.database.session() as session:
        dms = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).all()
        people = {m.recipient_slack_id for m in dms if m.recipient_slack_id}
        names = {e.slack_user_id: e.name for e in session.query(Expert) if e.slack_user_id in people}
    assert people
    with SlackEmulator() as emu:
        for user in people if account != "unknown" else ():
            emu.add_user(user, name=user.lower(), real_name=names[user], is_bot=account == "bot", locale="nl-BE")
        sender = OutboxSender(services, WebClient(token=emu.bot_token, base_url=emu.api_url))
        result = sender.send_pending(worker_id="w1")
        asked = Counter(str(call.params.get("user")) for call in emu.calls_to("users.info"))
    assert result.claimed >= len(people)
    assert set(asked) == people, asked  # each looked up (the DM's language) ...
    assert max(asked.values()) == 1, asked  # ... once, the refusal read from that answer
    assert (result.sent == len(dms)) is (account == "active")
