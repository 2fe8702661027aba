"""The steering-group report of a period: figures gathered once (``collect_report``, in ``bot.needs.report_data``,
where the figures are defined), written as an Excel workbook with native charts (``render_xlsx``), as a
self-contained HTML page with chart images (``render_html``), or as a single PNG chart for chat
(``render_chart_png``): bytes, which the caller writes (``bot.files``) or uploads. The answered share is shown as a
percent; notes under the tables say how questions are counted (under each theme; topics asked at least twice).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING

from babel.numbers import format_percent
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import N_, format_number, format_tenths, locale
from bot.i18n import t as catalogue_text
from bot.needs.model import (
    COVERED,
    NOT_COVERED,
    TREND_FALLING,
    TREND_NEW,
    TREND_RISING,
    TREND_STABLE,
    WEAK,
    TopicView,
)
from bot.needs.report_data import (
    OTHER_PEOPLE,
    Helper,
    MonthFigures,
    MonthShare,
    PracticeUse,
    ReportData,
    collect_report,
    collect_report_to_share,
)
from bot.sheets import append, put
from bot.text import printable
from digests.model import OTHER_THEME

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "OTHER_PEOPLE",
    "OTHER_THEME",
    "Helper",
    "MonthFigures",
    "MonthShare",
    "PracticeUse",
    "ReportData",
    "collect_report",
    "collect_report_to_share",
    "render_chart_png",
    "render_html",
    "render_xlsx",
]

PERCENT = "0.0%"  # the share's number format in the workbook (a fraction 0..1 shown as a percent)
# The workbook's counts and hours stay numbers (Excel sums them), shown with thousands grouped as the reader's Excel
# groups them: a count, and a figure shown to tenths (the median hours)
THOUSANDS = "#,##0"
TENTHS = "#,##0.0"


# --- texts -------------------------------------------------------------------------------------------------------

_KEYS: Mapping[str, str] = {  # name -> catalogue key
    "title": N_("report.title"),
    "summary": N_("report.summary"),
    "asked": N_("report.asked"),
    "answered": N_("report.answered"),
    "answered_in_period": N_("report.answered_in_period"),
    "asked_answered": N_("report.asked_answered"),
    "note_share": N_("report.note_share"),
    "note_themes": N_("report.note_themes"),
    "note_topics": N_("report.note_topics"),
    "share": N_("report.share"),
    "median": N_("report.median"),
    "gaps": N_("report.gaps"),
    "themes": N_("report.themes"),
    "theme": N_("report.theme"),
    "month": N_("report.month"),
    "public": N_("report.public"),
    "answered_public": N_("report.answered_public"),
    "median_public": N_("report.median_public"),
    "topics": N_("report.topics"),
    "label": N_("report.label"),
    "questions": N_("report.questions"),
    "organisations": N_("report.organisations"),
    "cities": N_("report.cities"),
    "coverage": N_("report.coverage"),
    "trend": N_("report.trend"),
    "experts": N_("report.experts"),
    "expert": N_("report.expert"),
    "organisation": N_("report.organisation"),
    "answers": N_("report.answers"),
    "practices": N_("report.practices"),
    "practice": N_("report.practice"),
    "city": N_("report.city"),
    "added": N_("report.added"),
    "shown": N_("report.shown"),
    "added_title": N_("report.added_title"),
    "used_title": N_("report.used_title"),
    "private_topic": N_("report.private_topic"),
    "others": N_("report.others"),
    COVERED: N_("report.coverage_covered"),
    WEAK: N_("report.coverage_weak"),
    NOT_COVERED: N_("report.coverage_none"),
    # the trend in words, as the Slack overview says it (the codes are for scripts: ``wieweet needs --json``)
    TREND_NEW: N_("needs.trend_new"),
    TREND_RISING: N_("needs.trend_rising"),
    TREND_STABLE: N_("needs.trend_stable"),
    TREND_FALLING: N_("needs.trend_falling"),
    "with": N_("report.with"),
    "without": N_("report.without"),
}


@cache
def _t(lang: str) -> dict[str, str]:
    """The report's headings and labels in ``lang`` (the catalogue's texts, read once per language)."""
    return {name: catalogue_text(key, lang) for name, key in _KEYS.items()}


def percent(share: float | None, lang: str) -> str | None:
    """``0.125`` as "12,5%" (Dutch) or "12.5%" (English); no share (nothing asked) stays empty."""
    return None if share is None else format_percent(share, "#,##0.#%", locale=locale(lang))


def topic_label(topic: TopicView, lang: str) -> str:
    return topic.label or f"#{topic.id} {_t(lang)['private_topic']}"


def _theme_rows(data: ReportData) -> list[tuple[str, str, list[MonthFigures]]]:
    """Themes with at least one question in the period, with their months in order."""
    rows = []
    for key, label in data.themes:
        months = [f for f in data.figures if f.theme == key]
        if any(f.asked or f.answered for f in months):
            rows.append((key, label, months))
    return rows


# --- Excel -------------------------------------------------------------------------------------------------------


def _header(sheet: Worksheet, values: Sequence[str]) -> None:
    append(sheet, list(values))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def render_xlsx(data: ReportData, *, lang: str = "nl") -> bytes:
    """The workbook: summary, themes per month, topics, experts and organisations, practices — with charts."""
    tx = _t(lang)
    book = Workbook()
    summary = book.active
    assert summary is not None
    _summary_sheet(summary, data, tx)
    _themes_sheet(book.create_sheet(tx["themes"][:31]), data, tx)
    _topics_sheet(book.create_sheet(tx["topics"][:31]), data, tx, lang)
    _people_sheet(book.create_sheet(tx["experts"][:31]), data, tx)
    _practices_sheet(book.create_sheet(tx["practices"][:31]), data, tx)
    for sheet in book.worksheets:
        _number_formats(sheet, ids=sheet.title == tx["topics"][:31])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number_formats(sheet: Worksheet, *, ids: bool) -> None:
    """Every count a thousands format, every other number (hours, to tenths) one with a decimal; a cell that has
    its own format (the share, a percent) keeps it. ``ids``: the sheet's first column holds ids (a topic's
    number), which are no amounts and are not grouped."""
    for row in sheet.iter_rows(min_col=2 if ids else 1):
        for cell in row:
            value: object = cell.value
            if cell.number_format != "General" or isinstance(value, bool):
                continue
            if isinstance(value, int):
                cell.number_format = THOUSANDS
            elif isinstance(value, float):
                cell.number_format = TENTHS


def _bar_chart(title: str, *, kind: str = "bar", stacked: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = kind
    chart.title = title
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    return chart


def summary_rows(data: ReportData, tx: Mapping[str, str]) -> list[tuple[str, int | float | None]]:
    """The summary's figures, the same in the workbook and on the page (which shows the share as a percentage)."""
    with_expertise = sum(1 for t in data.topics if t.coverage == COVERED)
    return [
        (tx["asked"], data.asked),
        (tx["asked_answered"], data.asked_answered),
        (tx["share"], data.answered_share),
        (tx["answered_in_period"], data.answered),
        (tx["median"], data.median_hours),
        (tx["gaps"], data.gaps),
        (f"{tx['topics']}: {tx['with']}", with_expertise),
        (f"{tx['topics']}: {tx['without']}", len(data.topics) - with_expertise),
    ]


def _summary_sheet(sheet: Worksheet, data: ReportData, tx: Mapping[str, str]) -> None:
    sheet.title = tx["summary"][:31]
    append(sheet, [f"{tx['title']} — {data.period}"])
    sheet["A1"].font = Font(bold=True, size=14)
    append(sheet, [])
    for label, value in summary_rows(data, tx):
        append(sheet, [label, value])
        if label == tx["share"]:
            sheet.cell(row=sheet.max_row, column=2).number_format = PERCENT
    sheet.column_dimensions["A"].width = 44
    append(sheet, [])
    for note in ("note_share", "note_topics"):
        _note(sheet, tx[note])


def _note(sheet: Worksheet, text: str) -> None:
    """A note (how a figure is counted) below a table: one cell, over the columns to its right."""
    row = sheet.max_row + 1
    put(sheet, row, 1, text).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
    sheet.row_dimensions[row].height = 45


def _themes_sheet(sheet: Worksheet, data: ReportData, tx: Mapping[str, str]) -> None:
    """One row per theme and month, and a pivot (themes x months) that the chart reads."""
    columns = ("theme", "month", "asked", "answered", "median", "public", "answered_public", "median_public")
    _header(sheet, [tx[c] for c in columns])
    rows = _theme_rows(data)
    for _, label, months in rows:
        for f in months:
            append(
                sheet,
                [
                    label,
                    f.month,
                    f.asked,
                    f.answered,
                    f.median_hours,
                    f.asked_public,
                    f.answered_public,
                    f.median_hours_public,
                ],
            )
    _note(sheet, tx["note_themes"])
    append(sheet, [])
    pivot_top = sheet.max_row + 2  # below the blank row (which max_row does not count)
    _header(sheet, [tx["theme"], *data.months])
    for _, label, months in rows:
        append(sheet, [label, *[f.asked for f in months]])
    sheet.column_dimensions["A"].width = 36
    if not rows:
        return
    chart = _bar_chart(f"{tx['asked']} — {tx['themes']}", kind="col", stacked=True)
    chart.y_axis.title = tx["questions"]
    pivot = Reference(sheet, min_col=2, max_col=1 + len(data.months), min_row=pivot_top, max_row=pivot_top + len(rows))
    chart.add_data(pivot, titles_from_data=True, from_rows=False)
    chart.set_categories(Reference(sheet, min_col=1, min_row=pivot_top + 1, max_row=pivot_top + len(rows)))
    chart.width, chart.height = 24, 12
    sheet.add_chart(chart, f"J{pivot_top}")
    _share_chart(sheet, data, tx, anchor=f"J{pivot_top + 26}")


def _share_chart(sheet: Worksheet, data: ReportData, tx: Mapping[str, str], *, anchor: str) -> None:
    """The answered share per month (a line, as a percent), from a small table below the pivot: of the questions
    asked in the month, each once whatever its themes, the part answered before the period's end."""
    top = sheet.max_row + 2
    put(sheet, top, 1, tx["month"]).font = Font(bold=True)
    put(sheet, top, 2, tx["share"]).font = Font(bold=True)
    for i, month in enumerate(data.month_shares):
        put(sheet, top + 1 + i, 1, month.month)
        put(sheet, top + 1 + i, 2, month.share).number_format = PERCENT
    line = LineChart()
    line.title = tx["share"]
    line.y_axis.number_format = "0%"
    line.y_axis.scaling.min, line.y_axis.scaling.max = 0, 1
    line.add_data(Reference(sheet, min_col=2, min_row=top, max_row=top + len(data.months)), titles_from_data=True)
    line.set_categories(Reference(sheet, min_col=1, min_row=top + 1, max_row=top + len(data.months)))
    sheet.add_chart(line, anchor)


def _topics_sheet(sheet: Worksheet, data: ReportData, tx: Mapping[str, str], lang: str) -> None:
    columns = ("label", "questions", "gaps", "organisations", "cities", "answered", "median", "coverage", "trend")
    _header(sheet, ["#", *[tx[c] for c in columns]])
    for t in data.topics:
        append(
            sheet,
            [
                t.id,
                topic_label(t, lang),
                t.questions,
                t.gaps,
                t.organisations,
                t.cities,
                t.answered,
                t.median_answer_hours,
                tx[t.coverage],
                tx.get(t.trend, t.trend),
            ],
        )
    sheet.column_dimensions["B"].width = 50
    if not data.topics:
        return
    top = min(len(data.topics), 15)
    chart = _bar_chart(f"{tx['topics']}: {tx['questions']}")
    chart.add_data(Reference(sheet, min_col=3, max_col=4, min_row=1, max_row=1 + top), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, min_row=2, max_row=1 + top))
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.width, chart.height = 24, 14
    sheet.add_chart(chart, "L2")


def _people_sheet(sheet: Worksheet, data: ReportData, tx: Mapping[str, str]) -> None:
    _header(sheet, [tx["expert"], tx["organisation"], tx["answers"]])
    for h in data.experts:
        append(sheet, [tx["others"] if h.name == OTHER_PEOPLE else h.name, h.organisation, h.answers])
    append(sheet, [])
    top = sheet.max_row + 2  # below the blank row (which max_row does not count)
    _header(sheet, [tx["organisation"], tx["answers"]])
    for name, n in data.organisations:
        append(sheet, [name, n])
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 30
    if data.organisations:
        chart = _bar_chart(f"{tx['answers']} — {tx['organisations']}")
        end = top + len(data.organisations)
        chart.add_data(Reference(sheet, min_col=2, min_row=top, max_row=end), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=top + 1, max_row=end))
        sheet.add_chart(chart, "E2")


def _practices_sheet(sheet: Worksheet, data: ReportData, tx: Mapping[str, str]) -> None:
    columns = [tx["practice"], tx["city"], tx["added"], tx["shown"]]
    append(sheet, [tx["added_title"]])
    sheet["A1"].font = Font(bold=True)
    _header(sheet, columns)
    for p in data.practices_added:
        append(sheet, [p.title, p.city, p.added.isoformat(), p.shown])
    append(sheet, [])
    append(sheet, [tx["used_title"]])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    top = sheet.max_row + 1
    _header(sheet, columns)
    for p in data.practices_used:
        append(sheet, [p.title, p.city, p.added.isoformat(), p.shown])
    sheet.column_dimensions["A"].width = 50
    if data.practices_used:
        chart = _bar_chart(tx["used_title"])
        end = top + len(data.practices_used)
        chart.add_data(Reference(sheet, min_col=4, min_row=top, max_row=end), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=top + 1, max_row=end))
        sheet.add_chart(chart, "F2")


# --- pictures ----------------------------------------------------------------------------------------------------


def render_chart_png(data: ReportData, *, lang: str = "nl", chart: str = "themes") -> bytes:
    """A PNG chart (matplotlib, Agg backend: no display needed): ``themes`` — questions per theme per month,
    stacked; ``topics`` — the most asked topics, with and without expertise."""
    import matplotlib  # noqa: PLC0415 (loaded only when a picture is drawn)

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    # labels are people's text: "$...$" must not be read as math (a bad formula raised and stopped the report)
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        return _draw(Figure(figsize=(9, 4.8), dpi=110), data, _t(lang), lang, chart)


def _label(text: str, limit: int) -> str:
    shown = printable(" ".join(text.split()))[:limit]
    return f" {shown}" if shown.startswith("_") else shown  # matplotlib leaves a "_label" out of the legend


def _draw(figure: Figure, data: ReportData, tx: Mapping[str, str], lang: str, chart: str) -> bytes:
    axes = figure.add_subplot()
    if chart == "topics":
        shown = list(data.topics[:12])[::-1]
        labels = [_label(topic_label(t, lang), 45) for t in shown]
        colours = [
            "#1d4f91" if t.coverage == COVERED else "#e3a21a" if t.coverage == WEAK else "#c0392b" for t in shown
        ]
        axes.barh(range(len(shown)), [t.total for t in shown], color=colours)
        axes.set_yticks(range(len(shown)), labels)  # by position: two topics with one label stay two bars
        axes.set_xlabel(tx["questions"])
        axes.set_title(f"{tx['topics']} — {data.period}")
    else:
        rows = _theme_rows(data)
        bottom = [0] * len(data.months)
        for _, label, months in rows:
            values = [f.asked for f in months]
            axes.bar(list(data.months), values, bottom=bottom, label=_label(label, 30))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_ylabel(tx["questions"])
        axes.set_title(f"{tx['asked']} — {data.period}")
        if rows:
            axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


# --- HTML --------------------------------------------------------------------------------------------------------


def _shown(value: object, lang: str) -> str:
    """A cell of the page: a count grouped as ``lang`` groups it ("1.500", "1,500"), hours to tenths ("1.234,5"),
    the same figures the workbook shows with its number formats; text as it is."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value, lang)
    if isinstance(value, float):
        return format_tenths(value, lang)
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, lang: str) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(printable(_shown(v, lang)))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _notes(*texts: str) -> str:
    return "".join(f'<p class="note">{html.escape(text)}</p>' for text in texts)


def render_html(data: ReportData, *, lang: str = "nl") -> bytes:
    """One self-contained page: the same tables as the workbook and two chart images (embedded PNG)."""
    tx = _t(lang)
    table = partial(_table, lang=lang)
    charts = "".join(
        f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
        f'{base64.b64encode(render_chart_png(data, lang=lang, chart=kind)).decode()}">'
        for kind, alt in (("themes", tx["themes"]), ("topics", tx["topics"]))
    )
    summary = table(
        ["", ""],
        [
            (label, percent(data.answered_share, lang) if label == tx["share"] else value)
            for label, value in summary_rows(data, tx)
        ],
    )
    summary += _notes(tx["note_share"])
    themes = table(
        [tx["theme"], tx["month"], tx["asked"], tx["answered"], tx["median"], tx["public"]],
        [
            (label, f.month, f.asked, f.answered, f.median_hours, f.asked_public)
            for _, label, months in _theme_rows(data)
            for f in months
        ],
    )
    themes += _notes(tx["note_themes"])
    topics = table(
        [
            tx["label"],
            tx["questions"],
            tx["gaps"],
            tx["organisations"],
            tx["answered"],
            tx["median"],
            tx["coverage"],
            tx["trend"],
        ],
        [
            (
                topic_label(t, lang),
                t.questions,
                t.gaps,
                t.organisations,
                t.answered,
                t.median_answer_hours,
                tx[t.coverage],
                tx.get(t.trend, t.trend),
            )
            for t in data.topics
        ],
    )
    topics += _notes(tx["note_topics"])
    experts = table(
        [tx["expert"], tx["organisation"], tx["answers"]],
        [(tx["others"] if h.name == OTHER_PEOPLE else h.name, h.organisation, h.answers) for h in data.experts],
    )
    organisations = table([tx["organisation"], tx["answers"]], list(data.organisations))
    added = table(
        [tx["practice"], tx["city"], tx["added"], tx["shown"]],
        [(p.title, p.city, p.added.isoformat(), p.shown) for p in data.practices_added],
    )
    used = table(
        [tx["practice"], tx["city"], tx["added"], tx["shown"]],
        [(p.title, p.city, p.added.isoformat(), p.shown) for p in data.practices_used],
    )
    title = html.escape(printable(f"{tx['title']} — {data.period}"))
    page = f"""<!doctype html>
<html lang="{html.escape(lang)}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}th{{background:#eef}}img{{max-width:100%}}
.note{{font-size:.9em;color:#444;max-width:60em}}</style>
</head><body><h1>{title}</h1>
<h2>{html.escape(tx["summary"])}</h2>{summary}{charts}
<h2>{html.escape(tx["themes"])}</h2>{themes}
<h2>{html.escape(tx["topics"])}</h2>{topics}
<h2>{html.escape(tx["experts"])}</h2>{experts}{organisations}
<h2>{html.escape(tx["added_title"])}</h2>{added}
<h2>{html.escape(tx["used_title"])}</h2>{used}
</body></html>
"""
    return page.encode("utf-8")
