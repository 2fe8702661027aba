"""The ``wieweet`` command line, run in-process with click's runner against both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from bot.cli import main
from digests.model import is_public_content
from storage.db import Database, head_revision
from storage.models import KnowledgeGap, Question, SearchLog
from tests.register.conftest import EXPERT_HEADER

EXPERTS = (
    EXPERT_HEADER
    + "\nAn Peeters,an.peeters@gent.be,U0AN,Stad Gent,Gent,beleidsmedewerker wonen,leegstandsheffing;leegstand,"
    + "wonen,nl,\nBram De Smet,bram@vvsg.be,,VVSG,,adviseur,meerjarenplanning;BBC,financien,nl,\n"
)


def wieweet(database_url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--database", database_url, *args], input=input, catch_exceptions=False)


def wieweet_in(database_url: str, language: str, *args: str) -> Result:
    """The command line of an operator whose ``WIEWEET_LANGUAGE`` is ``language``."""
    return CliRunner().invoke(main, ["--database", database_url, *args], env={"WIEWEET_LANGUAGE": language})


@pytest.fixture
def experts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "experts.csv"
    path.write_text(EXPERTS, encoding="utf-8")
    return path


def test_help_texts_have_examples() -> None:
    runner = CliRunner()
    for args in (
        ["--help"],
        ["import", "--help"],
        ["export", "--help"],
        ["register", "--help"],
        ["ask", "--help"],
        ["console", "--help"],
        ["demo", "--help"],
        ["themes", "--help"],
        ["db", "--help"],
        ["run", "--help"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, args
        assert "Examples:" in result.output and "wieweet " in result.output, args


def test_import_list_show_export(database_url: str, experts_csv: Path, tmp_path: Path) -> None:
    result = wieweet(database_url, "import", "experts", str(experts_csv))
    assert result.exit_code == 0 and "2 toegevoegd, 0 gewijzigd, 0 ongewijzigd" in result.output  # Dutch by default
    listed = wieweet(database_url, "register", "list", "experts", "--theme", "Housing")
    assert (
        "an.peeters@gent.be" in listed.output
        and "bram@vvsg.be" not in listed.output
        and "\n1 expert\n" in listed.output
    )
    by_city = wieweet(database_url, "register", "list", "experts", "--city", "gent")
    assert "an.peeters@gent.be" in by_city.output and "\n1 expert\n" in by_city.output
    shown = wieweet(database_url, "register", "show", "AN.PEETERS@gent.be")
    assert "An Peeters <an.peeters@gent.be>" in shown.output and "nog niet bevestigd (pending)" in shown.output
    out = tmp_path / "out.csv"
    exported = wieweet(database_url, "export", "experts", str(out))
    assert exported.exit_code == 0 and exported.output == f"2 experts geschreven naar {out}\n"
    assert out.read_text(encoding="utf-8") == (
        EXPERT_HEADER
        + "\nAn Peeters,an.peeters@gent.be,U0AN,Stad Gent,Gent,beleidsmedewerker wonen,leegstandsheffing;leegstand,"
        + "wonen,nl,\nBram De Smet,bram@vvsg.be,,VVSG,,adviseur,meerjarenplanning;BBC,financien,nl,\n"
    )


def test_bad_import_exits_non_zero_with_every_problem(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(EXPERT_HEADER + "\n,a@b.be,,X,,,,,,\nB,nope,,X,,,,,,\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--database", database_url, "import", "experts", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv: rij 2, kolom name: Dit veld is verplicht." in result.output  # WIEWEET_LANGUAGE: nl
    assert "bad.csv: rij 3, kolom email" in result.output
    assert "error: 2 problemen gevonden: er is niets geïmporteerd." in result.output  # WIEWEET_LANGUAGE: nl


def test_dry_run_and_unknown_theme_filter(database_url: str, experts_csv: Path) -> None:
    dry = wieweet(database_url, "import", "experts", str(experts_csv), "--dry-run")
    assert "toegevoegd: an.peeters@gent.be" in dry.output and "proefrit, er is niets geschreven" in dry.output
    english = CliRunner().invoke(
        main,
        ["--database", database_url, "import", "experts", str(experts_csv), "--dry-run"],
        env={"WIEWEET_LANGUAGE": "en"},
    )
    assert "added: an.peeters@gent.be" in english.output and "dry run, nothing written" in english.output
    assert wieweet(database_url, "register", "list", "experts").output == (
        "geen experts in het register (`wieweet import experts BESTAND` voegt ze toe)\n"
    )
    # WIEWEET_LANGUAGE: nl (default)
    result = CliRunner().invoke(main, ["--database", database_url, "register", "list", "experts", "--theme", "woonen"])
    assert result.exit_code == 2 and "onbekend thema 'woonen' (bedoel je 'wonen'?)" in result.output


def test_unknown_expert_is_a_clear_error(database_url: str) -> None:
    result = CliRunner().invoke(main, ["--database", database_url, "register", "show", "nobody@x.be"])
    assert result.exit_code == 2 and "geen expert met e-mailadres 'nobody@x.be' in het register" in result.output
    english = wieweet_in(database_url, "en", "register", "show", "nobody@x.be")
    assert english.exit_code == 2 and "no expert with email 'nobody@x.be' in the register" in english.output


def test_themes_list_and_import(database_url: str, tmp_path: Path) -> None:
    assert "wonen" in wieweet(database_url, "themes", "list").output
    path = tmp_path / "themes.csv"
    path.write_text("key,label_nl,label_en,synonyms\nzorg,Zorg,Care,woonzorg\n", encoding="utf-8")
    assert "1 toegevoegd" in wieweet(database_url, "themes", "import", str(path)).output
    assert "zorg" in wieweet(database_url, "themes", "list").output


def test_ask_text_json_and_jsonl(database_url: str, experts_csv: Path) -> None:
    wieweet(database_url, "import", "experts", str(experts_csv))
    text = wieweet(database_url, "ask", "wie weet iets over leegstandsheffing?")
    assert text.exit_code == 0 and "An Peeters" in text.output and "leegstandsheffing — expertise" in text.output
    one = json.loads(wieweet(database_url, "ask", "--json", "leegstandsheffing").output)
    assert set(one) >= {"query", "gap", "gap_recorded", "experts", "practices", "answers"}
    assert one["gap"] is False and one["gap_recorded"] is False
    assert one["experts"][0]["email"] == "an.peeters@gent.be" and one["experts"][0]["reasons"]
    lines = wieweet(database_url, "ask", "--json", "--limit", "1", input="leegstand\n\nmeerjarenplanning BBC\n").output
    rows = [json.loads(line) for line in lines.splitlines()]
    assert [r["experts"][0]["email"] for r in rows] == ["an.peeters@gent.be", "bram@vvsg.be"]
    assert all(len(r["experts"]) <= 1 for r in rows)


def test_ask_and_console_record_nothing_unless_asked_to(database: Database, experts_csv: Path) -> None:
    """Trying queries on the server leaves nothing behind (no knowledge gap, no search log with the query's text,
    which the report would count); ``--gap`` records the question, with no channel: never public."""
    url = database.url
    wieweet(url, "import", "experts", str(experts_csv))
    nobody = "wie weet iets over de tuchtprocedure tegen collega Jan Peeters?"
    tried = json.loads(wieweet(url, "ask", "--json", nobody).output)
    assert tried["gap"] is True and tried["gap_recorded"] is False
    # the answer says nobody fits, and does not claim a gap was recorded when none was
    plain = wieweet(url, "ask", "--lang", "en", "--no-gap", nobody).output  # --no-gap: still accepted (the default)
    assert "not recorded as a knowledge gap" in plain and "It has been recorded" not in plain
    console = wieweet(url, "console", input=f"{nobody}\n:quit\n").output
    assert "niet als kennislacune genoteerd" in console and "We noteren ze" not in console
    found = wieweet(url, "ask", "leegstandsheffing").output  # a query somebody fits: nothing recorded either
    assert "An Peeters" in found
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(KnowledgeGap)) == 0
        assert s.scalar(select(func.count()).select_from(SearchLog)) == 0
    recorded = wieweet(url, "ask", "--lang", "en", "--gap", "wie weet iets over bijenkasten op daken?").output
    assert "It has been recorded as a knowledge gap" in recorded
    as_json = json.loads(wieweet(url, "ask", "--json", "--gap", "wie weet iets over honingbijen op daken?").output)
    assert as_json["gap"] is True and as_json["gap_recorded"] is True
    with database.session() as s:
        gaps = list(s.scalars(select(KnowledgeGap)))
        logged = list(s.scalars(select(SearchLog.query).order_by(SearchLog.id)))
    assert logged == ["wie weet iets over bijenkasten op daken?", "wie weet iets over honingbijen op daken?"]
    assert [(g.source, g.channel_id) for g in gaps] == [("cli", None), ("cli", None)]
    assert not is_public_content(visibility="public", channel_id=gaps[0].channel_id, channel_is_private=False)


@pytest.mark.parametrize("query", ["", "   ", "wie weet iets over de?", "🙂🙂", "\x00\x01", "x" * 10_000])
def test_ask_bad_input_is_a_clear_message(database_url: str, query: str) -> None:
    result = CliRunner().invoke(main, ["--database", database_url, "ask", query])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error:" in result.output and "Traceback" not in result.output


def test_console_answers_like_chat_and_switches_language(database_url: str, experts_csv: Path) -> None:
    wieweet(database_url, "import", "experts", str(experts_csv))
    result = wieweet(database_url, "console", input="wie weet iets over leegstandsheffing?\n:en\nBBC\n\n:quit\n")
    assert result.exit_code == 0
    assert "EXPERTS" in result.output and "An Peeters" in result.output
    assert "Language: English." in result.output and "Why:" in result.output and "Goodbye." in result.output


def test_demo_loads_register_and_runs_console(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = wieweet(url, "demo", input="wie weet iets over leegstandsheffing?\n")
    assert result.exit_code == 0, result.output
    assert "Demoregister klaar in " in result.output and "EXPERTS" in result.output  # WIEWEET_LANGUAGE: nl
    again = wieweet(url, "demo", "--no-console")
    assert "nu toegevoegd: 0 experts, 0 praktijken" in again.output  # idempotent
    english = wieweet_in(url, "en", "demo", "--no-console")
    assert english.exit_code == 0 and "Demo register ready in " in english.output, english.output
    assert "added now: 0 experts, 0 practices, 0 answered questions, 0 recent questions" in english.output
    asked = wieweet(url, "demo", "--no-console", "--lang", "en")  # the console's language, and the line's
    assert "Demo register ready in " in asked.output and "Demoregister" not in asked.output


def test_the_demo_shows_knowledge_needs_and_proposes_a_work_session(database_url: str) -> None:
    """A new staff member trying the README's needs commands on the demo sees topics asked in public by several
    organisations (not only "private questions"), and a proposed work session with its questions quoted."""
    assert wieweet(database_url, "demo", "--no-console").exit_code == 0
    needs = wieweet(database_url, "needs", "--period", "2025-01-01..2026-12-31")
    assert needs.exit_code == 0, needs.output
    assert "geen label dat getoond mag worden" not in needs.output  # topics asked in public show their label
    leegstand = next(line for line in needs.output.splitlines() if "winkelpanden" in line.casefold())
    assert int(leegstand.split()[6]) >= 3  # organisations
    proposed = wieweet(database_url, "needs", "proposals", "--propose")
    assert "1 nieuw voorstel" in proposed.output and "van 4 organisaties" in proposed.output  # WIEWEET_LANGUAGE: nl
    assert "“Hoe pakken jullie winkelleegstand in de binnenstad aan?" in proposed.output  # quoted: asked in public
    again = wieweet(database_url, "demo", "--no-console")
    assert "0 recente vragen" in again.output  # idempotent
    with Database(database_url).session() as session:
        asked = list(session.scalars(select(Question)))
    assert all(q.channel_id and q.asker_slack_id for q in asked)  # every demo question asked in a public channel
    assert all(
        is_public_content(visibility=q.visibility.value, channel_id=q.channel_id, channel_is_private=False)
        for q in asked
    )


def test_db_upgrade_and_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    missing = wieweet(url, "db", "status")
    assert missing.exit_code == 2 and "geen database in" in missing.output and "wieweet db upgrade" in missing.output
    assert list(tmp_path.iterdir()) == []  # a status check creates nothing
    (tmp_path / "new.db").touch()  # an empty SQLite file: a database without tables
    head = head_revision()
    assert wieweet(url, "db", "status").output == (  # WIEWEET_LANGUAGE: nl (default)
        f"database: leeg; nieuwste: {head}\n"
        "voer `wieweet db upgrade` uit (wieweet werkt de database ook zelf bij wanneer hij ze voor het eerst "
        "gebruikt)\n"
    )
    assert wieweet_in(url, "en", "db", "status").output == (
        f"database: empty; latest: {head}\n"
        "run `wieweet db upgrade` (wieweet also upgrades automatically on first use)\n"
    )
    assert wieweet(url, "db", "upgrade").output == f"database op revisie {head} (sqlite)\n"
    assert wieweet(url, "db", "status").output == f"database: {head}; nieuwste: {head}\n"
    assert wieweet_in(url, "en", "db", "upgrade").output == f"database at revision {head} (sqlite)\n"
    assert wieweet_in(url, "en", "db", "status").output == f"database: {head}; latest: {head}\n"


def test_run_without_tokens_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(main, ["--database", url, "run"])  # WIEWEET_LANGUAGE: nl (default)
    assert result.exit_code == 2 and "stel SLACK_BOT_TOKEN in" in result.output
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token")
    result = CliRunner().invoke(main, ["--database", url, "run"])
    assert "SLACK_BOT_TOKEN moet een bot-token zijn dat begint met xoxb-" in result.output
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2")
    result = CliRunner().invoke(main, ["--database", url, "run"], env={"WIEWEET_LANGUAGE": "en"})
    assert "set SLACK_APP_TOKEN" in result.output
    result = CliRunner().invoke(main, ["--database", url, "run", "--http"], env={"WIEWEET_LANGUAGE": "en"})
    assert "set SLACK_SIGNING_SECRET" in result.output and result.exit_code == 2


@pytest.mark.parametrize("group", [["digest", "--dry-run"], ["needs"], ["needs", "proposals"]])
def test_now_without_offset_or_not_a_time_is_refused_alike(database_url: str, group: list[str]) -> None:
    no_offset = wieweet(database_url, *group, "--now", "2026-11-25T12:00:00")
    assert no_offset.exit_code == 2
    # WIEWEET_LANGUAGE: nl (default); both languages in tests/test_cli_input_texts.py
    said = "ongeldige --now '2026-11-25T12:00:00': geef een UTC-verschil, zoals 2026-11-23T09:05:00+01:00"
    assert said in no_offset.output
    garbled = wieweet(database_url, *group, "--now", "next tuesday")
    assert garbled.exit_code == 2
    assert "ongeldige --now 'next tuesday': gebruik ISO 8601 met een UTC-verschil" in garbled.output


def test_control_characters_typed_or_piped_are_dropped_as_from_slack(database: Database, experts_csv: Path) -> None:
    """A NUL or an escape in a command-line argument, a piped query or a console line is dropped where the command
    line reads its input (the rule Slack's payloads go through): PostgreSQL never refuses the query, and what is
    stored reads as typed."""
    url = database.url
    wieweet(url, "import", "experts", str(experts_csv))
    said = wieweet(url, "ask", "--lang", "en", "--gap", "wie weet iets over bijen\x00kasten op\x1b daken?")
    assert said.exit_code == 0 and "It has been recorded as a knowledge gap" in said.output, said.output
    piped = wieweet(url, "ask", "--json", "--gap", input="wie weet iets over honing\x00bijen\x7f op daken?\n")
    assert piped.exit_code == 0 and json.loads(piped.output)["gap_recorded"] is True, piped.output
    console = wieweet(url, "console", input="wie weet iets over leegstands\x00heffing\x9b?\n:quit\n")
    assert console.exit_code == 0 and "An Peeters" in console.output, console.output
    assert "\x00" not in console.output and "\x9b" not in console.output
    with database.session() as s:
        gaps = sorted(g.query for g in s.scalars(select(KnowledgeGap)))
    assert gaps == ["wie weet iets over bijenkasten op daken?", "wie weet iets over honingbijen op daken?"]


@pytest.mark.parametrize("command", [["ask"], ["console"], ["demo"], ["report"], ["digest", "subscribe"]], ids=" ".join)
def test_lang_help_names_the_configured_default(command: list[str]) -> None:
    """--lang defaults to WIEWEET_LANGUAGE, so its help says so rather than naming Dutch as if it were fixed."""
    result = CliRunner().invoke(main, [*command, "--help"], env={"WIEWEET_LANGUAGE": "en"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())  # as wrapped to the terminal's width
    assert "(default: WIEWEET_LANGUAGE, Dutch unless set)" in shown and "default: nl" not in shown
