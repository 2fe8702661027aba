"""The needs report's figures are grouped as its language groups them, as the Slack texts do: "1.500" and "1.234,5"
on a Dutch page, "1,500" and "1,234.5" on an English one. The workbook keeps real numbers in its cells (Excel sums
them) and shows them with a thousands format ("#,##0", "#,##0.0" where tenths are shown); an id is no amount."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from bot.needs.report import PERCENT, TENTHS, THOUSANDS, render_html, render_xlsx
from bot.needs.report_data import Helper, ReportData
from tests.output.hostile import report_data


def _big() -> ReportData:
    data = report_data(("Wonen",))
    return replace(
        data,
        asked=1500,
        answered=1200,
        median_hours=1234.5,
        figures=tuple(replace(f, asked=2500, median_hours=1500.5) for f in data.figures),
        topics=tuple(replace(t, id=1234, questions=3000) for t in data.topics),
        experts=(Helper("An", "Gent", 4321),),
        organisations=(("Gent", 4321),),
    )


@pytest.mark.parametrize(
    ("lang", "grouped", "plain"),
    [
        ("nl", ["1.500", "1.200", "1.234,5", "2.500", "1.500,5", "3.000", "4.321"], ["1500", "1234.5", "4321"]),
        ("en", ["1,500", "1,200", "1,234.5", "2,500", "1,500.5", "3,000", "4,321"], ["1500", "1234.5", "4321"]),
    ],
)
def test_the_page_groups_its_figures_in_its_language(lang: str, grouped: list[str], plain: list[str]) -> None:
    page = render_html(_big(), lang=lang).decode("utf-8")
    for figure in grouped:
        assert f"<td>{figure}</td>" in page, figure
    for figure in plain:
        assert f"<td>{figure}</td>" not in page, figure


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_workbook_keeps_numbers_with_a_thousands_format(lang: str) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(_big(), lang=lang)))
    summary, themes, topics, people = book.worksheets[:4]
    asked = next(row[1] for row in summary.iter_rows() if row[1].value == 1500)  # found by value: a real number
    assert asked.number_format == THOUSANDS
    median = next(row[1] for row in summary.iter_rows() if row[1].value == 1234.5)
    assert median.number_format == TENTHS
    share = next(row[1] for row in summary.iter_rows() if isinstance(row[1].value, float) and row[1].value < 1)
    assert share.number_format == PERCENT  # the answered share stays a percent
    month = themes.cell(row=2, column=3)
    assert (month.value, month.number_format) == (2500, THOUSANDS)
    assert (themes.cell(row=2, column=5).value, themes.cell(row=2, column=5).number_format) == (1500.5, TENTHS)
    assert themes.cell(row=2, column=2).value == "2026-10"  # a month stays text
    topic_id, questions = topics.cell(row=2, column=1), topics.cell(row=2, column=3)
    assert (topic_id.value, topic_id.number_format) == (1234, "General")  # an id is not grouped
    assert (questions.value, questions.number_format) == (3000, THOUSANDS)
    answers = people.cell(row=2, column=3)
    assert (answers.value, answers.number_format) == (4321, THOUSANDS)
