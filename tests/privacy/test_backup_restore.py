"""A backup taken before an erasure, restored, brings the person back; the erasure ledger (``wieweet privacy
erasures export|reapply``), kept outside the database, erases them again and keeps an old register from listing
them again. Backups as the README says to take them: an online ``sqlite3`` backup of both files (the database and
its inbox), ``pg_dump``/``pg_restore`` on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.actors import Actor, NotAuthorized
from bot.privacy import LEDGER_FORMAT, LedgerError, export_erasures, reapply_erasures
from bot.register import service
from storage import erased_repo
from storage.db import Database, inbox_file, sqlite_file
from storage.models import AuditLog, ErasedIdentity, Expert
from tests.cli import wieweet
from tests.privacy.conftest import BRAM, LIEVE, LIEVE_EMAIL, LIEVE_NAME, Ids
from tests.routing.conftest import NOW, World

LATER = NOW + timedelta(days=2)


def _files(db: Database) -> list[Path]:
    main_file = sqlite_file(db.url)
    assert main_file is not None
    return [main_file, inbox_file(main_file)]


def back_up(db: Database, folder: Path) -> None:
    """An online backup, taken while the database is in use."""
    if db.dialect == "sqlite":
        for source in _files(db):
            with sqlite3.connect(source) as live, sqlite3.connect(folder / source.name) as copy:
                live.backup(copy)
        return
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", f"--file={folder / 'dump'}", url], check=True)


def restore(db: Database, folder: Path) -> None:
    """The processes are stopped (here: the pools closed), then the copy replaces the database."""
    db.dispose()
    if db.dialect == "sqlite":
        for target in _files(db):
            for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copy(folder / target.name, target)
        return
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={url}", str(folder / "dump")], check=True
    )


def lieve_listed(db: Database) -> bool:
    with db.session() as s:
        return s.scalars(select(Expert).where(Expert.email == LIEVE_EMAIL)).one_or_none() is not None


@pytest.fixture
def backup(world: World, lieve: Ids, tmp_path: Path) -> Path:
    if world.db.dialect == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("needs pg_dump and pg_restore")
    folder = tmp_path / "backup"
    folder.mkdir()
    back_up(world.db, folder)
    return folder


def test_a_restored_backup_is_erased_again_from_the_ledger(world: World, backup: Path, tmp_path: Path) -> None:
    db = world.db
    assert wieweet(db, "privacy", "erase", "--email", LIEVE_EMAIL, "--yes").exit_code == 0
    ledger = tmp_path / "secrets" / "erasures.json"
    ledger.parent.mkdir()
    exported = wieweet(db, "privacy", "erasures", "export", str(ledger))
    assert exported.exit_code == 0, exported.output
    assert "2 gewiste identiteiten geëxporteerd" in exported.output  # her address and her Slack id
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    text = ledger.read_text()
    assert LIEVE_EMAIL not in text and LIEVE not in text and LIEVE_NAME not in text
    assert json.loads(text)["format"] == LEDGER_FORMAT

    restore(db, backup)
    assert lieve_listed(db)  # the backup brought her back (what the ledger is for)
    with db.session() as s:
        assert not erased_repo.list_erased(s, emails=[LIEVE_EMAIL], slack_user_ids=[LIEVE])

    result = wieweet(db, "privacy", "erasures", "reapply", str(ledger))
    assert result.exit_code == 0, result.output
    assert "opnieuw gewiste personen: 1" in result.output
    assert not lieve_listed(db)
    assert wieweet(db, "privacy", "export", "--slack-id", LIEVE).exit_code == 2  # no such person
    dump = wieweet(db, "audit", "--json", "--limit", "1000").output
    assert LIEVE_EMAIL not in dump and LIEVE not in dump
    actions = [json.loads(line)["action"] for line in dump.splitlines()]
    assert actions[:2] == ["reapply_erasures", "erase"]
    with db.session() as s:
        assert erased_repo.list_erased(s, emails=[LIEVE_EMAIL], slack_user_ids=[LIEVE]) == {LIEVE_EMAIL, LIEVE}
        assert s.scalars(select(Expert).where(Expert.slack_user_id == BRAM)).one()  # nobody else went

    # an old register file lists her: the import skips her row, as after the first erasure
    register = tmp_path / "experts.csv"
    register.write_text(
        "name,email,slack_user_id,organisation,city,role,expertise,themes,languages,bio\n"
        f"{LIEVE_NAME},{LIEVE_EMAIL},{LIEVE},Stad Gent,Gent,jurist,leegstandsheffing,wonen,nl,\n"
    )
    with db.session() as s:
        report = service.import_experts(s, path=register, actor="cli:test", now=LATER, consent_on_paper=True)
    assert report.erased and not lieve_listed(db)

    again = wieweet(db, "privacy", "erasures", "reapply", str(ledger))  # twice is harmless
    assert again.exit_code == 0 and "opnieuw gewiste personen: 0" in again.output


def test_a_backup_older_than_the_erasure_key_takes_the_ledgers_key(world: World, lieve: Ids) -> None:
    db = world.db
    with db.session() as s:
        erased_repo.create_erased_identities(s, emails=["someone@else.be"], slack_user_ids=[], now=NOW)
        ledger = export_erasures(session=s, actor=Actor.cli("ops"), now=NOW)
    with db.session() as s:  # as restored from before the key existed: no key, no hashes
        s.query(ErasedIdentity).delete()
        erased_repo.update_erasure_key(s, secret="0" * 64, now=NOW)
    with db.session() as s:
        report = reapply_erasures(session=s, actor=Actor.cli("ops"), ledger=ledger, now=LATER)
        assert report.added == 1 and report.people_erased == 0
        assert erased_repo.get_erasure_key(s) == ledger["key"]
        assert erased_repo.list_erased(s, emails=["someone@else.be"]) == {"someone@else.be"}


def test_another_databases_ledger_is_refused_and_changes_nothing(world: World, lieve: Ids) -> None:
    db = world.db
    with db.session() as s:
        erased_repo.create_erased_identities(s, emails=["someone@else.be"], slack_user_ids=[], now=NOW)
    foreign = {
        "format": LEDGER_FORMAT,
        "key": "ab" * 32,
        "identities": [{"digest": "cd" * 32, "erased_at": NOW.isoformat()}],
    }
    with pytest.raises(LedgerError), db.session() as s:
        reapply_erasures(session=s, actor=Actor.cli("ops"), ledger=foreign, now=LATER)
    for damaged in ({"format": "x"}, {**foreign, "key": "zz"}, {**foreign, "identities": [{"digest": "x"}]}):
        with pytest.raises(LedgerError), db.session() as s:
            reapply_erasures(session=s, actor=Actor.cli("ops"), ledger=damaged, now=LATER)
    with db.session() as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "reapply_erasures")).all() == []
        assert erased_repo.list_erased(s, emails=["someone@else.be"]) == {"someone@else.be"}
    assert lieve_listed(db)


def test_only_staff_handle_the_ledger(world: World) -> None:
    with pytest.raises(NotAuthorized), world.db.session() as s:
        export_erasures(session=s, actor=Actor.slack("U0SOMEONE", is_staff=False), now=NOW)
