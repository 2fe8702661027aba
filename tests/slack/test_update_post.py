"""``update_post``: the one way a posted message is updated (a request's effects, the inbox's confirmations, the
proposals refreshed after the daily channel-privacy check). A message gone is logged; a passing failure raises,
for the caller to try again."""

from __future__ import annotations

from unittest import mock

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from handlers.kit import Rendered
from handlers.needs_refresh import ProposalRefresher, ProposalUpdate
from handlers.turn import update_post


def slack_error(error: str, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/chat.update",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=status,
    )
    return SlackApiError(error, response)


def services(shared: bool = False) -> mock.MagicMock:
    fake = mock.MagicMock()
    fake.channels.is_shared_outside.return_value = shared
    return fake


def test_the_stand_in_is_shown_in_a_channel_shared_outside() -> None:
    client = mock.MagicMock()
    update_post(services(shared=True), client, channel="C0TRIAGE1", ts="1.2", shown=("mine", []), if_shared=("x", []))
    client.chat_update.assert_called_once_with(channel="C0TRIAGE1", ts="1.2", text="x", blocks=[])


def test_a_message_gone_is_logged_and_a_passing_failure_raises() -> None:
    client = mock.MagicMock()
    client.chat_update.side_effect = slack_error("message_not_found")
    update_post(services(), client, channel="C0TRIAGE1", ts="1.2", shown=("t", []))  # the change stands
    client.chat_update.side_effect = slack_error("internal_error", 500)
    with pytest.raises(SlackApiError):
        update_post(services(), client, channel="C0TRIAGE1", ts="1.2", shown=("t", []))


def test_the_refresher_raises_a_network_error_for_the_job_to_try_again() -> None:
    client = mock.MagicMock()
    client.chat_update.side_effect = [slack_error("message_not_found"), ConnectionError("reset")]
    shown = Rendered("t", [])
    refs = [{"channel_id": "C0TRIAGE1", "message_ts": "1.2"}, {"channel_id": "D0STAFF01", "message_ts": "3.4"}]
    update = ProposalUpdate(refs, shown, shown)
    with mock.patch("handlers.needs_refresh.proposal_updates", return_value=[update]), pytest.raises(ConnectionError):
        ProposalRefresher(services(), client)([1], [])
    assert client.chat_update.call_count == 2  # the post gone did not stop the next one
