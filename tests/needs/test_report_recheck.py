"""A knowledge-needs report collected just before another replica's erasure (or the person's "stop") committed is
read again before it is uploaded or written (``report_data.without_gone``, which ``collect_report_to_share`` — what
the Slack layer and ``wieweet report`` call — runs in a unit of work of its own after collecting): nobody erased or
stopped since is named among the most helpful people. Two ``Database`` objects: the reporting process and the other
one. Against both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.actors import Actor
from bot.cli import main
from bot.i18n import t
from bot.needs import report_data
from bot.needs.periods import parse_period
from bot.needs.report import ReportData, collect_report, collect_report_to_share
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


def _answered_by_the_lead(network: Network) -> None:
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


def _collected(network: Network) -> ReportData:
    _answered_by_the_lead(network)
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


def _erased_once_collected(
    network: Network, monkeypatch: pytest.MonkeyPatch, other_replica: Database
) -> list[ReportData]:
    """Another replica erases An Peeters just after the report's figures were gathered (while the unit of work that
    gathered them is still open); the figures as gathered are kept in the list returned. The needs pass has placed
    the questions before (so gathering writes nothing, and SQLite lets the other replica commit meanwhile)."""
    with network.database.session() as s:
        network.service.update_topics(s, now=NOW)
    gathered: list[ReportData] = []

    def collect_then_erase(*args: Any, **kwargs: Any) -> ReportData:
        gathered.append(collect_report(*args, **kwargs))
        with other_replica.session() as s:
            erase_person(session=s, actor=Actor.cli("ops"), slack_user_id="ULEAD", now=NOW)
        return gathered[-1]

    monkeypatch.setattr(report_data, "collect_report", collect_then_erase)
    return gathered


def test_the_report_to_share_reads_again_after_collecting(
    network: Network, other_replica: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answered_by_the_lead(network)
    gathered = _erased_once_collected(network, monkeypatch, other_replica)
    with network.database.session() as s:  # the caller's unit of work, still open while the erasure commits
        data = collect_report_to_share(
            s, database=network.database, service=network.service, actor=STAFF, period=PERIOD, now=NOW
        )
    assert "An Peeters" in [h.name for h in gathered[0].experts]  # the erasure came after the figures
    assert "An Peeters" not in [h.name for h in data.experts]
    assert OTHER_PEOPLE in [h.name for h in data.experts]


def test_the_report_to_share_unchanged_is_the_collected_one(network: Network) -> None:
    _answered_by_the_lead(network)
    with network.database.session() as s:
        data = collect_report_to_share(
            s, database=network.database, service=network.service, actor=STAFF, period=PERIOD, now=NOW
        )
    assert "An Peeters" in [h.name for h in data.experts]


def test_the_report_command_does_not_write_someone_erased_after_collecting(
    network: Network, other_replica: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _answered_by_the_lead(network)
    gathered = _erased_once_collected(network, monkeypatch, other_replica)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(
        main,
        ["--database", network.database.url, "report", "--period", "2026-Q4", "--now", NOW.isoformat(), str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "An Peeters" in [h.name for h in gathered[0].experts]
    cells = {str(c) for row in load_workbook(out)["Experts"].iter_rows(values_only=True) for c in row}
    assert "An Peeters" not in cells and t("report.others", "nl") in cells
