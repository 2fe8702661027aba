"""``wieweet digest --send-due --json``: one JSON object per digest of the pass (JSON Lines, as ``audit --json`` and
``escalated --json``), with the same status codes as the bracketed third field of the text lines and the same exit
codes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.cli.digest_cmds import describe_send
from digests.errors import LookUpRefusedError
from digests.sender import SendResult, SendStatus
from storage.db import Database
from tests.digests.test_cli import ENGLISH, NOW_ARG, emulator, seeded, wieweet  # noqa: F401
from tests.emulator import SlackEmulator

KEYS = {"channel", "week", "status", "parts_posted", "parts_total", "resumed", "error", "slack_error", "method"}


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_send_due_json_says_each_digest_on_a_line_and_exits_as_without_it(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    for channel in ("C0DIGEST1", "C0GONE001"):
        assert wieweet(seeded.url, "digest", "subscribe", "--channel", channel).exit_code == 0
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env)
    assert sent.exit_code == 1, sent.output  # a digest failed, as without --json
    by_channel = {str(line["channel"]): line for line in lines(sent.output)}
    assert all(set(line) == KEYS for line in by_channel.values())
    posted = len(emulator.messages("C0DIGEST1"))
    assert by_channel["C0DIGEST1"] == {
        "channel": "C0DIGEST1",
        "week": "2026-W48",
        "status": "sent",
        "parts_posted": posted,
        "parts_total": posted,
        "resumed": False,
        "error": "",
        "slack_error": None,
        "method": None,
    }
    gone = by_channel["C0GONE001"]
    assert (gone["status"], gone["parts_posted"]) == ("failed", 0) and "not_in_channel" in str(gone["error"])
    # Slack's bare code and the call it refused, beside the error as recorded (review48 finding 3)
    assert (gone["slack_error"], gone["method"]) == ("not_in_channel", "chat.postMessage")
    again = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env | ENGLISH)
    assert (again.exit_code, again.output) == (0, "")  # nothing due: no line (no words to parse either)


def test_send_due_json_retry_exits_0(seeded: Database, emulator: SlackEmulator) -> None:  # noqa: F811
    assert wieweet(seeded.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    emulator.fail_next("chat.postMessage", error="missing_scope", times=100)
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env)
    assert sent.exit_code == 0, sent.output  # tried again later: no failure
    [line] = lines(sent.output)
    assert line["status"] == "retry" and "missing_scope" in str(line["error"])
    assert (line["slack_error"], line["method"]) == ("missing_scope", "chat.postMessage")


def test_send_due_json_says_which_call_slack_refused_and_which_digests_it_was_not_asked_about(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Every look-up refused (``no_permission``): the first two channels' refusals are Slack's answers to the look-up
    before the post; the pass then holds the third without asking Slack, which must not read as its post refused."""
    channels = ("C0DIGEST1", "C0DIGEST2", "C0DIGEST3")
    for channel in channels:
        assert wieweet(seeded.url, "digest", "subscribe", "--channel", channel).exit_code == 0
    emulator.fail_next("conversations.info", error="no_permission", times=100)
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env)
    assert sent.exit_code == 0, sent.output
    by_channel = {str(line["channel"]): line for line in lines(sent.output)}
    assert {c: line["status"] for c, line in by_channel.items()} == dict.fromkeys(channels, "retry")
    asked = [c for c, line in by_channel.items() if line["slack_error"] is not None]
    [held] = set(channels) - set(asked)
    for channel in asked:
        assert (by_channel[channel]["slack_error"], by_channel[channel]["method"]) == (
            "no_permission",
            "conversations.info",
        )
    unasked = by_channel[held]
    assert unasked["method"] is None and "not asked" in str(unasked["error"])


def test_send_due_json_fields_of_a_run_failed_for_a_refused_look_up() -> None:
    from bot.cli.digest_cmds import send_json  # noqa: PLC0415

    refused = LookUpRefusedError("no_permission", "conversations.info")
    result = SendResult("C0DIGEST1", "2026-W48", SendStatus.FAILED, error=f"LookUpRefusedError: {refused}")
    line = send_json(replace(result, refused=refused.refused))
    assert (line["slack_error"], line["method"]) == ("no_permission", "conversations.info")
    assert line["error"] == "LookUpRefusedError: conversations.info: no_permission"


def test_the_json_status_is_the_text_lines_bracketed_code() -> None:
    from bot.cli.digest_cmds import send_json  # noqa: PLC0415

    for status in SendStatus:
        result = SendResult("C0DIGEST1", "2026-W48", status, 3, 1, error="boom")
        assert f"[{send_json(result)['status']}]" == describe_send(result, "en").split(" ")[2]


UNSORTED = [
    ("chat.postMessage", "internal_error", 500),
    ("chat.postMessage", "fatal_error", 200),
    ("chat.postMessage", "team_on_fire", 200),  # a code this app does not know
    ("conversations.info", "internal_error", 500),
    ("conversations.info", "team_on_fire", 200),
]


@pytest.mark.parametrize(("method", "error", "status"), UNSORTED)
def test_send_due_json_names_slacks_code_and_the_call_for_an_error_the_app_does_not_sort(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    method: str,
    error: str,
    status: int,
) -> None:
    """An error on Slack's side or a code the app does not know is tried again later, as before; the line still
    says what Slack answered and to which call, not null (review: fixleft42b item 4)."""
    assert wieweet(seeded.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    emulator.fail_next(method, error=error, status=status, times=100)
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env)
    assert sent.exit_code == 0, sent.output  # tried again later: no failure
    [line] = lines(sent.output)
    assert line["status"] == "retry" and error in str(line["error"]), line
    assert (line["slack_error"], line["method"]) == (error, method)


def test_send_due_json_masks_an_unsorted_code_slack_sends(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    assert wieweet(seeded.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    emulator.fail_next("chat.postMessage", error="odd\x1b[31m xoxb-4242-S3cretT0ken\nnext", times=100)
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", "--json", NOW_ARG, env=env)
    [line] = lines(sent.output)
    assert "S3cretT0ken" not in sent.output and "\x1b" not in sent.output, sent.output
    assert line["slack_error"] == "odd[31m xoxb-*** next" and line["method"] == "chat.postMessage", line
