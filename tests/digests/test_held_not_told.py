"""review53 item 2: the 24 h bound on a week's digests held for ``no_permission`` counted from the "digests held"
notice, and that notice was queued only once a pass confirmed the refusal as the whole app's, which a digest that
keeps failing for a passing reason (Slack's ``internal_error``, a build that raises) blocked all week: three
channels refused for their own reasons were then held and asked again every pass all week, staff never told. Now
the bound counts from the week's first refusal held (whether or not staff were told), and a digest this pass tried
that failed for a passing reason does not keep the notice back."""

from __future__ import annotations

from datetime import datetime, timedelta

from digests.refusals import HELD_AT_MOST
from digests.sender import SendStatus
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW, PERIOD
from tests.digests.test_lookup_fails import seed
from tests.digests.test_no_permission_everywhere import emulator, notices, passes_for  # noqa: F401
from tests.digests.test_sending import run_of, subscribe
from tests.emulator import SlackEmulator

POST = "chat.postMessage"
FLAKY, A, B, D = "C0AAFLAKY", "C0BBREF01", "C0BBREF02", "C0BBREF03"
REFUSED = (A, B, D)


def _refusing(database: Database, emulator: SlackEmulator, *channels: str) -> None:  # noqa: F811
    seed(database, *channels)
    for channel in channels:
        emulator.add_channel(channel, name=channel.lower())
    for channel in REFUSED:  # each refused for its own reason (posting there limited to admins)
        if channel in channels:
            emulator.fail_next(POST, error="no_permission", channel=channel, times=100_000)


def _asked(emulator: SlackEmulator, channel: str, since: int = 0) -> int:  # noqa: F811
    return sum(1 for call in emulator.calls_to(POST, since=since) if call.params.get("channel") == channel)


def test_a_digest_failing_for_a_passing_reason_does_not_keep_the_held_notice_back_nor_move_the_bound(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    _refusing(database, emulator, FLAKY, *REFUSED)
    emulator.fail_next(POST, error="internal_error", channel=FLAKY, times=100_000)
    passes = passes_for(database, emulator)
    at = NOW
    while at < NOW + timedelta(hours=1):  # the job's passes
        assert {c: r.status for c, r in passes.run(at).items()} == dict.fromkeys((FLAKY, *REFUSED), SendStatus.RETRY)
        at += timedelta(minutes=11)
    # the flaky digest was tried in every pass and did not go out: no evidence against the refusals; staff told once
    [held] = notices(database)
    assert (held.held, held.reason, held.method) == (True, "no_permission", POST)
    # the bound counts from the first refusal held (NOW), not from that notice (a pass later)
    mark = emulator.call_count
    capped = passes.run(NOW + HELD_AT_MOST + timedelta(minutes=1))
    assert {c: r.status for c, r in capped.items() if c in REFUSED} == dict.fromkeys(REFUSED, SendStatus.FAILED)
    assert capped[FLAKY].status is SendStatus.RETRY and run_of(database, FLAKY).status is DigestRunStatus.CLAIMED
    told = [n for n in notices(database) if n.refused]
    assert [sorted((n.channel_id, *n.others)) for n in told] == [sorted(REFUSED)]
    # failed for the week: only the flaky digest is asked again
    later = passes.run(NOW + HELD_AT_MOST + timedelta(minutes=12))
    assert set(later) == {FLAKY} and len(notices(database)) == 2
    assert [_asked(emulator, c, since=mark) for c in REFUSED] == [1, 1, 1]


def _kept_claimed_elsewhere(database: Database, at: datetime) -> None:
    """Another replica's pass holds FLAKY's run, never refused, fresh at ``at``: it could still go out."""
    with database.session() as s:
        if digest_repo.claim_digest_run(s, channel_id=FLAKY, period=PERIOD, worker_id="other", now=at) is None:
            run = digest_repo.get_digest_run(s, channel_id=FLAKY, period=PERIOD)
            assert run is not None
            assert digest_repo.update_digest_run_claim_renewed(s, run_id=run.id, worker_id="other", now=at)


def test_the_bound_counts_from_the_first_refusal_held_when_staff_could_never_be_told(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """A run of the week claimed elsewhere all day (never refused) keeps the refusal from being confirmed, so no
    "digests held" notice is queued: the two channels refused are still held 24 hours at most."""
    _refusing(database, emulator, FLAKY, A, B)
    passes = passes_for(database, emulator)
    at, statuses = NOW, set()
    while at < NOW + HELD_AT_MOST:
        _kept_claimed_elsewhere(database, at)
        results = passes.run(at)
        statuses |= {r.status for c, r in results.items() if c != FLAKY}
        at += timedelta(hours=1, minutes=7)
    assert statuses == {SendStatus.RETRY} and notices(database) == []
    _kept_claimed_elsewhere(database, at)
    capped = passes.run(at)
    assert {c: capped[c].status for c in (A, B)} == dict.fromkeys((A, B), SendStatus.FAILED)
    [told] = notices(database)
    assert (told.refused, sorted((told.channel_id, *told.others))) == (True, [A, B])


def test_refusals_held_and_ended_earlier_in_the_week_do_not_shorten_a_later_hold(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """The bound counts from the first refusal of the runs still held: two channels failed for their own refusals
    once held a day do not make two channels subscribed later that week fail at their first refusal."""
    _refusing(database, emulator, A, B)
    passes = passes_for(database, emulator)
    assert {r.status for r in passes.run(NOW).values()} == {SendStatus.RETRY}
    capped = passes.run(NOW + HELD_AT_MOST + timedelta(minutes=10))
    assert {r.status for r in capped.values()} == {SendStatus.FAILED}
    later = ("C0CCLATE1", "C0CCLATE2")
    for channel in later:
        subscribe(database, channel)
        emulator.add_channel(channel, name=channel.lower())
        emulator.fail_next(POST, error="no_permission", channel=channel, times=1000)
    held = passes.run(NOW + HELD_AT_MOST + timedelta(hours=2))
    assert {c: r.status for c, r in held.items()} == dict.fromkeys(later, SendStatus.RETRY)
    assert [run_of(database, c).status for c in later] == [DigestRunStatus.CLAIMED] * 2
