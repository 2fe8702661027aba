"""Staff assigning a question to someone away leave an audit row about the question that names the person assigned
(their Slack id, until when they are away): that person's own export shows that it names them, and their erasure
leaves no trace of them in it. Rows about something else that name several people (everyone staff asked to add
expertise, everyone invited to a work session, with staff's note) show each of them only that they are named."""

from __future__ import annotations

from datetime import timedelta

from bot.actors import Actor
from bot.privacy import erase_person, export_personal_data
from storage import register_repo
from storage.models import Availability, EscalationReason
from tests.routing.conftest import NOW, World, add_expert, seed_housing

LATER = NOW + timedelta(hours=1)
STAFF = Actor.slack("U0STAFF01", is_staff=True)
ADA = "U0ADAADA1"
AWAY_UNTIL = (NOW + timedelta(days=7)).date()


def _assigned_while_away(world: World) -> int:
    seed_housing(world, extra=False)
    with world.db.session() as s:
        ada = add_expert(s, "Ada Peeters", organisation="Stad Leuven", expertise=["x"], themes=[], slack=ADA)
        ada.availability, ada.away_until = Availability.AWAY, AWAY_UNTIL
    world.load()
    qid = world.ask()
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.ALL_DECLINED, now=LATER)
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id=ADA, actor=STAFF, now=LATER, assign_away=True)
    return qid


def test_the_assign_away_entry_is_in_the_assigned_persons_export(world: World) -> None:
    qid = _assigned_while_away(world)
    with world.db.session() as s:
        data = export_personal_data(session=s, actor=Actor.slack(ADA, is_staff=False), slack_user_id=ADA, now=LATER)
    (entry,) = [row for row in data["audit_log"] if row["action"] == "assign_away"]
    assert (entry["entity_type"], entry["entity_key"]) == ("question", str(qid))
    assert entry["after"] == {"slack_user_id": ADA}
    assert "actor" not in entry  # staff's id: not theirs


def test_a_row_naming_several_people_shows_each_only_themselves(world: World) -> None:
    asked = [ADA, "U0BEABEA2", "U0CASCAS3"]
    with world.db.session() as s:  # what bot.needs.recruiting and a work-session proposal write
        register_repo.create_audit_log(
            s, actor="staff:U0STAFF01", action="recruit", entity_type="need_topic", entity_key="7",
            before=None, after={"asked": asked, "label": "warmtenet"}, now=NOW,
        )  # fmt: skip
        register_repo.create_audit_log(
            s, actor="U0STAFF01", action="propose", entity_type="need_proposal", entity_key="3",
            before=None, after={"invited": asked, "note": f"<@{ADA}> kent dit, vraag ook Bea"}, now=NOW,
        )  # fmt: skip
    with world.db.session() as s:
        data = export_personal_data(session=s, actor=Actor.slack(ADA, is_staff=False), slack_user_id=ADA, now=LATER)
    rows = [(r["action"], r["entity_type"], r["entity_key"], r["before"], r["after"]) for r in data["audit_log"]]
    assert rows == [
        ("recruit", "need_topic", "7", None, {"asked": [ADA]}),
        ("propose", "need_proposal", "3", None, {"invited": [ADA], "note": ADA}),
    ]
    text = repr(data["audit_log"])
    assert [w for w in ("U0BEABEA2", "U0CASCAS3", "U0STAFF01", "vraag ook Bea", "warmtenet") if w in text] == []


def test_someone_else_s_export_does_not_show_it(world: World) -> None:
    _assigned_while_away(world)
    with world.db.session() as s:
        bram = Actor.slack("UBRAM", is_staff=False)
        data = export_personal_data(session=s, actor=bram, slack_user_id="UBRAM", now=LATER)
    assert "assign_away" not in [row["action"] for row in data["audit_log"]]


def test_the_erasure_leaves_the_entry_without_them(world: World) -> None:
    qid = _assigned_while_away(world)
    with world.db.session() as s:
        erase_person(session=s, actor=Actor.slack(ADA, is_staff=False), slack_user_id=ADA, now=LATER)
    with world.db.session() as s:
        (entry,) = [
            e
            for e in register_repo.list_audit_log(s, entity_type="question", entity_key=str(qid))
            if e.action == "assign_away"
        ]
        assert ADA not in str(entry.after) and entry.after is not None
        assert entry.after["away_until"] == AWAY_UNTIL.isoformat()
