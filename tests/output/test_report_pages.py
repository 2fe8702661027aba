"""The report's chart images and HTML page with hostile text: never a crash (a crash denies everyone the report),
nothing that runs in a browser."""

from __future__ import annotations

import re

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.needs.report import render_chart_png, render_html
from tests.output.hostile import CHART_BREAKERS, EVERYTHING, MARKUP, report_data


@pytest.mark.parametrize("chart", ["themes", "topics"])
@pytest.mark.parametrize("text", CHART_BREAKERS)
def test_a_chart_draws_any_label(chart: str, text: str) -> None:
    assert render_chart_png(report_data((text, "Wonen")), chart=chart).startswith(b"\x89PNG")


@pytest.mark.parametrize("chart", ["themes", "topics"])
def test_a_chart_shows_a_dollar_sign_as_a_dollar_sign(chart: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # with mathtext on, "kost $5 of $10" is drawn as math ("5 of" in italics, the dollars gone)
    seen: list[Text] = []
    savefig = Figure.savefig

    def spy(self: Figure, *args: object, **kwargs: object) -> None:
        savefig(self, *args, **kwargs)  # type: ignore[arg-type]
        seen.extend(t for t in self.findobj(Text) if isinstance(t, Text) and "$" in t.get_text())

    monkeypatch.setattr(Figure, "savefig", spy)
    render_chart_png(report_data(("kost $5 of $10", "Wonen")), chart=chart)
    assert seen, "the label is drawn"
    assert all(not t.get_parse_math() for t in seen)


def test_html_escapes_every_text() -> None:
    text = render_html(report_data(EVERYTHING, period='2026-Q4"><script>x</script>'), lang="en").decode("utf-8")
    for markup in (*MARKUP, '"><script>'):
        assert markup == "javascript:alert(1)" or markup not in text, markup
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", text, re.IGNORECASE)
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", text))
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "thead", "tbody", "tr", "th"}
    assert tags <= allowed | {"td", "img", "p"}, tags  # p: the notes under the tables
    attributes = re.findall(r"<[a-z0-9]+((?:\s+[a-z-]+=\"[^\"]*\")*)\s*>", text)
    assert all(set(re.findall(r"([a-z-]+)=", a)) <= {"lang", "charset", "alt", "src", "class"} for a in attributes)
    assert text.count("<img ") == 2 and text.count("<script") == 0
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)


def test_a_theme_label_starting_with_an_underscore_is_in_the_legend(monkeypatch: pytest.MonkeyPatch) -> None:
    # matplotlib leaves labels starting with "_" out of a legend: the theme's bar was there, its name was not
    legends: list[str] = []
    savefig = Figure.savefig

    def spy(self: Figure, *args: object, **kwargs: object) -> None:
        legends.extend(t.get_text() for axes in self.axes if axes.get_legend() for t in axes.get_legend().get_texts())
        savefig(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Figure, "savefig", spy)
    render_chart_png(report_data(("_intern", "Wonen")), chart="themes")
    assert [text.strip() for text in legends] == ["_intern", "Wonen"]
