"""A channel the app may not post in (Slack's ``no_permission``; its subscription stays) is refused again every week.
Its refusal is remembered from the week before (its run failed for that week): each new week's first pass asks the
other channels first and does not take it, refused again, for a refusal of the whole pass: no ERROR for the
operator, no "Slack refuses every digest post" notice to staff each week."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import load_settings
from bot.staff_notices import DigestStopped
from digests.refusals import REFUSALS_REMEMBERED_WEEKS
from digests.sender import SendStatus
from handlers.app import create_web_client
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import IN_WEEK, NOW, add_practice
from tests.digests.test_lookup_fails import Passes, is_active, seed
from tests.digests.test_no_permission_everywhere import DUE, due, emulator, notices, passes_for  # noqa: F401
from tests.digests.test_sending import run_of, subscribe
from tests.emulator import SlackEmulator

WEEK = timedelta(days=7)
WEEK2 = NOW + WEEK


def week_one(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    *,
    news_in_week: int = 2,
    method: str = "chat.postMessage",
) -> tuple[Passes, int]:
    """Week 1: the first two channels refuse every post (``method``: or the look-up before it); the third's digest
    goes out in the second pass, the two fail for the week (staff are told of each, never that the app is refused).
    News for ``news_in_week`` (the weeks between are quiet: nothing to post)."""
    for channel in DUE[:2]:
        emulator.fail_next(method, error="no_permission", channel=channel, times=100)
    passes = passes_for(database, emulator)
    passes.run(NOW)
    passes.run(NOW + timedelta(minutes=11))
    assert len(emulator.messages("C0DIGEST3")) == 1 and all(is_active(database, c) for c in DUE)
    for channel in DUE[:2]:
        assert run_of(database, channel).status is DigestRunStatus.FAILED
    with database.session() as s:
        add_practice(s, "Praktijk twee", url="https://example.org/p/2", created_at=IN_WEEK + (news_in_week - 1) * WEEK)
    return passes, len(held_told(database))


def held_told(database: Database) -> list[DigestStopped]:
    """The notices that the whole app is refused ("digests held")."""
    return [n for n in notices(database) if n.held]


def refused_told(database: Database) -> list[tuple[str, str]]:
    """The channels staff were told Slack refused (their own refusal, once per channel per week; a pass's channels
    in one notice), by week."""
    return sorted((c, n.method) for n in notices(database) if n.refused for c in (n.channel_id, *n.others))


@pytest.mark.usefixtures("due")
def test_channels_refused_last_week_are_asked_after_the_others_in_the_next_weeks_first_pass(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    passes, told = week_one(database, emulator)
    mark = emulator.call_count
    results = passes.run(WEEK2)
    asked = [c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)]
    assert asked == ["C0DIGEST3", "C0DIGEST1", "C0DIGEST2"]
    assert {c: r.status for c, r in results.items()} == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.FAILED,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert len(held_told(database)) == told  # staff not told the app is refused
    # each channel's own refusal told once a week: week 1, and week 2
    assert refused_told(database) == [(c, "chat.postMessage") for c in DUE[:2] for _ in range(2)]


@pytest.mark.parametrize("method", ["chat.postMessage", "conversations.info"])
@pytest.mark.usefixtures("due")
def test_one_new_refusal_next_to_channels_refused_last_week_is_not_the_passs(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    method: str,
) -> None:
    """Week 2: the third channel is refused too (the app removed from it). Two channels refused last week for their
    own reasons, refused again, do not make its refusal the pass's: all three fail for the week, staff are told of
    each (never that the app is refused),
    and no later pass of the week asks them again. The same when what Slack refuses for those channels is the
    look-up before the post (``conversations.info``): a week failed for the look-up's own refusal is remembered as
    one failed for the post's (review48)."""
    passes, told = week_one(database, emulator, method=method)
    emulator.fail_next(method, error="no_permission", channel="C0DIGEST3", times=100)
    mark = emulator.call_count
    results = passes.run(WEEK2)
    asked = [c.params.get("channel") for c in emulator.calls_to(method, since=mark)]
    assert asked == ["C0DIGEST3", "C0DIGEST1", "C0DIGEST2"]
    assert {r.status for r in results.values()} == {SendStatus.FAILED}, {c: r.error for c, r in results.items()}
    if method == "conversations.info":  # each failed as its look-up's refusal, none as its post's
        assert {r.error for r in results.values()} == {"LookUpRefusedError: conversations.info: no_permission"}
    assert len(held_told(database)) == told
    # each channel's own refusal told once a week: the two in week 1 and week 2, the third in week 2
    assert refused_told(database) == sorted([*((c, method) for c in DUE[:2] for _ in range(2)), ("C0DIGEST3", method)])
    assert passes.run(WEEK2 + timedelta(minutes=11)) == {}


@pytest.mark.usefixtures("due")
def test_channels_refused_before_a_quiet_week_do_not_make_one_new_refusal_the_passs(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Week 1 as above; week 2 quiet (nothing posted, every run empty); week 3 the third channel is refused too.
    The two channels' own refusals two weeks back are remembered for this count as for the order
    (``REFUSALS_REMEMBERED_WEEKS``): refused again, they do not make the one new refusal the pass's, so the pass asks
    all three, all fail for the week and staff are told of each, never that the app is refused."""
    passes, told = week_one(database, emulator, news_in_week=3)
    quiet = passes.run(WEEK2)
    assert {r.status for r in quiet.values()} == {SendStatus.EMPTY} and len(quiet) == len(DUE)
    emulator.fail_next("chat.postMessage", error="no_permission", channel="C0DIGEST3", times=100)
    mark = emulator.call_count
    results = passes.run(NOW + 2 * WEEK)
    asked = [c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)]
    assert asked == ["C0DIGEST3", "C0DIGEST1", "C0DIGEST2"]
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(DUE, SendStatus.FAILED)
    assert len(held_told(database)) == told
    assert passes.run(NOW + 2 * WEEK + timedelta(minutes=11)) == {}


@pytest.mark.usefixtures("due")
def test_every_channel_refused_last_week_and_again_is_still_the_passs_refusal(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Only channels refused last week are due, all refused again (the app no longer granted the workspace, say):
    two are evidence enough, as before; the week's digests stay due and staff are told for this week."""
    passes, told = week_one(database, emulator)
    with database.session() as s:  # the third channel unsubscribed: only the two are due in week 2
        subscription = digest_repo.get_subscription(s, channel_id="C0DIGEST3")
        assert subscription is not None
        subscription.active = False
    results = passes.run(WEEK2)
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(DUE[:2], SendStatus.RETRY)
    assert len(held_told(database)) == told + 1


@pytest.mark.usefixtures("due")
def test_a_pass_stopped_on_channels_refused_before_never_fails_a_channel_it_did_not_ask(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Week 1 as above, and two channels subscribed late whose digests failed that week (posting restricted there),
    later than the two refusals: week 2 asks them after those two. Week 2 only the two refused channels and the late
    ones are due, and the two are refused again first: the pass stops there (every channel refused was refused
    before), so the late channels' posts are held without asking Slack. A channel never asked is no refusal: it does
    not make the pass go on (the fifth channel's digest is not posted while the week's are held), nor is it failed
    for the week with ``no_permission``; the week's digests stay due. Staff are not told yet: the next pass asks
    the late channels first and may well show the two refused for their own reasons again."""
    passes, told = week_one(database, emulator)
    late = ("C0DIGEST4", "C0DIGEST5")
    for minutes, channel in zip((22, 33), late, strict=True):
        subscribe(database, channel)
        emulator.add_channel(channel, name=channel.lower())
        emulator.fail_next("chat.postMessage", error="restricted_action", channel=channel)
        assert passes.run(NOW + timedelta(minutes=minutes))[channel].status is SendStatus.FAILED
    with database.session() as s:  # the third channel unsubscribed: nothing goes out before the refusals
        subscription = digest_repo.get_subscription(s, channel_id="C0DIGEST3")
        assert subscription is not None
        subscription.active = False
    mark = emulator.call_count
    results = passes.run(WEEK2)
    asked = [c.params.get("channel") for c in emulator.calls_to("chat.postMessage", since=mark)]
    assert asked == ["C0DIGEST1", "C0DIGEST2"]
    assert {c: r.status for c, r in results.items()} == dict.fromkeys((*DUE[:2], *late), SendStatus.RETRY)
    period = str(results["C0DIGEST4"].period)
    for channel in late:
        run = run_of(database, channel, period=period)
        assert run.status is DigestRunStatus.CLAIMED and "no_permission" in run.error and run.refused_at is None
        assert len(emulator.messages(channel)) == 0
    assert len(held_told(database)) == told


def test_a_refused_channel_look_up_is_not_kept_as_a_refused_post(database: Database, emulator: SlackEmulator) -> None:  # noqa: F811
    """A refusal only the operator can fix met on ``conversations.info`` (a revoked token) leaves the post unasked:
    the run keeps no ``refused_at``, so it is not put after the channels whose posts Slack refused."""
    seed(database, "C0DIGEST1")
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-revoked-token", "SLACK_API_URL": emulator.api_url})
    results = Passes(database, create_web_client(settings)).run(NOW)
    assert results["C0DIGEST1"].status is SendStatus.RETRY
    run = run_of(database, "C0DIGEST1")
    assert "invalid_auth" in run.error and run.refused_at is None


def three_weeks(database: Database, emulator: SlackEmulator, *, quiet_week_two: bool) -> list[list[str]]:  # noqa: F811
    """Three weeks of passes on the injected clock. The first channel, on climate only, refuses every post (the app
    may not post there) in weeks 1 and 3. In week 2 it has nothing on climate (``quiet_week_two``: a quiet week,
    nothing posted, its run empty), or it has and the app was let in (its digest goes out). The channels each week's
    first pass asked, in order."""
    seed(database)
    subscribe(database, "C0DIGEST1", themes=["klimaat"])
    for channel in DUE:
        if channel != "C0DIGEST1":
            subscribe(database, channel)
        emulator.add_channel(channel, name=channel.lower())
    climate_weeks = (0, 2) if quiet_week_two else (0, 1, 2)
    with database.session() as s:
        for week in (1, 2):
            add_practice(s, f"Wonen {week}", url=f"https://example.org/w/{week}", created_at=IN_WEEK + week * WEEK)
        for week in climate_weeks:
            at = IN_WEEK + week * WEEK
            add_practice(s, f"Klimaat {week}", url=f"https://example.org/k/{week}", themes=["klimaat"], created_at=at)
    passes = passes_for(database, emulator)
    asked: list[list[str]] = []
    for week in range(3):
        emulator.clear_faults()
        if week != 1:
            emulator.fail_next("chat.postMessage", error="no_permission", channel="C0DIGEST1", times=100)
        mark = emulator.call_count
        results = passes.run(NOW + week * WEEK)
        asked.append([str(c.params.get("channel")) for c in emulator.calls_to("chat.postMessage", since=mark)])
        status = {c: run_of(database, c, period=str(r.period)).status for c, r in results.items()}
        first = (
            DigestRunStatus.FAILED if week != 1 else (DigestRunStatus.EMPTY if quiet_week_two else DigestRunStatus.SENT)
        )
        assert status == {"C0DIGEST1": first, "C0DIGEST2": DigestRunStatus.SENT, "C0DIGEST3": DigestRunStatus.SENT}
    return asked


def test_a_channel_that_keeps_refusing_stays_last_across_a_quiet_week(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Refused in week 1, nothing to post in week 2, refused again in week 3: week 3's first pass still asks it after
    the others (its refusal two weeks back counts, within ``REFUSALS_REMEMBERED_WEEKS``), and still asks it."""
    asked = three_weeks(database, emulator, quiet_week_two=True)
    assert asked == [list(DUE), ["C0DIGEST2", "C0DIGEST3"], ["C0DIGEST2", "C0DIGEST3", "C0DIGEST1"]]
    assert REFUSALS_REMEMBERED_WEEKS >= 2


def test_a_channel_whose_digest_went_out_since_its_refusal_comes_first_again(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Refused in week 1, its digest out in week 2 (the app let in): its refusals ended, so week 3 asks it in its
    own turn again, first here."""
    asked = three_weeks(database, emulator, quiet_week_two=False)
    assert asked == [list(DUE), ["C0DIGEST2", "C0DIGEST3", "C0DIGEST1"], list(DUE)]
