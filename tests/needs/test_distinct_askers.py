"""One source repeating a search does not make a knowledge need: topics count a gap once per asker and wording,
are ranked by distinct askers, and the report's gap figure counts the same way (as the digest does)."""

from __future__ import annotations

from datetime import timedelta

from bot.needs.periods import parse_period
from bot.needs.report import collect_report
from tests import factories
from tests.needs.conftest import NOW, STAFF, Network

JUNK = "Wie weet hoeveel ufo's er boven het stadhuis vliegen?"


def test_one_source_repeating_a_gap_is_one_need(network: Network) -> None:
    with network.database.session() as session:
        for n in range(200):  # one source, the same search, again and again
            factories.add_gap(session, JUNK, created_at=NOW - timedelta(hours=n), asker="U0REPEAT1", themes=[])
        for n in range(50):  # a command line loop: no asker at all
            factories.add_gap(session, JUNK, created_at=NOW - timedelta(hours=n), channel_id=None, themes=[])
        factories.add_gap(session, JUNK, created_at=NOW, asker="U0OTHER01", themes=[])  # someone else, once
    period = parse_period("2026-Q4")
    with network.database.session() as session:
        overview = network.service.overview(session, actor=STAFF, period=period, now=NOW)
    junk = [t for t in overview.topics if t.gaps]
    assert len(junk) == 1
    assert (junk[0].gaps, junk[0].askers, junk[0].total) == (3, 3, 3)  # not 251 gaps
    assert "leegstandsheffing" in overview.topics[0].label.lower()  # six askers weigh more than one's repeats
    with network.database.session() as session:
        report = collect_report(session, service=network.service, actor=STAFF, period=period, now=NOW)
    assert report.gaps == 3  # the report's figure counts as the topics and the digest do
