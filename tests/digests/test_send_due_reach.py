"""review54 (on fixleft44a, "Slack unreachable"): which call Slack did not answer stops a digest pass, and what the
pass still does when it stops.

1. A post without an answer in time, or answered by a page that is not Slack's, may have been posted: it is never
   posted again by the next pass (its run keeps its claim until stale, as before fixleft44a), and the other channels
   are sent. Only no connection at all (refused, DNS) releases the run at once. One channel whose look-up keeps
   failing does not stop every pass before the others are sent (a run given up goes after the others).
2. A pass that stops still tells staff what it met before the stop (a channel failed for the week, a refused source
   channel), then the error goes on.
"""

from __future__ import annotations

import contextlib
import urllib.error
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from slack_sdk.web import SlackResponse

from bot.config import load_settings
from bot.errors import ConfigError
from digests.errors import ServiceUnreachableError
from digests.sender import SendStatus
from handlers.accounts import NOT_JSON
from handlers.app import create_web_client
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster, send_due_digests
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW, PERIOD
from tests.digests.test_operator_refusals import notices
from tests.digests.test_sending import seed_busy_week, subscribe
from tests.digests.test_source_lookup import DIGESTS, PUBLIC_SOURCES, seed_week
from tests.emulator import SlackEmulator

INFO = "conversations.info"
POST = "chat.postMessage"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    for channel in (*DIGESTS, *PUBLIC_SOURCES):
        emu.add_channel(channel, name=channel.lower())
    yield emu
    emu.stop()


def client_for(emulator: SlackEmulator) -> WebClient:
    return create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}))


def no_connection() -> OSError:
    return urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


def script_posts(
    monkeypatch: pytest.MonkeyPatch, emulator: SlackEmulator, *, refused_at: int = 0, unreachable_at: int
) -> list[str]:
    """``chat.postMessage`` as the pass meets it: the ``refused_at``-th post (1-based; 0: none) is refused
    ``no_permission`` by Slack, the ``unreachable_at``-th finds no connection; returns the channels posted to, in
    order (every call, the failed ones too)."""
    original = WebClient.chat_postMessage
    order: list[str] = []

    def post(self: WebClient, **kw: Any) -> Any:
        order.append(kw["channel"])
        if len(order) == refused_at:
            emulator.fail_next(POST, error="no_permission", times=1)
        if len(order) == unreachable_at:
            raise no_connection()
        return original(self, **kw)

    monkeypatch.setattr(WebClient, "chat_postMessage", post)
    return order


def posted(emulator: SlackEmulator) -> dict[str, int]:
    return {channel: len(emulator.messages(channel)) for channel in DIGESTS}


def runs(database: Database) -> dict[str, DigestRunStatus]:
    with database.session() as s:
        return {channel: run.status for channel, run in digest_repo.list_digest_runs(s, period=PERIOD).items()}


@pytest.mark.parametrize("answer", ["timeout", "not_slack"])
def test_a_post_slack_took_but_did_not_answer_is_not_posted_again_and_the_others_go_out(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """A degraded Slack (or a proxy before it) posts the first channel's digest but its answer does not come (in
    time, or as Slack's): four passes, the job runner's every 30 s, post it once, and the other channels too."""
    seed_week(database)
    first = DIGESTS[0]
    original = WebClient.chat_postMessage

    def post(self: WebClient, **kw: Any) -> Any:
        response = original(self, **kw)
        if kw.get("channel") == first:
            if answer == "timeout":
                raise TimeoutError("The read operation timed out")
            page = {"ok": False, "error": f"{NOT_JSON}: <html>Bad Gateway</html>"}  # a proxy's page, not Slack's
            SlackResponse(
                client=self, http_verb="POST", api_url=POST, req_args={}, data=page, headers={}, status_code=502
            ).validate()
        return response

    monkeypatch.setattr(WebClient, "chat_postMessage", post)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    for step in range(4):
        poster(NOW + timedelta(seconds=30 * step), "w1")  # the pass is not stopped: Slack answered the others
    assert posted(emulator) == dict.fromkeys(DIGESTS, 1)
    assert runs(database)[first] is DigestRunStatus.CLAIMED  # kept until stale, as any post whose fate is unknown
    assert {runs(database)[channel] for channel in DIGESTS[1:]} == {DigestRunStatus.SENT}


def test_a_post_with_no_connection_stops_the_pass_and_the_next_pass_sends_it(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing reached Slack: the run is released at once (the next pass, 30 s later, sends it)."""
    seed_week(database)
    calls = script_posts(monkeypatch, emulator, unreachable_at=2)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    with pytest.raises(ServiceUnreachableError) as stopped:
        poster(NOW, "w1")
    assert [(r.channel_id, r.status) for r in stopped.value.results] == [(calls[0], SendStatus.SENT)]
    poster(NOW + timedelta(seconds=30), "w1")
    assert posted(emulator) == dict.fromkeys(DIGESTS, 1)


@pytest.mark.parametrize("channel", [DIGESTS[1], PUBLIC_SOURCES[0], DIGESTS[0]])
def test_one_channel_whose_look_up_keeps_timing_out_does_not_hold_up_the_others(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch, channel: str
) -> None:
    """Slack answers every other call; one channel's ``conversations.info`` never comes in time (a digest channel's
    check before its post, or a source channel's): the others are sent by the second pass at the latest, and no
    pass after the first stops."""
    seed_week(database)
    original = WebClient.conversations_info

    def info(self: WebClient, **kw: Any) -> Any:
        if kw.get("channel") == channel:
            raise TimeoutError("The read operation timed out")
        return original(self, **kw)

    monkeypatch.setattr(WebClient, "conversations_info", info)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    with contextlib.suppress(ServiceUnreachableError):  # when it was the pass's first call: nothing answered yet
        poster(NOW, "w1")
    for step in range(1, 4):
        poster(NOW + timedelta(seconds=30 * step), "w1")
    expected = {c: 0 if c == channel else 1 for c in DIGESTS}
    assert posted(emulator) == expected


class Unreachable:
    """Posts everywhere but in ``channel``, which meets Slack out of reach (as a post in a new process would)."""

    def __init__(self, channel: str) -> None:
        self.channel, self.posts = channel, 0

    def post(self, channel: str, blocks: list[Block], text: str) -> str:
        if channel == self.channel:
            said = ConfigError("unreachable", "cannot reach Slack at http://slack.invalid/api/: no connection")
            raise ServiceUnreachableError(said)
        self.posts += 1
        return f"1764000000.{self.posts:06d}"


def test_a_run_given_up_goes_after_the_others_in_the_next_pass(database: Database) -> None:
    """``digest --send-due`` from cron: each pass a new process, so the order is the database's: the run a pass
    gave up goes last, and the others are sent before it stops the pass again."""
    seed_busy_week(database, practices=3)
    for channel in DIGESTS:
        subscribe(database, channel)
    stuck = Unreachable(DIGESTS[0])
    with pytest.raises(ServiceUnreachableError) as first:
        send_due_digests(database, now=NOW, worker_id="w1", post=stuck.post)
    assert first.value.results == []
    with pytest.raises(ServiceUnreachableError) as second:
        send_due_digests(database, now=NOW + timedelta(seconds=30), worker_id="w2", post=stuck.post)
    assert [(r.channel_id, r.status) for r in second.value.results] == [(c, SendStatus.SENT) for c in DIGESTS[1:]]


def test_a_failure_for_the_week_before_the_stop_is_told_to_staff(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second channel's post is refused (``no_permission``, after a digest went out: that channel's, failed for
    the week), then Slack is out of reach: the pass stops, and staff are told of the failed channel all the same."""
    seed_week(database)
    order = script_posts(monkeypatch, emulator, refused_at=2, unreachable_at=3)
    with pytest.raises(ServiceUnreachableError) as stopped:
        due_digests_poster(database, client_for(emulator), ChannelDirectory())(NOW, "w1")
    assert [(r.channel_id, r.status) for r in stopped.value.results] == [
        (order[0], SendStatus.SENT),
        (order[1], SendStatus.FAILED),
    ]
    [notice] = notices(database)
    assert (notice.channel_id, notice.refused, notice.reason) == (order[1], True, "no_permission")


def test_a_refused_source_channel_met_before_the_stop_is_told_to_staff(
    database: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source channel's look-up is refused; then the pass's first post finds no connection: staff are told of the
    source channel by that pass (a later pass of the same process answers it from memory, without asking)."""
    seed_week(database)
    emulator.fail_next(INFO, error="no_permission", channel=PUBLIC_SOURCES[0], times=100)
    script_posts(monkeypatch, emulator, unreachable_at=1)
    poster = due_digests_poster(database, client_for(emulator), ChannelDirectory())
    with pytest.raises(ServiceUnreachableError):
        poster(NOW, "w1")
    [notice] = notices(database)
    assert (notice.channel_id, notice.source, notice.reason) == (PUBLIC_SOURCES[0], True, "no_permission")
    poster(NOW + timedelta(seconds=30), "w1")
    assert posted(emulator) == dict.fromkeys(DIGESTS, 1) and len(notices(database)) == 1
