"""``channel_converted_to_private`` / ``channel_shared``: the event's channel id is a claim; a malformed one changes
nothing and asks Slack nothing, a real one marks that channel's questions private."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from handlers.privacy import handle_channel_private


def _turn(event: dict[str, Any]) -> mock.MagicMock:
    turn = mock.MagicMock()
    turn.body = {"event": event}
    return turn


@pytest.mark.parametrize("channel", [None, "", 42, "C0PUBLIC1\n", "C0<script>", "x" * 10_000, ["C0PUBLIC1"]])
def test_a_malformed_channel_id_changes_nothing(channel: object) -> None:
    turn = _turn({"type": "channel_converted_to_private", "channel": channel})
    with mock.patch("handlers.privacy.mark_channel_private") as mark:
        handle_channel_private(turn)
    mark.assert_not_called()
    turn.services.channels.forget.assert_not_called()
    turn.services.channels.is_private.assert_not_called()


def test_a_channel_turned_private_is_marked() -> None:
    turn = _turn({"type": "channel_converted_to_private", "channel": "C0PUBLIC1"})
    with mock.patch("handlers.privacy.mark_channel_private") as mark:
        handle_channel_private(turn)
    turn.services.channels.forget.assert_called_once_with("C0PUBLIC1")
    mark.assert_called_once_with(turn.session, channel_id="C0PUBLIC1")
