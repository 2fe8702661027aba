"""What the refusal memory of the weekly digest passes counts against a channel (``digests.sender``: the order of
a pass, ``refused_before``): only its post refused with a refusal that may be its own (``no_permission``), and only
until a digest of it goes out. A digest sent after a refusal in the same week ends it; a refused channel look-up is
recorded as the look-up's (not as the post refused) and counts as that channel's refusal all the same; a refusal of
the whole token is the token's, however many channels are subscribed."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from digests.refusals import channel_refused, last_refused, refused_before
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import IN_WEEK, NOW, PERIOD, add_practice
from tests.digests.test_lookup_fails import seed
from tests.digests.test_no_permission_everywhere import DUE, due, emulator, passes_for  # noqa: F401
from tests.digests.test_operator_refusals import errors
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator

WEEK = timedelta(days=7)
NEXT = "2026-W49"


def asked_posts(emulator: SlackEmulator, since: int) -> list[str]:  # noqa: F811
    return [str(c.params.get("channel")) for c in emulator.calls_to("chat.postMessage", since=since)]


def remembered(database: Database, period: str = NEXT) -> tuple[dict[str, object], set[str]]:
    """What a pass of ``period`` remembers: when each channel was last refused, and which refused so before."""
    with database.session() as s:
        last = dict(last_refused(s, period=period))
    return last, refused_before(database, now=NOW + WEEK, errors={"no_permission"})


@pytest.mark.usefixtures("due")
def test_a_digest_sent_after_a_refusal_in_the_same_week_ends_the_channels_refusals(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """Monday's first pass: the first two posts refused with ``no_permission``, nothing sent (held, the pass's
    refusal); the next pass sends all three. Next week those two are asked in their own turn again, not after the
    third as refusers."""
    emulator.fail_next("chat.postMessage", error="no_permission", times=2)
    passes = passes_for(database, emulator)
    passes.run(NOW)
    later = passes.run(NOW + timedelta(minutes=11))
    assert {r.status for r in later.values()} == {DigestRunStatus.SENT.value}
    assert run_of(database, "C0DIGEST1").refused_at is not None  # refused first, then sent
    assert remembered(database) == ({}, set())
    with database.session() as s:
        add_practice(s, "Praktijk twee", url="https://example.org/p/2", created_at=IN_WEEK + WEEK)
    mark = emulator.call_count
    passes.run(NOW + WEEK)
    assert asked_posts(emulator, mark) == list(DUE)


def test_a_sent_digest_clears_the_refusals_of_the_weeks_before_and_its_own_week(database: Database) -> None:
    """Failed with ``no_permission`` two weeks back, refused again last week and then sent that week: the next
    week's pass remembers no refusal of it, neither for its order nor as refused before."""
    weeks = {"2026-W47": DigestRunStatus.FAILED, PERIOD: DigestRunStatus.SENT}
    with database.session() as s:
        for back, (period, status) in enumerate(weeks.items()):
            at = NOW - (1 - back) * WEEK
            run = digest_repo.claim_digest_run(s, channel_id="C0DIGEST1", period=period, worker_id="w", now=at)
            assert run is not None
            error = "PermanentPostError: no_permission" if status is DigestRunStatus.FAILED else ""
            refused = at + timedelta(minutes=1) if status is DigestRunStatus.SENT else None
            digest_repo.update_digest_run_error(s, run_id=run.id, worker_id="w", error=error, refused_at=refused)
            digest_repo.update_digest_run_finished(
                s, run_id=run.id, worker_id="w", status=status, now=at + timedelta(hours=1), error=error
            )
    assert remembered(database) == ({}, set())


def test_a_refused_look_up_is_recorded_as_the_look_ups_and_remembered_as_the_channels_refusal(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """``conversations.info`` answers ``no_permission``: the token may not read that conversation (Slack's docs:
    "the workspace token used in this request does not have the permissions necessary"); its post was never asked.
    The week fails (nothing can vouch the channel is not shared outside: the pass's only channel, so its own
    refusal), recorded as the look-up's refusal: the next week does not take it for a channel that refused its post
    before. (Held until the pass knew whose refusal it was, the run keeps when it was refused, ``refused_at``: the
    order of the passes, which a failed week sets anyway.)"""
    seed(database, "C0DIGEST1")
    emulator.add_channel("C0DIGEST1", name="c0digest1")
    emulator.fail_next("conversations.info", error="no_permission", channel="C0DIGEST1", times=100)
    passes_for(database, emulator).run(NOW)
    run = run_of(database, "C0DIGEST1")
    assert run.status is DigestRunStatus.FAILED
    assert run.error == "LookUpRefusedError: conversations.info: no_permission"
    assert "conversations.info" in run.error and "no_permission" in run.error
    assert asked_posts(emulator, 0) == []
    assert "C0DIGEST1" in remembered(database)[1]


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive", "not_authed", "missing_scope"])
def test_a_refused_token_with_one_channel_subscribed_is_not_counted_against_that_channel(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    error: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The only channel's post refused for the token (or a scope the method needs): the token's refusal, as with
    many channels. The run waits for the operator; nothing is kept against the channel, so once the token is fixed
    it is not asked after channels subscribed since, in the weeks after."""
    seed(database, "C0DIGEST1")
    emulator.add_channel("C0DIGEST1", name="c0digest1")
    emulator.fail_next("chat.postMessage", error=error, channel="C0DIGEST1", times=100)
    passes = passes_for(database, emulator)
    with caplog.at_level(logging.INFO):
        assert passes.run(NOW)["C0DIGEST1"].status.value == "retry"
    [said] = errors(caplog)  # the operator is told, once, as with many channels
    assert error in said and "stay due" in said
    run = run_of(database, "C0DIGEST1")
    assert run.status is DigestRunStatus.CLAIMED and error in run.error and run.refused_at is None
    assert remembered(database) == ({}, set())


@pytest.mark.parametrize(
    ("recorded", "refused"),
    [
        ("PermanentPostError: no_permission", "no_permission"),
        ("LookUpRefusedError: conversations.info: no_permission", "no_permission"),
        ("OperatorRefusalError: no_permission", None),  # held, not failed: not the channel's (yet)
        ("OperatorRefusalError: conversations.info: no_permission", None),
        ("RetryLaterError: ratelimited: retry after 30 s", None),
        ("", None),
    ],
)
def test_one_reading_of_a_recorded_error_as_the_channels_refusal(recorded: str, refused: str | None) -> None:
    assert channel_refused(recorded) == refused
