"""A sent recruiting DM drawn again (an erasure took its label) whose update Slack could not make for a passing
reason — a rate limit, an error on Slack's side (5xx), a time-out, an error Slack does not say is final — stays
queued for the outbox's normal retry, as
any post does; only Slack's answer that the DM cannot be updated (``test_recruit_redraw_refused``) ends it failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from handlers.services import Services
from storage.models import OutboxMessage
from tests.needs.conftest import Network
from tests.needs.test_invite_retry import slack_error
from tests.needs.test_recruit_erased_sent import UpdatingSlack
from tests.needs.test_recruit_label_gone import _asked, _erased
from tests.needs.test_recruit_queued_label_gone import _send
from tests.needs.test_recruit_redraw_refused import _redraw_row
from tests.needs.test_recruit_unreachable_sender import NOW, services  # noqa: F401


class FailingOnce(UpdatingSlack):
    """The first update fails with ``failure``; later ones go through."""

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure: Exception | None = failure

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        return super().chat_update(**kwargs)


@pytest.mark.parametrize(
    "failure",
    [
        slack_error("chat.update", "ratelimited", status=429),
        slack_error("chat.update", "ratelimited"),
        slack_error("chat.update", "internal_error", status=500),
        slack_error("chat.update", "service_unavailable", status=503),
        slack_error("chat.update", "request_timeout"),
        slack_error("chat.update", "timeout"),
        slack_error("chat.update", "upstream_connect_error", status=408),
        TimeoutError("timed out"),
        ConnectionResetError("reset"),
    ],
    ids=[
        "429",
        "ratelimited",
        "500",
        "503",
        "request_timeout",
        "timeout",
        "408",
        "TimeoutError",
        "reset",
    ],
)
def test_a_redraw_that_failed_for_a_passing_reason_is_tried_again(
    network: Network,
    services: Services,  # noqa: F811
    failure: Exception,
) -> None:
    topic_id, _, _ = _asked(network)
    with network.database.session() as session:
        _erased(session, topic_id)
    slack = FailingOnce(failure)
    assert _send(services, slack).failed == 1
    row = _redraw_row(network)
    assert row.failed_at is None and row.sent_at is None  # queued still, for the normal retry
    assert row.attempts == 1 and row.last_error
    with network.database.session() as session:  # its back-off over (the sender's clock stands still)
        session.query(OutboxMessage).filter_by(id=row.id).update({"next_attempt_at": NOW - timedelta(minutes=1)})
    assert _send(services, slack).sent == 1
    row = _redraw_row(network)
    assert row.sent_at is not None and row.failed_at is None
    assert [(u["channel"], u["ts"]) for u in slack.updates] == [("DAALST", "1700000000.000100")]
