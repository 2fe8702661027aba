"""The routing Block Kit builders: every outbox kind renders valid, escaped blocks; anonymity is kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import ids
from handlers.blocks.routing import build_ask_modal, render_outbox
from handlers.kit import MAX_BLOCKS, ThemeChoice
from handlers.outbox import render_message
from storage.models import OutboxKind

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
}


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
