"""The commands that call Slack besides ``wieweet run`` (``digest --send-due``, ``register check-slack``) refuse a
malformed bot token as ``run`` does, before any call, in the operator's language and without showing it: a token
with a line break made Python's HTTP client quote it whole into the log, the digest's line and a traceback. And
what a Slack call's error records or prints is masked and on one line (review47, findings 1)."""

from __future__ import annotations

import json
import logging

import pytest

from storage.db import Database
from tests.digests.test_cli import NOW_ARG, emulator, seeded, wieweet  # noqa: F401
from tests.emulator import SlackEmulator

TWO_TOKENS = "xoxb-1234-5678-S3cretT0kenOne\nxoxb-9999-8888-S3cretT0kenTwo"  # two tokens pasted together
HEADER_INJECTION = "xoxb-1-2\nX: S3cretT0ken"
QUOTED = '"xoxb-1234-5678-S3cretT0kenOne"'  # docker --env-file keeps the quotes

REFUSED = {
    TWO_TOKENS: ("SLACK_BOT_TOKEN bevat 1 regeleinde ", "SLACK_BOT_TOKEN holds 1 line break "),
    HEADER_INJECTION: (
        "SLACK_BOT_TOKEN bevat 1 regeleinde, 1 ander teken, 1 spatie of tab naast",
        "SLACK_BOT_TOKEN holds 1 line break, 1 other character, 1 space or tab besides",
    ),
    QUOTED: ("SLACK_BOT_TOKEN staat tussen aanhalingstekens", "SLACK_BOT_TOKEN is in quotes"),
}


@pytest.mark.parametrize("command", [("digest", "--send-due"), ("digest", "--send-due", "--json")])
@pytest.mark.parametrize("token", list(REFUSED))
@pytest.mark.parametrize("language", ["nl", "en"])
def test_send_due_refuses_a_malformed_token_before_any_call_without_showing_it(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    command: tuple[str, ...],
    token: str,
    language: str,
) -> None:
    assert wieweet(seeded.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    env = {"SLACK_BOT_TOKEN": token, "SLACK_API_URL": emulator.api_url, "WIEWEET_LANGUAGE": language}
    result = wieweet(seeded.url, *command, NOW_ARG, env=env)
    said = REFUSED[token][language == "en"]
    assert result.exit_code == 2 and result.output.startswith(f"error: {said}"), result.output
    assert "S3cretT0ken" not in result.output and "Traceback" not in result.output
    assert emulator.messages("C0DIGEST1") == [] and emulator.calls == []  # Slack was not asked


@pytest.mark.parametrize("token", list(REFUSED))
@pytest.mark.parametrize("language", ["nl", "en"])
def test_check_slack_refuses_a_malformed_token_before_any_call_without_showing_it(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    token: str,
    language: str,
) -> None:
    env = {"SLACK_BOT_TOKEN": token, "SLACK_API_URL": emulator.api_url, "WIEWEET_LANGUAGE": language}
    result = wieweet(seeded.url, "register", "check-slack", env=env)
    said = REFUSED[token][language == "en"]
    assert result.exit_code == 2 and result.output.startswith(f"error: {said}"), result.output
    assert "S3cretT0ken" not in result.output and "Traceback" not in result.output
    assert emulator.calls == []


@pytest.mark.parametrize("as_json", [False, True])
def test_a_slack_error_is_one_masked_line_of_send_due_in_the_text_and_the_json(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    as_json: bool,
) -> None:
    """Slack's error answer quoting a token (or anything else a log must not keep) is masked, and the
    SlackApiError's two lines ("… (url: …)" / "The server responded with: {…}") are one: a digest a line."""
    assert wieweet(seeded.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    leaked = {"warning": "xoxb-4242-S3cretT0kenInAnswer", "detail": "line one\nline two"}
    emulator.fail_next("chat.postMessage", error="fatal_error", times=100, extra=leaked)
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url, "WIEWEET_LANGUAGE": "en"}
    sent = wieweet(seeded.url, "digest", "--send-due", *(["--json"] if as_json else []), NOW_ARG, env=env)
    assert sent.exit_code == 0 and "S3cretT0ken" not in sent.output, sent.output  # tried again later
    [line] = sent.output.splitlines()
    error = str(json.loads(line)["error"]) if as_json else line
    assert line.startswith("{" if as_json else "C0DIGEST1 2026-W48 [retry]"), line
    assert "fatal_error" in error and "xoxb-***" in error and "\n" not in error, error
    assert "line one line two" in error or "line one\\nline two" in error, error


def test_check_slack_logs_slacks_error_on_one_masked_line(
    seeded: Database,  # noqa: F811
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.fail_next("users.info", error="ratelimited\nxoxb-4242-S3cretT0kenInAnswer", times=100)
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url, "WIEWEET_LANGUAGE": "en"}
    with caplog.at_level(logging.WARNING):
        result = wieweet(seeded.url, "register", "check-slack", env=env)
    assert result.exit_code == 1 and "S3cretT0ken" not in result.output, result.output
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("users.info failed")]
    assert said and all("S3cretT0ken" not in line and "\n" not in line for line in said), said
    assert all("ratelimited xoxb-***" in line for line in said), said
