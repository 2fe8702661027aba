"""Erasure on SQLite leaves no readable copy of the person in the database file, its WAL or the inbox file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.actors import Actor
from bot.privacy import erase_person, finish_erasure
from storage import inbox_repo
from storage.db import Database
from tests.privacy.conftest import LATER, LIEVE, LIEVE_EMAIL, LIEVE_NAME, Ids
from tests.routing.conftest import World

SELF = Actor.slack(LIEVE, is_staff=False)


def files_of(db: Database) -> list[Path]:
    """The database, its inbox and their WAL and shared-memory files, as they are on disk."""
    assert db.inbox_path is not None
    main = Path(db.url.split("///", 1)[1])
    candidates = [main, db.inbox_path]
    return [p.with_name(p.name + suffix) for p in candidates for suffix in ("", "-wal", "-journal")]


def raw_hits(db: Database, needles: list[str]) -> list[str]:
    """Every file (of ``files_of``) whose raw bytes contain one of ``needles`` (UTF-8, any case)."""
    hits = []
    for path in files_of(db):
        if not path.exists():
            continue
        data = path.read_bytes().lower()
        hits += [f"{path.name} ~ {n}" for n in needles if n.lower().encode() in data]
    return hits


@pytest.fixture
def sqlite_world(world: World) -> World:
    if world.db.dialect != "sqlite":
        pytest.skip("the bytes on disk of SQLite (PostgreSQL: see the README on WAL and backups)")
    return world


def test_erased_name_email_and_slack_id_are_not_in_the_files(sqlite_world: World, lieve: Ids) -> None:
    db = sqlite_world.db
    with db.inbox_session() as s:  # a request of hers still in the inbox, e.g. a mention not yet answered
        inbox_repo.create_inbox_request(
            s,
            request_key="msg:C0WONEN01:1.000001",
            kind="answer_message",
            payload={"channel": "C0WONEN01", "thread_ts": "1.000001", "text": f"ik ben {LIEVE_NAME}, {LIEVE_EMAIL}"},
            user_slack_id=LIEVE,
            now=LATER - timedelta(minutes=1),
        )
    needles = [LIEVE_NAME, LIEVE_EMAIL, LIEVE]
    assert len(raw_hits(db, needles)) >= 3  # the scan does see her: in the WAL and the inbox at least
    with db.session() as s:
        erase_person(session=s, actor=SELF, slack_user_id=LIEVE, now=LATER)
    assert raw_hits(db, needles), "without the clean-up her rows stay readable in the WAL and freed pages"
    assert finish_erasure(db, slack_user_id=LIEVE) == 1
    assert raw_hits(db, needles) == []
    # also once the process has stopped (a file copy or backup carries nothing of her)
    db.dispose()
    assert raw_hits(db, needles) == []
