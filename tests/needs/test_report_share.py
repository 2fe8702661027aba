"""The report's answered share: of the questions asked in the period, the part answered by the period's end (never
over 100 %), beside the questions answered in the period whenever asked (the digest's figure); shown as a percent
in the workbook (a number format), the HTML page and the monthly share chart. Against both databases."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.numbers import parse_decimal
from openpyxl import load_workbook

from bot.i18n import locale, t
from bot.needs.model import COVERED
from bot.needs.periods import parse_period
from bot.needs.report import ReportData, collect_report, percent, render_html, render_xlsx
from tests.needs.conftest import NOW, STAFF, Network, add_question

BXL = ZoneInfo("Europe/Brussels")

# the fixture: 8 questions asked in 2026-11, one of them answered in 2026-11


def _report(network: Network) -> ReportData:
    with network.database.session() as s:
        for n in range(10):  # asked in Q3, answered in Q4: a backlog cleared
            add_question(
                s,
                f"Wie weet iets over leegstand {n}?",
                asker="UGENT",
                created_at=datetime(2026, 9, 20, 10, tzinfo=UTC),
                answered_at=datetime(2026, 10, 5, 10, tzinfo=UTC),
                answerer=network.experts["lead"],
                themes=["wonen"],
            )
        add_question(  # asked in October with two themes, answered the next day: one question
            s,
            "Wie weet iets over fietsstraten in een woonwijk?",
            asker="UGENT",
            created_at=datetime(2026, 10, 10, 10, tzinfo=UTC),
            answered_at=datetime(2026, 10, 11, 10, tzinfo=UTC),
            answerer=network.experts["lead"],
            themes=["wonen", "publieke-ruimte"],
        )
        add_question(  # asked in December, answered only after the quarter (a report made in January)
            s,
            "Wie weet iets over kerstmarkten?",
            asker="UGENT",
            created_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
            answered_at=datetime(2027, 1, 10, 10, tzinfo=UTC),
            answerer=network.experts["lead"],
            themes=["wonen"],
        )
    with network.database.session() as s:
        return collect_report(s, service=network.service, actor=STAFF, period=parse_period("2026-Q4"), now=NOW)


def test_the_share_is_of_the_questions_asked_in_the_period(network: Network) -> None:
    data = _report(network)
    assert data.asked == 10
    assert data.answered == 12  # answered in the period, whenever asked: the digest's figure, kept
    assert data.asked_answered == 2  # asked in the period and answered by its end
    assert data.answered_share == 0.2
    assert [(m.month, m.asked, m.answered) for m in data.month_shares] == [
        ("2026-10", 1, 1),  # one question, though it has two themes
        ("2026-11", 8, 1),
        ("2026-12", 1, 0),  # answered after the period's end
    ]


def test_the_workbook_shows_both_figures_and_the_share_as_a_percent(network: Network) -> None:
    data = _report(network)
    book = load_workbook(io.BytesIO(render_xlsx(data)))
    summary = {row[0]: row for row in book["Overzicht"].iter_rows(min_row=3) if row[0].value}
    cells = {label.value: value for label, value, *_ in summary.values()}
    assert cells[t("report.asked")].value == 10
    assert cells[t("report.answered_in_period")].value == 12
    assert cells[t("report.asked_answered")].value == 2
    share = cells[t("report.share")]
    assert share.value == 0.2 and "%" in share.number_format
    themes = book["Thema's per maand"]
    rows = list(themes.iter_rows())
    heading = (t("report.month"), t("report.share"))
    top = max(i for i, row in enumerate(rows) if (row[0].value, row[1].value) == heading)
    monthly = [(row[0].value, row[1].value, row[1].number_format) for row in rows[top + 1 : top + 4]]
    assert [(m, v) for m, v, _ in monthly] == [("2026-10", 1.0), ("2026-11", 0.125), ("2026-12", 0.0)]
    assert all("%" in fmt for _, _, fmt in monthly)
    line = themes._charts[1]  # openpyxl keeps a loaded sheet's charts there
    assert "%" in line.y_axis.numFmt.formatCode


def test_the_page_shows_the_share_as_a_percent(network: Network) -> None:
    data = _report(network)
    page = render_html(data).decode()
    assert "20%" in page and "0.2<" not in page
    english = render_html(data, lang="en").decode()
    assert t("report.answered_in_period", "en") in english and "20%" in english


def test_the_notes_say_how_questions_are_counted(network: Network) -> None:
    data = _report(network)
    page = render_html(data).decode()
    book = load_workbook(io.BytesIO(render_xlsx(data)))
    cells = {c.value for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    for key in ("report.note_share", "report.note_themes", "report.note_topics"):
        assert html.escape(t(key)) in page and t(key) in cells, key
    # the per-theme totals are above "asked" (the two-theme question counts twice), as the note says
    assert sum(data.theme_total(key) for key, _ in data.themes) == data.asked + 1


def test_a_question_at_2330_local_on_the_quarters_last_day_counts_in_that_quarter(network: Network) -> None:
    late = datetime(2026, 12, 31, 23, 30, tzinfo=BXL)  # 22:30 UTC
    early = datetime(2026, 10, 1, 0, 30, tzinfo=BXL)  # 30 September, 22:30 UTC
    with network.database.session() as s:
        add_question(s, "oudejaarsvraag over wonen", asker="UGENT", created_at=late.astimezone(UTC), themes=["wonen"])
        add_question(s, "vraag in de eerste minuten van oktober", asker="UGENT", created_at=early.astimezone(UTC))
    with network.database.session() as s:
        q4, q1, q3 = (
            collect_report(s, service=network.service, actor=STAFF, period=parse_period(p), now=NOW)
            for p in ("2026-Q4", "2027-Q1", "2026-Q3")
        )
    assert (q4.asked, q1.asked, q3.asked) == (10, 0, 0)
    assert [(m.month, m.asked) for m in q4.month_shares] == [("2026-10", 1), ("2026-11", 8), ("2026-12", 1)]


def test_the_page_and_the_workbook_show_the_same_summary_figures(network: Network) -> None:
    """Both summaries give every figure, the topics with and without expertise among them, with the same values."""
    data = _report(network)
    assert data.topics
    with_expertise = sum(1 for topic in data.topics if topic.coverage == COVERED)
    for lang in ("nl", "en"):
        book = load_workbook(io.BytesIO(render_xlsx(data, lang=lang)))
        sheet = book[t("report.summary", lang)[:31]]
        rows = list(sheet.iter_rows(min_row=3, max_col=2, values_only=True))
        cells = dict(rows[: [label for label, _ in rows].index(t("report.note_share", lang))])  # down to the notes
        page = render_html(data, lang=lang).decode()
        start = page.index(f"<h2>{html.escape(t('report.summary', lang))}</h2>")
        summary = page[start : page.index("</table>", start)]
        shown = dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", summary))
        topics = t("report.topics", lang)
        with_label = html.escape(f"{topics}: {t('report.with', lang)}")
        without_label = html.escape(f"{topics}: {t('report.without', lang)}")
        assert shown[with_label] == str(with_expertise)
        assert shown[without_label] == str(len(data.topics) - with_expertise)
        assert [html.unescape(label) for label in shown] == list(cells)
        for label, value in cells.items():
            on_page = html.unescape(shown[html.escape(str(label))])
            if label == t("report.share", lang):
                assert on_page == percent(value, lang), label
            else:  # grouped as the page's language groups it; a whole number of hours reads back as an int
                assert (float(parse_decimal(on_page, locale=locale(lang))) if on_page else None) == value, label
