"""The audit log and a person's rights: an expert staff removed or rejected keeps a full snapshot in the audit log,
which their own "forget me" (by Slack id) must still find; exporting someone's file is itself audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.privacy import erase_person, export_personal_data
from bot.register.profile_decisions import reject_profile, remove_expert
from storage import erased_repo
from storage.db import Database
from storage.enums import PERSONAL_DATA_ENTITY
from storage.models import AuditLog, Expert, Practice, RecordStatus
from tests.factories import add_expert

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF = Actor.slack("U0STAFF01", is_staff=True)
LIEVE = "U0LIEVE01"
LIEVE_SELF = Actor.slack(LIEVE, is_staff=False)


def _audit_dump(database: Database) -> str:
    with database.session() as s:
        rows = [
            [a.actor, a.action, a.entity_type, a.entity_key, a.before, a.after] for a in s.scalars(select(AuditLog))
        ]
    return json.dumps(rows, ensure_ascii=False)


def _lieve(database: Database, *, pending: bool = False) -> tuple[int, str]:
    with database.session() as s:
        expert = add_expert(s, "Lieve Peeters", created_at=NOW, slack=LIEVE, role="diensthoofd jeugd")
        if pending:
            expert.status = RecordStatus.PENDING
        return expert.id, expert.email


@pytest.mark.parametrize("how", ["removed", "rejected"])
def test_forget_me_after_staff_removed_the_profile_leaves_no_name_or_email(database: Database, how: str) -> None:
    expert_id, email = _lieve(database, pending=how == "rejected")
    with database.session() as s:
        if how == "removed":
            remove_expert(s, actor=STAFF, expert_id=expert_id, now=NOW)
        else:
            reject_profile(s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW)
    assert "Lieve Peeters" in _audit_dump(database)  # the staff action's snapshot
    with database.session() as s:  # "/wieweet vergeet mij": by the Slack id Slack signed, nothing else
        erase_person(session=s, actor=LIEVE_SELF, slack_user_id=LIEVE, now=NOW)
    dump = _audit_dump(database)
    assert "Lieve Peeters" not in dump and email not in dump and "diensthoofd" not in dump and LIEVE not in dump
    with database.session() as s:
        # her address is kept as erased too: an old register file listing it does not bring her back
        assert erased_repo.list_erased(s, emails=[email])
        assert erased_repo.list_erased(s, slack_user_ids=[LIEVE])


def test_forget_me_after_removal_unlinks_a_practice_with_her_old_address(database: Database) -> None:
    expert_id, email = _lieve(database)
    with database.session() as s:
        s.add(Practice(title="Jeugdraad", city="Gent", summary="Over de jeugdraad.", contact_email=email))
        remove_expert(s, actor=STAFF, expert_id=expert_id, now=NOW)
    with database.session() as s:
        report = erase_person(session=s, actor=LIEVE_SELF, slack_user_id=LIEVE, now=NOW)
        assert report.counts.get("practices_unlinked") == 1
        practice = s.scalars(select(Practice)).one()
        assert practice.contact_email == ""  # cleared, not "[erased]"


def test_an_address_another_expert_holds_now_is_not_taken_from_an_old_snapshot(database: Database) -> None:
    """Staff once linked Lieve's Slack id to Jan's profile by mistake, then corrected it: Jan's address in that
    old snapshot is not Lieve's, and her erasure leaves Jan (and his address) alone."""
    with database.session() as s:
        jan = add_expert(s, "Jan Wouters", created_at=NOW, slack=LIEVE)
        jan_id, jan_email = jan.id, jan.email
        s.add(
            AuditLog(
                at=NOW,
                actor="U0STAFF01",
                action="update",
                entity_type="expert",
                entity_key=jan_email,
                before={"name": "Jan Wouters", "email": jan_email, "slack_user_id": LIEVE},
                after={"name": "Jan Wouters", "email": jan_email, "slack_user_id": "U0JAN0001"},
            )
        )
        jan.slack_user_id = "U0JAN0001"
        s.add(Practice(title="Jeugdraad", city="Gent", summary="Over de jeugdraad.", contact_email=jan_email))
    with database.session() as s:  # she is known by that old snapshot only
        erase_person(session=s, actor=LIEVE_SELF, slack_user_id=LIEVE, now=NOW)
    with database.session() as s:
        assert not erased_repo.list_erased(s, emails=[jan_email])
        assert s.scalars(select(Practice)).one().contact_email == jan_email
        jan = s.get(Expert, jan_id)
        assert jan is not None and (jan.name, jan.email) == ("Jan Wouters", jan_email)
    dump = _audit_dump(database)
    assert jan_email in dump and "Jan Wouters" in dump and LIEVE not in dump


def test_my_data_after_removal_shows_the_audit_rows_about_her(database: Database) -> None:
    expert_id, email = _lieve(database)
    with database.session() as s:
        remove_expert(s, actor=STAFF, expert_id=expert_id, now=NOW)
    with database.session() as s:
        data = export_personal_data(session=s, actor=LIEVE_SELF, slack_user_id=LIEVE, now=NOW)
    removals = [a for a in data["audit_log"] if a["action"] == "delete"]
    assert len(removals) == 1 and removals[0]["before"]["name"] == "Lieve Peeters"
    assert removals[0]["entity_key"] == email


def test_exporting_someones_file_is_audited_and_an_erasure_makes_it_anonymous(database: Database) -> None:
    _lieve(database)
    with database.session() as s:
        data = export_personal_data(session=s, actor=Actor.cli("ops"), slack_user_id=LIEVE, now=NOW)
        assert data["expert_profile"]["name"] == "Lieve Peeters"
    with database.session() as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "export")))
        assert [(r.actor, r.entity_type, r.entity_key, r.at.replace(tzinfo=UTC)) for r in rows] == [
            ("cli:ops", PERSONAL_DATA_ENTITY, LIEVE, NOW)
        ]
        assert rows[0].after is not None and rows[0].after["expert_profile"] == 1  # counts, never the data
        assert "Lieve Peeters" not in json.dumps(rows[0].after)
    with database.session() as s:  # her own export is audited too, and shows the staff export of her file
        own = export_personal_data(session=s, actor=LIEVE_SELF, slack_user_id=LIEVE, now=NOW)
    assert [(a["actor"], a["action"]) for a in own["audit_log"]] == [("cli:ops", "export")]
    with database.session() as s:
        erase_person(session=s, actor=Actor.cli("ops"), slack_user_id=LIEVE, now=NOW)
    with database.session() as s:
        exports = [
            (r.actor, r.entity_key, r.after) for r in s.scalars(select(AuditLog).where(AuditLog.action == "export"))
        ]
    assert exports == [("cli:ops", "erased", {"erased": True}), ("erased", "erased", {"erased": True})]
    assert LIEVE not in _audit_dump(database)
