"""A knowledge-needs report collected just before another replica's erasure (or the person's "stop") committed is
read again before it is uploaded (``report_data.without_gone``): nobody erased or stopped since is named among the
most helpful people. Two ``Database`` objects: the reporting process and the other one. Against both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.actors import Actor
from bot.needs.periods import parse_period
from bot.needs.report import ReportData, collect_report
from bot.needs.report_data import OTHER_PEOPLE, without_gone
from bot.privacy import erase_person
from bot.register import consent
from storage.db import Database
from tests.needs.conftest import NOW, STAFF, Network, add_question

PERIOD = parse_period("2026-Q4")


@pytest.fixture
def other_replica(network: Network) -> Iterator[Database]:
    second = Database(network.database.url)
    yield second
    second.dispose()


def _collected(network: Network) -> ReportData:
    with network.database.session() as s:
        add_question(
            s,
            "Wie weet iets over de leegstandsheffing?",
            asker="UGENT",
            created_at=datetime(2026, 10, 5, 10, tzinfo=UTC),
            answered_at=datetime(2026, 10, 6, 10, tzinfo=UTC),
            answerer=network.experts["lead"],
            themes=["wonen"],
        )
    with network.database.session() as s:
        data = collect_report(s, service=network.service, actor=STAFF, period=PERIOD, now=NOW)
    assert "An Peeters" in [h.name for h in data.experts]
    return data


def _rechecked(network: Network, data: ReportData) -> ReportData:
    with network.database.session() as s:
        return without_gone(s, data, period=PERIOD)


def test_unchanged_it_is_the_same_report(network: Network) -> None:
    data = _collected(network)
    assert _rechecked(network, data) is data


def test_an_erasure_after_collecting_is_not_named(network: Network, other_replica: Database) -> None:
    data = _collected(network)
    with other_replica.session() as s:
        erase_person(session=s, actor=Actor.cli("ops"), slack_user_id="ULEAD", now=NOW)
    assert "An Peeters" not in [h.name for h in _rechecked(network, data).experts]


def test_a_stop_after_collecting_is_not_named(network: Network, other_replica: Database) -> None:
    data = _collected(network)
    lead = network.experts["lead"].id
    with other_replica.session() as s:
        consent.withdraw_listing(s, actor=Actor.slack("ULEAD", is_staff=False), expert_id=lead, now=NOW)
    names = [h.name for h in _rechecked(network, data).experts]
    assert "An Peeters" not in names and OTHER_PEOPLE in names
