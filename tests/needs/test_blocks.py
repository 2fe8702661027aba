"""The proposal and recruiting messages as the Slack layer renders them: escaped, private questions only counted."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.needs import parse_period
from handlers import ids
from handlers.blocks.needs import (
    build_done_modal,
    build_expertise_request,
    build_invite_modal,
    build_needs_home_section,
    build_needs_overview,
    build_needs_proposal,
    proposal_payload,
    status_invited,
    topic_line,
)
from handlers.outbox import STAFF_KINDS, render_message
from storage.models import OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network


def test_proposal_message_quotes_public_questions_only(network: Network) -> None:
    with network.database.session() as session:
        network.service.propose_sessions(session, now=NOW, worker_id="a")
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.NEEDS_PROPOSAL).one()
        payload = message.payload
    assert OutboxKind.NEEDS_PROPOSAL in STAFF_KINDS and message.channel_id is None  # goes to the triage channel
    rendered = render_message(OutboxKind.NEEDS_PROPOSAL, payload, "nl")
    dumped = json.dumps([b.to_dict() for b in rendered.blocks], ensure_ascii=False)
    assert "winkelpanden" in dumped and "<@ULEAD>" in dumped and "2 besloten" in dumped
    assert "onze gemeente" not in dumped and "int?" not in dumped and "UGENK" not in dumped


def test_recruiting_dm_is_escaped() -> None:
    payload = {"topic_id": 3, "label": "<script>alert(1)</script> ratten", "reason": "answered: <b>x</b>"}
    rendered = render_message(OutboxKind.EXPERTISE_REQUEST, payload, "en")
    dumped = json.dumps([b.to_dict() for b in rendered.blocks])
    assert "<script>" not in dumped and "/wieweet profiel" in dumped


def _dump(blocks: list[Any]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def test_proposal_buttons_follow_its_status(network: Network) -> None:
    with network.database.session() as session:
        view = network.service.propose_sessions(session, now=NOW, worker_id="a")[0]
    payload = proposal_payload(view.to_json())
    open_ = _dump(build_needs_proposal(payload, "nl").blocks)
    assert all(a in open_ for a in (ids.ACTION_NEEDS_INVITE, ids.ACTION_NEEDS_DONE, ids.ACTION_NEEDS_DISMISS))
    assert f'"{ids.block_id(ids.BLOCK_NEEDS_PROPOSAL, view.id)}"' in open_ and '"confirm"' in open_
    invited = {**view.to_json(), "status": "invited"}
    line = status_invited("nl", staff="<@USTAFF>", channel_id="C0NEW0001", invited=5)
    shown = _dump(build_needs_proposal(proposal_payload(invited, status_line=line), "nl").blocks)
    assert ids.ACTION_NEEDS_INVITE not in shown and ids.ACTION_NEEDS_DONE in shown and "<#C0NEW0001>" in shown
    for status in ("dismissed", "done"):
        closed = _dump(build_needs_proposal(proposal_payload({**view.to_json(), "status": status}), "en").blocks)
        assert "needs_" not in closed.replace(ids.BLOCK_NEEDS_PROPOSAL, "")  # no buttons left


def test_overview_and_home_section_quote_only_labels_and_escape_them(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        overview = network.service.overview(session, actor=STAFF, period=parse_period("2026-Q4"), now=NOW)
    hostile = replace(overview.topics[0], label="<!channel> & <@U123>")
    private = replace(overview.topics[0], label="", id=99)
    shaped = replace(overview, topics=(hostile, private))
    for blocks in (build_needs_overview(shaped, "nl"), build_needs_home_section(shaped, "en")):
        dumped = _dump(blocks)
        assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in dumped and "<!channel>" not in dumped
        assert "#99" in dumped
    assert "Kennisbehoeften 2026-Q4" in _dump(build_needs_overview(shaped, "nl"))
    assert "Knowledge needs" in _dump(build_needs_home_section(shaped, "en"))


def test_a_topic_line_says_how_many_people_asked(network: Network) -> None:
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW)
        overview = network.service.overview(session, actor=STAFF, period=parse_period("2026-Q4"), now=NOW)
    topic = replace(overview.topics[0], questions=4, gaps=1, askers=3, organisations=2, cities=2)
    assert "5 vragen van 3 personen · 2 organisaties" in topic_line(topic, "nl")
    assert "5 questions by 3 people · 2 organisations" in topic_line(topic, "en")
    one = replace(topic, questions=1, gaps=0, askers=1)
    assert "1 vraag van 1 persoon ·" in topic_line(one, "nl") and "1 question by 1 person ·" in topic_line(one, "en")
    home = _dump(build_needs_home_section(replace(overview, topics=(topic,)), "nl"))
    assert "5 vragen van 3 personen" in home


def test_invite_modal_names_the_people_and_prefills_the_channel() -> None:
    view = build_invite_modal(
        "nl", proposal_id=7, label="leegstand", invite=["UA1", "UB2"], without_slack=["Piet"], channel_name="ws-7"
    )
    dumped = json.dumps(view.to_dict(), ensure_ascii=False)
    assert "<@UA1>" in dumped and "<@UB2>" in dumped and "Piet" in dumped
    assert '"initial_value": "ws-7"' in dumped and json.loads(view.private_metadata or "{}") == {"proposal_id": 7}
    done = build_done_modal("en", proposal_id=7, label="vacancy tax")
    assert ids.INPUT_NEEDS_NOTES in json.dumps(done.to_dict()) and done.callback_id == ids.VIEW_NEEDS_DONE


def test_recruiting_dm_has_one_button_until_the_topic_is_added() -> None:
    asked = build_expertise_request({"label": "ratten", "topic_id": 4}, "nl")
    assert ids.ACTION_ADD_TOPIC in _dump(asked.blocks) and f'"{ids.BLOCK_EXPERTISE_REQUEST}:4"' in _dump(asked.blocks)
    added = build_expertise_request({"label": "ratten", "topic_id": 4, "added": True}, "nl")
    assert ids.ACTION_ADD_TOPIC not in _dump(added.blocks) and "ratten" in _dump(added.blocks)


def test_recruiting_dm_says_why_in_the_readers_language() -> None:
    """The reason is stored in English with its code ("answered: <question>"); the person asked reads it as one
    short sentence of its kind in their own language, without the code, and a question's "?" gets no "." after it.
    A private or anonymous question is never quoted (stored without it: "answered a question on this topic")."""
    reasons = {
        "answered: Hoe innen jullie de leegstandsheffing?": (
            "Je beantwoordde eerder een vraag hierover: Hoe innen jullie de leegstandsheffing?\n",
            "You answered a question on this before: Hoe innen jullie de leegstandsheffing?\n",
        ),
        "contact for the practice: Leegstandsbeleid Gent": (
            "Je bent contactpersoon voor een verwante praktijk: Leegstandsbeleid Gent.\n",
            "You are the contact for a related practice: Leegstandsbeleid Gent.\n",
        ),
        "answered a question on this topic": (
            "Je beantwoordde eerder een vraag over dit onderwerp.\n",
            "You answered a question on this topic before.\n",
        ),
        "an older release's own words": (  # no code: as stored
            "Je kwam in beeld omdat: an older release's own words.\n",
            "You were suggested because: an older release's own words.\n",
        ),
    }
    for reason, (dutch, english) in reasons.items():
        nl = build_expertise_request({"label": "leegstand", "reason": reason, "topic_id": 3}, "nl")
        en = build_expertise_request({"label": "leegstand", "reason": reason, "topic_id": 3}, "en")
        assert dutch in nl.text and english in en.text, (nl.text, en.text)
        assert "answered" not in nl.text and "contact for" not in nl.text
        assert "omdat: beantwoordde" not in nl.text and "because: answered" not in en.text  # no code said as a word
        assert "?." not in nl.text + en.text and ".." not in nl.text + en.text
