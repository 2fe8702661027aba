"""Other people's requests still waiting in the inbox that name an erased person (a pick of them by Slack id) are
redacted once the erasure committed (``finish_erasure``), not only when they are handled: handled later, they can
no longer ask, assign or name the person. A request being handled, the Home-tab request of a command-line erasure
and the erasing request itself are left alone. SQLite (the inbox in its own file) and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from bot import inbox
from bot.actors import Actor
from bot.cli import main
from bot.privacy import ERASED_HOMES_KIND, LEDGER_FORMAT, erase_person, finish_erasure
from storage import inbox_repo
from storage.db import Database
from tests.privacy.conftest import LATER, LIEVE, LIEVE_EMAIL, LIEVE_NAME, Ids
from tests.routing.conftest import World

STAFF = "U0STAFF01"
OTHER = "U0OTHER01"
EARLIER = LATER - timedelta(minutes=1)


def _request(db: Database, key: str, payload: dict[str, Any], *, kind: str = "block_action") -> None:
    with db.inbox_session() as s:
        inbox_repo.create_inbox_request(
            s, request_key=key, kind=kind, payload=payload, user_slack_id=STAFF, now=EARLIER
        )


def _payload(db: Database, key: str) -> dict[str, Any]:
    with db.inbox_session() as s:
        request = inbox_repo.get_inbox_request(s, request_key=key)
        assert request is not None
        return dict(request.payload)


def test_waiting_requests_naming_the_erased_person_are_redacted(world: World, lieve: Ids) -> None:
    db = world.db
    _request(db, "act:running:4", {"action": "assign", "selected_user": LIEVE})
    [running] = inbox.claim_requests(db, now=LATER, claim="w/1", limit=1, stale_before=LATER)
    assert running.request_key == "act:running:4"  # its worker holds it now
    pick = {"action": "assign", "question_id": lieve.still_open, "selected_user": LIEVE, "note": f"vraag <@{LIEVE}>"}
    _request(db, "act:assign:1", pick)
    _request(db, "act:picked:2", {"action": "invite", "users": [OTHER, LIEVE]})
    _request(db, "act:other:3", {"action": "assign", "selected_user": OTHER})
    _request(db, "homes:5", {"erased": LIEVE, "lang": "nl"}, kind=ERASED_HOMES_KIND)
    with db.session() as s:
        erase_person(session=s, actor=Actor.cli("ops"), slack_user_id=LIEVE, now=LATER)
    finish_erasure(db, slack_user_id=LIEVE)

    assert LIEVE not in repr(_payload(db, "act:assign:1"))
    assert _payload(db, "act:assign:1")["question_id"] == lieve.still_open  # only the person is taken out
    assert _payload(db, "act:picked:2")["users"][0] == OTHER and LIEVE not in _payload(db, "act:picked:2")["users"]
    assert _payload(db, "act:other:3") == {"action": "assign", "selected_user": OTHER}
    assert _payload(db, "homes:5") == {"erased": LIEVE, "lang": "nl"}  # it must name them until it ran
    assert _payload(db, "act:running:4")["selected_user"] == LIEVE  # left to the worker that holds it


def test_a_request_claimed_before_the_erasure_commits_carries_nothing_of_the_person(world: World, lieve: Ids) -> None:
    """Redacted before any worker can claim them, not once the erasure committed: on PostgreSQL in the erasure's
    own transaction (a worker claiming meanwhile cannot take a request naming the person: it is locked until the
    commit); on SQLite (the inbox a file of its own) just before the commit. Claimed then or after, a request carries
    neither their Slack id nor their name or address."""
    db = world.db
    form = {"action": "edit_expert", "name": LIEVE_NAME, "email": LIEVE_EMAIL.upper(), "note": f"bel {LIEVE_NAME}"}
    _request(db, "view:form:1", form)
    _request(db, "act:assign:2", {"action": "assign", "selected_user": LIEVE})
    _request(db, "act:other:3", {"action": "assign", "selected_user": OTHER})
    with db.session() as s:
        report = erase_person(session=s, actor=Actor.cli("ops"), slack_user_id=LIEVE, now=LATER, db=db)
        meanwhile = inbox.claim_requests(db, now=LATER, claim="w/1", limit=10, stale_before=LATER)
        if db.dialect == "postgresql":  # the two naming her wait for the commit
            assert [r.request_key for r in meanwhile] == ["act:other:3"]
        assert report.counts.get("inbox_requests_redacted") == 2
    claimed = meanwhile + inbox.claim_requests(db, now=LATER, claim="w/2", limit=10, stale_before=LATER)
    assert sorted(r.request_key for r in claimed) == ["act:assign:2", "act:other:3", "view:form:1"]
    for request in claimed:
        shown = repr(request.payload).casefold()
        assert LIEVE.casefold() not in shown and "lieve" not in shown and "vermeulen" not in shown
    by_key = {r.request_key: dict(r.payload) for r in claimed}
    assert by_key["view:form:1"]["action"] == "edit_expert"  # only the person is taken out
    assert by_key["act:other:3"] == {"action": "assign", "selected_user": OTHER}


def test_an_erasure_reapplied_after_a_restore_redacts_names_and_addresses_too(
    world: World, lieve: Ids, tmp_path: Path
) -> None:
    """``privacy erasures reapply`` erases as ``privacy erase`` does: a waiting request naming the person loses their
    name and address as well as their Slack id, on SQLite too (the inbox a file of its own)."""
    db = world.db
    form = {"action": "edit_expert", "name": LIEVE_NAME, "email": LIEVE_EMAIL, "note": f"bel {LIEVE_NAME}"}
    _request(db, "view:form:1", form)
    key = secrets.token_hex(32)  # a ledger naming her, as one exported after her erasure, then a restore
    digest = hmac.new(bytes.fromhex(key), f"slack:{LIEVE}".encode(), hashlib.sha256).hexdigest()
    ledger = {"format": LEDGER_FORMAT, "key": key, "identities": [{"digest": digest, "erased_at": LATER.isoformat()}]}
    file = tmp_path / "erasures.json"
    file.write_text(json.dumps(ledger))
    result = CliRunner().invoke(main, ["--database", db.url, "privacy", "erasures", "reapply", str(file)])
    assert result.exit_code == 0, result.output
    assert "opnieuw gewiste personen: 1" in result.output
    shown = repr(_payload(db, "view:form:1")).casefold()
    assert LIEVE.casefold() not in shown and "vermeulen" not in shown and LIEVE_EMAIL.casefold() not in shown, shown
    assert _payload(db, "view:form:1")["action"] == "edit_expert"
