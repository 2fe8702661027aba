"""A user's long text is shown whole: an answer, a question, its context and added information, a practice's
description. Escaping makes them longer (every ``&`` costs five characters), so one section of 3,000 characters
cut them; each builder spreads them over as many sections as they need."""

from __future__ import annotations

import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from handlers.blocks.modals import ANSWER_MODAL, build_answer_modal
from handlers.kit import MAX_BLOCKS, SECTION_LIMIT, quoted_sections, split_mrkdwn
from handlers.outbox import render_message
from storage.models import OutboxKind
from tests.slack.test_routing_blocks import ANON, SELF_SERVICE

TAIL = "END-OF-TEXT"
# what the modals accept, with a link on every line and a mark-up character in between: 3,000 characters that
# escape to far more
LONG = ("Zie https://example.org/?a=1&b=2&c=3 <meer> & zo\n" * 80)[: ANSWER_MODAL.max_length - len(TAIL)] + TAIL
WORDY = ("Lege panden & heffingen " * 200)[: ANSWER_MODAL.max_length - len(TAIL)] + TAIL  # one long paragraph


def shown(blocks: list[Block]) -> str:
    """The plain text the sections show, block quotes and escaping undone, whitespace folded."""
    texts = []
    for block in blocks:
        data = block.to_dict()  # the typed blocks check Slack's limits here
        if data["type"] == "section":
            assert len(data["text"]["text"]) <= SECTION_LIMIT
            texts.append(data["text"]["text"])
    assert len(blocks) <= MAX_BLOCKS
    text = re.sub(r"(^|\n)> ", r"\1", "\n".join(texts))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def whole(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("text", [LONG, WORDY], ids=["lines", "paragraph"])
@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (OutboxKind.QUESTION_ANSWERED, "answer_text"),  # in the question's thread
        (OutboxKind.ANSWER_TO_ASKER, "answer_text"),  # by DM
        (OutboxKind.ROUTING_CLOSED, "answer_text"),  # to the other experts asked
        (OutboxKind.EXPERT_REQUEST, "text"),
        (OutboxKind.EXPERT_REQUEST, "context"),
        (OutboxKind.EXPERT_REQUEST, "additions"),
        (OutboxKind.EXPERT_REMINDER, "text"),
        (OutboxKind.QUESTION_UPDATED, "addition"),
        (OutboxKind.PRACTICE_REVIEW, "summary"),  # staff approve what they read
    ],
)
def test_a_long_text_is_shown_whole(kind: OutboxKind, field: str, text: str) -> None:
    payload: dict[str, Any] = ANON | SELF_SERVICE | {"reason": "answered", "anonymous": False}
    payload[field] = [text] if field == "additions" else text
    rendered = render_message(kind, payload, "nl")
    assert whole(text) in shown(rendered.blocks)


def test_the_answer_modal_shows_the_whole_question() -> None:
    view = build_answer_modal("nl", routing_id=3, question=LONG, metadata={})
    assert whole(LONG) in shown(view.blocks)


def test_only_text_longer_than_the_limit_is_cut_visibly() -> None:
    blocks = quoted_sections("&" * 5000, limit=4000)
    assert shown(blocks).replace(" ", "") == "&" * 3999 + "…"  # (pieces cut mid-word are shown apart)
    assert all(len(b.to_dict()["text"]["text"]) <= SECTION_LIMIT for b in blocks)


def test_pieces_end_at_a_line_or_word_and_never_inside_an_entity() -> None:
    text = "> " + "&amp;" * 150 + "\n> " + "woord &lt;x&gt; " * 300
    pieces = split_mrkdwn(text, 1000)
    assert all(len(p) <= 1000 for p in pieces)
    for piece in pieces:
        assert piece.startswith("> ")  # a continued quote stays a quote
        assert re.search(r"&(?!amp;|lt;|gt;)", piece) is None  # no entity cut in half
    assert pieces[1].startswith("> woord")  # the first piece ended at the line break
    assert all(p.endswith(("&amp;", "&gt;", "woord")) for p in pieces[:-1])  # ends at a word or a whole entity
