"""Proposing reads only what it counts: the questions and gaps in the window of the topics without a live proposal,
and the members of the topics it proposes. The proposals are exactly what counting every topic from the whole
state gives (``from_scratch``: what ``propose_sessions`` did before), through closing and re-opening, another
replica's placements and an asker's organisation changing in the register."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.needs import NeedsService
from bot.needs.core import LIVE
from storage import needs_repo, proposal_repo
from storage.models import NeedProposal
from tests.needs.conftest import NOW, STAFF, Network, add_expert, add_question

Due = dict[int, tuple[datetime, int, int]]


def utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def from_scratch(service: NeedsService, session: Any, now: datetime) -> Due:
    """The topics to propose, counted over the whole state (every question read): topic -> (window start,
    organisations, questions and gaps)."""
    state = service.core.state(session)
    config = service.config
    window_start = now - timedelta(weeks=config.window_weeks)
    closed_at: dict[int, datetime] = {}
    for proposal in proposal_repo.list_need_proposals(session):
        if proposal.status not in LIVE and proposal.decided_at is not None:
            closed_at[proposal.topic_id] = max(
                closed_at.get(proposal.topic_id, proposal.decided_at), proposal.decided_at
            )
    live = {p.topic_id for p in proposal_repo.list_need_proposals(session, statuses=LIVE)}
    due: Due = {}
    for topic_id, items in state.members().items():
        if topic_id in live:
            continue
        since = max(window_start, closed_at.get(topic_id, window_start))
        recent = [s for s in items if since <= s.created_at < now]
        organisations = {
            a.organisation.casefold() for s in recent if (a := state.asker(s)) is not None and a.organisation
        }
        if len(organisations) >= config.min_organisations:
            due[topic_id] = (utc(since), len(organisations), len(recent))
    return due


def propose(network: Network, now: datetime, service: NeedsService | None = None) -> Due:
    """A pass's proposals at ``now``, checked against ``from_scratch`` on the same placements."""
    service = service or network.service
    with network.database.session() as session:
        service.update_topics(session, now=now)
        expected = from_scratch(service, session, now)
        due = service.proposals.due(session, now=now)
        assert {t: (utc(s), o, q) for t, (s, o, q) in due.items()} == expected
        created = service.propose_sessions(session, now=now, worker_id="a")
        got = {v.topic_id: (utc(v.window_start), v.organisations, v.questions) for v in created}
        assert got == expected
        for view in created:  # the view reads only its topic's members: the same as from the whole state
            whole = service.proposals.view(session, service.core.state(session), _row(session, view.id), now=now)
            assert whole == view
    return got


def _row(session: Any, proposal_id: int) -> NeedProposal:
    proposal = proposal_repo.get_need_proposal(session, proposal_id=proposal_id)
    assert proposal is not None
    return proposal


def ask(network: Network, asker: str, text: str, at: datetime) -> str:
    with network.database.session() as session:
        return f"q:{add_question(session, text, asker=asker, created_at=at).id}"


def topic_of(network: Network, key: str) -> int:
    with network.database.session() as session:
        return needs_repo.list_need_assignments(session)[key]


def dismiss(network: Network, topic_id: int, at: datetime) -> None:
    with network.database.session() as session:
        live = proposal_repo.list_need_proposals(session, statuses=LIVE, topic_id=topic_id)
        assert len(live) == 1
        network.service.dismiss_proposal(session, actor=STAFF, proposal_id=live[0].id, now=at)


def test_proposals_equal_a_count_from_scratch_through_closing_and_reopening(network: Network) -> None:
    vacancy_key, cycling_key = (f"q:{network.questions[k].id}" for k in ("vacancy0", "cycling"))
    first = propose(network, NOW)
    vacancy = topic_of(network, vacancy_key)
    cycling = topic_of(network, cycling_key)
    assert set(first) == {vacancy} and first[vacancy][1:] == (4, 6)  # 4 organisations; anonymous and private count
    assert propose(network, NOW + timedelta(minutes=5)) == {}  # live: not again
    closed = NOW + timedelta(hours=1)
    dismiss(network, vacancy, closed)
    assert propose(network, NOW + timedelta(hours=2)) == {}  # nothing asked since it was closed
    # asked again by three organisations after the dismissal: proposed again, its window from the closing
    for n, asker in enumerate(("UGENT", "UKORTRIJK", "ULEUVEN")):
        key = ask(
            network, asker, "Wie weet iets over de leegstandsheffing op winkelpanden?", closed + timedelta(hours=n + 1)
        )
    again = propose(network, NOW + timedelta(hours=6))
    assert topic_of(network, key) == vacancy
    assert again == {vacancy: (utc(closed), 3, 3)}
    # closed again; asked by three organisations more than the window after: the window is the last 8 weeks
    closed2 = NOW + timedelta(hours=7)
    dismiss(network, vacancy, closed2)
    later = NOW + timedelta(weeks=9)
    for n, asker in enumerate(("UGENT", "UKORTRIJK", "UAALST")):
        ask(network, asker, "Hoe innen jullie de leegstandsheffing op woningen?", later - timedelta(days=n + 1))
    reopened = propose(network, later)
    assert reopened == {vacancy: (utc(later - timedelta(weeks=8)), 3, 3)}
    assert cycling not in reopened  # its two organisations' questions are out of the window


def test_an_asker_registered_with_an_organisation_counts_at_once(network: Network) -> None:
    """No question is placed, yet a topic reaches the threshold: an asker it did not know is now in the register
    (nothing counted in an earlier pass is kept)."""
    propose(network, NOW)
    cycling = topic_of(network, f"q:{network.questions['cycling'].id}")
    key = ask(network, "UBRUGGE", "Wie heeft ervaring met fietsstraten in het centrum?", NOW + timedelta(minutes=1))
    assert propose(network, NOW + timedelta(minutes=5)) == {}
    assert topic_of(network, key) == cycling  # two organisations and an asker nobody knows
    with network.database.session() as session:
        add_expert(session, "Greet Peeters", slack="UBRUGGE", organisation="Stad Brugge", city="Brugge")
    assert set(propose(network, NOW + timedelta(minutes=10))) == {cycling}


def test_another_replicas_placements_are_proposed_from(network: Network) -> None:
    replica = NeedsService(network.knowledge)
    propose(network, NOW)
    key = ask(network, "ULEUVEN", "Wie heeft ervaring met fietsstraten in het centrum?", NOW + timedelta(minutes=1))
    with network.database.session() as session:
        assert replica.update_topics(session, now=NOW + timedelta(minutes=2)).placed == 1
    cycling = topic_of(network, key)
    assert set(propose(network, NOW + timedelta(minutes=5))) == {cycling}  # the running bot: it catches up
    assert propose(network, NOW + timedelta(minutes=10), service=replica) == {}  # live now


def test_a_pass_reads_no_text_but_the_members_of_the_topics_it_proposes(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed: list[tuple[Any, ...]] = []
    list_need_sources = needs_repo.list_need_sources

    def listing(session: Any, **kwargs: Any) -> Any:
        got = list_need_sources(session, **kwargs)
        listed.append((kwargs.get("topic_ids"), kwargs.get("placed"), len(got)))
        return got

    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
    monkeypatch.setattr(needs_repo, "list_need_sources", listing)
    with network.database.session() as session:
        created = network.service.propose_sessions(session, now=NOW, worker_id="a")
        members = {k for k, t in needs_repo.list_need_assignments(session).items() if t == created[0].topic_id}
    assert len(created) == 1
    # the proposed topic's members, read once (its view); else only the unplaced questions (none)
    assert [(set(t), n) for t, _, n in listed if t is not None] == [({created[0].topic_id}, len(members))]
    assert all(placed is False and n == 0 for t, placed, n in listed if t is None)
    listed.clear()
    with network.database.session() as session:
        assert network.service.propose_sessions(session, now=NOW + timedelta(minutes=5), worker_id="a") == []
    assert [n for *_, n in listed] == [0]  # nothing new: only the (empty) unplaced questions are listed


def test_a_states_members_are_gathered_once(network: Network) -> None:
    """A pass proposing many topics asks the state for each one's members: they are gathered (and sorted) once."""
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        state = network.service.core.state(session)
        members = state.members()
        assert state.members() is members
        assert sum(len(items) for items in members.values()) == len(state.assigned) == 8
