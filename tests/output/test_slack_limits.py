"""Stored text of any length in every message wieweet posts: cut to Slack's limits, never a crash (one over-long
title must not stop a digest, a Home tab or a DM for everyone)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.needs.model import NeedsOverview
from digests.model import Person, ThemeInfo
from handlers.blocks.answer import answer_fallback_text, build_answer_blocks, build_more_blocks
from handlers.blocks.home import HomeData, HomeItem, build_home_view
from handlers.blocks.needs import (
    build_expertise_request,
    build_needs_home_section,
    build_needs_overview,
    build_needs_proposal,
    proposal_payload,
)
from handlers.blocks.profile import AdminData, ProfileCard, build_admin_blocks
from handlers.kit import HOME_MAX_BLOCKS, MAX_BLOCKS, MESSAGE_TEXT_LIMIT
from handlers.outbox import render_message
from storage.models import OutboxKind
from tests.digests import test_builder as builder
from tests.output.hostile import NOW, topic
from tests.slack import test_text_once as once

LONG = ("Zoë <!channel> & <@U0EVIL01> *vet* " * 400)[:12_000]


def lengthen(value: Any) -> Any:
    """``value`` with every hostile text made 12,000 characters long and every list 200 items long."""
    if value == once.HOSTILE:
        return LONG
    if isinstance(value, dict):
        return {lengthen(k): lengthen(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lengthen(v) for v in value] * (200 if value and value[0] == once.HOSTILE else 1)
    return value


def check(blocks: list[Block], text: str | None = None) -> None:
    dicts = [b.to_dict() for b in blocks]  # the typed blocks validate Slack's limits here
    assert len(dicts) <= MAX_BLOCKS
    shown = sum(len(s) for s in once.mrkdwn_strings(dicts))
    assert shown <= MESSAGE_TEXT_LIMIT * 4, shown  # Slack refuses a message far over this
    assert len(json.dumps(dicts)) < 100_000
    if text is not None:
        assert len(text) <= 3000 + 1


@pytest.mark.parametrize(("kind", "payload", "mention"), once.MESSAGES, ids=lambda v: getattr(v, "value", None))
def test_every_outgoing_message_cuts_long_stored_text(kind: OutboxKind, payload: dict[str, Any], mention: Any) -> None:
    rendered = render_message(kind, lengthen(payload), "nl")
    check(rendered.blocks, rendered.text)


def test_who_knows_answers_cut_long_stored_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(once, "HOSTILE", LONG)
    view = once.hostile_view()
    check(build_answer_blocks(view, search_log_id=1, shareable=True), answer_fallback_text(view))
    check(build_more_blocks(view, offset=3))


def test_a_digest_with_long_stored_text_is_sent_whole() -> None:
    digest = builder.data(
        builder.theme(
            ThemeInfo("wonen", LONG, LONG),
            practices=tuple(builder.practice(n, title=LONG, city=LONG, organisation=LONG) for n in range(1, 30)),
            answered=tuple(
                builder.answered(n, Person(key=f"s:{n}", name=LONG, slack_user_id=None), text=LONG)
                for n in range(1, 30)
            ),
            open_questions=tuple(builder.open_q(n, text=LONG) for n in range(1, 30)),
            new_experts=tuple(
                builder.expert(n, organisation=LONG, city=LONG, role=LONG, person=Person(key=f"e:{n}", name=LONG))
                for n in range(1, 30)
            ),
        )
    )
    messages = builder.build(digest)
    assert messages
    for blocks in messages:
        check(blocks)


def test_needs_lists_and_proposals_cut_long_stored_text() -> None:
    topics = tuple(topic(i, LONG) for i in range(60))
    overview = NeedsOverview(period="2026-Q4", start=NOW, end=NOW, topics=topics, items=60, unassigned=0)
    check(build_needs_overview(overview, "nl"))
    check(build_needs_home_section(overview, "en"))
    person = {"name": LONG, "slack_user_id": None, "expert_id": 1, "organisation": LONG, "reason": LONG}
    proposal = {
        "id": 1,
        "topic_id": 2,
        "label": LONG,
        "status": "open",
        "organisations": 3,
        "questions": 4,
        "quoted": [LONG] * 50,
        "not_quoted": 2,
        "experts": [person] * 50,
        "askers": [person] * 50,
        "practices": [{"id": 1, "title": LONG, "city": LONG, "organisation": LONG, "url": ""}] * 50,
    }
    rendered = build_needs_proposal(proposal_payload(proposal, status_line=LONG), "nl")
    check(rendered.blocks, rendered.text)
    request = build_expertise_request({"topic_id": 3, "label": LONG, "reason": LONG}, "en")
    check(request.blocks, request.text)


def test_the_home_tab_cuts_long_stored_text() -> None:
    card = ProfileCard(
        expert_id=12,
        name=LONG,
        email=LONG,
        organisation=LONG,
        expertise=(LONG,) * 200,
        themes=(LONG,) * 50,
        languages=("nl",),
        last_confirmed=LONG,
        slack_user_id="U0AN",
    )
    items = [HomeItem(text=LONG, state=LONG, date=LONG)] * 100
    view = build_home_view(HomeData(profile=card, routed=items, asked=items, is_staff=True, stale_count=3), "nl")
    dicts = view.to_dict()  # validates
    assert len(dicts["blocks"]) <= HOME_MAX_BLOCKS
    check(build_admin_blocks(AdminData(stale=[card] * 20, pending=[card] * 20), "nl"))
