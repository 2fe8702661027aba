"""A routing pass waits for a change in progress to an expert's register row (an import writing changed rows, a
profile edit, "away", the reconfirm job stamping ``consent_requested_at``) and then reads it: a question asked
during an import still reaches the experts it matches (PostgreSQL ``FOR SHARE``; SQLite's write lock)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from storage import register_repo
from storage.models import Expert, OutboxKind
from tests.routing.conftest import NOW, World, seed_housing
from tests.routing.test_stopped_locks import WAIT, until_another_waits


def test_a_question_asked_during_an_import_that_edits_the_experts_still_reaches_them(world: World) -> None:
    seed_housing(world)
    holding, done = threading.Event(), threading.Event()

    def import_in_progress() -> None:  # as register.expert_import._write_experts: update_expert + flush, commit later
        with world.db.session() as a:
            for expert in a.scalars(select(Expert)):
                register_repo.update_expert(a, expert=expert, values={"role": "beleidsmedewerker"}, now=NOW)
            a.flush()
            holding.set()
            until_another_waits(world)  # the rest of the import; the routing waits for it (PostgreSQL)
        done.set()

    thread = threading.Thread(target=import_in_progress)
    thread.start()
    assert holding.wait(WAIT)
    qid = world.ask(now=NOW + timedelta(seconds=1))
    thread.join(WAIT)
    assert done.is_set()
    asked = [m.recipient_slack_id for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid)]
    assert asked, "nobody was asked: the experts being edited were passed over"
