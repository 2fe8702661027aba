"""After an erasure the Home tabs follow: the erased person's says they were forgotten (built from nothing stored:
no Slack profile looked up and cached again), every staff member's is published again. An erasure on the command
line queues that for the running bot (a request in its inbox); the "forget me" button does it once committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bot import inbox as core
from bot.cli import main
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.privacy import ERASED_HOMES_KIND
from handlers.inbox import InboxWorker
from handlers.services import Services
from storage.db import Database
from storage.models import InboxRequest, SlackUser
from tests.factories import add_expert

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LIEVE = "U0LIEVE01"
STAFF = "U0STAFF01"


class FakeSlack:
    """What publishing Home tabs calls."""

    def __init__(self) -> None:
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.looked_up: list[str] = []

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.looked_up.append(kwargs["user"])
        return {"user": {"id": kwargs["user"], "locale": "nl-BE", "real_name": "Iemand"}}

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        view = kwargs["view"]
        self.published.setdefault(kwargs["user_id"], []).append(view if isinstance(view, dict) else view.to_dict())
        return {"ok": True}


def _pending(database: Database) -> list[InboxRequest]:
    now = datetime.now(UTC)
    return core.claim_requests(database, now=now, claim="test/1", limit=10, stale_before=now - timedelta(minutes=2))


def test_a_cli_erasure_queues_the_home_tabs_for_the_running_bot(database: Database, database_url: str) -> None:
    with database.session() as s:
        add_expert(s, "Lieve Peeters", created_at=NOW, slack=LIEVE)
    result = CliRunner().invoke(main, ["--database", database_url, "privacy", "erase", "--slack-id", LIEVE, "--yes"])
    assert result.exit_code == 0, result.output
    [request] = _pending(database)
    assert request.kind == ERASED_HOMES_KIND and request.user_slack_id is None and LIEVE not in request.request_key
    services = Services(
        settings=Settings(staff_user_ids=frozenset({STAFF})), db=database, knowledge=KnowledgeBase(database)
    )
    slack = FakeSlack()
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(request, claim="test/1")
    finally:
        worker.pool.shutdown()
    [forgotten] = slack.published[LIEVE]
    assert "gegevens gewist" in json.dumps(forgotten, ensure_ascii=False) and "Lieve" not in json.dumps(forgotten)
    assert len(slack.published[STAFF]) == 1  # the staff's Home, published again from the database
    assert LIEVE not in slack.looked_up  # her Slack profile was not fetched (and cached) again
    with database.session() as s:
        assert s.get(SlackUser, LIEVE) is None
    with database.inbox_session() as s:  # done: the request no longer names her
        rows = list(s.scalars(select(InboxRequest)))
        assert [r.done_at is not None for r in rows] == [True]
        assert LIEVE not in json.dumps([r.payload for r in rows]) + json.dumps([r.result for r in rows])


def test_the_running_bot_forgets_what_it_kept_in_memory_of_an_erased_person(
    database: Database, database_url: str
) -> None:
    """Her language, team and Slack profile (real name...) were cached for up to a week: gone with the erasure."""
    with database.session() as s:
        add_expert(s, "Lieve Peeters", created_at=NOW, slack=LIEVE)
    services = Services(
        settings=Settings(staff_user_ids=frozenset({STAFF})), db=database, knowledge=KnowledgeBase(database)
    )
    slack = FakeSlack()
    now = datetime.now(UTC)
    services.locales.person(client=slack, user_id=LIEVE, now=now)  # type: ignore[arg-type]  # the network check
    with database.session() as s:
        assert services.locales.language(session=s, client=slack, user_id=LIEVE, now=now) == "nl"  # type: ignore[arg-type]
    assert services.locales.cached(LIEVE) == "nl" and slack.looked_up == [LIEVE]
    result = CliRunner().invoke(main, ["--database", database_url, "privacy", "erase", "--slack-id", LIEVE, "--yes"])
    assert result.exit_code == 0, result.output
    [request] = _pending(database)
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(request, claim="test/1")
    finally:
        worker.pool.shutdown()
    assert services.locales.cached(LIEVE) is None
    services.locales.person(client=slack, user_id=LIEVE, now=now)  # type: ignore[arg-type]
    assert slack.looked_up.count(LIEVE) == 2  # asked Slack again: nothing of hers was kept
