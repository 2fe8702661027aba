"""A Slack id once linked to another person's profile by an import slip, corrected by a later import, that profile
(given his own id, or no id at all: emptying the cell), then removed by staff: the audit log's oldest snapshot of the
profile names the id. The newest snapshot of an address decides whose it is (theirs only when it names their id), so the
id's owner neither sees the other person's name, address, role or practice in their export nor erases them with their
"forget me"; their own removed profile is still found through their id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.privacy import erase_person, export_json, export_personal_data
from bot.register.expert_import import expert_snapshot
from bot.register.profile_decisions import remove_expert
from storage import erased_repo, register_repo
from storage.db import Database
from storage.models import Expert
from tests.factories import add_expert, add_practice, add_question, seed_themes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF = Actor.slack("U0STAFF01", is_staff=True)
WIM = "U0WIMWIM1"  # a different person, whose id was typed in Xavier's row once
XAVIER = "U0XAVIER1"
XAVIER_WORDS = ("Xavier Janssens", "huisvestingsambtenaar", "Xaviers leegstandsaanpak")
CORRECTIONS = [pytest.param(XAVIER, id="his-own-id"), pytest.param(None, id="cell-emptied")]


def _import(s: Session, expert: Expert, before: dict[str, Any] | None, *, at: datetime) -> dict[str, Any]:
    """The audit row an import writes for the expert's record (the snapshot it leaves)."""
    after = expert_snapshot(expert)
    register_repo.create_audit_log(
        s,
        actor="cli:root",
        action="import",
        entity_type="expert",
        entity_key=expert.email,
        before=before,
        after=after,
        now=at,
    )
    return after


def _xavier_linked_to_wim_once(database: Database, corrected: str | None) -> str:
    """Xavier's profile, imported with Wim's Slack id, corrected to ``corrected``, then removed by staff. Returns his
    address."""
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        x = add_expert(s, "Xavier Janssens", created_at=NOW, slack=WIM, role="huisvestingsambtenaar")
        s.flush()
        wrong = _import(s, x, None, at=NOW)
        x.slack_user_id = corrected
        _import(s, x, wrong, at=NOW + timedelta(days=1))
        add_practice(s, "Xaviers leegstandsaanpak", created_at=NOW, contact=x)
        add_question(s, "Wie kent iets van deelsteps?", created_at=NOW, asker=WIM)
        x_id, x_email = x.id, x.email
    with database.session() as s:
        remove_expert(s, actor=STAFF, expert_id=x_id, now=NOW + timedelta(days=2))
    return x_email


@pytest.mark.parametrize("corrected", CORRECTIONS)
def test_the_self_export_leaves_out_a_removed_profile_that_had_their_id_by_mistake(
    database: Database, corrected: str | None
) -> None:
    x_email = _xavier_linked_to_wim_once(database, corrected)
    with database.session() as s:
        wim = Actor.slack(WIM, is_staff=False)
        dump = export_json(export_personal_data(session=s, actor=wim, slack_user_id=WIM, now=NOW))
    assert WIM in dump  # his own question
    assert [w for w in (*XAVIER_WORDS, x_email) if w in dump] == []


@pytest.mark.parametrize("corrected", CORRECTIONS)
def test_forget_me_does_not_list_the_other_persons_address_as_erased(database: Database, corrected: str | None) -> None:
    x_email = _xavier_linked_to_wim_once(database, corrected)
    with database.session() as s:
        erase_person(session=s, actor=Actor.slack(WIM, is_staff=False), slack_user_id=WIM, now=NOW)
    with database.session() as s:
        assert erased_repo.list_erased(s, emails=[x_email]) == set()
        assert erased_repo.list_erased(s, slack_user_ids=[WIM]) == {WIM}
        # the removed profile's audit rows keep Xavier's name: the sweep did not take it for Wim's
        entries = register_repo.list_audit_log(s, entity_type="expert", entity_key=x_email)
        assert entries and all(e.before is None or e.before.get("name") == "Xavier Janssens" for e in entries)


def test_their_own_removed_profile_is_still_found_through_their_id(database: Database) -> None:
    """The rule's other side: the newest snapshot of the address names them, so it is theirs."""
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        w = add_expert(s, "Wim Peeters", created_at=NOW, slack=WIM, role="mobiliteitsambtenaar")
        s.flush()
        _import(s, w, None, at=NOW)
        w_id, w_email = w.id, w.email
    with database.session() as s:
        remove_expert(s, actor=STAFF, expert_id=w_id, now=NOW + timedelta(days=1))
    with database.session() as s:
        wim = Actor.slack(WIM, is_staff=False)
        dump = export_json(export_personal_data(session=s, actor=wim, slack_user_id=WIM, now=NOW))
    assert w_email in dump and "mobiliteitsambtenaar" in dump
    with database.session() as s:
        erase_person(session=s, actor=Actor.slack(WIM, is_staff=False), slack_user_id=WIM, now=NOW)
    with database.session() as s:
        assert erased_repo.list_erased(s, emails=[w_email]) == {w_email}
