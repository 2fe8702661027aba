"""``update_post``: the one way a posted message is updated (a request's effects, the inbox's confirmations, the
proposals' posts refreshed by the job runner). A message gone is logged; a passing failure raises,
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


def test_the_refresher_puts_a_network_error_off_for_a_later_pass() -> None:
    client = mock.MagicMock()
    client.chat_update.side_effect = [slack_error("message_not_found"), ConnectionError("reset")]
    shown = Rendered("t", [])
    refs = [{"channel_id": "C0TRIAGE1", "message_ts": "1.2"}, {"channel_id": "D0STAFF01", "message_ts": "3.4"}]
    update = ProposalUpdate(refs, shown, shown)
    fake = services()
    fake.needs.due_refreshes.return_value = [(1, 1, 0)]
    fake.needs.claim_refresh.return_value = (1, 0, mock.sentinel.until)
    fake.needs.holds_refresh.return_value = True
    with mock.patch("handlers.needs_refresh._update_of", return_value=update):
        assert ProposalRefresher(fake, client).refresh_due() == 0
    assert client.chat_update.call_count == 2  # the post gone did not stop the next one
    fake.needs.refresh_later.assert_called_once()  # the network error: tried again by a later pass
    fake.needs.refreshed.assert_not_called()
