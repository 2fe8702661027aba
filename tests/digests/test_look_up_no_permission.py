"""Slack's ``no_permission`` on the look-up before each digest post (``conversations.info``: is the channel shared
with another organisation?) for every channel of a pass: an organisation-wide app not granted this workspace, or a
permission the look-up lacks. The week fails for none of them: it is a refusal only the operator can fix, said at
ERROR once per pass, told to staff once per week (naming the method, and the scope when Slack names one) however
many passes and replicas meet it, and the week's digests stay due, so they go out once the app is allowed. One
channel's own refusal (the others' look-ups answered, their digests posted) still fails that channel's week."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.i18n import t
from digests.sender import SendStatus
from handlers.blocks.digest_stopped import build_digest_stopped
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW
from tests.digests.test_lookup_fails import is_active
from tests.digests.test_no_permission_everywhere import due, passes_for  # noqa: F401
from tests.digests.test_operator_refusals import DUE, emulator, errors, notices  # noqa: F401
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator


@pytest.mark.usefixtures("due")
def test_no_permission_on_every_look_up_keeps_the_weeks_digests_due_and_tells_staff_once(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.fail_next("conversations.info", error="no_permission", times=100)
    for minutes, worker in ((0, "w1"), (11, "w2"), (22, "w1")):  # passes of two replicas while it lasts
        caplog.clear()
        mark = emulator.call_count
        passes = passes_for(database, emulator)
        passes.worker = worker
        with caplog.at_level(logging.INFO):
            results = passes.run(NOW + timedelta(minutes=minutes))
        assert {c: r.status for c, r in results.items()} == dict.fromkeys(DUE, SendStatus.RETRY)
        # two refusals with nothing posted are enough: the third channel is not asked about
        assert len(emulator.calls_to("conversations.info", since=mark)) == 2
        assert emulator.calls_to("chat.postMessage", since=mark) == []
        [said] = errors(caplog)  # once per pass
        assert "conversations.info" in said and "no_permission" in said and "stay due" in said
    for channel in DUE:  # not failed for the week, not turned off
        assert run_of(database, channel).status is DigestRunStatus.CLAIMED and is_active(database, channel)
    [notice] = notices(database)  # staff told once this week, by whichever replica met it first
    assert (notice.held, notice.reason, notice.needed, notice.method) == (
        True,
        "no_permission",
        "",
        "conversations.info",
    )
    for lang in ("nl", "en"):
        rendered = build_digest_stopped(notice, lang)
        assert rendered.text.startswith(t("digest.held_no_permission_look_up", lang, hours="24")[:40])
        assert "no_permission" in str(rendered.blocks) and "conversations.info" in str(rendered.blocks)
    emulator.clear_faults()  # the app was granted the workspace: every channel gets the week's digest, once
    later = passes_for(database, emulator).run(NOW + timedelta(minutes=33))
    assert {c: (r.status, r.resumed) for c, r in later.items()} == dict.fromkeys(DUE, (SendStatus.SENT, True))
    assert [len(emulator.messages(c)) for c in DUE] == [1, 1, 1] and len(notices(database)) == 1


@pytest.mark.usefixtures("due")
def test_the_permission_slack_names_is_told_to_staff(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    emulator.fail_next("conversations.info", error="no_permission", times=100, extra={"needed": "channels:read"})
    passes = passes_for(database, emulator)
    results = passes.run(NOW)
    assert {r.status for r in results.values()} == {SendStatus.RETRY}
    passes.run(NOW + timedelta(minutes=11))  # the next pass confirms it: the third channel refused too
    [notice] = notices(database)
    assert (notice.reason, notice.needed) == ("no_permission", "channels:read")
    assert "channels:read" in build_digest_stopped(notice, "en").text


@pytest.mark.usefixtures("due")
def test_one_channels_look_up_refused_while_the_others_post_fails_only_its_week(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """The others' look-ups answered and their digests posted: the refusal is that channel's (the app may not read
    that conversation), failed for the week as the look-up's refusal (not counted as its post refused), and staff
    are told of that channel only (once this week)."""
    emulator.fail_next("conversations.info", error="no_permission", channel="C0DIGEST1", times=100)
    results = passes_for(database, emulator).run(NOW)
    assert {c: r.status for c, r in results.items()} == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.SENT,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert results["C0DIGEST1"].error == "LookUpRefusedError: conversations.info: no_permission"
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.FAILED and is_active(database, "C0DIGEST1")
    # staff told of that channel only (its own refusal, once this week), never "the app is refused"
    assert [(n.channel_id, n.method, n.refused, n.held) for n in notices(database)] == [
        ("C0DIGEST1", "conversations.info", True, False)
    ]
