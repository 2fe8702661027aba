"""Choosing the asker of an anonymous question by hand tells the chooser no more than "this person cannot be given
this question" — staff on the command line (``wieweet question assign``) as in Slack — and the audit log records
only that: the operator reading it with ``wieweet audit`` learns no more than they were told, nor does the chooser's
own export of their data. The asker of a question
that names them is still told so."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.privacy import export_personal_data
from bot.routing.chosen import REFUSED_PICK
from bot.routing.errors import RoutingInputError
from storage.models import AuditLog, EscalationReason, Question, QuestionStatus, Visibility
from tests.cli import wieweet, wieweet_in
from tests.routing.conftest import NOW, World, seed_housing

LATER = NOW + timedelta(hours=1)
AT_LATER = ("--now", (LATER + timedelta(minutes=5)).isoformat())
BRAM, BRAM_EMAIL = "UBRAM", "bram@example.org"  # an expert of the register, who asks here


def _asked_by_bram(world: World, visibility: Visibility, *, escalate: bool = True) -> int:
    qid = world.ask(asker_slack_id=BRAM, asker_name="Bram", visibility=visibility, channel_id=None, thread_ts=None)
    if escalate:
        with world.db.session() as s:
            question = world.service.core.lock_question(s, qid)
            world.service.core.escalate(s, question, EscalationReason.DEADLINE, now=LATER)
    return qid


def _refusals(world: World, qid: int) -> list[object]:
    with world.db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity_type == REFUSED_PICK).order_by(AuditLog.id))
        return [r.after for r in rows if r.entity_key == f"question:{qid}"]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_question_assign_to_the_asker_of_an_anonymous_question_says_only_cannot_be_given(
    world: World, language: str
) -> None:
    """In the operator's language (WIEWEET_LANGUAGE, Dutch unless set): "cannot be given", never why."""
    seed_housing(world)
    qid = _asked_by_bram(world, Visibility.ANONYMOUS)
    done = wieweet_in(world.db, language, "question", "assign", str(qid), "--expert", BRAM_EMAIL, *AT_LATER)
    assert done.exit_code == 1
    if language == "en":
        assert "error: This person cannot be given this question. Choose someone else." in done.output
        assert "asked" not in done.output.replace("cannot be given", "") and "forward" not in done.output
        assert "The refused pick is recorded." in done.output
    else:
        assert "error: Deze persoon kan deze vraag niet krijgen. Kies iemand anders." in done.output
        assert "stelde" not in done.output and "doorsturen" not in done.output
        assert "De geweigerde keuze is vastgelegd." in done.output
    assert _refusals(world, qid) == [{"refused": "cannot_ask"}]  # audited as told: "asker" would name the asker
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None and question.status is QuestionStatus.ESCALATED
        assert BRAM not in {r.recipient_slack_id for r in question.routings}


def test_the_operators_audit_command_does_not_tell_them_who_asked(world: World) -> None:
    """The operator who chose the asker is told "cannot be given"; ``wieweet audit`` then shows them the same refusal
    as for anybody else who cannot be asked: its question, not the reason that would name the asker."""
    seed_housing(world)
    qid = _asked_by_bram(world, Visibility.ANONYMOUS)
    refused = wieweet_in(
        world.db, "en", "--by", "anna", "question", "assign", str(qid), "--expert", BRAM_EMAIL, *AT_LATER
    )
    assert refused.exit_code == 1 and "cannot be given" in refused.output
    audit = wieweet(world.db, "audit", "--entity", "refused_pick", "--json")
    assert audit.exit_code == 0, audit.output
    [row] = [json.loads(line) for line in audit.output.splitlines()]
    assert row["actor"].endswith(" by anna")
    assert (row["entity_key"], row["after"]) == (f"question:{qid}", {"refused": "cannot_ask"})
    table = wieweet(world.db, "audit", "--entity", "refused_pick")
    assert f"refused_pick:question:{qid}" in table.output and "asker" not in table.output


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.PRIVATE])
def test_question_assign_to_the_asker_of_a_question_that_names_them_keeps_its_words(
    world: World, visibility: Visibility, language: str
) -> None:
    seed_housing(world)
    qid = _asked_by_bram(world, visibility)
    done = wieweet_in(world.db, language, "question", "assign", str(qid), "--expert", BRAM_EMAIL, *AT_LATER)
    assert done.exit_code == 1
    expected = {
        "en": "You cannot forward the question to the person who asked it.",
        "nl": "Je kan de vraag niet doorsturen naar wie ze stelde.",
    }[language]
    assert expected in done.output
    assert _refusals(world, qid) == []  # nothing to hide, nothing recorded: as before


def test_the_choosers_export_shows_what_they_were_told_not_why(world: World) -> None:
    """An expert passing an anonymous question on to its asker: their own export holds the refused pick (theirs),
    without the reason that would tell them who asked."""
    seed_housing(world)
    qid = world.ask(visibility=Visibility.ANONYMOUS, channel_id=None, thread_ts=None)
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None and question.asker_slack_id
        asker = question.asker_slack_id
        chooser = next(r for r in question.routings if r.recipient_slack_id and r.recipient_slack_id != asker)
        routing_id, chooser_id = chooser.id, str(chooser.recipient_slack_id)
    with world.db.session() as s:
        with pytest.raises(RoutingInputError) as refused:
            world.service.forward(s, routing_id=routing_id, actor_slack_id=chooser_id, to_slack_id=asker, now=LATER)
        assert refused.value.code == "cannot_ask" and refused.value.keep_changes
        s.commit()  # as the Slack layer commits a refusal that keeps its record
    assert _refusals(world, qid) == [{"refused": "cannot_ask"}]
    with world.db.session() as s:
        actor = Actor.slack(chooser_id, is_staff=False)
        data = export_personal_data(session=s, actor=actor, slack_user_id=chooser_id, now=LATER)
    [row] = [r for r in data["audit_log"] if r["entity_type"] == REFUSED_PICK]
    assert row["actor"] == chooser_id and row["entity_key"] == f"question:{qid}"
    assert row["after"] == {"refused": "cannot_ask"}
    assert "asker" not in repr(data["audit_log"])
