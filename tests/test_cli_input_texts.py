"""A value given to a command in the wrong form, and a command's own usage refusals, are said in the operator's
language (``WIEWEET_LANGUAGE``, Dutch unless set): a channel id, a time option (``--now``, ``--messages-before``), a
digest's day and time, ``--ask`` ids, ``--by``, a report's file type, an empty reason, options that do not go
together. The value refused is quoted as every refused value is (``bot.text.shown_value``). Click's own frame
("Error: Invalid value for --ask:", "Usage: …") stays click's (English)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from storage.db import Database
from tests.digests.conftest import seed_themes


def wieweet_in(db: Database, language: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", db.url, *args], env={"WIEWEET_LANGUAGE": language})


NOW = ["--now", "2026-11-25T12:00:00+01:00"]

# (the command, what the Dutch line says, what the English line says)
CASES = [
    (
        ["digest", "--channel", "#wonen", "--dry-run", *NOW],
        "error: ongeldige Slack-kanaal-id '#wonen': geef de id van het kanaal, niet de naam",
        "error: invalid Slack channel id '#wonen': give the channel id, not its name",
    ),
    (
        ["digest", "subscribe", "--channel", "cultuur"],
        "error: ongeldige Slack-kanaal-id 'cultuur': geef de id van het kanaal, niet de naam",
        "error: invalid Slack channel id 'cultuur': give the channel id, not its name",
    ),
    (
        ["digest", "subscribe", "--channel", "C0X000001", "--time", "25:00"],
        "error: ongeldig tijdstip '25:00': gebruik UU:MM (24 uur, lokale tijd), zoals 09:00",
        "error: invalid time '25:00': use HH:MM (24-hour, local time), e.g. 09:00",
    ),
    (
        ["digest", "subscribe", "--channel", "C0X000001", "--day", "lundi"],
        "error: onbekende dag 'lundi': gebruik ma, di, wo, do, vr, za of zo (of voluit",
        "error: invalid day 'lundi': use one of mon, tue, wed, thu, fri, sat, sun",
    ),
    (
        ["needs", "--now", "next tuesday"],
        "error: ongeldige --now 'next tuesday': gebruik ISO 8601 met een UTC-verschil",
        "error: invalid --now 'next tuesday': use ISO 8601 with an offset",
    ),
    (
        ["digest", "--dry-run", "--now", "2026-11-25T12:00:00"],
        "error: ongeldige --now '2026-11-25T12:00:00': geef een UTC-verschil, zoals 2026-11-23T09:05:00+01:00",
        "error: invalid --now '2026-11-25T12:00:00': give a UTC offset, e.g. 2026-11-23T09:05:00+01:00",
    ),
    (
        ["queued", "discard", "--messages-before", "0001-01-01T00:00:00+01:00"],
        "error: ongeldige --messages-before '0001-01-01T00:00:00+01:00': het jaar moet tussen 1900 en 8999 liggen",
        "error: invalid --messages-before '0001-01-01T00:00:00+01:00': the year must be 1900-8999",
    ),
    (
        ["digest", "--week", "2026-48", "--dry-run", *NOW],
        "error: ongeldige week '2026-48': gebruik een ISO-week zoals 2026-W48",
        "error: invalid week '2026-48': use an ISO week like 2026-W48",
    ),
    (
        ["digest", "--week", "2025-W53", "--dry-run", *NOW],
        "error: 2025-W53 is geen ISO-week",
        "error: 2025-W53 is not an ISO week",
    ),
    (
        ["digest", "--week", "9999-W52", "--dry-run", *NOW],
        "error: ongeldige week '9999-W52': het jaar moet tussen 1900 en 8999 liggen",
        "error: invalid week '9999-W52': the year must be 1900-8999",
    ),
    (
        ["digest", "mark-posted", "--week", "2026-W50", "--now", "2026-12-02T12:00:00+01:00"],
        "error: 2026-W50 is nog niet begonnen (deze week is 2026-W49): er ging nog geen weekoverzicht van uit",
        "error: 2026-W50 has not begun (this week is 2026-W49): no digest of it went out yet",
    ),
    (
        ["needs", "--period", "volgend jaar", *NOW],
        "error: onbekende periode 'volgend jaar': gebruik een kwartaal (2026-Q4), een maand (2026-11)",
        "error: invalid period 'volgend jaar': use a quarter (2026-Q4), a month (2026-11)",
    ),
    (
        ["needs", "--period", "2026-13", *NOW],
        "error: onbekende periode '2026-13': gebruik een kwartaal (2026-Q4)",
        "error: invalid period '2026-13': use a quarter (2026-Q4)",
    ),
    (
        ["report", "--period", "0001-Q1", "report.xlsx"],
        "error: ongeldige periode '0001-Q1': het jaar moet tussen 1900 en 8999 liggen",
        "error: invalid period '0001-Q1': the year must be 1900-8999",
    ),
    (
        ["needs", "--period", "2026-12-31..2026-01-01", *NOW],
        "error: ongeldige periode '2026-12-31..2026-01-01': het bereik eindigt voor het begint",
        "error: invalid period '2026-12-31..2026-01-01': the range ends before it starts",
    ),
    (
        ["needs", "--period", "2020-01-01..2026-01-01", *NOW],
        "error: ongeldige periode '2020-01-01..2026-01-01': een bereik beslaat hoogstens drie jaar",
        "error: invalid period '2020-01-01..2026-01-01': a range may span at most three years",
    ),
    (
        ["needs", "recruit", "12", "--ask", "41,anna"],
        "Error: Invalid value for --ask: expert-id's zijn getallen, zoals --ask 41,57",
        "Error: Invalid value for --ask: expert ids are numbers, e.g. --ask 41,57",
    ),
    (
        ["--by", "anna\tsmet", "audit"],
        "'--by': geef een gewone naam van hoogstens 60 tekens (geen tabs, regeleinden of stuurtekens)",
        "'--by': give a plain name of at most 60 characters (no tabs, line breaks or control characters)",
    ),
    (
        ["report", "--period", "2026-11", "report.txt"],
        "Error: Invalid value for OUTPUT: schrijf een .xlsx-, .html- of .png-bestand",
        "Error: Invalid value for OUTPUT: write a .xlsx, .html or .png file",
    ),
    (
        ["question", "close", "42", "--reason", "  "],
        "Error: Invalid value for --reason: geef de vrager een reden",
        "Error: Invalid value for --reason: give the asker a reason",
    ),
    (
        ["import", "practices", "practices.csv", "--consent-on-paper"],
        "Error: --consent-on-paper is alleen voor experts",
        "Error: --consent-on-paper is for experts only",
    ),
    (
        ["digest", "--dry-run", "--send-due", *NOW],
        "Error: gebruik --dry-run of --send-due, niet allebei",
        "Error: use either --dry-run or --send-due",
    ),
    (
        ["queued", "discard"],
        "Error: geef --message, --timer, --messages-before, --timers-before, --messages-due-before of",
        "Error: give --message, --timer, --messages-before, --timers-before, --messages-due-before or",
    ),
]


@pytest.mark.parametrize(("args", "dutch", "english"), CASES, ids=lambda v: "-".join(v) if isinstance(v, list) else "")
def test_a_value_in_the_wrong_form_is_said_in_the_operators_language(
    database: Database, args: list[str], dutch: str, english: str
) -> None:
    for language, said in (("nl", dutch), ("en", english)):
        result = wieweet_in(database, language, *args)
        assert result.exit_code == 2, result.output
        assert said in result.output, (language, result.output)


def test_unknown_themes_are_said_in_the_operators_language(database: Database) -> None:
    """Every theme that matches nothing, the closest one suggested, in the operator's words and plural."""
    with database.session() as session:
        seed_themes(session)
    one = wieweet_in(database, "nl", "digest", "--themes", "wonnen", "--dry-run", *NOW)
    assert one.exit_code == 2 and "error: onbekend thema 'wonnen' (bedoel je 'wonen'?); de thema's zijn: " in one.output
    two = wieweet_in(database, "nl", "digest", "--themes", "wonnen,sport", "--dry-run", *NOW)
    assert "error: onbekende thema's 'wonnen' (bedoel je 'wonen'?), 'sport'; de thema's zijn: " in two.output
    two = wieweet_in(database, "en", "digest", "--themes", "wonnen,sport", "--dry-run", *NOW)
    assert "error: unknown themes 'wonnen' (did you mean 'wonen'?), 'sport'. Themes: " in two.output, two.output
    assert "wonen" in two.output.split("Themes: ")[1]
