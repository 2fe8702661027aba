"""The weekly "digests held" notice to staff (``digests.subscriptions.tell_digests_refused``): queued once per week
per cause and per call Slack refused (the post, or the look-up before it), however many passes and replicas meet
it; a later pass never tries to queue other content under the week's key (no "key already used by other content"
warning, which means lost work), and two replicas telling it at the same moment queue it once without either
pass failing (review48 finding 2)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.outbox import enqueue
from bot.staff_notices import DigestStopped
from digests.subscriptions import tell_digests_refused
from storage.db import Database
from tests.digests.conftest import NOW, PERIOD
from tests.digests.test_no_permission_everywhere import DUE, due, emulator, notices, passes_for  # noqa: F401
from tests.emulator import SlackEmulator

POST, INFO = "chat.postMessage", "conversations.info"


@pytest.mark.parametrize("method", [POST, INFO])
@pytest.mark.usefixtures("due")
def test_later_passes_of_the_week_find_the_notice_told_and_warn_of_nothing(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each pass meets another channel first (the week's refusals are asked after the others), so a notice naming
    this pass's first channel would be other content under the week's key every pass."""
    emulator.fail_next(method, error="no_permission", times=100)
    passes = passes_for(database, emulator)
    firsts = []
    for minutes in (0, 11, 22):
        mark = emulator.call_count
        with caplog.at_level(logging.WARNING):
            passes.run(NOW + timedelta(minutes=minutes))
        firsts.append(emulator.calls_to(method, since=mark)[0].params.get("channel"))
    assert len(set(firsts)) > 1  # the passes did meet different channels first
    [notice] = notices(database)
    assert (notice.channel_id, notice.method, notice.reason) == (DUE[0], method, "no_permission")  # the week's first
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == []


@pytest.mark.usefixtures("due")
def test_a_post_refused_after_a_look_up_refused_in_the_same_week_is_told_too(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
) -> None:
    """The look-ups refused first (told once the next pass confirms it), then, once they are answered, every post
    refused: another call refused, another fix for the operator (another notice); neither told twice."""
    emulator.fail_next(INFO, error="no_permission", times=100)
    passes = passes_for(database, emulator)
    passes.run(NOW)
    passes.run(NOW + timedelta(minutes=11))
    emulator.clear_faults()
    emulator.fail_next(POST, error="no_permission", times=100)
    for minutes in (22, 33, 44):
        passes.run(NOW + timedelta(minutes=minutes))
    told = sorted((n.method, n.reason, n.held) for n in notices(database))
    assert told == [(POST, "no_permission", True), (INFO, "no_permission", True)]


def test_two_replicas_telling_at_the_same_moment_queue_the_notice_once(database: Database) -> None:
    """Two replicas' passes meet the same refusal (each its own first channel) in overlapping transactions: the
    second waits for the first one's row under the key (PostgreSQL; SQLite's write lock), finds it queued, and its
    pass goes on and commits (no ``IntegrityError`` out of the pass, after all its posts)."""
    kw = {"error": "no_permission", "needed": "", "period": PERIOD, "now": NOW, "method": INFO}
    outcome: dict[str, BaseException | None] = {}

    def second() -> None:
        try:
            with database.session() as b:
                tell_digests_refused(b, channel_id=DUE[1], **kw)
            outcome["second"] = None
        except BaseException as exc:  # reported by the assertion below
            outcome["second"] = exc

    with database.session() as a:  # the first, not committed yet, while the second tells it elsewhere
        tell_digests_refused(a, channel_id=DUE[0], **kw)
        worker = threading.Thread(target=second)
        worker.start()
        blocked = _wait_until_blocked_or_done(database, worker)
    worker.join(60)
    assert not worker.is_alive() and outcome == {"second": None}
    assert blocked or database.dialect != "postgresql"  # the race was run: the second waited for the first's row
    [notice] = notices(database)
    assert notice.channel_id == DUE[0]


def _wait_until_blocked_or_done(database: Database, worker: threading.Thread) -> bool:
    """Until the other session waits for a lock (PostgreSQL tells: a session of this test's database) or has
    finished; whether it was seen waiting. SQLite cannot tell: at once (the second then waits for the write lock)."""
    if database.dialect != "postgresql":
        return False
    for _ in range(400):
        if not worker.is_alive():
            return False
        with database.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        if waiting:
            return True
        worker.join(0.05)
    return False


def legacy_key(*, period: str, error: str, needed: str) -> str:
    """The key a release before the refused call was part of it (``refused_key`` since) queued the notice under."""
    return f"digest_refused:{period}:{error[:80]}:{needed[:80]}"


@pytest.mark.parametrize(("told_method", "method"), [("", POST), ("", INFO), (POST, POST), (INFO, INFO)])
def test_a_notice_queued_under_the_old_key_this_week_is_not_told_again_after_the_upgrade(
    database: Database, told_method: str, method: str
) -> None:
    """Told this week by the release before (its key without the call refused; its notice naming the call, or
    none before the notice named it): the week's next pass after the upgrade finds it and queues nothing."""
    with database.session() as s:
        notice = DigestStopped(channel_id=DUE[0], reason="no_permission", held=True, method=told_method)
        enqueue(s, notice, dedupe_key=legacy_key(period=PERIOD, error="no_permission", needed=""), now=NOW)
    with database.session() as s:
        tell_digests_refused(
            s, error="no_permission", needed="", channel_id=DUE[1], period=PERIOD, now=NOW, method=method
        )
    assert len(notices(database)) == 1


def test_the_old_keys_notice_of_another_call_leaves_this_calls_to_be_told(database: Database) -> None:
    """The old notice named the look-up refused: a post refused later that week is another fix, told once."""
    with database.session() as s:
        notice = DigestStopped(channel_id=DUE[0], reason="no_permission", held=True, method=INFO)
        enqueue(s, notice, dedupe_key=legacy_key(period=PERIOD, error="no_permission", needed=""), now=NOW)
    for _ in range(2):
        with database.session() as s:
            tell_digests_refused(
                s, error="no_permission", needed="", channel_id=DUE[1], period=PERIOD, now=NOW, method=POST
            )
    assert sorted(n.method for n in notices(database)) == [POST, INFO]


def test_an_old_key_of_last_week_does_not_keep_this_weeks_notice(database: Database) -> None:
    with database.session() as s:
        notice = DigestStopped(channel_id=DUE[0], reason="no_permission", held=True)
        enqueue(s, notice, dedupe_key=legacy_key(period="2026-W47", error="no_permission", needed=""), now=NOW)
    with database.session() as s:
        tell_digests_refused(
            s, error="no_permission", needed="", channel_id=DUE[1], period=PERIOD, now=NOW, method=POST
        )
    assert len(notices(database)) == 2


@pytest.mark.parametrize("method", [POST, INFO])
@pytest.mark.usefixtures("due")
def test_two_channels_refused_for_their_own_reasons_in_the_weeks_first_pass_are_no_false_alarm(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    method: str,
) -> None:
    """The week's first pass meets two channels the app may not post in (or read), nothing sent: it holds them (the
    runs stay due) but does not tell staff "Slack refuses every digest post" yet; the next pass asks the third first,
    which goes out, so the two were their channels' own refusals — and staff were never told a false alarm, only
    of each channel refused."""
    for channel in DUE[:2]:
        emulator.fail_next(method, error="no_permission", channel=channel, times=100)
    passes = passes_for(database, emulator)
    passes.run(NOW)
    assert notices(database) == []
    later = passes.run(NOW + timedelta(minutes=11))
    assert later["C0DIGEST3"].status.value == "sent"
    assert {later[c].status.value for c in DUE[:2]} == {"failed"}
    # never "Slack refuses every digest post": each channel's own refusal is told, once this week (in one notice)
    assert [(n.channel_id, *n.others, n.method, n.refused, n.held) for n in notices(database)] == [
        (*DUE[:2], method, True, False)
    ]


@pytest.mark.parametrize("method", [POST, INFO])
@pytest.mark.usefixtures("due")
def test_every_channel_refused_is_told_once_the_next_pass_confirms_it_naming_the_weeks_first(
    database: Database,
    emulator: SlackEmulator,  # noqa: F811
    method: str,
) -> None:
    emulator.fail_next(method, error="no_permission", times=100)
    passes = passes_for(database, emulator)
    passes.run(NOW)
    assert notices(database) == []  # not certain yet: the third channel was not asked
    passes.run(NOW + timedelta(minutes=11))  # the third refused too
    [notice] = notices(database)
    assert (notice.channel_id, notice.method, notice.reason, notice.held) == (DUE[0], method, "no_permission", True)
    passes.run(NOW + timedelta(minutes=22))
    assert len(notices(database)) == 1
