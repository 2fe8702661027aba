"""The pure builder on fixed data: sections, privacy, escaping, splitting within Slack's limits, figures."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock

from digests.model import (
    AnsweredItem,
    DigestData,
    GapItem,
    NewExpertItem,
    OpenQuestionItem,
    Person,
    PracticeItem,
    SubscriptionView,
    ThemeDigest,
    ThemeInfo,
    WeekFigures,
)
from handlers import ids
from handlers.blocks.digest import (
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    DigestLimits,
    build_digest,
    digest_fallback_text,
    format_duration,
    message_text_length,
    sparkline,
)
from handlers.blocks.digest_text import render_digest_text
from tests.digests.conftest import IN_WEEK, NOW, PERIOD, WINDOW_END, WINDOW_START, all_dicts, blocks_json

WONEN = ThemeInfo("wonen", "Wonen en woonbeleid", "Housing")
EUROPA = ThemeInfo("europa", "Europa en EU-financiering", "Europe and EU funding")
KLIMAAT = ThemeInfo("klimaat", "Klimaat, energie en milieu", "Climate, energy and environment")
VIEW = SubscriptionView(channel_id="C0DIGEST1")
QUIET = (WeekFigures(),) * 8


def permalink(channel: str, ts: str) -> str:
    return f"https://wieweet.slack.com/archives/{channel}/p{ts.replace('.', '')}"


def practice(n: int = 1, **kw: object) -> PracticeItem:
    values: dict[str, object] = {
        "id": n,
        "title": f"Praktijk {n}",
        "city": "Gent",
        "organisation": "Stad Gent",
        "outcome": "good",
        "url": f"https://stad.gent/p{n}",
        "is_new": True,
        "changed_at": IN_WEEK,
    }
    values.update(kw)
    return PracticeItem(**values)  # type: ignore[arg-type]


def answered(n: int = 1, *answerers: Person, **kw: object) -> AnsweredItem:
    values: dict[str, object] = {
        "question_id": n,
        "text": f"Beantwoorde vraag {n}",
        "asked_at": IN_WEEK - timedelta(hours=5),
        "answered_at": IN_WEEK,
        "answerers": answerers or (Person(key="s:U0AN", name="An Peeters", slack_user_id="U0AN"),),
        "channel_id": "C0PUBLIC",
        "thread_ts": f"1763000000.{n:06d}",
    }
    values.update(kw)
    return AnsweredItem(**values)  # type: ignore[arg-type]


def open_q(n: int = 1, **kw: object) -> OpenQuestionItem:
    values: dict[str, object] = {
        "question_id": n,
        "text": f"Open vraag {n}",
        "asked_at": IN_WEEK,
        "channel_id": "C0PUBLIC",
        "thread_ts": f"1763000001.{n:06d}",
    }
    values.update(kw)
    return OpenQuestionItem(**values)  # type: ignore[arg-type]


def expert(n: int = 1, **kw: object) -> NewExpertItem:
    values: dict[str, object] = {
        "id": n,
        "person": Person(key=f"e:{n}", name=f"Expert {n}", slack_user_id=f"U0EXP{n:03d}"),
        "organisation": "Stad Leuven",
        "city": "Leuven",
        "role": "adviseur",
    }
    values.update(kw)
    return NewExpertItem(**values)  # type: ignore[arg-type]


def theme(info: ThemeInfo = WONEN, **kw: object) -> ThemeDigest:
    values: dict[str, object] = {"theme": info, "weeks": QUIET}
    values.update(kw)
    return ThemeDigest(**values)  # type: ignore[arg-type]


def data(*themes: ThemeDigest) -> DigestData:
    return DigestData(window_start=WINDOW_START, window_end=WINDOW_END, themes=themes)


def build(digest: DigestData, view: SubscriptionView = VIEW, *, lang: str = "nl", **kw: object) -> list[list[Block]]:
    return build_digest(digest, subscription_view=view, period=PERIOD, now=NOW, lang=lang, **kw)  # type: ignore[arg-type]


def full_theme(info: ThemeInfo = WONEN) -> ThemeDigest:
    return theme(
        info,
        practices=(practice(1), practice(2, is_new=False, outcome="failed")),
        answered=(answered(10),),
        open_questions=(open_q(20),),
        new_experts=(expert(30),),
        gaps=(GapItem("leegstand winkelpanden", 3),),
        weeks=(*QUIET[:6], WeekFigures(2, 1, 3600.0), WeekFigures(4, 2, 7200.0)),
    )


def assert_valid(messages: list[list[Block]]) -> None:
    for message in messages:
        assert 0 < len(message) <= MAX_BLOCKS
        assert message_text_length(message) <= MESSAGE_TEXT_LIMIT
        for block in message:
            block.validate_json()
            if isinstance(block, HeaderBlock):
                assert len(block.text.text) <= 150
            if isinstance(block, SectionBlock) and block.text is not None:
                assert len(block.text.text) <= 3000


# --- sections ----------------------------------------------------------------------------------------------------


def test_full_theme_has_every_section() -> None:
    messages = build(data(full_theme()), permalink=permalink)
    assert len(messages) == 1
    assert_valid(messages)
    text = blocks_json(messages)
    for heading in ("*Praktijken*", "*Beantwoorde vragen*", "*Open vragen", "*Nieuwe experts*", "*Kennislacunes*"):
        assert heading in text
    assert "Wonen en woonbeleid" in text
    assert "Praktijk 1" in text and "_nieuw_" in text and "_bijgewerkt_" in text and "mislukt" in text
    assert "<https://stad.gent/p1|Praktijk 1>" in text
    assert "<https://wieweet.slack.com/archives/C0PUBLIC/p1763000000000010|Beantwoorde vraag 10>" in text
    assert "beantwoord door <@U0AN>" in text
    assert "<@U0EXP030>" in text
    assert "“leegstand winkelpanden” — 3×" in text
    assert "Dank je wel, <@U0AN>" in text


@pytest.mark.parametrize("missing", ["practices", "answered", "open_questions", "new_experts", "gaps"])
def test_each_section_left_out_when_empty(missing: str) -> None:
    headings = {
        "practices": "*Praktijken*",
        "answered": "*Beantwoorde vragen*",
        "open_questions": "*Open vragen",
        "new_experts": "*Nieuwe experts*",
        "gaps": "*Kennislacunes*",
    }
    text = blocks_json(build(data(replace(full_theme(), **{missing: ()}))))
    assert headings[missing] not in text
    for other, heading in headings.items():
        if other != missing:
            assert heading in text


def test_theme_with_nothing_new_is_left_out() -> None:
    text = blocks_json(build(data(full_theme(WONEN), theme(EUROPA), theme(KLIMAAT, practices=(practice(5),)))))
    assert "Wonen en woonbeleid" in text and "Klimaat, energie en milieu" in text
    assert "Europa en EU-financiering" not in text


def test_theme_with_only_questions_asked_shows_its_figures() -> None:
    busy = theme(EUROPA, weeks=(*QUIET[:7], WeekFigures(asked=2)))
    text = blocks_json(build(data(busy)))
    assert "Europa en EU-financiering" in text and "Vragen gesteld: *2*" in text


def test_subscription_themes_filter() -> None:
    view = replace(VIEW, themes=("klimaat",))
    text = blocks_json(build(data(full_theme(WONEN), full_theme(KLIMAAT)), view))
    assert "Klimaat, energie en milieu" in text and "Wonen en woonbeleid" not in text


def test_empty_week_posts_nothing_unless_post_empty() -> None:
    quiet = data(theme(WONEN), theme(EUROPA))
    assert build(quiet) == []
    messages = build(quiet, replace(VIEW, post_empty=True))
    assert len(messages) == 1
    assert_valid(messages)
    assert "Een rustige week" in blocks_json(messages)


# --- privacy -------------------------------------------------------------------------------------------------------


def test_private_anonymous_and_private_channel_questions_never_appear() -> None:
    secrets = [
        answered(1, text="GEHEIM-private", visibility="private"),
        answered(2, text="GEHEIM-anonymous", visibility="anonymous"),
        answered(3, text="GEHEIM-privchannel", channel_is_private=True),
        answered(4, text="GEHEIM-dm", channel_id="D0DIRECT", channel_is_private=True),
        answered(5, text="GEHEIM-private-c-channel", channel_id="C0SECRET1", channel_is_private=True),
    ]
    open_secrets = [
        open_q(6, text="GEHEIM-open-private", visibility="private"),
        open_q(7, text="GEHEIM-open-anonymous", visibility="anonymous"),
        open_q(8, text="GEHEIM-open-privchannel", channel_is_private=True),
    ]
    digest = theme(
        WONEN, answered=(*secrets, answered(9, text="Openbare vraag")), open_questions=(*open_secrets, open_q(10))
    )
    messages = build(data(digest), permalink=permalink)
    text = blocks_json(messages)
    assert "GEHEIM" not in text
    assert "Openbare vraag" in text and "Open vraag 10" in text
    values = [d["accessory"]["value"] for d in all_dicts(messages) if "accessory" in d]
    assert values == ["10"]


def test_only_private_items_make_an_empty_week() -> None:
    digest = theme(
        WONEN, answered=(answered(1, visibility="private"),), open_questions=(open_q(2, visibility="anonymous"),)
    )
    assert build(data(digest)) == []


def test_opted_out_and_withdrawn_people_are_never_named() -> None:
    # The collector never gives hidden people a name; the builder ignores one even if it is there.
    hidden = Person(key="s:U0SECRET", name="Bo Verborgen", slack_user_id="U0SECRET", hidden=True)
    hidden2 = Person(key="e:77", name="Cas Teruggetrokken", hidden=True)
    visible = Person(key="s:U0AN", name="An Peeters", slack_user_id="U0AN")
    digest = theme(
        WONEN,
        answered=(answered(1, hidden, visible), answered(2, hidden2), answered(3, hidden)),
        new_experts=(expert(1, person=hidden), expert(2)),
    )
    messages = build(data(digest))
    text = blocks_json(messages)
    for leak in ("U0SECRET", "Bo Verborgen", "Cas Teruggetrokken"):
        assert leak not in text
    assert "beantwoord door <@U0AN> en een collega" in text
    assert "Dank je wel, <@U0AN> en 2 collega's" in text
    assert "<@U0EXP002>" in text


def test_people_without_slack_id_are_named_escaped() -> None:
    person = Person(key="n:x", name="<!channel> Dirk & Co")
    text = blocks_json(build(data(theme(WONEN, answered=(answered(1, person),)))))
    assert "*&lt;!channel&gt; Dirk &amp; Co*" in text
    assert "<!channel>" not in text


def test_hostile_text_is_escaped_everywhere() -> None:
    evil = "<!channel> <!here|here> <@U0VICTIM> <https://evil.example|klik hier> &"
    digest = theme(
        ThemeInfo("wonen", f"Wonen {evil}", "Housing"),
        practices=(
            practice(1, title=evil, city=evil, url="javascript:alert(1)"),
            practice(2, url="https://ok.example/|<x>"),
        ),
        answered=(answered(1, Person(key="n:e", name=evil), text=evil, permalink="https://x.example/a>b"),),
        open_questions=(open_q(1, text=evil),),
        new_experts=(expert(1, person=Person(key="e:1", name=evil), organisation=evil, role=evil, city=evil),),
        gaps=(GapItem(evil, 2),),
    )
    for lang in ("nl", "en"):
        messages = build(data(digest), lang=lang, permalink=lambda c, t: "https://evil.example/<!channel>")
        assert_valid(messages)
        text = blocks_json(messages)
        for bad in ("<!channel>", "<!here", "<@U0VICTIM>", "<https://evil.example", "javascript:", "<x>"):
            assert bad not in text, bad
        assert "&lt;!channel&gt;" in text


# --- links and buttons ---------------------------------------------------------------------------------------------


def test_open_question_has_i_can_help_button_with_question_id() -> None:
    messages = build(data(theme(WONEN, open_questions=(open_q(42), open_q(43)))), permalink=permalink)
    buttons = [d["accessory"] for d in all_dicts(messages) if "accessory" in d]
    assert [b["value"] for b in buttons] == ["42", "43"]
    assert {b["action_id"] for b in buttons} == {ids.ACTION_CAN_HELP}
    assert buttons[0]["text"]["text"] == "Ik kan helpen"
    assert "<https://wieweet.slack.com/archives/C0PUBLIC/p1763000001000042|Open vraag 42>" in blocks_json(messages)


def test_answer_link_prefers_stored_permalink_then_thread_then_answer_post() -> None:
    stored = answered(1, permalink="https://wieweet.slack.com/archives/C1/p1")
    thread = answered(2)
    posted = answered(3, channel_id="C0PUBLIC", thread_ts=None, answer_posts=(("C0POST", "1763000002.000001"),))
    none = answered(4, channel_id="C0PUBLIC", thread_ts=None)
    text = blocks_json(build(data(theme(WONEN, answered=(stored, thread, posted, none))), permalink=permalink))
    assert "<https://wieweet.slack.com/archives/C1/p1|Beantwoorde vraag 1>" in text
    assert "<https://wieweet.slack.com/archives/C0PUBLIC/p1763000000000002|Beantwoorde vraag 2>" in text
    assert "<https://wieweet.slack.com/archives/C0POST/p1763000002000001|Beantwoorde vraag 3>" in text
    assert "• Beantwoorde vraag 4 —" in text
    without = blocks_json(build(data(theme(WONEN, answered=(thread,)))))  # no permalink function: no link
    assert "• Beantwoorde vraag 2 —" in without


def test_lists_are_capped_with_a_more_line() -> None:
    digest = theme(
        WONEN,
        practices=tuple(practice(i) for i in range(1, 15)),
        open_questions=tuple(open_q(i) for i in range(1, 9)),
    )
    messages = build(data(digest), limits=DigestLimits(practices=10, open_questions=5))
    text = blocks_json(messages)
    assert "|Praktijk 10>" in text and "|Praktijk 11>" not in text
    assert "… en nog 4" in text and "… en nog 3" in text
    assert len([d for d in all_dicts(messages) if "accessory" in d]) == 5


# --- figures --------------------------------------------------------------------------------------------------------


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0] * 8) == "▁" * 8
    assert sparkline([0, 1, 100]) == "▁▂█"
    assert sparkline([5, 5]) == "██"
    assert sparkline([]) == ""


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12))
def test_sparkline_properties(values: list[int]) -> None:
    line = sparkline(values)
    assert len(line) == len(values)
    for value, char in zip(values, line, strict=True):
        assert (char == "▁") == (value == 0)
        if value == max(values) and value > 0:
            assert char == "█"
    ranks = ["▁▂▃▄▅▆▇█".index(c) for c in line]
    pairs = sorted(zip(values, ranks, strict=True))
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(pairs))  # monotone


@pytest.mark.parametrize(
    ("seconds", "nl", "en"),
    [
        (None, "—", "—"),
        # CLDR's narrow units (Babel), days and hours joined as a unit list: nl_BE and en_GB conventions
        (20, "1 m", "1m"),
        (45 * 60, "45 m", "45m"),
        (5 * 3600, "5 u", "5h"),
        (26 * 3600, "1 d, 2 u", "1d 2h"),
        (48 * 3600, "2 d", "2d"),
    ],
)
def test_format_duration(seconds: float | None, nl: str, en: str) -> None:
    assert format_duration(seconds, "nl") == nl
    assert format_duration(seconds, "en") == en


def test_figures_line_compares_with_previous_week_and_draws_the_trend() -> None:
    weeks = (
        WeekFigures(0),
        WeekFigures(1),
        WeekFigures(2),
        WeekFigures(3),
        WeekFigures(4),
        WeekFigures(5),
        WeekFigures(6, 4, 26 * 3600.0),
        WeekFigures(7, 5, 5 * 3600.0),
    )
    text = blocks_json(build(data(theme(WONEN, weeks=weeks))))
    assert "Vragen gesteld: *7* (vorige week: 6) · beantwoord: *5* (4) · mediane antwoordtijd: *5 u* (1 d, 2 u)" in text
    assert "laatste 8 weken: ▁▂▃▄▅▆▇█" in text
    english = blocks_json(build(data(theme(WONEN, weeks=weeks)), lang="en"))
    assert (
        "Questions asked: *7* (previous week: 6) · answered: *5* (4) · median time to answer: *5h* (1d 2h)" in english
    )


# --- splitting ------------------------------------------------------------------------------------------------------


def _big(n_themes: int, n_items: int, text_len: int) -> DigestData:
    themes = []
    for t in range(n_themes):
        info = ThemeInfo(f"t{t}", f"Thema {t} " + "x" * 200, f"Theme {t}")
        themes.append(
            theme(
                info,
                practices=tuple(practice(t * 1000 + i, title=f"P{t}-{i} " + "p" * text_len) for i in range(n_items)),
                answered=tuple(answered(t * 1000 + i, text=f"A{t}-{i} " + "a" * text_len) for i in range(n_items)),
                open_questions=tuple(open_q(t * 1000 + i, text=f"O{t}-{i} " + "o" * text_len) for i in range(n_items)),
                new_experts=tuple(expert(t * 1000 + i) for i in range(n_items)),
                gaps=tuple(GapItem(f"G{t}-{i} " + "g" * text_len, i + 2) for i in range(n_items)),
            )
        )
    return data(*themes)


UNLIMITED = DigestLimits(practices=10_000, answered=10_000, open_questions=10_000, new_experts=10_000, gaps=10_000)


def _markers(messages: list[list[Block]]) -> list[str]:
    return re.findall(r"\b([PAOG]\d+-\d+) ", blocks_json(messages))


def test_long_digest_is_split_within_limits_without_losing_or_repeating_anything() -> None:
    digest = _big(n_themes=6, n_items=40, text_len=250)
    messages = build(digest, limits=UNLIMITED, permalink=permalink)
    assert len(messages) > 3
    assert_valid(messages)
    markers = _markers(messages)
    expected = {f"{kind}{t}-{i}" for kind in "PAOG" for t in range(6) for i in range(40)}
    assert sorted(markers) == sorted(expected)  # every item exactly once
    texts = [blocks_json([m]) for m in messages]
    parts = len(messages)
    assert f"deel 1/{parts}" in texts[0]
    for index, text in enumerate(texts[1:], start=2):
        assert f"deel {index}/{parts}" in text
    assert any("(vervolg)" in t for t in texts[1:])
    assert "Dank je wel" in texts[-1]  # thanks close the last message
    for message in messages:  # a message never ends on a heading
        last = message[-1].to_dict()
        assert last["type"] != "header"
        assert not str(last.get("text", {}).get("text", "")).startswith(":raising_hand:")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_themes=st.integers(min_value=1, max_value=5),
    n_items=st.integers(min_value=0, max_value=30),
    text_len=st.integers(min_value=0, max_value=2500),
)
def test_split_property(n_themes: int, n_items: int, text_len: int) -> None:
    messages = build(_big(n_themes, n_items, text_len), limits=UNLIMITED, permalink=permalink)
    assert_valid(messages)
    expected = {f"{kind}{t}-{i}" for kind in "PAOG" for t in range(n_themes) for i in range(n_items)}
    assert set(_markers(messages)) == expected


def test_fallback_text_has_no_user_content() -> None:
    digest = data(full_theme())
    assert digest_fallback_text(digest, lang="nl", part=1, parts=1) == "Weekoverzicht wieweet 16 nov – 23 nov 2026"
    assert (
        digest_fallback_text(digest, lang="en", part=2, parts=3)
        == "wieweet weekly digest 16 Nov – 23 Nov 2026 (part 2 of 3)"
    )


# --- languages and text --------------------------------------------------------------------------------------------


def test_english_digest() -> None:
    text = blocks_json(build(data(full_theme()), lang="en"))
    for phrase in ("Housing", "*Practices*", "*Answered questions*", "I can help", "*New experts*", "Thank you"):
        assert phrase in text
    assert "Wonen en woonbeleid" not in text


def test_render_digest_text_for_the_terminal() -> None:
    digest = theme(WONEN, practices=(practice(1, title="Huren & <wonen>"),), answered=(answered(1),))
    output = render_digest_text(build(data(digest), permalink=permalink))
    assert "Weekoverzicht wieweet · 16 nov – 23 nov 2026" in output
    assert "Huren & <wonen> (https://stad.gent/p1)" in output
    assert "beantwoord door @U0AN" in output
    assert "📚 Praktijken" in output
    assert "&lt;" not in output and "*" not in output
    assert render_digest_text([]) == ""


def test_text_output_names_people_instead_of_mentioning_them() -> None:
    hidden = Person(key="e:9", hidden=True)
    no_name = Person(key="s:U0NONAME", slack_user_id="U0NONAME")
    digest = theme(
        WONEN,
        answered=(answered(1, Person(key="s:U0AN", name="An Peeters", slack_user_id="U0AN"), hidden, no_name),),
        new_experts=(expert(1),),
    )
    slack = render_digest_text(build(data(digest)))
    assert "@U0AN" in slack and "@U0EXP001" in slack  # Slack shows a mention as the person's name
    text = render_digest_text(build(data(digest), mentions=False))
    assert "beantwoord door An Peeters en 2 collega's" in text
    assert "• Expert 1 — adviseur, Stad Leuven (Leuven)" in text
    assert "Dank je wel, An Peeters en 2 collega's" in text
    assert "U0" not in text and "@" not in text  # someone without a name is a colleague, never an id


def test_builder_is_deterministic() -> None:
    digest = _big(3, 10, 100)
    assert blocks_json(build(digest)) == blocks_json(build(digest))
    assert json.loads(blocks_json(build(digest)))


def test_thanks_name_the_most_active_people_and_count_the_rest() -> None:
    people = [Person(key=f"s:U0P{i:04d}", name=f"P{i}", slack_user_id=f"U0P{i:04d}") for i in range(40)]
    hidden = Person(key="e:999", hidden=True)
    items = [answered(i, people[i]) for i in range(40)]
    items += [answered(100 + i, people[39]) for i in range(3)]  # the most answers: named first
    items.append(answered(200, hidden))
    messages = build(data(theme(WONEN, answered=tuple(items))))
    thanks = next(d for d in all_dicts(messages) if "Dank je wel" in json.dumps(d, ensure_ascii=False))
    text = thanks["elements"][0]["text"]
    assert text.startswith(":pray: Dank je wel, <@U0P0039>, <@U0P0000>")
    assert text.count("<@") == 25 and "en 16 anderen" in text  # 15 people + the hidden colleague
    assert len(text) < 500
