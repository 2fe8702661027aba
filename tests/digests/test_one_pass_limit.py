"""One digest pass keeps one memory of Slack's rate limit on ``conversations.info``: after a Retry-After on a
question's source channel, the look-up before the post waits too, and the other way round. Slack is never asked
while a database session is open (the source channels are looked up before the digest is collected)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any, cast

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import event
from sqlalchemy.orm import Session

from digests.errors import OperatorRefusalError, PermanentPostError, RetryLaterError
from digests.sender import SendStatus
from handlers.channels import ChannelDirectory
from handlers.digest_post import not_shared_outside
from handlers.digest_sources import LookUpFailure, LookUpLimit, SourceChannels, sort_failed_look_up
from handlers.services import NO_RETRY_AFTER_WAIT
from storage.db import Database
from tests.digests.conftest import IN_WEEK, NOW, add_expert, add_practice, add_question, local, seed_themes
from tests.digests.test_lookup_fails import Passes, Slack, slack_error
from tests.digests.test_sending import subscribe


def seed_answered(database: Database, *channels: str) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk een", url="https://example.org/p/1")
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        for number, channel in enumerate(channels, start=1):
            add_question(
                s,
                f"PUBLIEK {number}",
                created_at=IN_WEEK,
                channel_id=channel,
                answered_at=local(2026, 11, 19, 15),
                answers=[(an, "An Peeters", "U0AN")],
            )
    subscribe(database, "C0DIGEST1")


def test_after_a_rate_limit_on_a_source_channel_the_pass_asks_slack_no_more(database: Database) -> None:
    seed_answered(database, "C1SRC0001", "C1SRC0002")
    slack = Slack(C1SRC0001=slack_error("ratelimited", 429, retry_after=45))
    results = Passes(database, slack).run(NOW)
    # the second source channel and the digest channel's own look-up both wait for Slack's 45 s
    assert slack.info_calls == ["C1SRC0001"]
    assert results["C0DIGEST1"].status is SendStatus.RETRY
    assert "retry after 45 s" in results["C0DIGEST1"].error
    assert slack.posted == []


def test_after_a_rate_limit_before_a_post_the_source_channels_are_not_asked(database: Database) -> None:
    seed_answered(database, "C1SRC0001")
    at = [NOW]
    limit = LookUpLimit(lambda: at[0])

    def shared_outside(channel: str) -> bool:
        raise slack_error("ratelimited", 429, retry_after=30)

    guarded = not_shared_outside(lambda *_: "1.0", shared_outside, limit=limit)
    with pytest.raises(RetryLaterError):
        guarded("C0DIGEST1", [], "x")
    slack = Slack()
    sources = SourceChannels(
        database, cast(WebClient, slack), ChannelDirectory(), now=NOW, clock=lambda: at[0], limit=limit
    )
    assert sources("C1SRC0001") is False  # what the database knows: public
    assert slack.info_calls == []
    with pytest.raises(RetryLaterError, match="retry after 30 s"):  # the poster waits as well, not asking again
        guarded("C0DIGEST2", [], "x")
    at[0] = NOW + timedelta(seconds=30)
    assert sources("C1SRC0002") is False  # Slack asked again once the wait has passed (the database knows nothing)
    assert slack.info_calls == ["C1SRC0002"]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (slack_error("ratelimited", 429, retry_after=12), LookUpFailure.RATE_LIMITED),
        (slack_error("ratelimited", 429), LookUpFailure.RATE_LIMITED),  # no Retry-After: slack_sdk's short wait
        (slack_error("internal_error", 500), LookUpFailure.PASSING),
        (TimeoutError("timed out"), LookUpFailure.PASSING),
        (slack_error("channel_not_found", 200), LookUpFailure.GONE),
        (slack_error("is_archived", 200), LookUpFailure.GONE),
        (slack_error("missing_scope", 200), LookUpFailure.CONFIGURATION),
        (slack_error("invalid_auth", 200), LookUpFailure.CONFIGURATION),
        (slack_error("restricted_action", 200), LookUpFailure.REFUSED),
    ],
)
def test_one_classification_of_a_failed_look_up(exc: Exception, kind: LookUpFailure) -> None:
    failure = sort_failed_look_up(exc)
    assert failure.kind is kind
    said = isinstance(exc, SlackApiError) and "Retry-After" in exc.response.headers
    expected = (12 if said else NO_RETRY_AFTER_WAIT) if kind is LookUpFailure.RATE_LIMITED else None
    assert (failure.wait, failure.said) == (expected, said or kind is not LookUpFailure.RATE_LIMITED)


def test_a_gone_channel_before_a_post_is_permanent() -> None:
    def shared_outside(channel: str) -> bool:
        raise slack_error("channel_not_found", 200)

    with pytest.raises(PermanentPostError, match="channel_not_found"):
        not_shared_outside(lambda *_: "1.0", shared_outside)("C0GONE", [], "x")


@pytest.mark.parametrize("known", [None, False, True])
def test_a_post_the_pass_will_not_ask_is_held_without_a_look_up(known: bool | None) -> None:
    """A post the pass already knows it will not ask (held after two ``no_permission``, or a refusal only the
    operator can fix) is held without asking Slack whether its channel is shared; a channel known to be shared from
    a recent answer still fails the week, as the look-up would have made it."""
    asked: list[str] = []

    def shared_outside(channel: str) -> bool:
        asked.append(channel)
        return False

    def unasked(channel: str) -> None:
        raise OperatorRefusalError("no_permission", asked=False)

    guarded = not_shared_outside(lambda *_: "1.0", shared_outside, known=lambda _: known, unasked=unasked)
    with pytest.raises(PermanentPostError if known else OperatorRefusalError):
        guarded("C0HELD", [], "x")
    assert asked == []


class OpenSessions:
    """Counts the database's open sessions (``Database.session``)."""

    def __init__(self, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open = 0
        plain = database.session

        @contextmanager
        def counted() -> Iterator[Session]:
            self.open += 1
            try:
                with plain() as session:
                    yield session
            finally:
                self.open -= 1

        def session() -> AbstractContextManager[Session]:
            return counted()

        monkeypatch.setattr(database, "session", session)


@pytest.mark.parametrize("private", [False, True])
def test_slack_is_never_asked_while_a_session_is_open(
    database: Database, monkeypatch: pytest.MonkeyPatch, private: bool
) -> None:
    seed_answered(database, "C1SRC0001", "C1SRC0002")
    slack = Slack(C1SRC0002={"id": "C1SRC0002", "is_channel": True, "is_private": private})
    sessions = OpenSessions(database, monkeypatch)
    open_at_call: list[int] = []
    plain = slack.conversations_info

    def info(*, channel: str) -> dict[str, Any]:
        open_at_call.append(sessions.open)
        return plain(channel=channel)

    monkeypatch.setattr(slack, "conversations_info", info)
    results = Passes(database, slack).run(NOW)
    assert results["C0DIGEST1"].status is SendStatus.SENT
    assert sorted(slack.info_calls) == ["C0DIGEST1", "C1SRC0001", "C1SRC0002"]
    assert open_at_call == [0, 0, 0]


def test_a_source_channel_that_turned_private_is_left_out_of_the_posted_digest(database: Database) -> None:
    seed_answered(database, "C1SRC0001", "C1SRC0002")
    posted: list[str] = []

    class Posting(Slack):
        def chat_postMessage(self, **kw: Any) -> dict[str, Any]:
            posted.append(str(kw["text"]) + repr(kw["blocks"]))
            return super().chat_postMessage(**kw)

    slack = Posting(C1SRC0002={"id": "C1SRC0002", "is_channel": True, "is_private": True})
    Passes(database, slack).run(NOW)
    everything = "".join(posted)
    assert "PUBLIEK 1" in everything
    assert "PUBLIEK 2" not in everything


@pytest.mark.parametrize(("unvouched", "counted"), [(("C1SRC0001", "C1SRC0002"), 3), ((), 0)])
def test_the_pass_counts_the_public_questions_it_left_out_itself(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    unvouched: tuple[str, ...],
    counted: int,
) -> None:
    """The warning's count is the pass's own (``SourceChannels.report``): the public questions its digests would have
    quoted from the channels nobody could vouch for, each once however many digests quote it, counted from what the
    collection read, without a query of its own."""
    seed_answered(database, "C1SRC0001", "C1SRC0001", "C1SRC0002", "C1SRC0003")
    subscribe(database, "C0DIGEST2")
    with database.session() as s:
        add_question(s, "PRIVE", created_at=IN_WEEK, channel_id="C1SRC0001", channel_is_private=True)
    reports: list[int] = []
    statements: list[str] = []
    plain = SourceChannels.report

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lower())

    def report(sources: SourceChannels) -> int:
        event.listen(database.engine, "before_cursor_execute", seen)
        try:
            reports.append(plain(sources))
        finally:
            event.remove(database.engine, "before_cursor_execute", seen)
        return reports[-1]

    monkeypatch.setattr(SourceChannels, "report", report)
    slack = Slack(**{channel: slack_error("channel_not_found", 200) for channel in unvouched})
    with caplog.at_level(logging.WARNING):
        results = Passes(database, slack).run(NOW)
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(("C0DIGEST1", "C0DIGEST2"), SendStatus.SENT)
    # the two public questions of C1SRC0001 and the one of C1SRC0002, once though two digests quote them; not the
    # private one, not C1SRC0003's (Slack vouched for it)
    assert reports == [counted]
    assert statements == []  # counted from what the collection read
    warnings = [r.getMessage() for r in caplog.records if r.name == "handlers.digest_sources"]
    if counted:
        assert warnings == [
            "digests: 3 public questions from 2 channels left out: Slack could not be asked and the database "
            "does not know the channel (C1SRC0001, C1SRC0002)"
        ]
    else:
        assert warnings == []
