"""``wieweet report`` on a database whose people, practices and questions carry hostile text: every format is
written (no crash) and the workbook has no formula."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from tests.needs.conftest import NOW, Network, add_expert, add_practice, add_question, network  # noqa: F401
from tests.output.test_workbooks import assert_no_formula

HYPERLINK = '=HYPERLINK("http://evil.example","x")'
DDE = "=cmd|' /C calc'!A0"
MATH = "$\\undefinedcommand{x}$ leegstand"


def test_the_report_command_writes_every_format_for_hostile_data(
    network: Network,  # noqa: F811 (the fixture)
    database_url: str,
    tmp_path: Path,
) -> None:
    with network.database.session() as session:
        evil = add_expert(session, HYPERLINK, organisation=DDE, city="+1+1", slack="U0EVIL01")
        add_practice(session, HYPERLINK, city=DDE)
        for day in (3, 4):
            add_question(
                session,
                f"{MATH} {DDE} wie weet iets over de leegstandsheffing?",
                asker="UGENT",
                created_at=NOW - timedelta(days=day),
                answered_at=NOW - timedelta(days=day - 1),
                answerer=evil,
            )
        network.service.update_topics(session, now=NOW)
    for name in ("r.xlsx", "r.png", "r.html"):
        out = tmp_path / name
        result = CliRunner().invoke(
            main,
            ["--database", database_url, "report", "--period", "2026-Q4", str(out), "--now", NOW.isoformat()],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    texts = assert_no_formula(tmp_path / "r.xlsx")
    assert HYPERLINK in texts and DDE in texts  # the expert and the organisation, as text
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "&quot;http://evil.example&quot;" in page and 'href="http://evil' not in page
