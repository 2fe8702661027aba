"""``wieweet privacy erasures reapply`` (after a restore) says why a ledger cannot be used in the operator's language
(``WIEWEET_LANGUAGE``, Dutch unless set) through the catalogues, never the developer's message or the JSON parser's,
with the exit codes the README gives: 2 for a ledger that is not one, damaged or another database's (nothing
changed), 1 for a file that cannot be read. Against both databases."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.i18n import t
from bot.privacy import LEDGER_FORMAT
from storage import erased_repo
from storage.db import Database
from tests.routing.conftest import NOW

FOREIGN = {"format": LEDGER_FORMAT, "key": "ab" * 32, "identities": [{"digest": "cd" * 32, "erased_at": "2026-01-01"}]}


def reapply(db: Database, file: Path, language: str | None = None) -> Result:
    env = {"WIEWEET_LANGUAGE": language} if language else {}
    return CliRunner().invoke(main, ["--database", db.url, "privacy", "erasures", "reapply", str(file)], env=env)


def _file(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "ledger.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("ledger", "dutch"),
    [
        ({"format": "x"}, "Dit is geen register van wissingen"),
        ({**FOREIGN, "key": "zz"}, "Het register van wissingen is beschadigd."),
        ({**FOREIGN, "identities": [{"digest": "x"}]}, "Het register van wissingen is beschadigd."),
        ({**FOREIGN, "key": None}, "Het register van wissingen heeft identiteiten maar geen sleutel"),
    ],
    ids=["not a ledger", "bad key", "bad identity", "no key"],
)
def test_a_ledger_that_cannot_be_used_is_said_in_dutch_exit_2(
    database: Database, tmp_path: Path, ledger: dict[str, object], dutch: str
) -> None:
    done = reapply(database, _file(tmp_path, ledger))
    assert done.exit_code == 2, done.output
    assert done.output.startswith(f"error: {dutch}") and "Er is niets veranderd" in done.output, done.output
    assert "erasure ledger" not in done.output  # not the developer's message


def test_another_databases_ledger_is_said_in_dutch_exit_2(database: Database, tmp_path: Path) -> None:
    with database.session() as s:  # this database holds erasures of its own
        erased_repo.create_erased_identities(s, emails=["someone@else.be"], slack_user_ids=[], now=NOW)
    done = reapply(database, _file(tmp_path, FOREIGN))
    assert done.exit_code == 2, done.output
    assert done.output == f"error: {t('cli.ledger_other_key', 'nl')}\n"
    assert "hoort niet bij deze databank" in done.output
    in_english = reapply(database, _file(tmp_path, FOREIGN), language="en")
    assert in_english.exit_code == 2 and "it is not this database's ledger" in in_english.output


def test_a_file_that_is_not_json_is_said_in_dutch_exit_1(database: Database, tmp_path: Path) -> None:
    path = _file(tmp_path, "{not json")
    done = reapply(database, path)
    assert done.exit_code == 1, done.output
    assert f"{path} is geen register van wissingen (geen JSON)" in done.output, done.output
    assert "Expecting" not in done.output  # the parser's own words
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert "geen JSON" in reapply(database, path).output


def test_a_file_that_cannot_be_read_is_said_in_dutch_exit_1(database: Database, tmp_path: Path) -> None:
    path = _file(tmp_path, FOREIGN)
    with mock.patch.object(Path, "read_bytes", side_effect=PermissionError(13, "Permission denied")):
        done = reapply(database, path)
    assert done.exit_code == 1, done.output
    assert f"{path} kan niet gelezen worden" in done.output and "Permission denied" not in done.output, done.output
