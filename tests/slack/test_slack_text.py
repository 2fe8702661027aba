"""Text as Slack sends it becomes the text the person typed, once (``handlers.slack_text``)."""

from __future__ import annotations

import pytest

from bot.matching.analysis import words
from handlers.slack_text import drop_control_characters, from_slack, question_from_slack, unescape


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("R&amp;D &lt;5 jaar &gt; 3", "R&D <5 jaar > 3"),
        ("&amp;lt;", "&lt;"),  # someone typed "&lt;": it stays that, it is not a "<"
        ("&amp;amp;", "&amp;"),
        ("&lt;!here&gt;", "<!here>"),  # typed as text: harmless text (escaped on the way out)
        ("a &amp;&amp; b", "a && b"),
        ("", ""),
    ],
)
def test_the_three_entities_are_decoded_once(sent: str, typed: str) -> None:
    assert unescape(sent) == typed
    assert from_slack(sent) == typed


@pytest.mark.parametrize(
    ("sent", "plain"),
    [
        ("vraag <@U0ANN0001|griet>", "vraag @griet"),  # the name Slack sent
        ("vraag <@U0ANN0001>", "vraag @…"),  # no name: nobody is named
        ("vraag <@W0ANN0001>", "vraag @…"),
        ("in <#C0WONEN01|wonen>", "in #wonen"),
        ("in <#C0WONEN01>", "in #…"),
        ("in <#C0WONEN01|>", "in #…"),
        ("<!here> <!channel> <!everyone|everyone>", "＠here ＠channel ＠everyone"),  # a full-width "＠"
        ("<!subteam^S0TEAM01|@woonteam> helpt", "＠woonteam helpt"),
        ("<!subteam^S0TEAM01> helpt", "＠… helpt"),
        ("<!date^1392734382^{date_num}|2014-02-18> vergadering", "2014-02-18 vergadering"),
        ("zie <https://example.org/a?b=1&amp;c=2|de nota &amp; bijlage>", "zie de nota & bijlage"),
        ("zie <https://example.org/a?b=1&amp;c=2>", "zie https://example.org/a?b=1&c=2"),
        ("mail <mailto:jan@stad.gent|Jan> of <mailto:an@stad.gent>", "mail Jan of an@stad.gent"),
    ],
)
def test_mentions_channels_and_links_become_plain_text(sent: str, plain: str) -> None:
    out = from_slack(sent)
    assert out == plain
    assert "<" not in out and ">" not in out


def test_a_question_leaves_the_mentions_out() -> None:
    sent = "<@U0BOT0001> wie weet iets over R&amp;D?  <@U0ANN0001> zei  het\n  tweede regel"
    assert question_from_slack(sent) == "wie weet iets over R&D? zei het\n  tweede regel"
    assert question_from_slack("<@U0BOT0001>") == ""


def test_the_question_is_searched_on_the_words_typed() -> None:
    query = from_slack("wie weet iets over R&amp;D-subsidies &lt;5 jaar?")
    assert query == "wie weet iets over R&D-subsidies <5 jaar?"
    assert words(query) == ["wie", "weet", "iets", "over", "subsidies", "jaar"]  # no "amp", no "lt"


def test_a_question_put_to_the_bot_loses_its_invisible_format_characters() -> None:
    """A zero-width space or a bidi mark pasted into a mention or DM would split a word for the search and hide a
    mistyped sub-command (``behoefte\u200b``); an emoji's zero-width joiner stays."""
    assert question_from_slack("<@U0BOT0001> leegstand\u200bsheffing \u202egent\u202c") == "leegstandsheffing gent"
    assert question_from_slack("<@U0BOT0001> behoefte\ufeff") == "behoefte"
    assert question_from_slack("wie kent \U0001f469\u200d\U0001f4bb open data?") == (
        "wie kent \U0001f469\u200d\U0001f4bb open data?"
    )


def test_control_characters_are_dropped_from_a_whole_payload_in_place() -> None:
    """A NUL (PostgreSQL refuses it in text), an escape, DEL and a C1 control go from every string of a request,
    however deep (a modal's inputs sit in view.state.values); tab, line feed and carriage return stay."""
    body = {
        "text": "leegstands\x00heffing\x1b[31m",
        "view": {"state": {"values": {"b": {"a": {"type": "plain_text_input", "value": "r\x7fe\x85g\tel\r\nx"}}}}},
        "actions": [{"value": "7\x00"}, 3, None, ["\x01"]],
    }
    inner = body["view"]
    assert drop_control_characters(body) is body and body["view"] is inner
    assert body == {
        "text": "leegstandsheffing[31m",
        "view": {"state": {"values": {"b": {"a": {"type": "plain_text_input", "value": "reg\tel\r\nx"}}}}},
        "actions": [{"value": "7"}, 3, None, [""]],
    }
