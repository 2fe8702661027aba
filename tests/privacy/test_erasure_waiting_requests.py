"""Other people's requests still waiting in the inbox that name an erased person (a pick of them by Slack id) are
redacted once the erasure committed (``finish_erasure``), not only when they are handled: handled later, they can
no longer ask, assign or name the person. A request being handled, the Home-tab request of a command-line erasure
and the erasing request itself are left alone. SQLite (the inbox in its own file) and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import inbox
from bot.actors import Actor
from bot.privacy import ERASED_HOMES_KIND, erase_person, finish_erasure
from storage import inbox_repo
from storage.db import Database
from tests.privacy.conftest import LATER, LIEVE, Ids
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
