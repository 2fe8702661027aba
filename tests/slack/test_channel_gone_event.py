"""``channel_archive`` / ``group_archive`` / ``channel_left`` / ``group_left`` / ``member_left_channel``: a
digest channel gone for the bot stops its digest; someone else leaving, or a malformed channel id, changes nothing."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from handlers.digests import handle_channel_gone

BOT = "U0BOT0001"


def _turn(event: dict[str, Any]) -> mock.MagicMock:
    turn = mock.MagicMock()
    turn.body = {"event": event}
    turn.context.bot_user_id = BOT
    return turn


@pytest.mark.parametrize(
    "event",
    [
        {"type": "member_left_channel", "channel": "C0DIGEST1", "user": "U0SOMEONE"},
        {"type": "channel_archive", "channel": "C0<script>"},
        {"type": "channel_archive", "channel": None},
        {"type": "member_left_channel", "channel": ["C0DIGEST1"], "user": BOT},
    ],
)
def test_someone_else_leaving_or_a_malformed_channel_changes_nothing(event: dict[str, Any]) -> None:
    with mock.patch("handlers.digests.stop_gone_channel") as stop:
        handle_channel_gone(_turn(event))
    stop.assert_not_called()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "channel_archive", "channel": "C0DIGEST1", "user": "U0ADMIN01"},
        {"type": "group_archive", "channel": "C0DIGEST1"},
        {"type": "member_left_channel", "channel": "C0DIGEST1", "user": BOT},
        {"type": "channel_left", "channel": "C0DIGEST1", "actor_id": "U0ADMIN01"},  # Slack tells the bot itself
        {"type": "group_left", "channel": "C0DIGEST1"},
    ],
)
def test_the_channel_archived_or_the_bot_removed_stops_the_digest(event: dict[str, Any]) -> None:
    turn = _turn(event)
    with mock.patch("handlers.digests.stop_gone_channel", return_value=True) as stop:
        handle_channel_gone(turn)
    stop.assert_called_once_with(turn.session, channel_id="C0DIGEST1", reason=event["type"], now=turn.now)
    assert turn.outcome == "digest stopped"
