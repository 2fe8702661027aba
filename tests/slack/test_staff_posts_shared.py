"""Nothing for staff is posted where people of another organisation may read along (Slack Connect): closing an
escalated question posts no note in its triage post's thread, shared or not — the post itself (and each staff DM
copy) is updated to say who closed it, and in a channel shared meanwhile only that it no longer waits
(``handlers.staff_posts``, tested end to end in ``tests/e2e/test_staff_told.py``)."""

from __future__ import annotations

from unittest import mock

import pytest

from handlers import staff_posts
from handlers.forms import TriageCloseForm
from handlers.routing import handle_triage_close_submission

TRIAGE = "C0TRIAGE1"


@pytest.mark.parametrize("shared", [False, True])
def test_closing_posts_no_note_in_the_triage_thread_and_updates_the_staff_posts(shared: bool) -> None:
    turn = mock.MagicMock()
    turn.lang, turn.user_id = "nl", "U0STAFF01"
    routing = turn.services.routing_service.return_value
    routing.triage_messages.return_value = [{"channel_id": TRIAGE, "message_ts": "1700000000.000100"}]
    turn.services.channels.is_shared_outside.return_value = shared
    with mock.patch("handlers.routing.update_staff_posts") as update:
        handle_triage_close_submission(turn, TriageCloseForm(question_id=7, note="Geen beleidsvraag."))
    routing.staff_close.assert_called_once()
    turn.post_in_thread.assert_not_called()
    turn.post_message.assert_not_called()
    update.assert_called_once_with(turn, 7, staff_posts.CLOSED)
