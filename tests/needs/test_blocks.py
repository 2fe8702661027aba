"""The proposal and recruiting messages as the Slack layer renders them: escaped, private questions only counted."""

from __future__ import annotations

import json

from handlers.outbox import STAFF_KINDS, render_message
from storage.models import OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, Network


def test_proposal_message_quotes_public_questions_only(network: Network) -> None:
    with network.database.session() as session:
        network.service.propose_sessions(session, now=NOW, worker_id="a")
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.NEEDS_PROPOSAL).one()
        payload = message.payload
    assert OutboxKind.NEEDS_PROPOSAL in STAFF_KINDS and message.channel_id is None  # goes to the triage channel
    rendered = render_message(OutboxKind.NEEDS_PROPOSAL, payload, "nl")
    dumped = json.dumps([b.to_dict() for b in rendered.blocks], ensure_ascii=False)
    assert "winkelpanden" in dumped and "<@ULEAD>" in dumped and "2 besloten" in dumped
    assert "onze gemeente" not in dumped and "int?" not in dumped and "UGENK" not in dumped


def test_recruiting_dm_is_escaped() -> None:
    payload = {"label": "<script>alert(1)</script> ratten", "reason": "answered: <b>x</b>"}
    rendered = render_message(OutboxKind.EXPERTISE_REQUEST, payload, "en")
    dumped = json.dumps([b.to_dict() for b in rendered.blocks])
    assert "<script>" not in dumped and "/wieweet profiel" in dumped
