"""``LocaleCache`` (review 16, finding 4): a Slack user's language is kept as long as the database copy (``LOCALE_TTL``,
7 days), not for the life of the process, and their team and guest status for ``ACCESS_TTL`` (minutes); the caches
are bounded and a user's lock goes once nobody waits on it. Time is passed in (``now``)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from handlers.services import ACCESS_TTL, LOCALE_TTL, LocaleCache
from storage.db import Database

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeClient:
    """``users.info`` answering each user's current Slack profile (``locales``: user id -> locale)."""

    def __init__(self, locales: dict[str, str], *, team: str = "T0HOME") -> None:
        self.locales, self.team, self.calls = locales, team, 0

    def users_info(self, *, user: str, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return {"user": {"id": user, "team_id": self.team, "locale": self.locales.get(user, ""), "real_name": user}}


def language(cache: LocaleCache, database: Database, client: FakeClient, user_id: str, now: datetime) -> str:
    with database.session() as session:
        return cache.language(session=session, client=client, user_id=user_id, now=now)  # type: ignore[arg-type]


def test_a_language_changed_in_slack_is_taken_once_the_copy_expires(database: Database) -> None:
    """Before, the process kept the first language it saw until it was restarted."""
    cache, client = LocaleCache("nl"), FakeClient({"U1": "en-GB"})
    assert language(cache, database, client, "U1", T0) == "en"
    client.locales["U1"] = "nl-BE"  # the user switches Slack to Dutch
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL - timedelta(minutes=1)) == "en"
    assert client.calls == 1  # within the 7 days: from memory, Slack is not asked
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL) == "nl"
    assert client.calls == 2
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL + timedelta(days=1)) == "nl"
    assert client.calls == 2


def test_a_language_read_from_the_database_expires_with_the_database_copy(database: Database) -> None:
    """Another process (or an earlier run) stored the profile 6 days ago: this process keeps it for the day left,
    not for 7 more days."""
    client = FakeClient({"U1": "en-GB"})
    assert language(LocaleCache("nl"), database, client, "U1", T0) == "en"  # stored with fetched_at T0
    cache = LocaleCache("nl")  # a process started later
    client.locales["U1"] = "nl-BE"
    assert language(cache, database, client, "U1", T0 + timedelta(days=6)) == "en"
    assert client.calls == 1
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL + timedelta(hours=1)) == "nl"
    assert client.calls == 2


def test_the_last_known_language_still_serves_messages_shown_without_a_look_up(database: Database) -> None:
    cache = LocaleCache("nl")
    language(cache, database, FakeClient({"U1": "en-GB"}), "U1", T0)
    assert cache.cached("U1") == "en"  # an error message, a refusal: better the old language than the default


def test_a_persons_team_is_asked_again_once_it_expires_and_the_language_is_not(database: Database) -> None:
    """Whom a person belongs to is kept for ``ACCESS_TTL`` (minutes), their language for ``LOCALE_TTL`` (a week)."""
    assert timedelta(minutes=10) == ACCESS_TTL
    cache, client = LocaleCache("nl"), FakeClient({"U1": "en-GB"}, team="T0OLD")
    assert cache.person(client=client, user_id="U1", now=T0).team == "T0OLD"  # type: ignore[arg-type]
    assert language(cache, database, client, "U1", T0) == "en"  # from the profile the team look-up fetched
    client.team, client.locales["U1"] = "T0NEW", "nl-BE"  # moved to another workspace; Slack switched to Dutch
    assert cache.person(client=client, user_id="U1", now=T0 + ACCESS_TTL - timedelta(seconds=1)).team == "T0OLD"  # type: ignore[arg-type]
    assert client.calls == 1  # within the 10 minutes: from memory, Slack is not asked
    assert cache.person(client=client, user_id="U1", now=T0 + ACCESS_TTL).team == "T0NEW"  # type: ignore[arg-type]
    assert client.calls == 2
    assert language(cache, database, client, "U1", T0 + ACCESS_TTL) == "en"  # the language is kept for the week
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL) == "nl"


def test_a_profile_fetched_for_the_team_long_ago_is_not_used_for_the_language(database: Database) -> None:
    cache, client = LocaleCache("nl"), FakeClient({"U1": "en-GB"})
    cache.person(client=client, user_id="U1", now=T0)  # type: ignore[arg-type]
    client.locales["U1"] = "nl-BE"
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL + timedelta(days=1)) == "nl"


def test_the_caches_keep_a_bounded_number_of_people(database: Database) -> None:
    cache, client = LocaleCache("nl", max_people=3), FakeClient({})
    for number in range(10):
        cache.person(client=client, user_id=f"U{number}", now=T0)  # type: ignore[arg-type]
        language(cache, database, client, f"U{number}", T0)
    assert cache.sizes() == {"languages": 3, "people": 3, "profiles": 0, "locks": 0}
    assert cache.cached("U9") == "nl" and cache.cached("U0") is None  # the least recently used went first
    calls = client.calls
    cache.person(client=client, user_id="U9", now=T0)  # type: ignore[arg-type]
    assert client.calls == calls


def test_a_users_lock_is_dropped_once_nobody_waits_on_it() -> None:
    """Two requests of one user at once still ask Slack once (single flight), and no lock stays behind."""
    cache = LocaleCache()
    release = threading.Event()
    started = threading.Event()

    class SlowClient(FakeClient):
        def users_info(self, *, user: str, **kwargs: Any) -> dict[str, Any]:
            started.set()
            assert release.wait(10)
            return super().users_info(user=user, **kwargs)

    client = SlowClient({"U1": "en-GB"})
    first = threading.Thread(target=lambda: cache.person(client=client, user_id="U1", now=T0))  # type: ignore[arg-type]
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: cache.person(client=client, user_id="U1", now=T0))  # type: ignore[arg-type]
    second.start()
    assert cache.sizes()["locks"] == 1
    release.set()
    first.join(10)
    second.join(10)
    assert client.calls == 1
    assert cache.sizes()["locks"] == 0


class SilentClient(FakeClient):
    """``users.info`` that gets no answer at all once ``silent`` is set (a timeout, a refused connection)."""

    silent = False

    def users_info(self, *, user: str, **kwargs: Any) -> dict[str, Any]:
        if self.silent:
            self.calls += 1
            raise TimeoutError("timed out")
        return super().users_info(user=user, **kwargs)


def test_a_slack_that_does_not_answer_gives_the_default_language(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, the OSError of a refused connection came out of ``language``: the request failed because its language
    was unknown. A real client, on a port nobody listens on."""
    client = WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/", retry_handlers=[])
    with caplog.at_level(logging.WARNING, logger="handlers.services"), database.session() as session:
        assert LocaleCache("nl").language(session=session, client=client, user_id="U0NEW0001", now=T0) == "nl"
    assert [r.levelno for r in caplog.records if "users.info failed for U0NEW0001" in r.getMessage()] == [
        logging.WARNING
    ]


def test_a_slack_that_times_out_keeps_the_last_known_language(database: Database) -> None:
    cache, client = LocaleCache("nl"), SilentClient({"U1": "en-GB"})
    assert language(cache, database, client, "U1", T0) == "en"
    client.silent = True
    assert language(cache, database, client, "U1", T0 + LOCALE_TTL + timedelta(hours=1)) == "en"
    assert client.calls == 2  # it was asked again, got no answer, and the English copy still serves
