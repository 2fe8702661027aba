"""The needs report says a topic's trend in its language, as it says the coverage beside it: "stijgend" on a Dutch
page and workbook, "rising" on an English one. The codes (``new``, ``rising``…) are for scripts, which read
``wieweet needs --json``; the report is for people, so it holds the words only."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from bot.needs.model import TREND_FALLING, TREND_NEW, TREND_RISING, TREND_STABLE
from bot.needs.report import render_html, render_xlsx
from bot.needs.report_data import ReportData
from tests.output.hostile import report_data

TRENDS = (TREND_NEW, TREND_RISING, TREND_STABLE, TREND_FALLING)
WORDS = {
    "nl": ["nieuw", "stijgend", "stabiel", "dalend"],
    "en": ["new", "rising", "stable", "falling"],
}


def _every_trend() -> ReportData:
    data = report_data(("Wonen",))
    topic = data.topics[0]
    topics = tuple(replace(topic, id=topic.id + i, label=f"onderwerp {i}", trend=code) for i, code in enumerate(TRENDS))
    return replace(data, topics=topics)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_page_says_the_trend_in_its_language(lang: str) -> None:
    page = render_html(_every_trend(), lang=lang).decode("utf-8")
    for word in WORDS[lang]:
        assert f"<td>{word}</td>" in page, word
    if lang == "nl":
        for code in TRENDS:
            assert f"<td>{code}</td>" not in page, code


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_workbook_says_the_trend_in_its_language(lang: str) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(_every_trend(), lang=lang)))
    topics = book.worksheets[2]
    header = [cell.value for cell in topics[1]]
    trend = header.index(header[-1]) + 1  # the last column
    assert [topics.cell(row=row, column=trend).value for row in range(2, 2 + len(TRENDS))] == WORDS[lang]
