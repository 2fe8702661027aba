"""The experts marked away as deactivated, as the ``user_change`` matcher reads them: in one query however many are
away; every marking path tells this process's cache at once; and a reactivation another process's stale cache
acknowledged unseen is found by the job runner, asking Slack once about each recent mark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import event, select

from bot.network import Network
from bot.register import unreachable
from bot.register.marked import DEACTIVATION_REASONS, list_marked_away_ids
from bot.routing.errors import RoutingInputError
from handlers.marked_away import MarkedAwayCache
from handlers.profile_change import worth_a_look
from handlers.reactivations import RECHECK_AFTER, RECHECK_WITHIN, RecentMarksCheck
from handlers.routing import require_reachable
from handlers.services import HomeNetwork
from storage.db import Database
from storage.models import Availability, Expert
from tests.routing.conftest import NOW, World, seed_housing


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def _slack_ids(world: World, ids: dict[str, int]) -> dict[str, str]:
    with world.db.session() as s:
        return {name: str(s.get(Expert, i).slack_user_id) for name, i in ids.items()}  # type: ignore[union-attr]


def _mark(world: World, expert_id: int, reason: str = "deleted", now: datetime = NOW) -> None:
    with world.db.session() as s:
        assert unreachable.mark_unreachable(s, expert_id=expert_id, reason=reason, now=now) is not None


def test_the_marked_away_ids_are_read_in_one_query_however_many_are_away(world: World) -> None:
    ids = seed_housing(world)
    slack = _slack_ids(world, ids)
    names = sorted(ids)
    for name in names[:-1]:
        _mark(world, ids[name], reason="deleted" if name != names[0] else "cannot_dm_bot")
    with world.db.session() as s:  # the last one is away by their own choice, with no mark
        expert = s.get(Expert, ids[names[-1]])
        assert expert is not None
        expert.availability = Availability.AWAY
    with world.db.session() as s, statements(world.db) as seen:
        marked = list_marked_away_ids(s, reasons=DEACTIVATION_REASONS)
    assert marked == {slack[n] for n in names[1:-1]}
    assert len([q for q in seen if q.lstrip().upper().startswith(("SELECT", "WITH"))]) == 1


def test_a_later_change_of_a_marked_expert_ends_the_mark(world: World) -> None:
    ids = seed_housing(world)
    slack = _slack_ids(world, ids)
    _mark(world, ids["Bram"])
    with world.db.session() as s:  # available again (audited), then away without a date by other means
        unreachable.clear_unreachable_mark(s, slack_user_id=slack["Bram"], reasons=DEACTIVATION_REASONS, now=NOW)
    with world.db.session() as s:
        expert = s.get(Expert, ids["Bram"])
        assert expert is not None
        expert.availability = Availability.AWAY
    with world.db.session() as s:  # the latest audit entry is no mark: not matched
        assert list_marked_away_ids(s, reasons=DEACTIVATION_REASONS) == frozenset()


class Slack:
    def __init__(self, deleted: bool | None) -> None:
        self.deleted, self.asked = deleted, []  # None: Slack does not answer now

    def users_info(self, *, user: str) -> dict[str, Any]:
        self.asked.append(user)
        if self.deleted is None:
            data = {"ok": False, "error": "ratelimited"}
            response = SlackResponse(
                client=None, http_verb="POST", api_url="", req_args={}, data=data, headers={}, status_code=429
            )
            raise SlackApiError("ratelimited", response)
        return {"ok": True, "user": {"id": user, "team_id": "T0HOME001", "deleted": self.deleted}}


def _replica(world: World, at: list[datetime]) -> SimpleNamespace:
    home = SimpleNamespace(network=Network(team_id="T0HOME001"))
    return SimpleNamespace(db=world.db, marked_away=MarkedAwayCache(), clock=lambda: at[0], home=home)


def test_a_reactivation_another_replica_acknowledged_unseen_is_found_by_the_job_runner(world: World) -> None:
    ids = seed_housing(world)
    bram = _slack_ids(world, ids)["Bram"]
    at = [NOW]
    replica_b = _replica(world, at)
    matches_b = worth_a_look(replica_b)  # type: ignore[arg-type]
    change = {"event": {"type": "user_change", "user": {"id": bram, "team_id": "T0HOME001", "profile": {}}}}
    assert matches_b(change) is False  # B read the marks (none) for some other member's status change
    _mark(world, ids["Bram"], now=NOW)  # replica A: Bram's DM refused, deactivated: marked away
    # Bram is reactivated seconds later; Slack's user_change reaches B, whose cache is not yet a minute old
    assert matches_b(change) is False  # acknowledged and not recorded: what the job runner makes up for
    slack = Slack(deleted=False)
    check = RecentMarksCheck(replica_b, slack)  # type: ignore[arg-type]
    assert check() == [] and slack.asked == []  # not before every process's cache has read the mark
    at[0] = NOW + RECHECK_AFTER
    assert check() == [bram] and slack.asked == [bram]
    with world.db.session() as s:
        expert = s.get(Expert, ids["Bram"])
        assert expert is not None and expert.availability is Availability.AVAILABLE
    assert bram not in replica_b.marked_away.ids(world.db)
    at[0] += timedelta(seconds=30)
    assert check() == [] and slack.asked == [bram]  # once


@pytest.mark.parametrize("deleted", [True, None], ids=["still-deactivated", "slack-down"])
def test_a_mark_still_deactivated_stays_and_one_slack_cannot_answer_is_asked_again(
    world: World, deleted: bool | None
) -> None:
    ids = seed_housing(world)
    bram = _slack_ids(world, ids)["Bram"]
    at = [NOW + RECHECK_AFTER]
    _mark(world, ids["Bram"], now=NOW)
    slack = Slack(deleted=deleted)
    check = RecentMarksCheck(_replica(world, at), slack)  # type: ignore[arg-type]
    assert check() == []
    at[0] += timedelta(seconds=30)
    assert check() == []
    assert slack.asked == ([bram] if deleted else [bram, bram])  # asked again only when Slack did not answer
    at[0] = NOW + RECHECK_AFTER + RECHECK_WITHIN + timedelta(seconds=1)
    assert check() == [] and slack.asked == ([bram] if deleted else [bram, bram])  # older marks: not asked about
    with world.db.session() as s:
        assert list_marked_away_ids(s, reasons=DEACTIVATION_REASONS) == {bram}


def test_a_deactivated_person_chosen_by_hand_is_in_this_processs_matcher_at_once(world: World) -> None:
    ids = seed_housing(world)
    bram = _slack_ids(world, ids)["Bram"]
    qid = world.ask()
    cache = MarkedAwayCache()
    assert bram not in cache.ids(world.db)  # read once: nobody marked
    home = HomeNetwork()
    home.network = Network(team_id="T0HOME001")
    client = SimpleNamespace(
        users_info=lambda **_: {"ok": True, "user": {"id": bram, "team_id": "T0HOME001", "deleted": True}}
    )
    with world.db.session() as s:
        services = SimpleNamespace(home=home, marked_away=cache, routing_service=lambda: world.service)
        turn = SimpleNamespace(client=client, services=services, session=s, now=NOW)
        with pytest.raises(RoutingInputError) as refused:
            require_reachable(turn, bram, question_id=qid)  # type: ignore[arg-type]
    assert refused.value.code == "ask_deactivated"
    assert bram in cache.ids(world.db)  # within the minute the cache holds: the reactivation is matched
    with world.db.session() as s:
        assert s.scalars(select(Expert.availability).where(Expert.slack_user_id == bram)).one() is Availability.AWAY
