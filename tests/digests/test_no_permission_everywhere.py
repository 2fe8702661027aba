"""Slack's ``no_permission`` on a digest post is that channel's refusal for the week, unless every post of the pass
is refused so: Slack says it for token-wide causes too ("the workspace token used in this request does not have the
permissions necessary": an organisation-wide app not granted this workspace). Two or more channels refused, none
sent: a refusal only the operator can fix, as a missing scope is — said at ERROR once per pass, staff told once per
week, and the week's digests stay due (the first channel's too), so they go out once it is fixed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count

import pytest

from bot.config import load_settings
from digests.sender import SendStatus
from handlers.app import create_web_client
from handlers.blocks.digest_stopped import build_digest_stopped
from handlers.channels import ChannelDirectory
from handlers.digest_post import due_digests_poster
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
    emulator.fail_next("chat.postMessage", error="no_permission", times=2 * 2)  # two posts in each of two passes
    passes = passes_for(database, emulator)
    # every pass while it lasts; each names the first channel it asked: the next pass asks first the one not
    # asked yet
    for minutes, first in ((0, "C0DIGEST1"), (11, "C0DIGEST3")):
        caplog.clear()
        mark = emulator.call_count
        with caplog.at_level(logging.INFO):
            results = passes.run(NOW + timedelta(minutes=minutes))
        assert {c: r.status for c, r in results.items()} == dict.fromkeys(DUE, SendStatus.RETRY)
        # two refusals with nothing posted are enough: the third channel's post is not tried, only held
        assert len(emulator.calls_to("chat.postMessage", since=mark)) == 2
        # nor is Slack asked whether it is shared: a post that will not be asked needs no look-up
        assert len(emulator.calls_to("conversations.info", since=mark)) == 2
        [said] = errors(caplog)  # once per pass, naming the first channel refused
        assert "no_permission" in said and first in said and "stay due" in said
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
def test_a_post_that_goes_out_makes_the_refusal_before_it_its_channels(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first channel refused, the second posted: the app may post, so the refusal is that channel's (failed for
    the week, one ERROR), nothing is held and staff are told of that channel
    only (once this week), never that the app is refused."""
    emulator.fail_next("chat.postMessage", error="no_permission", channel="C0DIGEST1", times=100)
    with caplog.at_level(logging.INFO):
        results = passes_for(database, emulator).run(NOW)
    assert {c: r.status for c, r in results.items()} == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.SENT,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert "no_permission" in results["C0DIGEST1"].error
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.FAILED and is_active(database, "C0DIGEST1")
    [said] = errors(caplog)
    assert "failed for this week: no_permission" in said
    # staff told of that channel only (its own refusal, once this week), never "the app is refused"
    assert [(n.channel_id, n.method, n.refused, n.held) for n in notices(database)] == [
        ("C0DIGEST1", "chat.postMessage", True, False)
    ]


@pytest.mark.usefixtures("due")
def test_two_channels_refused_for_their_own_reasons_do_not_hold_back_the_others_all_week(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Two channels refused first stop that pass (the third is not tried: it looks like the whole token's refusal),
    but the next pass asks the channel not refused yet first: it goes out, so the two refusals were their channels'
    own, and they fail their week. Without that order the same two would stop every pass of the week."""
    for channel in DUE[:2]:
        emulator.fail_next("chat.postMessage", error="no_permission", channel=channel, times=100)
    passes = passes_for(database, emulator)
    mark = emulator.call_count
    first = passes.run(NOW)
    assert {c: r.status for c, r in first.items()} == dict.fromkeys(DUE, SendStatus.RETRY)
    assert [c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)] == list(DUE[:2])
    mark = emulator.call_count
    later = passes.run(NOW + timedelta(minutes=11))
    asked = [c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)]
    assert asked == ["C0DIGEST3", "C0DIGEST1", "C0DIGEST2"]
    assert {c: r.status for c, r in later.items()} == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.FAILED,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert len(emulator.messages("C0DIGEST3")) == 1
    for channel in DUE[:2]:
        assert run_of(database, channel).status is DigestRunStatus.FAILED and is_active(database, channel)


def test_the_only_post_of_a_pass_refused_so_is_that_channels(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """One channel due and refused: no evidence of more than that channel, so its week fails as before, and staff
    are told of it (that channel's refusal, or the whole app's: the notice names both)."""
    seed(database, "C0DIGEST1")
    emulator.fail_next("chat.postMessage", error="no_permission", times=100)
    results = passes_for(database, emulator).run(NOW)
    assert results["C0DIGEST1"].status is SendStatus.FAILED
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.FAILED
    assert [(n.channel_id, n.refused, n.held) for n in notices(database)] == [("C0DIGEST1", True, False)]


def test_channels_the_bot_is_not_in_are_each_their_own_however_many_a_pass_meets(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only ``no_permission`` can be the whole token's refusal. A pass whose every channel is one the bot is not in
    (``not_in_channel``; ``channel_not_found`` for a private channel it is not in) is no refusal of the operator's:
    each channel stops its digest, staff are told of each channel, nothing waits for the app's configuration."""
    seed(database, *DUE)
    emulator.add_channel("C0DIGEST1", name="een", bot_is_member=False)
    emulator.add_channel("C0DIGEST2", name="twee", bot_is_member=False)
    emulator.add_channel("C0DIGEST3", name="drie", is_private=True, bot_is_member=False)
    with caplog.at_level(logging.INFO):
        results = passes_for(database, emulator).run(NOW)
    assert {c: (r.status, r.error.split(": ")[-1]) for c, r in results.items()} == {
        "C0DIGEST1": (SendStatus.FAILED, "not_in_channel"),
        "C0DIGEST2": (SendStatus.FAILED, "not_in_channel"),
        "C0DIGEST3": (SendStatus.FAILED, "channel_not_found"),
    }
    assert not any("configuration" in line for line in errors(caplog))
    assert {(n.channel_id, n.reason, n.held) for n in notices(database)} == {
        ("C0DIGEST1", "not_in_channel", False),
        ("C0DIGEST2", "not_in_channel", False),
        ("C0DIGEST3", "channel_not_found", False),
    }
    for channel in DUE:
        assert run_of(database, channel).status is DigestRunStatus.FAILED and not is_active(database, channel)


@pytest.mark.usefixtures("due")
@pytest.mark.parametrize("workers", [("cron",) * 4, ("w1", "w2", "w1", "w2")], ids=["cron", "replicas"])
def test_the_order_holds_across_cron_runs_restarts_and_replicas(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    workers: tuple[str, ...],
) -> None:
    """``wieweet digest --send-due`` from cron is a new process every run (so is a restarted one), and replicas take
    turns: which channels Slack refused this week is kept on their runs (``refused_at``), so a pass in another
    process still asks first the channel not refused yet, and the two refused for their own reasons do not hold
    back its digest all week."""
    for channel in DUE[:2]:
        emulator.fail_next("chat.postMessage", error="no_permission", channel=channel, times=100)
    asked, statuses = [], []
    for run, worker in enumerate(workers):  # a new poster each time: nothing kept in memory between them
        mark = emulator.call_count
        passes = passes_for(database, emulator)
        passes.worker = worker
        results = passes.run(NOW + timedelta(minutes=11 * run))
        asked.append([c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)])
        statuses.append({c: r.status for c, r in results.items()})
    assert asked[:2] == [list(DUE[:2]), ["C0DIGEST3", "C0DIGEST1", "C0DIGEST2"]]
    assert statuses[1] == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.FAILED,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert asked[2:] == [[], []] and len(emulator.messages("C0DIGEST3")) == 1


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock that goes on as the pass does: a second later at every reading."""
    seconds = count()
    return lambda: start + timedelta(seconds=next(seconds))


@pytest.mark.usefixtures("due")
def test_every_channel_refused_is_asked_in_turn_the_longest_refused_first(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Every post refused (the token's refusal, or each channel's own): each pass asks two, those refused longest
    ago first, so a channel that may post again is reached within the week, whichever process runs the pass."""
    emulator.fail_next("chat.postMessage", error="no_permission", times=3 * 2)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    asked = []
    for run in range(4):
        mark = emulator.call_count
        start = NOW + timedelta(minutes=11 * run)
        poster = due_digests_poster(database, create_web_client(settings), ChannelDirectory(), clock=ticking(start))
        poster(start, "cron")
        asked.append([c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)])
    assert asked[:3] == [list(DUE[:2]), ["C0DIGEST3", "C0DIGEST1"], ["C0DIGEST2", "C0DIGEST3"]]
    assert sorted(asked[3]) == sorted(DUE)  # no longer refused: every channel's digest goes out
    assert [len(emulator.messages(c)) for c in DUE] == [1, 1, 1]
