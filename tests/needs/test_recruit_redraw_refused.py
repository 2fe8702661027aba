"""A sent recruiting DM drawn again (an erasure took its label) that Slack refuses to update — the DM gone, or not
ours — is recorded as it went: failed, with Slack's error, not sent. Its refusal says nothing of whether the person
can get a DM: the sender's check of the recipient (``users.info``, their register entry marked away) is not run."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.services import Services
from storage.models import Availability, Expert, OutboxKind, OutboxMessage
from tests.needs.conftest import Network
from tests.needs.test_invite_retry import slack_error
from tests.needs.test_recruit_erased_sent import UpdatingSlack
from tests.needs.test_recruit_label_gone import _asked, _erased
from tests.needs.test_recruit_queued_label_gone import _send
from tests.needs.test_recruit_unreachable_sender import services  # noqa: F401


class RefusingUpdates(UpdatingSlack):
    """Every update refused with ``error``; ``users.info`` says the account is deleted."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        self.looked_up: list[str] = []

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        raise slack_error("chat.update", self.error)

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.looked_up.append(kwargs["user"])
        return {"ok": True, "user": {"id": kwargs["user"], "deleted": True, "locale": "nl-BE"}}


def _redraw_row(network: Network) -> OutboxMessage:
    with network.database.session() as session:
        [row] = session.query(OutboxMessage).filter(OutboxMessage.dedupe_key.like("expertise_redraw:%")).all()
        assert row.kind is OutboxKind.EXPERTISE_REQUEST
        session.expunge(row)
        return row


@pytest.mark.parametrize("error", ["message_not_found", "cant_update_message", "channel_not_found", "user_not_found"])
def test_a_refused_redraw_is_recorded_failed_and_the_person_is_left_alone(
    network: Network,
    services: Services,  # noqa: F811
    error: str,
) -> None:
    topic_id, _, _ = _asked(network)
    with network.database.session() as session:
        _erased(session, topic_id)
    slack = RefusingUpdates(error)
    assert _send(services, slack).failed == 1
    row = _redraw_row(network)
    assert row.sent_at is None and row.sent_ts is None  # not drawn again: not recorded so
    assert row.failed_at is not None and row.last_error == error  # Slack's word, given up at once
    assert slack.posts == []
    with network.database.session() as session:
        expert = session.query(Expert).filter_by(slack_user_id=row.recipient_slack_id).one()
        assert expert.availability is Availability.AVAILABLE  # not marked away, not treated as gone
    assert _send(services, slack).claimed == 0  # not tried again
