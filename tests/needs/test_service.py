from __future__ import annotations

from datetime import timedelta

import pytest

from bot.actors import NotAuthorized
from bot.needs.model import COVERED
from bot.needs.periods import parse_period
from storage import needs_repo
from storage.models import AuditLog, NeedItem, NeedProposal, OutboxKind, OutboxMessage, ProposalStatus
from tests.needs.conftest import NOW, OFFICIAL, STAFF, Network, add_question


def _topic_of(network: Network, key: str) -> int:
    with network.database.session() as session:
        return needs_repo.list_need_assignments(session)[f"q:{network.questions[key].id}"]


def test_questions_on_one_topic_group_together_and_others_apart(network: Network) -> None:
    with network.database.session() as session:
        report = network.service.update_topics(session, now=NOW)
    assert report.placed == 8
    vacancy = {_topic_of(network, k) for k in ("vacancy0", "vacancy1", "vacancy2", "vacancy3", "anonymous", "private")}
    cycling = {_topic_of(network, k) for k in ("cycling", "cycling2")}
    assert len(vacancy) == 1 and len(cycling) == 1 and vacancy != cycling


def test_overview_counts_and_privacy(network: Network) -> None:
    with network.database.session() as session:
        overview = network.service.overview(session, actor=STAFF, period=parse_period("2026-Q4"), now=NOW)
    top = overview.topics[0]
    assert top.questions == 6 and top.gaps == 0
    assert top.organisations == 4  # Gent, Kortrijk, Leuven, Aalst; the anonymous and the unknown asker are not resolved
    assert top.answered == 1 and top.median_answer_hours == 24.0
    assert top.not_quoted == 2  # the anonymous and the private question
    assert all("int?" not in q and "onze gemeente" not in q for q in top.quoted)
    assert top.label and "leegstandsheffing" in top.label.lower()
    assert top.coverage == COVERED
    assert top.trend == "new"


def test_only_staff_see_needs(network: Network) -> None:
    with network.database.session() as session, pytest.raises(NotAuthorized):
        network.service.overview(session, actor=OFFICIAL, period=parse_period("2026-Q4"), now=NOW)


def test_incremental_run_places_only_new_items_and_keeps_topics_and_labels(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        before = needs_repo.list_need_assignments(session)
        labels = {t.id: t.label for t in needs_repo.list_need_topics(session)}
    with network.database.session() as session:
        new = add_question(
            session,
            "leegstandsheffing en vrijstellingen bij renovatie",
            asker="ULEUVEN",
            created_at=NOW + timedelta(hours=1),
        )
        report = network.service.update_topics(session, now=NOW + timedelta(hours=2))
        after = needs_repo.list_need_assignments(session)
        labels_after = {t.id: t.label for t in needs_repo.list_need_topics(session)}
    assert report.placed == 1 and report.new_topics == 0
    assert {k: v for k, v in after.items() if k in before} == before
    assert after[f"q:{new.id}"] == before[f"q:{network.questions['vacancy0'].id}"]
    assert labels_after == labels


def test_proposal_claimed_once_and_queued_for_triage(network: Network) -> None:
    with network.database.session() as session:
        created = network.service.propose_sessions(session, now=NOW, worker_id="a")
    with network.database.session() as session:
        again = network.service.propose_sessions(session, now=NOW + timedelta(minutes=1), worker_id="b")
        proposals = session.query(NeedProposal).all()
        messages = session.query(OutboxMessage).filter_by(kind=OutboxKind.NEEDS_PROPOSAL).all()
    assert len(created) == 1 and again == []
    assert len(proposals) == 1 and len(messages) == 1
    view = created[0]
    assert view.organisations == 4
    assert [e.name for e in view.experts] == ["An Peeters"]  # Fien Mertens opted out: never named
    assert {a.slack_user_id for a in view.askers} == {"UGENT", "UKORTRIJK", "ULEUVEN", "UAALST"}
    assert "UGENK" not in {a.slack_user_id for a in view.askers}  # anonymous
    assert "UOOSTENDE" not in {a.slack_user_id for a in view.askers}  # private
    assert view.not_quoted == 2 and len(view.quoted) == 4
    assert [p.title for p in view.practices][:1] == ["Leegstandsheffing op winkelpanden"]


def test_staff_actions_are_audited_and_checked(network: Network) -> None:
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    with network.database.session() as session, pytest.raises(NotAuthorized):
        network.service.dismiss_proposal(session, actor=OFFICIAL, proposal_id=view.id, now=NOW)
    with network.database.session() as session:
        plan = network.service.plan_invite(session, actor=STAFF, proposal_id=view.id, now=NOW)
    assert plan.create and plan.channel_name.startswith("werksessie-") and "leegstandsheffing" in plan.channel_name
    assert set(plan.invite) == {"ULEAD", "UGENT", "UKORTRIJK", "ULEUVEN", "UAALST"}
    with network.database.session() as session:  # planning changes nothing; recording the invitation does
        assert network.service.proposal(session, actor=STAFF, proposal_id=view.id, now=NOW).status == "open"
        invited = network.service.record_invite(
            session, actor=STAFF, proposal_id=view.id, channel_id="CNEW0001", invited=plan.invite, created=True, now=NOW
        )
    assert invited.status == ProposalStatus.INVITED and invited.channel_id == "CNEW0001"
    with network.database.session() as session:
        done = network.service.complete_proposal(
            session, actor=STAFF, proposal_id=view.id, notes_url="https://example.org/verslag", now=NOW
        )
        actions = [a.action for a in session.query(AuditLog).filter_by(entity_type="need_proposal")]
        practice_audit = session.query(AuditLog).filter_by(entity_type="practice", action="submit").count()
    assert done.status == ProposalStatus.DONE and done.practice_id is not None
    assert actions.count("invite") == 1 and actions.count("done") == 1 and actions.count("propose") == 1
    assert practice_audit == 1
    # closed: no second "done", and the topic is not proposed again without new questions
    with network.database.session() as session:
        assert network.service.propose_sessions(session, now=NOW + timedelta(days=1), worker_id="a") == []


def test_items_of_deleted_questions_go_with_them(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        session.delete(session.get(type(network.questions["cycling"]), network.questions["cycling"].id))
    with network.database.session() as session:
        assert session.query(NeedItem).count() == 7
