"""Knowledge-need days are the network's local days, not UTC's: a work session's practice is titled with the day
it was marked done in the knowledge base's zone (``Settings.timezone``), and the report gives the local day a
practice was added, in the period's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.needs.periods import parse_period
from bot.needs.report import collect_report, render_html
from bot.register import submissions
from storage.models import Practice, RecordStatus
from tests.needs.conftest import NOW, STAFF, Network

JUST_AFTER_MIDNIGHT = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # 26 November, 00:30 in Brussels
NEW_YEAR_IN_AUCKLAND = datetime(2026, 12, 31, 11, 30, tzinfo=UTC)  # 1 January 2027, 00:30 in Auckland (UTC+13)


def test_a_session_practice_done_just_after_midnight_has_the_local_day_in_its_title(network: Network) -> None:
    assert str(network.knowledge.timezone) == "Europe/Brussels"
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    with network.database.session() as session:
        done = network.service.complete_proposal(
            session, actor=STAFF, proposal_id=view.id, notes_url="https://example.org/verslag", now=JUST_AFTER_MIDNIGHT
        )
    with network.database.session() as session:
        practice = session.get(Practice, done.practice_id)
        assert practice is not None
        title = practice.title
    assert title == submissions.work_session_title(view.id, date(2026, 11, 26), view.label, "nl")


def test_the_report_gives_the_local_day_a_practice_was_added(network: Network) -> None:
    with network.database.session() as session:
        practice = session.scalars(select(Practice)).first()
        assert practice is not None
        practice.created_at = datetime(2026, 11, 10, 23, 30, tzinfo=UTC)  # 11 November, 00:30 in Brussels
    with network.database.session() as session:
        data = collect_report(session, service=network.service, actor=STAFF, period=parse_period("2026-Q4"), now=NOW)
    assert [p.added for p in data.practices_added] == [date(2026, 11, 11)]
    page = render_html(data).decode()
    assert "2026-11-11" in page and "2026-11-10" not in page


def test_a_session_practice_is_submitted_in_the_networks_zone(network: Network) -> None:
    """The practice a finished session becomes is checked against the network's day (its year's bounds), as a
    practice submitted from Slack is: the configured zone is passed on, not the default."""
    zone = ZoneInfo("Pacific/Auckland")
    network.knowledge.timezone = zone
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    with (
        network.database.session() as session,
        mock.patch("bot.needs.proposal_actions.submit_practice", wraps=submissions.submit_practice) as submitting,
    ):
        network.service.complete_proposal(
            session, actor=STAFF, proposal_id=view.id, notes_url="https://example.org/verslag", now=NOW
        )
    assert submitting.call_args.kwargs["zone"] == zone


def test_a_session_done_at_new_year_in_the_networks_zone_is_a_practice_of_the_new_year(network: Network) -> None:
    """At New Year in the network's zone (Pacific/Auckland), while UTC still has the old year: the finished session's
    practice is submitted, titled with 1 January of the new year, the network's day that bounds its year too."""
    network.knowledge.timezone = ZoneInfo("Pacific/Auckland")
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    with network.database.session() as session:
        done = network.service.complete_proposal(
            session, actor=STAFF, proposal_id=view.id, notes_url="https://example.org/verslag", now=NEW_YEAR_IN_AUCKLAND
        )
    with network.database.session() as session:
        practice = session.get(Practice, done.practice_id)
        assert practice is not None
        title, status = practice.title, practice.status
    assert title == submissions.work_session_title(view.id, date(2027, 1, 1), view.label, "nl")
    assert "2027" in title and "2026" not in title
    assert status is RecordStatus.PENDING
