"""``handlers.channels``: channel privacy and membership from Slack's data, cached, failing closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from handlers.channels import ChannelDirectory, is_private_conversation

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("info", "private"),
    [
        ({"id": "C1", "is_channel": True, "is_private": False}, False),
        ({"id": "C2", "is_channel": True, "is_private": True}, True),  # a private channel made today: a C id
        ({"id": "G3", "is_group": True, "is_private": True}, True),
        ({"id": "G4", "is_group": True}, True),  # a legacy private channel, whatever the other flags say
        ({"id": "D5", "is_im": True}, True),
        ({"id": "G6", "is_mpim": True, "is_private": True}, True),
        ({"id": "C7", "is_channel": True, "is_ext_shared": True, "is_shared": True}, True),  # Slack Connect
        ({"id": "C8", "is_channel": True, "is_pending_ext_shared": True}, True),
        ({"id": "C9", "is_channel": True, "is_shared": True}, True),  # shared, not within the organisation
        ({"id": "C10", "is_channel": True, "is_shared": True, "is_org_shared": True}, False),  # Enterprise Grid org
        ({"id": "C11", "is_channel": True, "is_org_shared": True, "is_private": True}, True),
        ({"id": "G12"}, False),  # no flag says private: the id's letter decides nothing
    ],
)
def test_the_privacy_rule(info: dict[str, Any], private: bool) -> None:
    assert is_private_conversation(info) is private


def api_error(error: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="x",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=200,
    )
    return SlackApiError(error, response)


class FakeSlack:
    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail: set[str] = set()

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        self.calls.append(("info", channel))
        if "info" in self.fail or channel not in self.channels:
            raise api_error("channel_not_found")
        return {"ok": True, "channel": self.channels[channel]}

    def conversations_members(self, *, channel: str, limit: int, cursor: str | None) -> dict[str, Any]:
        self.calls.append(("members", channel))
        if "members" in self.fail:
            raise api_error("channel_not_found")
        everyone = self.members.get(channel, [])
        start = int(cursor or 0)
        page = everyone[start : start + 2]  # tiny pages: pagination is followed
        more = start + 2 < len(everyone)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": str(start + 2) if more else ""}}


def test_privacy_is_cached_for_a_while_then_asked_again() -> None:
    slack = FakeSlack()
    slack.channels["C1"] = {"id": "C1", "is_channel": True, "is_private": False}
    directory = ChannelDirectory()
    client: Any = slack
    assert directory.is_private(client=client, channel_id="C1", now=NOW) is False
    assert directory.is_private(client=client, channel_id="C1", now=NOW + timedelta(minutes=4)) is False
    assert slack.calls == [("info", "C1")]
    slack.channels["C1"]["is_private"] = True  # converted to a private channel
    assert directory.is_private(client=client, channel_id="C1", now=NOW + directory.PRIVACY_TTL) is True
    assert len(slack.calls) == 2


def test_unknown_or_failing_is_private_and_not_cached() -> None:
    slack = FakeSlack()
    directory = ChannelDirectory()
    client: Any = slack
    assert directory.is_private(client=client, channel_id="C0GONE", now=NOW) is True
    assert directory.is_private(client=client, channel_id="C0GONE", now=NOW) is True
    assert slack.calls == [("info", "C0GONE"), ("info", "C0GONE")]
    assert directory.is_private(client=client, channel_id=None, now=NOW) is True
    slack.channels["C2"] = {}  # an empty answer says nothing: private
    assert directory.is_private(client=client, channel_id="C2", now=NOW) is True


def test_membership_follows_pages_and_rechecks_a_no_soon() -> None:
    slack = FakeSlack()
    slack.members["C1"] = ["U1", "U2", "U3", "U4", "U5"]
    directory = ChannelDirectory()
    client: Any = slack
    assert directory.is_member(client=client, channel_id="C1", user_id="U5", now=NOW) is True
    assert [c for c in slack.calls if c[0] == "members"] == [("members", "C1")] * 3
    slack.calls.clear()
    assert directory.is_member(client=client, channel_id="C1", user_id="U2", now=NOW + timedelta(minutes=1)) is True
    assert directory.is_member(client=client, channel_id="C1", user_id="U9", now=NOW + timedelta(seconds=10)) is False
    assert slack.calls == []  # both from the cache
    slack.members["C1"].append("U9")  # U9 joins; a "no" older than the re-check interval is asked again
    later = NOW + directory.MEMBERS_RECHECK + timedelta(seconds=1)
    assert directory.is_member(client=client, channel_id="C1", user_id="U9", now=later) is True
    slack.fail.add("members")
    assert directory.is_member(client=client, channel_id="C2", user_id="U1", now=NOW) is False
    assert directory.is_member(client=client, channel_id="C1", user_id=None, now=NOW) is False
