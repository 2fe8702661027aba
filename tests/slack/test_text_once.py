"""User and register text is escaped exactly once wherever it goes (issue 11, finding 9): in blocks *and* in the
notification ``text``, for every kind of message the bot sends; mentions it makes itself stay mentions. Text typed
in Slack, which Slack sends escaped, is decoded once coming in (``handlers.slack_text``), so it too goes out escaped
exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.presenter import AnswerItem, AnswerView, ExpertItem, PracticeItem
from handlers.blocks.answer import answer_fallback_text, build_answer_blocks, build_more_blocks
from handlers.kit import cut, escape, escape_truncate
from handlers.outbox import render_message
from handlers.slack_text import from_slack, question_from_slack
from storage.models import OutboxKind

HOSTILE = "Zoë <!channel> & <@U0EVIL01> <https://evil.example|klik>"
ONCE = escape(HOSTILE)  # "Zoë &lt;!channel&gt; &amp; &lt;@U0EVIL01&gt; &lt;https://evil.example|klik&gt;"
TWICE_MARKS = ("&amp;lt;", "&amp;gt;", "&amp;amp;")
RAW_MARKS = ("<!channel>", "<@U0EVIL01>", "<https://evil.example")
MENTION = "<@U0ANN0001>"


def person(slack: str | None = "U0ANN0001") -> dict[str, Any]:
    return {"name": HOSTILE, "organisation": HOSTILE, "slack_user_id": slack, "expert_id": 4, "in_register": True}


QUESTION = {
    "question_id": 7,
    "text": HOSTILE,
    "context": HOSTILE,
    "additions": [HOSTILE],
    "asker_name": HOSTILE,
    "asker_slack_id": None,
    "anonymous": False,
    "themes": ["wonen"],
    "theme_labels": {"wonen": {"nl": HOSTILE, "en": HOSTILE}},
    "desired_by": "2026-12-01",
    "language": "nl",
}
ROUTING = {"routing_id": 9, "routing_status": "asked", "reasons": [HOSTILE], "volunteered": False}
ANSWER = {"answer_id": 3, "answer_text": HOSTILE, "answered_by": person()}

# (kind, payload, a mention the notification must show)
MESSAGES: list[tuple[OutboxKind, dict[str, Any], str | None]] = [
    (
        OutboxKind.EXPERT_REQUEST,
        {**QUESTION, **ROUTING, "forwarded_by": person(), "forward_note": HOSTILE, "staff_note": HOSTILE},
        None,
    ),
    (OutboxKind.EXPERT_REMINDER, {**QUESTION, **ROUTING}, None),
    (OutboxKind.ROUTING_CLOSED, {**QUESTION, **ROUTING, **ANSWER, "reason": "answered"}, MENTION),
    (OutboxKind.QUESTION_UPDATED, {**QUESTION, **ROUTING, "addition": HOSTILE}, None),
    (OutboxKind.ANSWER_TO_ASKER, {**QUESTION, **ANSWER}, MENTION),
    (OutboxKind.QUESTION_ANSWERED, {**QUESTION, **ANSWER}, MENTION),
    (OutboxKind.ASKER_UPDATE, {**QUESTION, "update": "routed", "experts": [person(), person(None)]}, MENTION),
    (OutboxKind.ASKER_UPDATE, {**QUESTION, "update": "claimed", "expert": person()}, MENTION),
    (OutboxKind.ASKER_UPDATE, {**QUESTION, "update": "closed", "note": HOSTILE}, None),
    (OutboxKind.ASKER_UPDATE, {**QUESTION, "update": HOSTILE}, None),
    (OutboxKind.TRIAGE, {**QUESTION, "reason": HOSTILE, "routing_counts": {HOSTILE: 2}}, None),
    (
        OutboxKind.PRACTICE_REVIEW,
        {
            "practice_id": 3,
            "title": HOSTILE,
            "summary": HOSTILE,
            "city": HOSTILE,
            "organisation": HOSTILE,
            "themes": ["wonen"],
            "theme_labels": {"wonen": {"nl": HOSTILE, "en": HOSTILE}},
            "tags": [HOSTILE],
            "outcome": "failed",
            "lessons": HOSTILE,
            "contact_email": HOSTILE,
            "url": "https://example.org/?a=1&b=<2>",
            "year": 2020,
            "status": "pending",
            "submitted_by": "U0ANN0001",
        },
        MENTION,
    ),
    (
        OutboxKind.PROFILE_REVIEW,
        {
            "expert_id": 4,
            "name": HOSTILE,
            "email": HOSTILE,
            "slack_user_id": "U0ANN0001",
            "organisation": HOSTILE,
            "city": HOSTILE,
            "role": HOSTILE,
            "expertise": [HOSTILE],
            "themes": [HOSTILE],
            "last_confirmed": None,
        },
        None,
    ),
    (
        OutboxKind.CONSENT_REQUEST,
        {
            "expert_id": 4,
            "name": HOSTILE,
            "email": HOSTILE,
            "organisation": HOSTILE,
            "role": HOSTILE,
            "expertise": [HOSTILE],
            "themes": [],
            "last_confirmed": "2026-01-01",
            "request": "reconfirm",
        },
        None,
    ),
    (
        OutboxKind.SUBMISSION_OUTCOME,
        {"outcome": "practice_rejected", "title": HOSTILE, "note": HOSTILE},
        None,
    ),
]


def mrkdwn_strings(value: Any) -> Iterator[str]:
    """Every string Slack renders from a block structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"action_id", "block_id", "value", "url", "type", "image_url"}:
                continue
            yield from mrkdwn_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from mrkdwn_strings(item)
    elif isinstance(value, str):
        yield value


def as_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def assert_escaped_once(text: str) -> None:
    for mark in RAW_MARKS:
        assert mark not in text, f"unescaped {mark!r} in {text!r}"
    for mark in TWICE_MARKS:
        assert mark not in text, f"escaped twice ({mark!r}) in {text!r}"


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize(("kind", "payload", "mention"), MESSAGES, ids=lambda v: getattr(v, "value", None))
def test_every_outgoing_message_escapes_user_text_exactly_once(
    kind: OutboxKind, payload: dict[str, Any], mention: str | None, lang: str
) -> None:
    rendered = render_message(kind, payload, lang)
    blocks = as_dicts(rendered.blocks)
    for text in [rendered.text, *mrkdwn_strings(blocks)]:
        assert_escaped_once(text)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "&lt;!channel&gt;" in shown  # the hostile text is there, harmless
    if mention is not None:  # a person the blocks mention is a mention in the notification too
        assert mention in shown and mention in rendered.text


def test_the_notification_of_a_routed_question_names_the_experts_as_mentions() -> None:
    # the reproduction: notifications showed "&lt;@U0ANN0001&gt;" and "&amp;lt;!channel&amp;gt;"
    payload = {**QUESTION, "update": "routed", "experts": [person(), {"name": "<!channel>", "organisation": "Gent"}]}
    rendered = render_message(OutboxKind.ASKER_UPDATE, payload, "nl")
    assert MENTION in rendered.text and "&lt;@U0ANN0001&gt;" not in rendered.text
    assert "&lt;!channel&gt;" in rendered.text and "&amp;lt;" not in rendered.text


def hostile_view() -> AnswerView:
    expert = ExpertItem(
        name=HOSTILE,
        organisation=HOSTILE,
        role=HOSTILE,
        city=HOSTILE,
        email=HOSTILE,
        slack_user_id=None,
        available=True,
        availability="beschikbaar",
        reasons=(HOSTILE,),
        weak=False,
        score=1.0,
    )
    practice = PracticeItem(
        title=HOSTILE,
        city=HOSTILE,
        organisation=HOSTILE,
        outcome="failed",
        outcome_label="mislukt",
        year=2020,
        url="",
        lessons=HOSTILE,
        reasons=(HOSTILE,),
        score=1.0,
    )
    answer = AnswerItem(
        question=HOSTILE,
        answered_by=HOSTILE,
        organisation=HOSTILE,
        answered_on=datetime(2026, 1, 1, tzinfo=UTC).date(),
        url="",
        byline=HOSTILE,
        score=1.0,
    )
    return AnswerView(
        lang="nl",
        query=HOSTILE,
        gap=False,
        terms=(),
        experts=(expert,) * 4,
        practices=(practice,) * 4,
        answers=(answer,) * 4,
    )


def test_who_knows_answers_and_their_notification_escape_once() -> None:
    view = hostile_view()
    texts = [
        answer_fallback_text(view),
        *mrkdwn_strings(as_dicts(build_answer_blocks(view, search_log_id=1, shareable=True))),
        *mrkdwn_strings(as_dicts(build_more_blocks(view, offset=3))),
    ]
    for text in texts:
        assert_escaped_once(text)
    assert ONCE[:40] in answer_fallback_text(view)


def test_cutting_mrkdwn_never_splits_an_entity_or_a_mention() -> None:
    assert cut("abc", 5) == "abc"
    assert cut("Zie <@U0ANN0001> nu", 10) == "Zie…"
    assert cut("a &amp; b", 4) == "a…"
    assert escape_truncate("<" * 50, 10) == "&lt;&lt;…"
    for limit in range(1, 40):
        out = cut(f"{MENTION} {escape(HOSTILE)}", limit)
        assert len(out) <= limit
        assert out.count("<") == out.count(">")
        tail = out[out.rfind("&") :] if "&" in out else ""
        assert not tail or ";" in tail


# What people type in Slack, and how Slack sends it (``&``, ``<``, ``>`` escaped; ``<!here>`` typed is no mention)
TYPED_IN_SLACK = ["R&D <5 jaar", "a &lt; b, geen tag", "x > y && z", "<!here> of <@U0EVIL01>", "&amp;amp;"]


@pytest.mark.parametrize("typed", TYPED_IN_SLACK)
def test_text_typed_in_slack_goes_out_as_typed_escaped_once(typed: str) -> None:
    sent_by_slack = escape(typed)
    plain = from_slack(sent_by_slack)
    assert plain == typed == question_from_slack(sent_by_slack)
    rendered = render_message(OutboxKind.ASKER_UPDATE, {**QUESTION, "text": plain, "update": "closed"}, "nl")
    for text in [rendered.text, *mrkdwn_strings(as_dicts(rendered.blocks))]:
        assert "<!here>" not in text and "<@U0EVIL01>" not in text
    assert sent_by_slack in " ".join(mrkdwn_strings(as_dicts(rendered.blocks)))  # as typed, escaped once
    view = AnswerView(lang="nl", query=plain, gap=True, terms=(), experts=(), practices=(), answers=())
    header = as_dicts(build_answer_blocks(view, search_log_id=1))[0]["text"]["text"]
    assert sent_by_slack in header
