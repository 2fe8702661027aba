"""Block Kit builders: pure functions, tested without a network."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, SectionBlock

from bot.presenter import AnswerItem, AnswerView, ExpertItem, PracticeItem
from handlers import ids
from handlers.blocks.answer import (
    MAX_BLOCKS,
    answer_fallback_text,
    build_answer_blocks,
    build_help_blocks,
    build_more_blocks,
)
from handlers.blocks.digest_modal import build_digest_modal
from handlers.kit import ThemeChoice, escape, escape_truncate, link, truncate, user_mention

HOSTILE = "<!channel> <!here> <@U0BOSS> <https://evil.example|bank> & co"


def expert(name: str = "An Peeters", **kw: object) -> ExpertItem:
    values: dict[str, object] = {
        "name": name,
        "organisation": "Stad Gent",
        "role": "beleidsmedewerker wonen",
        "city": "Gent",
        "email": "an.peeters@gent.be",
        "slack_user_id": "U0AN",
        "available": True,
        "availability": "beschikbaar",
        "reasons": ("leegstandsheffing — expertise",),
        "weak": False,
        "score": 3.2,
    }
    values.update(kw)
    return ExpertItem(**values)  # type: ignore[arg-type]


def practice(title: str = "Leegstandsheffing op winkelpanden", **kw: object) -> PracticeItem:
    values: dict[str, object] = {
        "title": title,
        "city": "Kortrijk",
        "organisation": "Stad Kortrijk",
        "outcome": "failed",
        "outcome_label": "mislukt — lessen geleerd",
        "year": 2019,
        "url": "https://www.kortrijk.be/leegstand",
        "lessons": "Te laag tarief.",
        "reasons": ("leegstandsheffing — titel",),
        "score": 2.0,
    }
    values.update(kw)
    return PracticeItem(**values)  # type: ignore[arg-type]


def view(**kw: object) -> AnswerView:
    values: dict[str, object] = {
        "lang": "nl",
        "query": "wie weet iets over leegstandsheffing?",
        "gap": False,
        "terms": ("leegstandsheffing",),
        "experts": (expert(),),
        "practices": (practice(),),
        "answers": (),
    }
    values.update(kw)
    return AnswerView(**values)  # type: ignore[arg-type]


def all_text(blocks: list[object]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)  # type: ignore[attr-defined]


def test_escape_neutralises_slack_control_sequences() -> None:
    out = escape(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&amp; co" in out


def test_escape_drops_every_control_character_but_tab_and_line_breaks() -> None:
    """C0, DEL and C1 (a register value can still hold one from an older import): the same set as every other place
    that drops them (``bot.text.CONTROLS``)."""
    assert escape("a\x00b\x7fc\x9b31md\x85e\tf\ng\rh") == "abc31mde\tf\ng\rh"


def test_truncate_is_visible_and_bounded() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"
    cut = escape_truncate("a&b" * 100, 20)
    assert len(cut) <= 20 and cut.endswith("…")
    assert not cut[:-1].endswith("&am")  # never half an entity


def test_link_only_for_plain_http_urls() -> None:
    assert link("https://gent.be/x", "Gent") == "<https://gent.be/x|Gent>"
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://a.be/x|<!here>", "t") == "t"
    assert link("https://gent.be@evil.example/x", "Gent") == "Gent"  # a user name before the host
    assert link("https://evil.example\\@gent.be/x", "Gent") == "Gent"
    assert link("http://intranet.gent.be/x?a=1#b", "Oud") == "<http://intranet.gent.be/x?a=1#b|Oud>"  # stored before
    assert link("https://medium.com/@gent/x", "Blog") == "<https://medium.com/@gent/x|Blog>"
    assert "<!here>" not in link("https://a.be", "<!here>")


def test_user_mention_only_for_slack_ids() -> None:
    assert user_mention("U0AN") == "<@U0AN>"
    assert user_mention("<!channel>") is None
    assert user_mention(None) is None


def test_answer_blocks_show_experts_practices_buttons() -> None:
    blocks = build_answer_blocks(view(), search_log_id=42, shareable=True)
    text = all_text(blocks)
    assert "<@U0AN>" in text  # Slack mention for experts in Slack
    assert "leegstandsheffing — expertise" in text
    assert "<https://www.kortrijk.be/leegstand|Leegstandsheffing op winkelpanden>" in text
    assert "Te laag tarief." in text  # lessons of a failed practice
    actions = [b for b in blocks if isinstance(b, ActionsBlock)]
    assert len(actions) == 1
    action_ids = [e.action_id for e in actions[0].elements]
    assert action_ids == [ids.ACTION_SHARE, ids.ACTION_MORE, ids.ACTION_FEEDBACK_UP, ids.ACTION_FEEDBACK_DOWN]
    assert all(e.value == "42" for e in actions[0].elements)


def test_expert_outside_slack_shows_name_and_email() -> None:
    blocks = build_answer_blocks(view(experts=(expert(slack_user_id=None),)), search_log_id=1)
    text = all_text(blocks)
    assert "*An Peeters*" in text and "an.peeters@gent.be" in text and "<@" not in text


def test_hostile_register_entries_and_queries_are_escaped() -> None:
    hostile = view(
        query=HOSTILE,
        experts=(expert(name=HOSTILE, organisation=HOSTILE, role=HOSTILE, slack_user_id=None, reasons=(HOSTILE,)),),
        practices=(practice(title=HOSTILE, url="https://x.be/|<!channel>", lessons=HOSTILE, reasons=(HOSTILE,)),),
        answers=(
            AnswerItem(
                question=HOSTILE,
                answered_by=HOSTILE,
                organisation="",
                answered_on=None,
                url="",
                byline=HOSTILE,
                score=1.0,
                reasons=(HOSTILE,),
            ),
        ),
    )
    blocks = build_answer_blocks(hostile, search_log_id=1) + build_more_blocks(hostile, offset=0)
    text = all_text(blocks) + answer_fallback_text(hostile)
    for forbidden in ("<!channel>", "<!here>", "<@U0BOSS>", "<https://evil.example"):
        assert forbidden not in text


def test_limits_hold_for_huge_entries() -> None:
    huge = "woningkwaliteitscontrole " * 2000
    many = tuple(expert(name=huge, role=huge, reasons=(huge,) * 10) for _ in range(40))
    big = view(query=huge, experts=many, practices=tuple(practice(title=huge, lessons=huge) for _ in range(40)))
    for blocks in (build_answer_blocks(big, search_log_id=1), build_more_blocks(big, offset=3)):
        assert len(blocks) <= MAX_BLOCKS
        for block in blocks:
            block.validate_json()  # slack_sdk's own limit checks (section 3000, header 150, ...)
            if isinstance(block, SectionBlock) and block.text is not None:
                assert len(block.text.text) <= 3000
    assert len(answer_fallback_text(big)) <= 3000


def test_gap_answer_says_so_and_marks_weak_candidates() -> None:
    text = all_text(build_answer_blocks(view(gap=True, experts=(expert(weak=True),)), search_log_id=1))
    assert "Niemand in het register" in text and "zwakke overeenkomst" in text


def test_english_labels() -> None:
    text = all_text(build_answer_blocks(view(lang="en"), search_log_id=1, shareable=True))
    assert "Experts" in text and "Share in channel" in text and "More results" in text


def test_help_in_both_languages() -> None:
    assert "/wieweet" in all_text(build_help_blocks("nl")) and "vraag" in all_text(build_help_blocks("nl"))
    assert "question" in all_text(build_help_blocks("en"))


def test_digest_modal_is_valid_and_prefilled() -> None:
    themes = [ThemeChoice(key="wonen", label="Wonen en woonbeleid"), ThemeChoice(key="europa", label="Europa")]
    view = build_digest_modal(
        "en",
        channel_id="C1",
        themes=themes,
        selected=["europa"],
        weekday=4,
        hour=16,
        minute=30,
        language="en",
        post_empty=True,
    )
    view.validate_json()
    data = view.to_dict()
    assert data["callback_id"] == ids.VIEW_DIGEST and json.loads(data["private_metadata"]) == {"channel_id": "C1"}
    text = json.dumps(data)
    assert '"initial_time": "16:30"' in text and "Friday" in text and "Weekly digest" in text
    theme_block = next(b for b in data["blocks"] if b["block_id"] == ids.BLOCK_DIGEST_THEMES)
    assert [o["value"] for o in theme_block["element"]["initial_options"]] == ["europa"]
