"""Sharing an answer across a crash: the share click is recorded in the inbox and shared from there — the share
claimed on the search (once per request), then posted with the request's marker — so a kill -9 at any point ends,
after the request is taken over, in exactly one post in the channel. On SQLite and PostgreSQL (the ``database``
fixture), against the Slack emulator, with the real inbox worker in this process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers import inbox
from handlers.answers import SHARE_ANSWER
from handlers.services import Services
from storage import inbox_repo
from storage.db import Database
from storage.models import SearchLog
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BOT_TOKEN, run_pending
from tests.emulator import SlackEmulator

QUERY = "wie weet iets over leegstandsheffing?"


class Killed(BaseException):
    """kill -9 at this point: nothing after it runs (not even the failure bookkeeping)."""


@pytest.fixture
def services(database: Database) -> Iterator[Services]:
    knowledge = KnowledgeBase(database)
    yield Services(settings=Settings(), db=database, knowledge=knowledge)
    knowledge.close()  # the search loaded it: stop it following the (session-wide PostgreSQL) database's commits


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emulator.api_url)


def search_log(database: Database) -> int:
    with database.session() as session:
        log = SearchLog(query=QUERY, user_slack_id=NL_USER, channel_id=CHANNEL)
        session.add(log)
        session.flush()
        return log.id


def click_share(services: Services, search_log_id: int, click: str) -> None:
    assert inbox.record(
        services,
        request_key=f"share:{search_log_id}:{click}",
        kind_name=SHARE_ANSWER,
        payload={"search_log_id": search_log_id, "channel": CHANNEL, "query": QUERY, "lang": "nl"},
        user_id=NL_USER,
    )


def shared_posts(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(CHANNEL) if f"<@{NL_USER}>" in str(m.get("text"))]


def posted_channel(database: Database, search_log_id: int) -> str | None:
    with database.session() as session:
        log = session.get(SearchLog, search_log_id)
        assert log is not None
        return log.posted_channel_id


def all_done(database: Database) -> bool:
    with database.inbox_session() as session:
        return all(r.done_at is not None for r in inbox_repo.list_inbox_requests(session, kind=SHARE_ANSWER))


KILL_POINTS = {
    "before the claim": "bot.knowledge.claim_search_share",
    "after the claim, before the post": "slack_sdk.WebClient.chat_postMessage",
    "after the post, before it is noted": "handlers.inbox.core.save_result",
    "after it is noted, before done": "handlers.inbox.core.mark_done",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_share_killed_at_any_point_is_posted_exactly_once(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient, point: str
) -> None:
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    with mock.patch(KILL_POINTS[point], side_effect=Killed), pytest.raises(Killed):
        run_pending(services, client, "hostA:1:aaa")
    before = len(shared_posts(emulator))
    assert before == (1 if point.startswith("after the post") or point.startswith("after it is noted") else 0)

    assert run_pending(services, client, "hostB:2:bbb", after=inbox.STALE_AFTER + timedelta(seconds=1)) == 1
    [post] = shared_posts(emulator)  # exactly one: posted now, or found by its marker and not posted again
    assert QUERY.removeprefix("wie weet ").split()[-1].rstrip("?") in str(post.get("text"))
    assert posted_channel(database, search_log_id) == CHANNEL and all_done(database)
    assert run_pending(services, client, "hostC:3:ccc", after=timedelta(hours=1)) == 0


def test_a_double_click_shares_once(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient
) -> None:
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    click_share(services, search_log_id, "T2")  # the second click: another trigger, another request
    assert run_pending(services, client, "hostA:1:aaa") == 2
    assert len(shared_posts(emulator)) == 1 and all_done(database)


def test_where_the_bot_may_not_post_the_share_is_given_back(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient
) -> None:
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    emulator.fail_next("chat.postMessage", error="not_in_channel")
    with mock.patch("handlers.inbox_job.InboxJob.respond_once") as told:
        run_pending(services, client, "hostA:1:aaa")
    assert shared_posts(emulator) == [] and posted_channel(database, search_log_id) is None  # may be shared later
    assert told.call_args.kwargs["step"] == "why"
    click_share(services, search_log_id, "T2")  # invited meanwhile: the next click shares it
    run_pending(services, client, "hostA:1:aaa")
    assert len(shared_posts(emulator)) == 1


def test_a_share_given_up_after_its_last_attempt_is_given_back(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient
) -> None:
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    emulator.fail_next("chat.postMessage", error="internal_error", times=inbox.MAX_ATTEMPTS)  # Slack down throughout
    with mock.patch("handlers.inbox_job.InboxJob.respond_once") as told:
        for attempt in range(1, inbox.MAX_ATTEMPTS + 1):  # each retry once its backoff has passed
            assert run_pending(services, client, "hostA:1:aaa", after=attempt * timedelta(minutes=2)) == 1
    assert told.call_count == 1  # told once, when given up
    with database.inbox_session() as session:
        [request] = inbox_repo.list_inbox_requests(session, kind=SHARE_ANSWER)
        assert request.failed_at is not None and request.attempts == inbox.MAX_ATTEMPTS
    # nothing was posted: the answer is private again (no channel member may act on it) …
    assert shared_posts(emulator) == [] and posted_channel(database, search_log_id) is None
    click_share(services, search_log_id, "T2")  # … and the next click shares it
    assert run_pending(services, client, "hostA:1:aaa", after=timedelta(hours=1)) == 1
    assert len(shared_posts(emulator)) == 1 and posted_channel(database, search_log_id) == CHANNEL


def test_a_share_given_up_after_another_click_shared_leaves_that_share(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient
) -> None:
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    assert run_pending(services, client, "hostA:1:aaa") == 1 and len(shared_posts(emulator)) == 1
    click_share(services, search_log_id, "T2")  # a second click that fails before it gets to the share
    with (
        mock.patch("bot.knowledge.claim_search_share", side_effect=RuntimeError("database gone")),
        mock.patch("handlers.inbox_job.InboxJob.respond_once"),
    ):
        for attempt in range(1, inbox.MAX_ATTEMPTS + 1):
            assert run_pending(services, client, "hostA:1:aaa", after=attempt * timedelta(minutes=2)) == 1
    assert posted_channel(database, search_log_id) == CHANNEL  # the first click's share stands


def request_row(database: Database) -> Any:
    with database.inbox_session() as session:
        [request] = inbox_repo.list_inbox_requests(session, kind=SHARE_ANSWER)
        session.expunge(request)
        return request


def test_a_share_given_up_while_slack_cannot_be_read_either_is_given_back_without_looking(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient
) -> None:
    """Slack refuses the post (``internal_error``: no ts came back) and the marker look-up fails on every retry:
    the share is still given back when the request is given up — the post is known not made."""
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    emulator.fail_next("chat.postMessage", error="internal_error", times=inbox.MAX_ATTEMPTS)
    emulator.fail_next("conversations.history", error="internal_error", times=10 * inbox.MAX_ATTEMPTS)
    with mock.patch("handlers.inbox_job.InboxJob.respond_once") as told:
        for attempt in range(1, inbox.MAX_ATTEMPTS + 1):
            assert run_pending(services, client, "hostA:1:aaa", after=attempt * timedelta(minutes=2)) == 1
    assert told.call_count == 1
    assert request_row(database).failed_at is not None
    assert shared_posts(emulator) == [] and posted_channel(database, search_log_id) is None
    emulator.clear_faults()  # Slack is back
    click_share(services, search_log_id, "T2")
    with mock.patch("handlers.inbox_job.InboxJob.delete_original") as deleted:
        assert run_pending(services, client, "hostA:1:aaa", after=timedelta(hours=1)) == 1
    assert len(shared_posts(emulator)) == 1 and deleted.call_count == 1  # shared, not "already shared"


def test_the_undo_of_a_given_up_share_survives_a_crash_and_a_failure(
    database: Database, emulator: SlackEmulator, services: Services, client: WebClient
) -> None:
    """kill -9 right after the last attempt was given up, before the share was given back, then the giving back
    failing once more: it is run again (by another worker) until it succeeds, and the request ends given up."""
    search_log_id = search_log(database)
    click_share(services, search_log_id, "T1")
    emulator.fail_next("chat.postMessage", error="internal_error", times=inbox.MAX_ATTEMPTS)
    with mock.patch("handlers.inbox_job.InboxJob.respond_once"):
        for attempt in range(1, inbox.MAX_ATTEMPTS):
            assert run_pending(services, client, "hostA:1:aaa", after=attempt * timedelta(minutes=2)) == 1
        with mock.patch("bot.knowledge.release_search_share", side_effect=Killed), pytest.raises(Killed):
            run_pending(services, client, "hostA:1:aaa", after=inbox.MAX_ATTEMPTS * timedelta(minutes=2))
        assert posted_channel(database, search_log_id) == CHANNEL and request_row(database).failed_at is None
        later = timedelta(hours=1)
        with mock.patch("bot.knowledge.release_search_share", side_effect=RuntimeError("database gone")):
            assert run_pending(services, client, "hostB:2:bbb", after=later) == 1  # taken over: the undo fails
        assert posted_channel(database, search_log_id) == CHANNEL and request_row(database).failed_at is None
        assert run_pending(services, client, "hostB:2:bbb", after=later + timedelta(minutes=10)) == 1
    assert posted_channel(database, search_log_id) is None and request_row(database).failed_at is not None
    assert shared_posts(emulator) == []
    assert run_pending(services, client, "hostC:3:ccc", after=timedelta(hours=2)) == 0  # nothing left to run
