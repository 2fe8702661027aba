"""The routing Block Kit builders: every outbox kind renders valid, escaped blocks; anonymity is kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.outbox import AnswerToAsker, AskerUpdate, AskerUpdateKind, Person, QuestionAnswered
from handlers import ids
from handlers.blocks.modals import build_ask_modal
from handlers.blocks.routing import (
    build_answer_to_asker,
    build_asker_update,
    build_question_answered,
    render_outbox,
)
from handlers.kit import MAX_BLOCKS, ThemeChoice
from handlers.outbox import render_message
from storage.models import EscalationReason, OutboxKind

ANON: dict[str, Any] = {
    "question_id": 7,
    "routing_id": 3,
    "text": "Hoe <script> & *vet* aanpakken?",
    "context": "ctx",
    "themes": ["wonen"],
    "theme_labels": {"wonen": {"nl": "Wonen", "en": "Housing"}},
    "desired_by": "2026-12-15",
    "visibility": "anonymous",
    "asker_name": None,
    "asker_slack_id": None,
    "anonymous": True,
    "reasons": ["kent leegstand"],
    "additions": ["extra"],
    "reason": "answered",
    "answer_text": "Zo.",
    "answered_by": {"name": "An", "organisation": "Gent", "slack_user_id": "U0AN"},
    "update": "routed",
    "experts": [{"name": "An", "organisation": "Gent", "slack_user_id": "U0AN"}],
    "routing_counts": {"declined": 2},
    "redacted": True,
}
# what the self-service kinds carry besides (consent requests, reviews, submission outcomes)
SELF_SERVICE: dict[str, Any] = {
    "expert_id": 5,
    "name": "An <script>",
    "email": "an@gent.be",
    "organisation": "Stad Gent",
    "city": "Gent",
    "role": "beleidsmedewerker",
    "expertise": ["leegstand"],
    "themes": ["wonen"],
    "last_confirmed": "2026-06-01",
    "request": "reconfirm",
    "outcome": "profile_rejected",
    "title": "An <script>",
    "note": "dubbel",
    # practice reviews (bot.register.submissions.practice_payload)
    "practice_id": 9,
    "summary": "Heffing op <script> lege panden",
    "tags": ["heffing", "<script>"],
    "lessons": "Te <script> laag",
    "contact_email": "wonen@gent.be",
    "url": "https://www.gent.be/x?a=<script>",
    "year": 2019,
    "status": "pending",
    "submitted_by": "U0GRIET01",
    # knowledge needs: a proposed work session (bot.needs ProposalView.to_json()) and a recruiting DM
    "proposal": {
        "id": 3,
        "label": "Leegstand <script>",
        "status": "open",
        "questions": 4,
        "organisations": 3,
        "quoted": ["Wie weet <script>?"],
        "not_quoted": 1,
        "experts": [{"name": "An <script>", "slack_user_id": "U0AN", "organisation": "Gent <script>"}],
        "askers": [],
        "practices": [{"title": "Heffing <script>"}],
    },
    "topic_id": 4,
    "label": "ratten <script>",
    "reason": "answered: <script>",
    # a request that did not arrive (bot.routing.reactions): who was asked, and Slack's error
    "recipient": {"name": "An <script>", "organisation": "Gent <script>"},
    "error": "<script>",
    # a digest stopped (digests.subscriptions.stop_gone_channel): the channel and why
    "channel_id": "C0<script>",
    # the daily channel check refused for good (bot.jobs): the day and how often
    "day": "2026-12-<script>",
    "attempts": 3,
}
# a triage post given up, by DM to a staff member (bot.staffdm): the post's own payload, carried whole
SELF_SERVICE |= {"original_kind": "practice_review", "original": dict(SELF_SERVICE), "triage_channel_id": "<script>"}


@pytest.mark.parametrize("kind", list(OutboxKind))
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_kind_renders(kind: OutboxKind, lang: str) -> None:
    rendered = render_message(kind, ANON | SELF_SERVICE, lang)
    assert rendered.text and 0 < len(rendered.blocks) <= MAX_BLOCKS
    dumped = json.dumps([b.to_dict() for b in rendered.blocks], ensure_ascii=False)
    assert "<script>" not in dumped
    assert "U0NLUSER" not in dumped


def test_expert_request_offers_the_four_choices_and_says_anonymous() -> None:
    rendered = render_outbox(OutboxKind.EXPERT_REQUEST, ANON, "nl")
    dumped = json.dumps([b.to_dict() for b in rendered.blocks], ensure_ascii=False)
    for action in (ids.ACTION_CLAIM, ids.ACTION_DECLINE, ids.ACTION_SNOOZE, ids.ACTION_FORWARD):
        assert action in dumped
    assert "Anonieme vraag" in dumped and "routing_actions:3" in dumped


def test_ask_modal_preselects_theme() -> None:
    view = build_ask_modal(
        "en", text="q", themes=[ThemeChoice("wonen", "Housing")], theme_key="wonen", metadata={"channel_id": "C1"}
    )
    data = view.to_dict()
    assert data["callback_id"] == ids.VIEW_ASK
    assert "initial_option" in json.dumps(data) and json.loads(data["private_metadata"]) == {"channel_id": "C1"}


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("reason", [*EscalationReason, None])
def test_escalation_tells_the_asker_what_happened_without_saying_right_away(
    reason: EscalationReason | None, lang: str
) -> None:
    """Each reason has its own text; none says "meteen"/"right away" (a 5-day escalation is not immediate)."""
    payload = AskerUpdate(
        question_id=7, text="Leegstand?", update=AskerUpdateKind.ESCALATED, reason=reason, language=lang
    )
    text = build_asker_update(payload, lang).text
    assert "meteen" not in text and "right away" not in text and "immediately" not in text
    assert ("kenniscentrum" if lang == "nl" else "knowledge centre") in text
    if reason is EscalationReason.DEADLINE:
        assert ("werkdagen" if lang == "nl" else "working days") in text
    texts = {
        build_asker_update(AskerUpdate(question_id=7, update=AskerUpdateKind.ESCALATED, reason=r), lang).text
        for r in [*EscalationReason, None]
    }
    assert len(texts) == len(EscalationReason) + 1  # one wording per reason, none shared


@pytest.mark.parametrize(("lang", "words"), [("nl", "nu ook gesteld aan"), ("en", "now also been sent to")])
def test_the_asker_is_told_who_was_added(lang: str, words: str) -> None:
    added = Person(expert_id=4, name="Bo", organisation="Stad Gent", slack_user_id="U0BO", in_register=True)
    payload = AskerUpdate(question_id=7, update=AskerUpdateKind.ADDED, experts=(added,), language=lang)
    rendered = build_asker_update(payload, lang)
    assert words in rendered.text and "<@U0BO> (Stad Gent)" in rendered.text


def test_an_answer_in_the_thread_offers_only_the_rating_to_the_asker() -> None:
    by = Person(name="An", organisation="Gent", slack_user_id="U0AN")
    common: dict[str, Any] = {"question_id": 7, "text": "Leegstand?", "answer_text": "Een register.", "answered_by": by}
    in_thread = build_answer_to_asker(AnswerToAsker(**common, in_thread=True), "nl")
    dumped = json.dumps([b.to_dict() for b in in_thread.blocks], ensure_ascii=False)
    assert "Een register." not in dumped and "in de draad" in in_thread.text  # the answer is right above it
    assert f"{ids.ACTION_RATE_PREFIX}5" in dumped and ids.ACTION_RESOLVE_QUESTION in dumped and "mijn vragen" in dumped
    by_dm = build_answer_to_asker(AnswerToAsker(**common), "nl")
    dumped = json.dumps([b.to_dict() for b in by_dm.blocks], ensure_ascii=False)
    assert "Een register." in dumped and f"{ids.ACTION_RATE_PREFIX}5" in dumped and "mijn vragen" not in dumped


def test_the_answer_in_the_thread_names_the_asker() -> None:
    by = Person(name="An", organisation="Gent", slack_user_id="U0AN")
    answered = QuestionAnswered(question_id=7, answer_text="Een register.", answered_by=by, asker_slack_id="U0ASKER")
    assert build_question_answered(answered, "nl").text.startswith("<@U0ASKER>, antwoord van <@U0AN>")
    nobody = QuestionAnswered(question_id=7, answer_text="Een register.", answered_by=by)
    assert "<@U0ASKER>" not in build_question_answered(nobody, "en").text
