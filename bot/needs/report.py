"""The steering-group report of a period: figures gathered once (``collect_report``), written as an Excel workbook
with native charts (``render_xlsx``), as a self-contained HTML page with chart images (``render_html``), or as a
single PNG chart for chat (``render_chart_png``): bytes, which the caller writes (``bot.files``) or uploads.

Definitions are the digest's (``digests.collect.window_figures``): a question counts in the month it was asked
in; "answered" counts the questions answered in the month, and the median time to answer is over those. The
public figures are exactly the digest's (public questions from public channels); the totals also count private
and anonymous questions, which are never quoted or attributed. People are named only when they may be (confirmed
listing, not opted out or withdrawn); erased people have no rows left to count under their name.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.i18n import N_, local_day, theme_label
from bot.i18n import t as catalogue_text
from bot.needs.core import may_be_named
from bot.needs.model import COVERED, NOT_COVERED, WEAK, TopicView
from bot.needs.periods import Period
from bot.needs.service import NeedsService
from bot.sheets import append, put
from bot.text import printable
from digests.collect import window_figures
from digests.model import OTHER_THEME
from storage import digest_repo, question_repo, register_repo
from storage import needs_repo as repo

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OTHER_PEOPLE = "—"  # the row of answers by people who may not be named


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: str
    theme: str  # theme key, or digests' OTHER_THEME for questions without a theme
    asked: int  # every question (public, private, anonymous)
    answered: int
    median_hours: float | None
    asked_public: int  # the digest's figures: public questions from public channels
    answered_public: int
    median_hours_public: float | None


@dataclass(frozen=True, slots=True)
class Helper:
    name: str  # OTHER_PEOPLE for the people who may not be named (counted together)
    organisation: str
    answers: int


@dataclass(frozen=True, slots=True)
class PracticeUse:
    id: int
    title: str
    city: str
    added: date  # the day it was added, in the period's zone
    shown: int  # times shown in "who knows" answers in the period


@dataclass(frozen=True, slots=True)
class ReportData:
    period: str
    start: datetime
    end: datetime
    generated_at: datetime
    months: tuple[str, ...]
    themes: tuple[tuple[str, str], ...]  # (key, label) in vocabulary order; OTHER_THEME last
    figures: tuple[MonthFigures, ...]
    asked: int  # distinct questions asked in the period
    answered: int  # distinct questions answered in the period
    median_hours: float | None
    gaps: int
    topics: tuple[TopicView, ...]
    experts: tuple[Helper, ...]
    organisations: tuple[tuple[str, int], ...]
    practices_added: tuple[PracticeUse, ...]
    practices_used: tuple[PracticeUse, ...]

    @property
    def answered_share(self) -> float | None:
        return round(self.answered / self.asked, 3) if self.asked else None

    def theme_total(self, key: str) -> int:
        return sum(f.asked for f in self.figures if f.theme == key)


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600.0, 1) if seconds is not None else None


def collect_report(
    session: Session, *, service: NeedsService, actor: Actor, period: Period, now: datetime, lang: str = "nl"
) -> ReportData:
    """Everything the report shows for ``period`` (staff only)."""
    actor.require_staff("make a knowledge-needs report")
    months = period.months()
    bounds = [m.start for m in months] + [period.end]
    themes = [(theme.key, theme_label(theme, lang)) for theme in register_repo.list_themes(session)]
    themes.append((OTHER_THEME, catalogue_text("digest.other_theme", lang)))
    wanted = {k for k, _ in themes}
    every = window_figures(
        digest_repo.list_question_facts(session, since=period.start, until=period.end, public_only=False),
        bounds,
        wanted,
        public_only=False,
    )
    public = window_figures(
        digest_repo.list_question_facts(session, since=period.start, until=period.end), bounds, wanted
    )
    figures = tuple(
        MonthFigures(
            month=month.label,
            theme=key,
            asked=every[key][i].asked,
            answered=every[key][i].answered,
            median_hours=_hours(every[key][i].median_answer_seconds),
            asked_public=public[key][i].asked,
            answered_public=public[key][i].answered,
            median_hours_public=_hours(public[key][i].median_answer_seconds),
        )
        for key, _ in themes
        for i, month in enumerate(months)
    )
    facts = {
        f.question_id: f
        for f in digest_repo.list_question_facts(session, since=period.start, until=period.end, public_only=False)
    }
    asked = [f for f in facts.values() if period.contains(f.created_at)]
    answered = [f for f in facts.values() if f.answered_at is not None and period.contains(f.answered_at)]
    durations = [max(0.0, (f.answered_at - f.created_at).total_seconds()) for f in answered if f.answered_at]
    # topics asked at least twice (a single question is no agenda item), the 200 most asked
    overview = service.overview(session, actor=actor, period=period, now=now, min_items=2, limit=200)
    gaps = question_repo.count_knowledge_gaps(session, start=period.start, end=period.end)

    # most helpful: answers given in the period
    helpers: Counter[tuple[str, str]] = Counter()
    organisations: Counter[str] = Counter()
    answers = repo.list_answers_between(session, start=period.start, end=period.end)
    experts = repo.list_experts_by_ids(session, expert_ids=[a.expert_id for a in answers if a.expert_id is not None])
    by_slack = repo.list_experts_by_slack_ids(
        session, slack_user_ids=[a.answered_by_slack_id for a in answers if a.answered_by_slack_id]
    )
    for answer in answers:
        expert = experts.get(answer.expert_id) if answer.expert_id is not None else None
        if expert is None and answer.answered_by_slack_id:
            expert = by_slack.get(answer.answered_by_slack_id)
        if expert is not None and may_be_named(expert):
            helpers[(expert.name, expert.organisation)] += 1
        else:
            helpers[(OTHER_PEOPLE, "")] += 1
        organisation = answer.organisation or (expert.organisation if expert is not None else "")
        if organisation:
            organisations[organisation] += 1
    ranked_helpers = sorted(helpers.items(), key=lambda kv: (kv[0][0] == OTHER_PEOPLE, -kv[1], kv[0]))
    shown: Counter[int] = Counter()
    zone = ZoneInfo(period.timezone)  # the days a practice was added, as the period's own days
    for result in repo.list_search_results_between(session, start=period.start, end=period.end):
        shown.update(int(p) for p in result.get("practices", []) if isinstance(p, int))
    added = [
        PracticeUse(p.id, p.title, p.city, local_day(p.created_at, zone), shown[p.id])
        for p in repo.list_practices_created(session, start=period.start, end=period.end)
    ]
    used_ids = [pid for pid, _ in sorted(shown.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]
    used_rows = {p.id: p for p in register_repo.list_practices(session) if p.id in set(used_ids)}
    used = [
        PracticeUse(
            pid, used_rows[pid].title, used_rows[pid].city, local_day(used_rows[pid].created_at, zone), shown[pid]
        )
        for pid in used_ids
        if pid in used_rows
    ]
    return ReportData(
        period=period.label,
        start=period.start,
        end=period.end,
        generated_at=now,
        months=tuple(m.label for m in months),
        themes=tuple(themes),
        figures=figures,
        asked=len(asked),
        answered=len(answered),
        median_hours=_hours(statistics.median(durations)) if durations else None,
        gaps=gaps,
        topics=overview.topics,
        experts=tuple(Helper(name, org, n) for (name, org), n in ranked_helpers[:20]),
        organisations=tuple(sorted(organisations.items(), key=lambda kv: (-kv[1], kv[0]))[:20]),
        practices_added=tuple(added),
        practices_used=tuple(used),
    )


# --- texts -------------------------------------------------------------------------------------------------------

_KEYS: Mapping[str, str] = {  # name -> catalogue key
    "title": N_("report.title"),
    "summary": N_("report.summary"),
    "asked": N_("report.asked"),
    "answered": N_("report.answered"),
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
    "with": N_("report.with"),
    "without": N_("report.without"),
}


@cache
def _t(lang: str) -> dict[str, str]:
    """The report's headings and labels in ``lang`` (the catalogue's texts, read once per language)."""
    return {name: catalogue_text(key, lang) for name, key in _KEYS.items()}


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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bar_chart(title: str, *, kind: str = "bar", stacked: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = kind
    chart.title = title
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    return chart


def _summary_sheet(sheet: Worksheet, data: ReportData, tx: Mapping[str, str]) -> None:
    sheet.title = tx["summary"][:31]
    append(sheet, [f"{tx['title']} — {data.period}"])
    sheet["A1"].font = Font(bold=True, size=14)
    append(sheet, [])
    with_expertise = sum(1 for t in data.topics if t.coverage == COVERED)
    for label, value in (
        (tx["asked"], data.asked),
        (tx["answered"], data.answered),
        (tx["share"], data.answered_share),
        (tx["median"], data.median_hours),
        (tx["gaps"], data.gaps),
        (f"{tx['topics']}: {tx['with']}", with_expertise),
        (f"{tx['topics']}: {tx['without']}", len(data.topics) - with_expertise),
    ):
        append(sheet, [label, value])
    sheet.column_dimensions["A"].width = 44


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
    """The answered share per month over all themes (a line), from a small table below the pivot."""
    top = sheet.max_row + 2
    put(sheet, top, 1, tx["month"]).font = Font(bold=True)
    put(sheet, top, 2, tx["share"]).font = Font(bold=True)
    for i, month in enumerate(data.months):
        month_rows = [f for f in data.figures if f.month == month]
        asked = sum(f.asked for f in month_rows)
        answered = sum(f.answered for f in month_rows)
        put(sheet, top + 1 + i, 1, month)
        put(sheet, top + 1 + i, 2, round(answered / asked, 3) if asked else None)
    line = LineChart()
    line.title = tx["share"]
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
                t.trend,
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


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(printable('' if v is None else str(v)))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: ReportData, *, lang: str = "nl") -> bytes:
    """One self-contained page: the same tables as the workbook and two chart images (embedded PNG)."""
    tx = _t(lang)
    charts = "".join(
        f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
        f'{base64.b64encode(render_chart_png(data, lang=lang, chart=kind)).decode()}">'
        for kind, alt in (("themes", tx["themes"]), ("topics", tx["topics"]))
    )
    summary = _table(
        ["", ""],
        [
            (tx["asked"], data.asked),
            (tx["answered"], data.answered),
            (tx["share"], data.answered_share),
            (tx["median"], data.median_hours),
            (tx["gaps"], data.gaps),
        ],
    )
    themes = _table(
        [tx["theme"], tx["month"], tx["asked"], tx["answered"], tx["median"], tx["public"]],
        [
            (label, f.month, f.asked, f.answered, f.median_hours, f.asked_public)
            for _, label, months in _theme_rows(data)
            for f in months
        ],
    )
    topics = _table(
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
                t.trend,
            )
            for t in data.topics
        ],
    )
    experts = _table(
        [tx["expert"], tx["organisation"], tx["answers"]],
        [(tx["others"] if h.name == OTHER_PEOPLE else h.name, h.organisation, h.answers) for h in data.experts],
    )
    organisations = _table([tx["organisation"], tx["answers"]], list(data.organisations))
    added = _table(
        [tx["practice"], tx["city"], tx["added"], tx["shown"]],
        [(p.title, p.city, p.added.isoformat(), p.shown) for p in data.practices_added],
    )
    used = _table(
        [tx["practice"], tx["city"], tx["added"], tx["shown"]],
        [(p.title, p.city, p.added.isoformat(), p.shown) for p in data.practices_used],
    )
    title = html.escape(printable(f"{tx['title']} — {data.period}"))
    page = f"""<!doctype html>
<html lang="{html.escape(lang)}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}th{{background:#eef}}img{{max-width:100%}}</style>
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
