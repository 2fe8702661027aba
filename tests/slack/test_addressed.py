"""Which message events are a person's question to wieweet (``handlers.addressed``), and that the network check
speaks up for exactly those: a question it refuses or could not check is never acknowledged without a word, and
an event wieweet would ignore (an edit, a bot's message, a join) is ignored there too."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import answers, network
from handlers.addressed import addressed_to_the_bot
from tests.slack.test_network import HOME, GateClient, gate_run

TELLS = {"chat.postEphemeral", "chat.postMessage"}


def dm(subtype: str | None = None, *, team: str = "T0HOME", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DM",
        "user": "U1",
        "ts": "1.1",
        "team": team,
        "text": "wie weet iets over subsidies? zie bijlage",
        "event_ts": "1.1",
    }
    if subtype is not None:
        event["subtype"] = subtype
    if subtype == "file_share":
        event["files"] = [{"id": "F1", "name": "bijlage.png"}]
    return event | extra


def mention(**extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "channel": "C0WONEN", "user": "U1", "ts": "1.1", "team": "T0HOME"} | extra


QUESTIONS = {
    "plain DM": dm(),
    "DM with a file": dm("file_share"),
    "thread reply also sent to the DM": dm("thread_broadcast", thread_ts="1.0"),
    "reply in a DM thread": dm(thread_ts="1.0"),
    "mention": mention(),
    "mention with a file": mention(files=[{"id": "F1"}]),
}
NOT_QUESTIONS = {
    "edit": dm("message_changed", user=None, message={"user": "U1", "text": "wie weet", "ts": "1.0"}),
    "deletion": dm("message_deleted", user=None, previous_message={"user": "U1", "ts": "1.0"}),
    "/me": dm("me_message"),
    "bot message": dm("bot_message", bot_id="B1"),
    "wieweet's own DM": dm(bot_id="B0WIEWEET"),
    "another bot with a file": dm("file_share", bot_profile={"id": "B2"}),
    "channel message": dm(channel_type="channel"),
    "join": dm("channel_join", channel_type="channel"),
    "no ts": dm(ts=None),
    "no channel": dm(channel=None),
    "bot's mention": mention(bot_id="B1"),
}


@pytest.mark.parametrize("event", QUESTIONS.values(), ids=QUESTIONS.keys())
def test_a_persons_new_message_to_the_bot_is_a_question(event: dict[str, Any]) -> None:
    assert addressed_to_the_bot(event)


@pytest.mark.parametrize("event", NOT_QUESTIONS.values(), ids=NOT_QUESTIONS.keys())
def test_edits_bots_and_other_events_are_not(event: dict[str, Any]) -> None:
    assert not addressed_to_the_bot(event)


def test_the_listener_and_the_network_check_ask_the_same_definition() -> None:
    assert answers.addressed_to_the_bot is addressed_to_the_bot is network.addressed_to_the_bot


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "event_id": "Ev1", "team_id": "T0HOME", "event": event}


def told(client: GateClient) -> bool:
    return bool(TELLS & {name for name, _ in client.calls})


@pytest.mark.parametrize("event", QUESTIONS.values(), ids=QUESTIONS.keys())
def test_a_question_that_could_not_be_checked_is_told_so(event: dict[str, Any]) -> None:
    client = GateClient(error="ratelimited")
    response, passed = gate_run(envelope(event), client, HOME)
    assert not passed and response is not None and response.status == 200
    assert told(client), client.calls


@pytest.mark.parametrize("event", QUESTIONS.values(), ids=QUESTIONS.keys())
def test_a_question_from_outside_is_refused_with_the_message(event: dict[str, Any]) -> None:
    client = GateClient(team="T0OTHER")
    passed = gate_run(envelope(event | {"team": "T0OTHER"}), client, HOME)[1]
    assert not passed and told(client), client.calls


@pytest.mark.parametrize("event", NOT_QUESTIONS.values(), ids=NOT_QUESTIONS.keys())
def test_what_wieweet_ignores_is_refused_or_unchecked_without_a_word(event: dict[str, Any]) -> None:
    for client, team in ((GateClient(error="ratelimited"), "T0HOME"), (GateClient(team="T0OTHER"), "T0OTHER")):
        passed = gate_run(envelope(event | {"team": team}), client, HOME)[1]
        assert not passed and not told(client), client.calls


def test_a_members_dm_with_a_file_passes_the_check() -> None:
    client = GateClient(team="T0HOME")
    assert gate_run(envelope(dm("file_share")), client, HOME) == (None, True)
    assert [name for name, _ in client.calls] == ["users.info"]
