"""The report (figures, privacy, native Excel charts, HTML, PNG) and the ``wieweet needs`` / ``wieweet report``
commands, against both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.cli import main
from bot.i18n import t, theme_label
from bot.needs.periods import parse_period
from bot.needs.report import OTHER_PEOPLE, OTHER_THEME, collect_report, render_chart_png, render_html, render_xlsx
from digests.collect import collect_digest_data
from digests.period import IsoWeek
from handlers.kit import theme_choices
from storage import register_repo
from storage.models import AuditLog, Question, SearchLog
from tests.needs.conftest import NOW, STAFF, Network, add_question

PERIOD = "2026-Q4"
NOW_ARG = NOW.isoformat()


def wieweet(database_url: str, *args: str, lang: str | None = None) -> Result:
    """The command line; in the operator's language ``lang`` (``WIEWEET_LANGUAGE``; Dutch unless set)."""
    env = {"WIEWEET_LANGUAGE": lang} if lang else None
    return CliRunner().invoke(main, ["--database", database_url, *args], env=env, catch_exceptions=False)


def test_report_figures_equal_the_database_and_the_digest(network: Network) -> None:
    week = IsoWeek.containing(NOW - timedelta(days=20))
    with network.database.session() as session:
        add_question(
            session,
            "Wie weet iets over fietsstraten op de ring?",
            asker="UGENT",
            created_at=week.start + timedelta(days=1),
            themes=["publieke-ruimte"],
            answered_at=week.start + timedelta(days=2),
            answerer=network.experts["lead"],
        )
        session.add(SearchLog(query="leegstand", results={"practices": [1, 1]}, created_at=NOW - timedelta(days=1)))
    with network.database.session() as session:
        data = collect_report(session, service=network.service, actor=STAFF, period=parse_period(PERIOD), now=NOW)
        in_db = session.scalar(
            select(func.count())
            .select_from(Question)
            .where(Question.created_at >= data.start, Question.created_at < data.end)
        )
        weekly = collect_report(session, service=network.service, actor=STAFF, period=parse_period(str(week)), now=NOW)
        digest = collect_digest_data(
            session, themes=None, period_start=week.start, period_end=week.end, now=NOW, bounds=[week.start, week.end]
        )
    assert data.asked == in_db == 9
    assert data.answered == 2 and data.median_hours == 24.0
    assert sum(f.asked for f in data.figures if f.theme == "wonen") == 6
    assert sum(f.asked_public for f in data.figures if f.theme == "wonen") == 4  # the private and anonymous left out
    for theme in digest.themes:
        figures = [f for f in weekly.figures if f.theme == theme.theme.key]
        assert sum(f.asked_public for f in figures) == theme.current.asked, theme.theme.key
        assert sum(f.answered_public for f in figures) == theme.current.answered, theme.theme.key
    assert [h.name for h in data.experts] == ["An Peeters"]
    assert data.practices_added and data.practices_added[0].shown == 2


def test_opted_out_answerers_are_not_named(network: Network) -> None:
    with network.database.session() as session:
        add_question(
            session,
            "leegstandsheffing en renovatie",
            asker="UGENT",
            created_at=NOW - timedelta(days=3),
            answered_at=NOW - timedelta(days=2),
            answerer=network.experts["hidden"],
        )
        data = collect_report(session, service=network.service, actor=STAFF, period=parse_period(PERIOD), now=NOW)
    names = [h.name for h in data.experts]
    assert "Fien Mertens" not in names and OTHER_PEOPLE in names
    assert ("Stad Genk", 1) in data.organisations  # organisations are counted, people are not named


def test_workbook_has_charts_and_the_figures(network: Network, tmp_path: Path) -> None:
    with network.database.session() as session:
        data = collect_report(session, service=network.service, actor=STAFF, period=parse_period(PERIOD), now=NOW)
    path = tmp_path / "report.xlsx"
    path.write_bytes(render_xlsx(data))
    book = load_workbook(path)
    assert book.sheetnames == ["Overzicht", "Thema's per maand", "Onderwerpen", "Experts", "Praktijken"]
    summary = {row[0]: row[1] for row in book["Overzicht"].iter_rows(min_row=3, values_only=True)}
    assert summary["Vragen gesteld"] == data.asked == 8
    assert summary["Vragen beantwoord in de periode (ook eerder gesteld)"] == data.answered
    themes = book["Thema's per maand"]
    assert len(themes._charts) == 2  # stacked bars per theme and month, answered share line
    rows = [r for r in themes.iter_rows(min_row=2, values_only=True) if r and r[1] == "2026-11"]
    assert sum(r[2] for r in rows) == 8
    topics = book["Onderwerpen"]
    assert len(topics._charts) == 1
    first = next(topics.iter_rows(min_row=2, values_only=True))
    assert "leegstandsheffing" in first[1].lower() and first[2] == 6 and first[4] == 4
    assert len(book["Experts"]._charts) == 1


def test_html_and_png(network: Network, tmp_path: Path) -> None:
    with network.database.session() as session:
        data = collect_report(session, service=network.service, actor=STAFF, period=parse_period(PERIOD), now=NOW)
    png = render_chart_png(data)
    assert png.startswith(b"\x89PNG")
    text = render_html(data, lang="en").decode("utf-8")
    assert text.count("data:image/png;base64,") == 2 and "Knowledge needs of the network" in text
    assert "onze gemeente" not in text and "int?" not in text  # the private and anonymous questions


def test_cli_needs_json_and_report(network: Network, database_url: str, tmp_path: Path) -> None:
    result = wieweet(database_url, "needs", "--period", PERIOD, "--json", "--now", NOW_ARG)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"] == PERIOD and data["topics"][0]["organisations"] == 4
    text = wieweet(database_url, "needs", "--period", PERIOD, "--now", NOW_ARG, lang="en")
    assert "Knowledge needs 2026-Q4: " in text.output and "covered" in text.output
    header, first = text.output.splitlines()[1:3]  # the askers figure the JSON has, in a column of its own
    assert header.split() == [
        "#",
        "topic",
        "q",
        "gap",
        "askers",
        "org",
        "city",
        "answ",
        "median",
        "expertise",
        "trend",
        "proposal",
    ]
    top = data["topics"][0]
    figures = f"{top['questions']:>3} {top['gaps']:>3} {top['askers']:>6} {top['organisations']:>3} {top['cities']:>4}"
    assert top["askers"] > 0 and f" {figures} " in first
    dutch = wieweet(database_url, "needs", "--period", PERIOD, "--now", NOW_ARG)  # WIEWEET_LANGUAGE: Dutch unless set
    assert dutch.output.startswith("Kennisnoden 2026-Q4: ") and "gedekt" in dutch.output
    header, first = dutch.output.splitlines()[1:3]
    assert header.split() == [
        "#",
        "onderwerp",
        "vr",
        "lac",
        "vragers",
        "org",
        "stad",
        "beantw",
        "mediaan",
        "expertise",
        "trend",
        "voorstel",
    ]
    # the columns as wide as their Dutch headers: the figures stay under them
    figures = f"{top['questions']:>3} {top['gaps']:>3} {top['askers']:>7} {top['organisations']:>3} {top['cities']:>4}"
    assert f" {figures} " in first
    start = first.index(f" {figures} ") + 1  # right-aligned under the headers' ends
    assert header.index("vragers") + len("vragers") == start + len(f"{top['questions']:>3} {top['gaps']:>3} ") + 7
    assert header.index("stad") + len("stad") == start + len(figures)
    proposals = wieweet(database_url, "needs", "proposals", "--propose", "--now", NOW_ARG)
    assert "1 nieuw voorstel" in proposals.output and "An Peeters" in proposals.output
    assert "    trekker: " in proposals.output and "    komen wellicht: " in proposals.output
    again = wieweet(database_url, "needs", "proposals", "--now", NOW_ARG, lang="en")
    assert "question" in again.output and "    lead: " in again.output and "    likely to come: " in again.output
    out = tmp_path / "r.xlsx"
    with mock.patch("bot.cli.needs_cmds.replace_file", side_effect=OSError("disk full")):
        failed = CliRunner().invoke(main, ["--database", database_url, "report", "--period", PERIOD, str(out)])
    assert failed.exit_code != 0 and not out.exists()
    with network.database.session() as s:  # no file, no audit row: one transaction writes both
        assert s.scalars(select(AuditLog).where(AuditLog.action == "report")).all() == []
    before = datetime.now(UTC)
    written = wieweet(database_url, "report", "--period", PERIOD, str(out), "--now", NOW_ARG)
    assert written.exit_code == 0 and out.exists(), written.output
    assert (
        written.output
        == f"{out} geschreven: 2026-Q4, 8 vragen gesteld, 1 beantwoord, 2 onderwerpen (1 zonder stevige expertise)\n"
    )
    with network.database.session() as s:  # who made a report of which period (it names experts): counts only
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "report")).one()
        assert (entry.entity_type, entry.entity_key, entry.actor.startswith("cli:")) == ("needs_report", PERIOD, True)
        assert entry.after is not None and entry.after["asked"] == 8 and entry.after["experts_named"] > 0
        assert entry.at.replace(tzinfo=UTC) >= before.replace(microsecond=0)  # dated when made, never by --now
    english = wieweet(database_url, "report", "--period", PERIOD, str(out), "--now", NOW_ARG, lang="en")
    assert (
        english.output == f"wrote {out}: 2026-Q4, 8 questions asked, 1 answered, 2 topics (1 without solid expertise)\n"
    )


@pytest.mark.parametrize("args", [["needs", "--period", "2026-Q5"], ["report", "--period", "nonsense", "x.xlsx"]])
def test_cli_bad_period_is_a_clear_error(database_url: str, args: list[str]) -> None:
    result = CliRunner().invoke(main, ["--database", database_url, *args])
    assert result.exit_code == 2 and "error: onbekende periode '" in result.output  # WIEWEET_LANGUAGE: nl (default)


@pytest.mark.parametrize("period", ["9999-W52", "9999-12", "9999-Q4", "9999-12-01..9999-12-31", "0001-Q1", "0001-W01"])
@pytest.mark.parametrize("command", ["needs", "report"])
def test_cli_a_period_at_the_calendars_ends_is_a_clear_error(database_url: str, command: str, period: str) -> None:
    # the day after the period or the periods before it (the trend) are no dates there: was an OverflowError
    args = [command, "--period", period, *(["x.xlsx"] if command == "report" else [])]
    result = CliRunner().invoke(main, ["--database", database_url, *args])
    assert result.exit_code == 2, result.output
    assert f"ongeldige periode '{period}': het jaar moet tussen 1900 en 8999 liggen" in result.output


def test_cli_report_refuses_other_file_types(database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--database", database_url, "report", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2 and ".xlsx-, .html- of .png-bestand" in result.output  # WIEWEET_LANGUAGE: nl


def test_help_texts_have_examples() -> None:
    for args in (
        ["needs", "--help"],
        ["needs", "proposals", "--help"],
        ["needs", "recruit", "--help"],
        ["needs", "dismiss", "--help"],
        ["needs", "done", "--help"],
        ["report", "--help"],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Examples:" in result.output and "wieweet " in result.output, args


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_report_theme_labels_come_from_the_catalogue_and_the_shared_label_helper(network: Network, lang: str) -> None:
    with network.database.session() as session:
        data = collect_report(
            session, service=network.service, actor=STAFF, period=parse_period(PERIOD), now=NOW, lang=lang
        )
        stored = register_repo.list_themes(session)
        menu = theme_choices(stored, lang)
        expected = [(theme.key, theme_label(theme, lang)) for theme in stored]
    assert data.themes[-1] == (OTHER_THEME, t("digest.other_theme", lang))  # as the digest names it
    assert list(data.themes[:-1]) == expected == [(c.key, c.label) for c in menu]
    assert "(geen thema)" not in json.dumps(data.themes) and "(no theme)" not in json.dumps(data.themes)
