"""The year a practice may carry (at most next year) turns at the network's local midnight (``WIEWEET_TIMEZONE``), as
every other day wieweet reads, not at UTC's: in the form's check before the ack, in a submission or an edit from
Slack, and in a file import (``wieweet import practices``).

Two moments around New Year: 23:30 UTC on 31 December is already 1 January in Brussels (next year is 2028 there,
2027 by UTC's day); 03:00 UTC on 1 January is still 31 December in New York (next year is 2027 there, 2028 by UTC's
day)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from slack_bolt import BoltContext

from bot.actors import Actor
from bot.cli import main
from bot.errors import ImportFailed
from bot.register import service, submissions
from bot.register.submissions import InvalidRecord
from bot.register.themes import ensure_default_themes
from handlers import ids
from handlers.errors import REF
from handlers.forms import PracticeForm
from handlers.practices import check_practice_form
from handlers.recorded import record_submission
from storage.db import Database
from tests.register.conftest import PRACTICE_HEADER

BRUSSELS, NEW_YORK = "Europe/Brussels", "America/New_York"
BRUSSELS_NEW_YEAR = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 1 January 2027, 00:30 in Brussels
NEW_YORK_EVE = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # 31 December 2026, 22:00 in New York
GRIET = Actor.slack("U0GRIET01", is_staff=False)
FORM = {"title": "Kangoeroewonen", "summary": "Ouderen delen hun woning met een jong gezin.", "city": "Leuven"}

# (the moment, the network's zone, a year, whether it may be given then)
CASES = [
    pytest.param(BRUSSELS_NEW_YEAR, BRUSSELS, "2028", True, id="brussels-past-midnight-next-year-is-2028"),
    pytest.param(BRUSSELS_NEW_YEAR, BRUSSELS, "2029", False, id="brussels-past-midnight-2029-too-far"),
    pytest.param(NEW_YORK_EVE, NEW_YORK, "2027", True, id="new-york-before-midnight-next-year-is-2027"),
    pytest.param(NEW_YORK_EVE, NEW_YORK, "2028", False, id="new-york-before-midnight-2028-too-far"),
]


def _pre_ack_errors(now: datetime, zone: str, year: str) -> dict[str, Any]:
    """The form's check before the ack, as ``record_submission`` runs it: the errors Slack is given (none: {})."""
    typed = {**FORM, "year": year}
    state = {
        ids.practice_block(k): {ids.practice_input(k): {"type": "plain_text_input", "value": v}}
        for k, v in typed.items()
    }
    body = {"view": {"private_metadata": "{}", "state": {"values": state}}}
    services = SimpleNamespace(
        locales=SimpleNamespace(cached=lambda _user: None, default_language="en"),
        clock=lambda: now,
        settings=SimpleNamespace(timezone=zone),
    )
    spec = SimpleNamespace(services=services, form=PracticeForm, check=check_practice_form)
    acks: list[dict[str, Any]] = []
    context = BoltContext({"user_id": "U0GRIET01", REF: "test"})
    record_submission(spec, None, ack=lambda **kw: acks.append(kw), body=body, context=context)  # type: ignore[arg-type]
    [ack] = acks
    return dict(ack.get("errors") or {})


@pytest.mark.parametrize(("now", "zone", "year", "allowed"), CASES)
def test_the_forms_check_before_the_ack_reads_the_networks_day(
    now: datetime, zone: str, year: str, allowed: bool
) -> None:
    errors = _pre_ack_errors(now, zone, year)
    assert list(errors) == ([] if allowed else [ids.practice_block("year")]), errors


@pytest.fixture
def db(database: Database) -> Database:
    with database.session() as session:
        ensure_default_themes(session, now=BRUSSELS_NEW_YEAR)
    return database


@pytest.mark.parametrize(("now", "zone", "year", "allowed"), CASES)
def test_a_submission_and_an_edit_read_the_networks_day(
    db: Database, now: datetime, zone: str, year: str, allowed: bool
) -> None:
    values = {**FORM, "year": year}
    with db.session() as session:
        if allowed:
            practice = submissions.submit_practice(session, actor=GRIET, values=values, now=now, zone=ZoneInfo(zone))
            assert practice.year == int(year)
            changed = {**values, "summary": "Ouderen en jonge gezinnen delen een woning."}
            submissions.update_practice(
                session, actor=GRIET, practice_id=practice.id, values=changed, now=now, zone=ZoneInfo(zone)
            )
            return
        with pytest.raises(InvalidRecord) as refused:
            submissions.submit_practice(session, actor=GRIET, values=values, now=now, zone=ZoneInfo(zone))
        assert [e.code for e in refused.value.errors] == ["bad_year"]


def _file(tmp_path: Path, year: str) -> Path:
    path = tmp_path / "practices.csv"
    path.write_text(
        f"{PRACTICE_HEADER}\nKangoeroewonen,Ouderen delen hun woning.,Leuven,Stad Leuven,wonen,,,,,,{year}\n"
    )
    return path


@pytest.mark.parametrize(("now", "zone", "year", "allowed"), CASES)
def test_a_file_import_reads_the_networks_day(
    db: Database, tmp_path: Path, now: datetime, zone: str, year: str, allowed: bool
) -> None:
    path = _file(tmp_path, year)
    with db.session() as session:
        if allowed:
            report = service.import_practices(session, path=path, actor="cli:test", now=now, zone=ZoneInfo(zone))
            assert report.added == 1
            return
        with pytest.raises(ImportFailed) as refused:
            service.import_practices(session, path=path, actor="cli:test", now=now, zone=ZoneInfo(zone))
        assert "year" in " ".join(refused.value.errors)


def test_the_command_line_import_uses_the_configured_zone(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class AtNewYearsEve(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> AtNewYearsEve:  # type: ignore[override]
            return cls.fromtimestamp(NEW_YORK_EVE.timestamp(), tz)

    monkeypatch.setattr("bot.cli.register_cmds.datetime", AtNewYearsEve)
    monkeypatch.setenv("WIEWEET_TIMEZONE", NEW_YORK)
    done = CliRunner().invoke(main, ["--database", db.url, "import", "practices", str(_file(tmp_path, "2028"))])
    # refused as the year column's problem, in the operator's language (WIEWEET_LANGUAGE: Dutch unless set)
    said = "rij 2, kolom year: Het jaar moet tussen 1990 en 2027 liggen."  # the range accepted named
    assert done.exit_code != 0 and said in done.output, done.output
    done = CliRunner().invoke(main, ["--database", db.url, "import", "practices", str(_file(tmp_path, "2027"))])
    assert done.exit_code == 0, done.output
