"""Erasure on SQLite leaves no readable copy of the person in the database file, its WAL or the inbox file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot import inbox
from bot.actors import Actor
from bot.cli import main
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.privacy import ERASED_HOMES_KIND, erase_person, finish_erasure
from handlers.inbox import InboxWorker
from handlers.services import Services
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


STAFF = "U0STAFF01"


def inbox_text(db: Database) -> str:
    """Every inbox row, as stored (payload, result, error), in one string."""
    with db.inbox_session() as s:
        return repr(
            [
                (r.request_key, r.user_slack_id, r.payload, r.result, r.last_error)
                for r in inbox_repo.list_inbox_requests(s)
            ]
        )


@pytest.mark.parametrize("ending", ["done", "given up"])
def test_forget_me_leaves_no_trace_of_the_person_in_another_users_inbox_row(
    world: World, lieve: Ids, ending: str
) -> None:
    """A staff member approved Lieve's profile: their submission's row held the review card (her name, e-mail,
    Slack id) as a confirmation. Once that request ended only the markers of what was sent stay, so erasing her
    leaves nothing of her in any inbox row (on SQLite and PostgreSQL)."""
    db = world.db
    card = f"Profiel van {LIEVE_NAME} (<@{LIEVE}>, {LIEVE_EMAIL}) goedgekeurd"
    with db.inbox_session() as s:
        inbox_repo.create_inbox_request(
            s,
            request_key="view:VPROFILE1:h1",
            kind="modal_submission",
            payload={"handler": "profile", "body": {"view": {"state": {"note": card}}}},
            user_slack_id=STAFF,
            now=LATER - timedelta(minutes=1),
        )
    [row] = inbox.claim_requests(db, now=LATER, claim="w/1", limit=1, stale_before=LATER)
    step = {"kind": "dm", "text": card, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": card}}]}
    assert inbox.save_result(
        db,
        request_id=row.id,
        claim="w/1",
        values={"confirm": [step], "step:card": card, "posted:confirm:0": ["D0STAFF01", "1.000002"]},
        alive_at=LATER,
    )
    assert inbox.save_result(db, request_id=row.id, claim="w/1", values={"sent:confirm:0": True}, alive_at=LATER)
    if ending == "done":
        assert inbox.mark_done(db, request_id=row.id, claim="w/1", channel_id="D0STAFF01", ts="1.000002", now=LATER)
    else:
        assert inbox.mark_failed(db, request_id=row.id, claim="w/1", error="ratelimited", retry_at=None, now=LATER)
    with db.inbox_session() as s:
        ended = inbox_repo.get_inbox_request(s, request_key="view:VPROFILE1:h1")
        assert ended is not None  # the markers of what was sent stay, for exactly-once; nothing else
        assert ended.result == {"posted:confirm:0": ["D0STAFF01", "1.000002"], "sent:confirm:0": True}
    with db.session() as s:
        erase_person(session=s, actor=SELF, slack_user_id=LIEVE, now=LATER)
    finish_erasure(db, slack_user_id=LIEVE)
    stored = inbox_text(db).lower()
    assert all(needle.lower() not in stored for needle in (LIEVE_NAME, LIEVE_EMAIL, LIEVE))


class _Slack:
    """What publishing the Home tabs after an erasure calls."""

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        return {"user": {"id": kwargs["user"], "locale": "nl-BE", "real_name": "Iemand"}}

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True}


def test_a_command_line_erasure_leaves_no_trace_once_the_bot_published_the_home_tabs(
    sqlite_world: World, lieve: Ids
) -> None:
    """The erasure queues a request naming her Slack id for the running bot (her Home tab); once it is done its row
    no longer names her, and the disk is compacted again: no earlier version of the row stays in the inbox's WAL."""
    db = sqlite_world.db
    result = CliRunner().invoke(main, ["--database", db.url, "privacy", "erase", "--slack-id", LIEVE, "--yes"])
    assert result.exit_code == 0, result.output
    now = datetime.now(UTC)
    [request] = inbox.claim_requests(db, now=now, claim="w/1", limit=10, stale_before=now - timedelta(minutes=2))
    assert request.kind == ERASED_HOMES_KIND
    services = Services(settings=Settings(staff_user_ids=frozenset({STAFF})), db=db, knowledge=KnowledgeBase(db))
    worker = InboxWorker(services, _Slack(), threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(request, claim="w/1")
    finally:
        worker.pool.shutdown()
    assert raw_hits(db, [LIEVE_NAME, LIEVE_EMAIL, LIEVE]) == []
