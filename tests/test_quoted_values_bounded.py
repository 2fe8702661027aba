"""Every value quoted back to the operator goes through ``bot.text.shown_value``: a Slack token in it is masked
wherever it starts (glued to a letter or digit too), the whole value is handed over (so a long one ends in ``…``
like every other refused value), and a refusal naming many values names a few and counts the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.text import mask_secrets, shown_value
from storage.db import Database
from tests.digests.conftest import seed_themes

TOKEN = "xoxb-1234567890-1234567890123-abcdefghijABCDEFGHIJklmn"
SECRET_PARTS = ("1234567890123", "abcdefghij", "ABCDEFGHIJ")
NOW = ["--now", "2026-11-25T12:00:00+01:00"]


def wieweet_in(db: Database, language: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", db.url, *args], env={"WIEWEET_LANGUAGE": language})


def _no_secret(text: str) -> None:
    assert not any(part in text for part in SECRET_PARTS), text


@pytest.mark.parametrize("kind", ["xoxb", "xoxp", "xapp", "xoxe", "xoxa", "xoxs"])
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("C", ""),  # glued to a letter (a channel id given wrongly)
        ("2026-Q4", ""),  # glued to a digit (a period)
        ("SLACK_BOT_TOKEN", ""),  # glued to an underscore (a setting's name)
        ("SLACK_BOT_TOKEN=", ""),
        ("'", "'"),  # quoted
        ('"', '",'),
        ("wonen,", ",sport"),  # in a comma'd list
        ("", ""),
        ("(", ")"),
    ],
)
def test_a_slack_token_is_masked_wherever_it_starts(kind: str, before: str, after: str) -> None:
    token = kind + TOKEN[4:]
    masked = mask_secrets(f"{before}{token}{after}")
    assert masked == f"{before}{kind}-***{after}"
    _no_secret(shown_value(f"{before}{token}{after}"))


def test_a_configuration_token_and_a_normalised_header_are_masked_glued() -> None:
    assert mask_secrets("Xxoxe.xoxp-1-abcdefghijABCDEFGHIJ") == "Xxoxe.***"
    assert mask_secrets("kolom9xoxb_1234567890123_abcdefghij") == "kolom9xoxb_***"


@pytest.mark.parametrize(
    "args",
    [
        ["digest", "--dry-run", "--channel", f"C{TOKEN}", *NOW],
        ["needs", "--period", f"2026-Q4{TOKEN}", *NOW],
        ["digest", "--dry-run", "--week", f"2026-W48{TOKEN}", *NOW],
        ["digest", "--dry-run", "--themes", f"SLACK_BOT_TOKEN{TOKEN}", *NOW],
    ],
    ids=["channel", "period", "week", "themes"],
)
def test_a_refusal_masks_a_glued_token(database: Database, args: list[str]) -> None:
    with database.session() as session:
        seed_themes(session)
    for language in ("nl", "en"):
        result = wieweet_in(database, language, *args)
        assert result.exit_code == 2, result.output
        assert "xoxb-***" in result.output, result.output
        _no_secret(result.output)


@pytest.mark.parametrize(
    ("args", "dutch", "english"),
    [
        (["needs", "--period", f"2025-Q1 {'x' * 100}", *NOW], "onbekende periode '2025-Q1 x", "invalid period '2"),
        (["digest", "--dry-run", "--week", f"2026-W{'9' * 100}", *NOW], "ongeldige week '2026-W9", "invalid week '2"),
    ],
    ids=["period", "week"],
)
def test_a_long_period_or_week_is_quoted_cut_with_an_ellipsis(
    database: Database, args: list[str], dutch: str, english: str
) -> None:
    for language, said in (("nl", dutch), ("en", english)):
        result = wieweet_in(database, language, *args)
        assert result.exit_code == 2, result.output
        assert said in result.output, result.output
        quoted = result.output.split(said[:-1], 1)[1].split("'", 1)[0]
        assert quoted.endswith("…"), result.output  # the quote says it is cut
        assert len(said[:-1]) + len(quoted) <= 80, result.output


@pytest.mark.parametrize("as_json", [False, True])
def test_no_such_person_quotes_the_value_cut_and_masked(database: Database, as_json: bool) -> None:
    long_address = "a" * 10_000 + "@x.be"
    erase = ["privacy", "erase", "--email", long_address, "--yes", *(["--json"] if as_json else [])]
    said_in = {"nl": "niemand gevonden: over 'aaaa", "en": "no such person: nothing is stored about 'aaaa"}
    for language, said in said_in.items():
        result = wieweet_in(database, language, *erase)
        assert result.exit_code == 2, result.output
        assert said in result.output and "…'" in result.output, result.output
        assert len(result.output) < 300, len(result.output)
        export = wieweet_in(database, language, "privacy", "export", "--slack-id", TOKEN)
        assert export.exit_code == 2 and "'xoxb-***'" in export.output, export.output
        _no_secret(export.output)


@pytest.mark.parametrize("name", ["out." + "y" * 10_000, f"out.{TOKEN}", f"{TOKEN}.txt"])
def test_the_export_file_type_refusal_quotes_the_name_cut_and_masked(
    database: Database, tmp_path: Path, name: str
) -> None:
    for language in ("nl", "en"):
        result = wieweet_in(database, language, "export", "experts", str(tmp_path / name[:200]))
        assert result.exit_code == 2, result.output
        assert ".csv" in result.output and len(result.output) < 400, result.output
        _no_secret(result.output)


@pytest.mark.parametrize(
    ("refused", "dutch", "english"),
    [
        (2000, "'t4' en nog 1.995 andere; de thema's zijn: ", "'t4' and 1,995 more. Themes: "),
        (6, "'t4' en nog 1 ander; de thema's zijn: ", "'t4' and 1 more. Themes: "),
        (5, "'t3', 't4'; de thema's zijn: ", "'t3', 't4'. Themes: "),
    ],
)
@pytest.mark.parametrize("command", [["digest", "--dry-run", *NOW], ["digest", "subscribe", "--channel", "C0X000001"]])
def test_many_unknown_themes_are_named_a_few_and_counted(
    database: Database, command: list[str], refused: int, dutch: str, english: str
) -> None:
    with database.session() as session:
        seed_themes(session)
    themes = ",".join(f"t{i}" for i in range(refused))
    for language, said in (("nl", dutch), ("en", english)):
        result = wieweet_in(database, language, *command, "--themes", themes)
        assert result.exit_code == 2, result.output
        assert said in result.output, result.output
        assert "'t5'" not in result.output and len(result.output) < 600, result.output
