"""Nothing for staff is posted where people of another organisation read along (Slack Connect): a triage close note
goes in the thread of the question's triage post only while that channel is the network's alone."""

from __future__ import annotations

from unittest import mock

import pytest

from handlers.forms import TriageCloseForm
from handlers.routing import handle_triage_close_submission

TRIAGE = "C0TRIAGE1"


def close_in(shared: bool) -> mock.MagicMock:
    turn = mock.MagicMock()
    turn.lang, turn.user_id = "nl", "U0STAFF01"
    routing = turn.services.routing_service.return_value
    routing.triage_messages.return_value = [{"channel_id": TRIAGE, "message_ts": "1700000000.000100"}]
    routing.triage_copies.return_value = None
    turn.services.channels.is_shared_outside.return_value = shared
    handle_triage_close_submission(turn, TriageCloseForm(question_id=7, note="Geen beleidsvraag."))
    routing.staff_close.assert_called_once()
    return turn


@pytest.mark.parametrize("shared", [False, True])
def test_a_triage_close_note_is_not_posted_in_a_channel_shared_with_another_organisation(shared: bool) -> None:
    turn = close_in(shared)
    channels = turn.services.channels.is_shared_outside
    assert channels.call_args.kwargs["channel_id"] == TRIAGE  # asked of Slack (cached) before the post
    if shared:
        turn.post_in_thread.assert_not_called()
    else:
        turn.post_in_thread.assert_called_once()
        assert turn.post_in_thread.call_args.kwargs["channel"] == TRIAGE
