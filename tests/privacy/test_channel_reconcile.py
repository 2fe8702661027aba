"""The daily channel-privacy reconcile: channels that turned private (or were shared with another organisation)
while the bot was down are found by asking Slack, and made private the same way the events do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select

from bot import jobs
from bot.config import Settings
from bot.day_claims import DAY_RUN_ATTEMPTS, DAY_RUN_STALE, HELD, DayRun, claim_day_run
from bot.jobs import CHANNEL_PRIVACY_KIND, JobRunner
from bot.knowledge import KnowledgeBase
from bot.privacy import NOT_FOUND, LookupRefused, MarkedHook, reconcile_channel_privacy
from bot.privacy.channels import NOT_FOUND_DAYS
from bot.routing import RoutingService
from handlers.channel_reconcile import SlackChannelLookup
from handlers.channels import ChannelDirectory
from handlers.outbox import OutboxSender, render_message
from handlers.services import Services
from storage import question_repo
from storage.db import Database
from storage.models import KnowledgeGap, OutboxKind, OutboxMessage, ProcessedEvent, Question
from tests.clock import Clock
from tests.factories import add_gap, add_question

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


class Lookup:
    """A fake ``conversations.info``: True private, False public, None Slack could not say, ``NOT_FOUND``."""

    def __init__(self, answers: dict[str, bool | str | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, channel_id: str) -> Any:
        self.asked.append(channel_id)
        return self.answers.get(channel_id)


def seed(database: Database) -> None:
    with database.session() as s:
        for channel in ("C0PRIV0001", "C0PUB00001", "C0UNKN0001"):
            add_question(s, f"Vraag in {channel}", created_at=NOW, themes=(), channel_id=channel)
            add_gap(s, f"Leemte in {channel}", created_at=NOW, themes=(), channel_id=channel)
        add_gap(s, "Alleen een leemte", created_at=NOW, themes=(), channel_id="C0GAP00001")
        add_question(s, "Al privé", created_at=NOW, themes=(), channel_id="C0DONE0001", channel_is_private=True)
        add_question(s, "In een DM", created_at=NOW, themes=(), channel_id=None, channel_is_private=True)


def private_by_channel(database: Database) -> dict[str, set[bool]]:
    seen: dict[str, set[bool]] = {}
    with database.session() as s:
        for channel, private in [
            *s.execute(select(Question.channel_id, Question.channel_is_private)),
            *s.execute(select(KnowledgeGap.channel_id, KnowledgeGap.channel_is_private)),
        ]:
            seen.setdefault(str(channel), set()).add(bool(private))
    return seen


def test_channels_with_public_content_are_listed_once(database: Database) -> None:
    seed(database)
    with database.session() as s:
        channels = question_repo.list_channels_with_public_content(s)
    assert channels == ["C0GAP00001", "C0PRIV0001", "C0PUB00001", "C0UNKN0001"]


def test_only_channels_slack_says_are_private_are_marked(database: Database) -> None:
    seed(database)
    lookup = Lookup({"C0PRIV0001": True, "C0PUB00001": False, "C0GAP00001": True, "C0UNKN0001": None})
    told: list[tuple[list[int], list[int]]] = []
    result = reconcile_channel_privacy(database, lookup=lookup, now=NOW, after_marked=lambda q, g: told.append((q, g)))
    with database.session() as s:
        marked_questions = set(s.scalars(select(Question.id).where(Question.channel_id == "C0PRIV0001")))
    assert [set(q) for q, _ in told] == [set(), marked_questions]  # C0GAP00001 first (a gap only), then C0PRIV0001
    assert [len(g) for _, g in told] == [1, 1]  # told once committed: proposals quoting them are updated
    assert sorted(lookup.asked) == ["C0GAP00001", "C0PRIV0001", "C0PUB00001", "C0UNKN0001"]  # not the private ones
    assert (result.checked, result.private_channels, result.marked, result.unknown) == (4, 2, 3, 1)
    seen = private_by_channel(database)
    assert seen["C0PRIV0001"] == {True} and seen["C0GAP00001"] == {True}
    assert seen["C0PUB00001"] == {False}
    assert seen["C0UNKN0001"] == {False}  # Slack could not say: left as it is, asked again tomorrow
    assert seen["C0DONE0001"] == {True}


def test_a_channel_not_found_is_private_only_once_that_repeats_on_several_days(database: Database) -> None:
    seed(database)
    lookup = Lookup({"C0PRIV0001": NOT_FOUND, "C0PUB00001": NOT_FOUND})
    for day in range(NOT_FOUND_DAYS - 1):  # e.g. a channel shared from another workspace, or a passing glitch
        result = reconcile_channel_privacy(database, lookup=lookup, now=NOW + timedelta(days=day))
        assert (result.private_channels, result.marked, result.unknown) == (0, 0, 4)
        again = reconcile_channel_privacy(database, lookup=lookup, now=NOW + timedelta(days=day, hours=5))
        assert again.marked == 0  # one day counts once, however often it is asked
    assert private_by_channel(database)["C0PRIV0001"] == {False}
    lookup.answers["C0PUB00001"] = False  # shown again: still public, and never counted private
    result = reconcile_channel_privacy(database, lookup=lookup, now=NOW + timedelta(days=NOT_FOUND_DAYS - 1))
    assert (result.private_channels, result.marked) == (1, 2)
    seen = private_by_channel(database)
    assert seen["C0PRIV0001"] == {True} and seen["C0PUB00001"] == {False}


def test_a_failing_post_update_does_not_stop_the_run(database: Database) -> None:
    seed(database)
    calls: list[list[int]] = []

    def after_marked(question_ids: list[int], gap_ids: list[int]) -> None:
        calls.append(gap_ids)
        raise ConnectionError("chat.update: connection reset")  # what a WebClient raises on a network failure

    clock = Clock(NOW)
    jobs = runner(database, clock, Lookup({"C0PRIV0001": True, "C0GAP00001": True}), after_marked)
    result = jobs.reconcile_channel_privacy()
    assert result is not None and result.private_channels == 2 and len(result.unrefreshed) == 2
    seen = private_by_channel(database)
    assert seen["C0PRIV0001"] == {True} and seen["C0GAP00001"] == {True}  # the first failure stopped nothing
    # done today; what quotes them was recorded in the database with the change (tests/needs/test_refresh_durable)
    assert jobs.reconcile_channel_privacy() is None and len(calls) == 2


def runner(
    database: Database, clock: Clock[datetime], lookup: Lookup | None, after_marked: MarkedHook | None = None
) -> JobRunner:
    kb = KnowledgeBase(database)
    services = Services(settings=Settings(), db=database, knowledge=kb, clock=clock)
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
    return JobRunner(
        services,
        routing=RoutingService(knowledge=kb),
        sender=OutboxSender(services, client),
        worker_id="test",
        channel_privacy=lookup,
        after_channel_private=after_marked,
    )


def test_the_reconcile_runs_once_a_day_across_processes(database: Database) -> None:
    seed(database)
    lookup = Lookup({"C0PRIV0001": True})
    clock = Clock(NOW)
    first, second = runner(database, clock, lookup), runner(database, clock, lookup)
    result = first.reconcile_channel_privacy()
    assert result is not None and result.marked == 2
    assert first.reconcile_channel_privacy() is None  # this process: done today
    assert second.reconcile_channel_privacy() is None  # another process: the day is claimed in the database
    assert len(lookup.asked) == 4
    with database.session() as s:
        assert f"channel_privacy:{NOW.date().isoformat()}" in set(s.scalars(select(ProcessedEvent.event_key)))
    lookup.answers["C0UNKN0001"] = True  # turned private since
    clock.now = NOW + timedelta(days=1)
    result = second.reconcile_channel_privacy()
    assert result is not None and result.marked == 2 and result.checked == 3
    assert private_by_channel(database)["C0UNKN0001"] == {True}


def test_a_run_that_stopped_halfway_is_taken_over_later_and_never_by_two_processes_at_once(
    database: Database,
) -> None:
    seed(database)
    answers: dict[str, bool | str | None] = {"C0PRIV0001": True, "C0UNKN0001": True}

    class Crash(Lookup):
        def __call__(self, channel_id: str) -> Any:
            if len(self.asked) == 1:
                raise SystemExit("the process is stopped")  # a crash after the first channel
            return super().__call__(channel_id)

    clock = Clock(NOW)
    first = runner(database, clock, Crash(answers))
    with pytest.raises(SystemExit):
        first.reconcile_channel_privacy()
    other = Lookup(answers)
    second = runner(database, clock, other)
    clock.now = NOW + DAY_RUN_STALE - timedelta(minutes=1)
    assert second.reconcile_channel_privacy() is None and other.asked == []  # still held: not run twice at once
    clock.now = NOW + DAY_RUN_STALE + timedelta(minutes=1)  # the same day: the claim was never renewed nor done
    result = second.reconcile_channel_privacy()
    assert result is not None and result.checked == 4 and len(other.asked) == 4
    assert private_by_channel(database)["C0UNKN0001"] == {True}
    third = runner(database, clock, Lookup(answers))
    clock.now += DAY_RUN_STALE * 2
    assert third.reconcile_channel_privacy() is None  # done today


def test_a_long_run_renews_its_claim_and_is_not_taken_over(database: Database) -> None:
    seed(database)
    clock = Clock(NOW)

    class Slow(Lookup):
        def __call__(self, channel_id: str) -> Any:
            clock.now += DAY_RUN_STALE - timedelta(minutes=2)  # a long paced run
            if len(self.asked) == 2:  # meanwhile another process's pass
                assert runner(database, clock, Lookup({})).reconcile_channel_privacy() is None
            return super().__call__(channel_id)

    slow = Slow({"C0PRIV0001": True})
    result = runner(database, clock, slow).reconcile_channel_privacy()
    assert result is not None and result.checked == 4 and len(slow.asked) == 4


def test_a_run_crossing_midnight_is_not_joined_by_the_next_days_run(database: Database) -> None:
    """The claim is keyed by the day a run starts: yesterday's run still going holds today's too, until it is done
    or stale."""
    clock = Clock(datetime(2026, 12, 5, 23, 58, tzinfo=UTC))
    first = claim_day_run(database, kind=CHANNEL_PRIVACY_KIND, clock=clock)
    assert isinstance(first, DayRun)
    clock.now += timedelta(minutes=4)  # 00:02, the first run still going (renewing)
    assert first.keep()
    assert claim_day_run(database, kind=CHANNEL_PRIVACY_KIND, clock=clock) == HELD  # another process's pass
    clock.now += DAY_RUN_STALE + timedelta(minutes=1)  # yesterday's run stopped without a word: stale
    stale = claim_day_run(database, kind=CHANNEL_PRIVACY_KIND, clock=clock)
    assert isinstance(stale, DayRun) and stale.key.endswith("2026-12-06")
    clock.now = datetime(2026, 12, 7, 0, 1, tzinfo=UTC)
    stale.done()
    assert isinstance(claim_day_run(database, kind=CHANNEL_PRIVACY_KIND, clock=clock), DayRun)  # yesterday's done


def test_a_lasting_refusal_gives_the_day_up_after_a_few_attempts(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A revoked token or a missing scope fails every attempt: the day is marked done after ``DAY_RUN_ATTEMPTS``
    (counted over all processes), logged at ERROR once, and tried again the next day."""
    seed(database)

    class Refused(Lookup):
        def __call__(self, channel_id: str) -> Any:
            self.asked.append(channel_id)
            raise LookupRefused("conversations.info: invalid_auth")

    clock, refused = Clock(NOW), Refused({})
    processes = [runner(database, clock, refused), runner(database, clock, refused)]
    with caplog.at_level("WARNING", logger="wieweet.jobs"):
        for attempt in range(DAY_RUN_ATTEMPTS + 2):
            assert processes[attempt % 2].reconcile_channel_privacy() is None
            clock.now += DAY_RUN_STALE + timedelta(minutes=1)
    assert len(refused.asked) == DAY_RUN_ATTEMPTS  # then not again that day, in either process
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and f"{DAY_RUN_ATTEMPTS} attempts failed" in errors[0].getMessage()
    # staff are told once that day, through the staff-notice path (the triage channel, else each one by DM)
    (notice,) = _staff_notices(database)
    assert notice.recipient_slack_id is None and notice.dedupe_key == f"channel_check_failed:{NOW.date()}"
    shown = {lang: render_message(notice.kind, notice.payload, lang).text for lang in ("nl", "en")}
    assert shown["nl"] != shown["en"] and all("invalid_auth" in text for text in shown.values())
    clock.now = NOW + timedelta(days=1)
    assert processes[0].reconcile_channel_privacy() is None and len(refused.asked) == DAY_RUN_ATTEMPTS + 1
    assert len(_staff_notices(database)) == 1  # one refusal the next day: nobody told (yet)


def test_the_staff_notice_is_queued_before_the_day_is_given_up(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last refused attempt queues the staff notice, then marks the day done: a notice that could not be queued
    (a database error) leaves the day to a later pass, which queues it (the day's dedupe key: once)."""
    seed(database)

    class Refused(Lookup):
        def __call__(self, channel_id: str) -> Any:
            self.asked.append(channel_id)
            raise LookupRefused("conversations.info: invalid_auth")

    clock, refused = Clock(NOW), Refused({})
    process = runner(database, clock, refused)
    queue = jobs.enqueue
    failing = [True]

    def enqueue_once_failing(*args: Any, **kwargs: Any) -> Any:
        if failing.pop() if failing else False:
            raise OSError("the database went away")
        return queue(*args, **kwargs)

    monkeypatch.setattr(jobs, "enqueue", enqueue_once_failing)
    for _ in range(DAY_RUN_ATTEMPTS - 1):
        assert process.reconcile_channel_privacy() is None
        clock.now += DAY_RUN_STALE + timedelta(minutes=1)
    with pytest.raises(OSError):
        process.reconcile_channel_privacy()
    assert _staff_notices(database) == []
    clock.now += DAY_RUN_STALE + timedelta(minutes=1)
    assert process.reconcile_channel_privacy() is None  # the day was not given up without its notice
    assert len(_staff_notices(database)) == 1
    clock.now += DAY_RUN_STALE + timedelta(minutes=1)
    assert process.reconcile_channel_privacy() is None
    assert len(_staff_notices(database)) == 1


def _staff_notices(database: Database) -> list[OutboxMessage]:
    with database.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CHANNEL_CHECK_FAILED)))


def test_an_outage_is_not_counted_as_a_lasting_refusal(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    """A network failure or an outage at run time (here longer than ``DAY_RUN_ATTEMPTS`` passes) does not give the day
    up: each later pass takes the stale day over and asks again, and once the network is back the day is checked."""
    seed(database)

    class Down(Lookup):
        def __call__(self, channel_id: str) -> Any:
            self.asked.append(channel_id)
            if len(self.asked) <= DAY_RUN_ATTEMPTS + 1:
                raise OSError("network is unreachable")
            return super().__call__(channel_id)

    clock, down = Clock(NOW), Down({})
    with caplog.at_level("WARNING", logger="wieweet.jobs"):
        for _ in range(DAY_RUN_ATTEMPTS + 1):
            assert runner(database, clock, down).reconcile_channel_privacy() is None
            clock.now += DAY_RUN_STALE + timedelta(minutes=1)
        result = runner(database, clock, down).reconcile_channel_privacy()
    assert result is not None and result.checked > 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_without_a_lookup_nothing_is_reconciled(database: Database) -> None:
    assert runner(database, Clock(NOW), None).reconcile_channel_privacy() is None


# --- asking Slack ------------------------------------------------------------------------------------------------


def slack_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/conversations.info",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError(error, response)


class FakeSlack:
    def __init__(self, channels: dict[str, dict[str, Any]], fail: dict[str, list[SlackApiError]]) -> None:
        self.channels = channels
        self.fail = fail
        self.calls: list[str] = []

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        self.calls.append(channel)
        if self.fail.get(channel):
            raise self.fail[channel].pop(0)
        if channel not in self.channels:
            raise slack_error("channel_not_found")
        return {"ok": True, "channel": self.channels[channel]}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def lookup_with(slack: FakeSlack, sleeps: Sleeps) -> SlackChannelLookup:
    return SlackChannelLookup(slack, ChannelDirectory(), sleep=sleeps, pace_seconds=1.5)  # type: ignore[arg-type]


def test_slack_says_what_is_private_now() -> None:
    slack = FakeSlack(
        {
            "C0PUB00001": {"id": "C0PUB00001", "is_channel": True},
            "C0PRIV0001": {"id": "C0PRIV0001", "is_channel": True, "is_private": True},
            "C0EXT00001": {"id": "C0EXT00001", "is_channel": True, "is_ext_shared": True, "is_shared": True},
            "C0ORG00001": {"id": "C0ORG00001", "is_channel": True, "is_shared": True, "is_org_shared": True},
            "C0ARCH0001": {"id": "C0ARCH0001", "is_channel": True, "is_archived": True, "is_private": True},
            "C0ARCH0002": {"id": "C0ARCH0002", "is_channel": True, "is_archived": True},
        },
        {},
    )
    sleeps = Sleeps()
    lookup = lookup_with(slack, sleeps)
    answers = {c: lookup(c) for c in [*slack.channels, "C0GONE0001"]}
    assert answers == {
        "C0PUB00001": False,
        "C0PRIV0001": True,
        "C0EXT00001": True,  # shared with another organisation
        "C0ORG00001": False,  # shared within the organisation only
        "C0ARCH0001": True,
        "C0ARCH0002": False,  # archived but public: still public
        "C0GONE0001": NOT_FOUND,  # gone, private without the bot, or another workspace's: private if it repeats
    }
    assert sleeps.waits == [1.5] * 6  # paced: a pause before every call but the first


def test_a_rate_limit_is_waited_out_and_other_failures_are_left_for_tomorrow() -> None:
    limited = slack_error("ratelimited", 429, {"Retry-After": "7"})
    slack = FakeSlack(
        {
            "C0RATE0001": {"id": "C0RATE0001", "is_private": True},
            "C0DOWN0001": {"id": "C0DOWN0001", "is_private": True},
        },
        {"C0RATE0001": [limited], "C0DOWN0001": [slack_error("internal_error", 500)] * 5},
    )
    sleeps = Sleeps()
    lookup = lookup_with(slack, sleeps)
    assert lookup("C0RATE0001") is True
    assert sleeps.waits == [7]  # what Slack asked, then asked again
    assert lookup("C0DOWN0001") is None  # never counted as public: not marked today, asked again tomorrow
    with pytest.raises(LookupRefused):  # a bad token or a missing scope: the day's run stops (and is logged)
        lookup_with(FakeSlack({}, {"C0AUTH0001": [slack_error("invalid_auth")]}), Sleeps())("C0AUTH0001")
