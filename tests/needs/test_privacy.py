"""Erasure reaches the knowledge needs: an erased person's questions leave their topics, labels taken from them go,
and they are named nowhere afterwards."""

from __future__ import annotations

from bot.actors import Actor
from bot.needs.periods import parse_period
from bot.privacy import erase_person, export_personal_data, mark_channel_private
from storage import needs_repo
from storage.models import NeedTopic, QuestionStatus
from tests.needs.conftest import NOW, STAFF, Network


def test_erasing_the_asker_the_label_came_from_relabels_the_topic(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        topic = next(t for t in needs_repo.list_need_topics(session) if "fietsstraten" in t.label.lower())
        source_key, topic_id = topic.label_item, topic.id
        question_id = int(source_key[2:])
        asker = session.get(type(network.questions["vacancy0"]), question_id).asker_slack_id
    with network.database.session() as session:
        report = erase_person(session=session, actor=Actor.cli("test"), slack_user_id=asker, now=NOW)
        assert report.counts.get("need_topics_relabelled") == 1
        assert session.get(NeedTopic, topic_id).label == ""
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        relabelled = session.get(NeedTopic, topic_id)
        assert relabelled.label and relabelled.label_item != source_key
        assert f"q:{question_id}" not in needs_repo.list_need_assignments(session)


def test_erased_askers_and_experts_are_named_nowhere(network: Network) -> None:
    with network.database.session() as session:
        erase_person(session=session, actor=Actor.cli("test"), slack_user_id="UKORTRIJK", now=NOW)
        erase_person(session=session, actor=Actor.cli("test"), slack_user_id="ULEAD", now=NOW)
    with network.database.session() as session:
        proposals = network.service.propose_sessions(session, now=NOW, worker_id="a")
        overview = network.service.overview(session, actor=STAFF, period=parse_period("2026-Q4"), now=NOW)
    top = overview.topics[0]
    assert top.organisations == 3  # Kortrijk's question went with its asker
    assert proposals and all(p.slack_user_id not in {"UKORTRIJK", "ULEAD"} for p in proposals[0].askers)
    assert all(e.name != "An Peeters" for e in proposals[0].experts)


def test_the_export_has_the_topics_of_ones_questions_and_the_proposals_one_decided(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        proposal = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
        network.service.dismiss_proposal(session, actor=STAFF, proposal_id=proposal.id, reason="later", now=NOW)
    with network.database.session() as session:
        mine = export_personal_data(session=session, actor=Actor.cli("test"), slack_user_id="UKORTRIJK", now=NOW)
        staff = export_personal_data(session=session, actor=Actor.cli("test"), slack_user_id="USTAFF", now=NOW)
        assigned = needs_repo.list_need_assignments(session)
    asked = {q["id"] for q in mine["questions_asked"]}
    assert len(asked) == 2  # vacancy tax and cycling streets
    topics = mine["knowledge_need_topics"]
    assert {t["question_id"] for t in topics} == asked
    assert {t["topic_id"] for t in topics} == {assigned[f"q:{q}"] for q in asked}
    assert all(t["topic_label"] for t in topics)
    assert mine["work_session_proposals_decided"] == []
    decided = staff["work_session_proposals_decided"]
    assert [(p["id"], p["status"], p["note"]) for p in decided] == [(proposal.id, "dismissed", "later")]


def test_a_withdrawn_question_is_counted_but_never_quoted_and_its_asker_not_invited(network: Network) -> None:
    withdrawn = network.questions["vacancy1"]  # UKORTRIJK: "Hoe innen jullie de leegstandsheffing op woningen?"
    with network.database.session() as session:
        session.get(type(withdrawn), withdrawn.id).status = QuestionStatus.CANCELLED
    with network.database.session() as session:
        proposed = network.service.propose_sessions(session, now=NOW, worker_id="a")
        view = next(v for v in proposed if "eegstand" in v.label)
        plan = network.service.plan_invite(session, actor=STAFF, proposal_id=view.id, now=NOW)
        topic = session.get(NeedTopic, view.topic_id)
        assert topic.label_item != f"q:{withdrawn.id}"  # nor does it give the topic (and its channel) a name
    assert withdrawn.text not in view.quoted
    assert view.not_quoted >= 1 and view.questions >= 1  # still counted
    assert "UKORTRIJK" not in plan.invite
    assert "UKORTRIJK" not in {a.slack_user_id for a in view.askers}


def test_a_question_withdrawn_after_the_proposal_is_no_longer_quoted_by_it(network: Network) -> None:
    with network.database.session() as session:
        view = next(
            v for v in network.service.propose_sessions(session, now=NOW, worker_id="a") if "eegstand" in v.label
        )
        label_item = session.get(NeedTopic, view.topic_id).label_item
    withdrawn = network.questions["vacancy1"]
    assert withdrawn.text in view.quoted and "UKORTRIJK" in {a.slack_user_id for a in view.askers}
    with network.database.session() as session:
        session.get(type(withdrawn), withdrawn.id).status = QuestionStatus.CANCELLED
        session.flush()
        other = network.questions["cycling"]  # another topic's question: this proposal is not rendered again
        assert view.id not in {
            v.id for v in network.service.live_views_quoting(session, question_ids=[other.id], now=NOW)
        }
        [again] = network.service.live_views_quoting(session, question_ids=[withdrawn.id], now=NOW)
        plan = network.service.plan_invite(session, actor=STAFF, proposal_id=view.id, now=NOW)
        clicked = network.service.proposal(session, actor=STAFF, proposal_id=view.id, now=NOW)
    assert again.id == view.id and again.questions == view.questions  # still counted
    assert withdrawn.text not in again.quoted and again.not_quoted == view.not_quoted + 1
    assert "UKORTRIJK" not in {a.slack_user_id for a in again.askers}
    assert "UKORTRIJK" not in plan.invite  # the invite click reads the state now, not the posted one
    assert clicked.quoted == again.quoted
    if label_item == f"q:{withdrawn.id}":  # its words made the label: the topic shows none until relabelled
        assert again.label == "" and plan.intro == ""
    else:
        assert again.label == view.label


def test_a_label_made_from_a_question_whose_channel_turned_private_is_not_shown(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        topic = next(t for t in needs_repo.list_need_topics(session) if t.label_item.startswith("q:"))
        question = session.get(type(network.questions["vacancy0"]), int(topic.label_item[2:]))
        label, channel = topic.label, question.channel_id
    assert label and channel
    with network.database.session() as session:
        mark_channel_private(session, channel_id=channel)
        session.flush()
        shown = network.service.core.state(session, topic_ids=[topic.id]).labels[topic.id]
    assert shown == ""
