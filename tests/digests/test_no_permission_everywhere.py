"""Slack's ``no_permission`` on a digest post is that channel's refusal for the week, unless every post of the pass
is refused so: Slack says it for token-wide causes too ("the workspace token used in this request does not have the
permissions necessary": an organisation-wide app not granted this workspace). Two or more channels refused, none
sent: a refusal only the operator can fix, as a missing scope is — said at ERROR once per pass, staff told once per
week, and the week's digests stay due (the first channel's too), so they go out once it is fixed."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.config import load_settings
from digests.sender import SendStatus
from handlers.app import create_web_client
from handlers.blocks.digest_stopped import build_digest_stopped
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW
from tests.digests.test_lookup_fails import Passes, is_active, seed
from tests.digests.test_operator_refusals import DUE, emulator, errors, notices  # noqa: F401
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator


def passes_for(database: Database, emulator: SlackEmulator) -> Passes:  # noqa: F811
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    return Passes(database, create_web_client(settings))


@pytest.fixture
def due(database: Database, emulator: SlackEmulator) -> None:  # noqa: F811
    seed(database, *DUE)
    for channel in DUE:
        emulator.add_channel(channel, name=channel.lower())


@pytest.mark.usefixtures("due")
def test_no_permission_on_every_post_keeps_the_weeks_digests_due_and_tells_staff_once(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.fail_next("chat.postMessage", error="no_permission", times=2 * len(DUE))  # two passes' posts
    passes = passes_for(database, emulator)
    for minutes in (0, 11):  # every pass while it lasts
        caplog.clear()
        with caplog.at_level(logging.INFO):
            results = passes.run(NOW + timedelta(minutes=minutes))
        assert {c: r.status for c, r in results.items()} == dict.fromkeys(DUE, SendStatus.RETRY)
        [said] = errors(caplog)  # once per pass, naming the first channel refused
        assert "no_permission" in said and "C0DIGEST1" in said and "stay due" in said
    for channel in DUE:  # not failed for the week, not turned off
        assert run_of(database, channel).status is DigestRunStatus.CLAIMED and is_active(database, channel)
    [notice] = notices(database)  # staff told once this week
    assert (notice.held, notice.reason, notice.needed) == (True, "no_permission", "")
    for lang in ("nl", "en"):
        rendered = build_digest_stopped(notice, lang)
        assert "no_permission" in rendered.text or "no_permission" in str(rendered.blocks)
    assert "workspace" in build_digest_stopped(notice, "en").text
    later = passes.run(NOW + timedelta(minutes=22))  # fixed: every channel gets the week's digest, once
    assert {c: (r.status, r.resumed) for c, r in later.items()} == dict.fromkeys(DUE, (SendStatus.SENT, True))
    assert [len(emulator.messages(c)) for c in DUE] == [1, 1, 1] and len(notices(database)) == 1


@pytest.mark.usefixtures("due")
def test_a_post_that_goes_out_makes_the_refusals_before_it_their_channels(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two channels refused first, the third posted: the app may post, so the two are each their channel's refusal
    (failed for the week, one ERROR each), nothing is held and staff are not told."""
    for channel in DUE[:2]:
        emulator.fail_next("chat.postMessage", error="no_permission", channel=channel, times=100)
    with caplog.at_level(logging.INFO):
        results = passes_for(database, emulator).run(NOW)
    assert {c: r.status for c, r in results.items()} == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.FAILED,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert "no_permission" in results["C0DIGEST1"].error
    for channel in DUE[:2]:
        assert run_of(database, channel).status is DigestRunStatus.FAILED and is_active(database, channel)
    said = errors(caplog)
    assert len(said) == 2 and all("failed for this week: no_permission" in line for line in said)
    assert notices(database) == []


def test_the_only_post_of_a_pass_refused_so_is_that_channels(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """One channel due and refused: no evidence of more than that channel, so its week fails as before."""
    seed(database, "C0DIGEST1")
    emulator.fail_next("chat.postMessage", error="no_permission", times=100)
    results = passes_for(database, emulator).run(NOW)
    assert results["C0DIGEST1"].status is SendStatus.FAILED
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.FAILED and notices(database) == []
