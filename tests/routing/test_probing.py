"""Picking people one by one to find out who cannot be asked (an anonymous question's asker among them) is limited:
after ``MAX_REFUSED_PICKS`` ``cannot_ask`` or away refusals within the hour, the same chooser's further picks are
refused (``too_many_picks``), logged once each as a WARNING, until the hour has passed. The refusals are kept as the
request keeps them (``keep_changes``: committed, as the Slack layer does), in the audit log, never naming whom was
chosen. Someone away is refused before the asker check: an away anonymous asker gets any away person's refusal."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.error_texts import error_text
from bot.routing.chosen import MAX_REFUSED_PICKS, REFUSED_PICK
from bot.routing.errors import RoutingInputError
from storage.models import AuditLog, Availability, Consent, EscalationReason, Question, Routing, Visibility
from tests.routing.conftest import ASKER, NOW, World, add_expert
from tests.routing.test_chosen import OLAF, PAUL, WIM, _ask, _seed

STAFF = Actor.slack("USTAFF1", is_staff=True)
T0 = NOW + timedelta(hours=1)


def _forward(world: World, qid: int, to: str, now: datetime) -> RoutingInputError | None:
    """A pass-on by UBRAM, its transaction committed when the refusal keeps its record (as a request's is)."""
    try:
        with world.db.session() as s:
            question = s.get(Question, qid)
            assert question is not None
            bram = next(r.id for r in question.routings if r.recipient_slack_id == "UBRAM")
            try:
                world.service.forward(s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id=to, now=now)
            except RoutingInputError as error:
                if not error.keep_changes:
                    raise
                return error
    except RoutingInputError as error:
        return error
    return None


def test_a_chooser_refused_too_often_within_the_hour_is_refused_further_picks_until_it_passed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(world)
    qid = _ask(world, Visibility.ANONYMOUS)
    probes = [ASKER, WIM, OLAF, ASKER, WIM]
    assert len(probes) == MAX_REFUSED_PICKS
    for i, to in enumerate(probes):
        refused = _forward(world, qid, to, T0 + timedelta(minutes=i))
        assert refused is not None and refused.code == "cannot_ask"
    with world.db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity_type == REFUSED_PICK)).all()
        assert [(r.actor, r.entity_key) for r in rows] == [("UBRAM", f"question:{qid}")] * MAX_REFUSED_PICKS
        assert not any(who in repr((r.before, r.after)) for r in rows for who in (ASKER, WIM, OLAF))
    with caplog.at_level(logging.WARNING, logger="bot.routing.chosen"):
        limited = _forward(world, qid, PAUL, T0 + timedelta(minutes=10))  # someone who could be asked
    assert limited is not None and limited.code == "too_many_picks" and not limited.keep_changes
    assert "try again later" in (error_text(limited, "en") or "").lower()
    assert "probeer het later" in (error_text(limited, "nl") or "").lower()
    warned = [r for r in caplog.records if "too many" in r.getMessage()]
    assert len(warned) == 1 and "UBRAM" in warned[0].getMessage()
    with world.db.session() as s:
        assert not s.scalars(select(Routing).where(Routing.recipient_slack_id == PAUL)).all()
    # once the first refusal is more than an hour old, picks are theirs again
    assert _forward(world, qid, PAUL, T0 + timedelta(hours=1, minutes=1)) is None
    with world.db.session() as s:
        assert s.scalars(select(Routing).where(Routing.recipient_slack_id == PAUL)).all()


def test_staff_are_limited_too_and_one_choosers_refusals_do_not_limit_another(world: World) -> None:
    _seed(world)
    qid = _ask(world, Visibility.ANONYMOUS)
    for i in range(MAX_REFUSED_PICKS):
        assert _forward(world, qid, WIM, T0 + timedelta(minutes=i)) is not None

    at = T0 + timedelta(minutes=10)
    with world.db.session() as s:  # waiting for staff
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.ALL_DECLINED, now=at)

    def assign(to: str, at: datetime) -> str:
        try:
            with world.db.session() as s:
                try:
                    world.service.staff_assign(s, question_id=qid, to_slack_id=to, actor=STAFF, now=at)
                except RoutingInputError as error:
                    if not error.keep_changes:
                        raise
                    return error.code
        except RoutingInputError as error:
            return error.code
        return "assigned"

    assert [assign(OLAF, at) for _ in range(MAX_REFUSED_PICKS)] == ["cannot_ask"] * MAX_REFUSED_PICKS
    assert assign(PAUL, at) == "too_many_picks"


def test_staff_picks_of_an_unconfirmed_listing_are_counted_as_refused_picks(world: World) -> None:
    _seed(world)
    with world.db.session() as s:
        add_expert(s, "Pia", organisation="Stad Leuven", expertise=["x"], themes=[], consent=Consent.PENDING)
    world.load()
    qid = _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:  # waiting for staff
        world.service.core.escalate(s, world.service.core.lock_question(s, qid), EscalationReason.DEADLINE, now=T0)

    def assign(to: str) -> str:
        try:
            with world.db.session() as s:
                try:
                    world.service.staff_assign(s, question_id=qid, to_slack_id=to, actor=STAFF, now=T0)
                except RoutingInputError as error:
                    if not error.keep_changes:
                        raise
                    return error.code
        except RoutingInputError as error:
            return error.code
        return "assigned"

    picks = [assign("UPIA") for _ in range(MAX_REFUSED_PICKS)]
    assert picks == ["chosen_unconfirmed"] * MAX_REFUSED_PICKS
    assert assign(PAUL) == "too_many_picks"  # someone who could be asked


def test_an_away_asker_gets_the_away_refusal_and_away_picks_are_counted(world: World) -> None:
    _seed(world)
    until = (NOW + timedelta(days=30)).date()
    with world.db.session() as s:
        for name, sid in (("Asker", ASKER), ("Dirk", "UDIRK"), ("Eva", "UEVA")):
            e = add_expert(s, name, organisation="Stad Gent", expertise=["y"], themes=[], slack=sid)
            e.availability, e.away_until = Availability.AWAY, until
    world.load()
    qid = _ask(world, Visibility.ANONYMOUS)
    refusals = {to: _forward(world, qid, to, T0) for to in ("UDIRK", "UEVA", ASKER)}
    # the asker's answer is any away person's, their own name in it: nothing tells who asked
    assert {to: (e.code, e.values) for to, e in refusals.items() if e is not None} == {
        to: ("chosen_away_until", {"name": to, "until": until.isoformat()}) for to in ("UDIRK", "UEVA", ASKER)
    }
    # Slack shows the person as a mention (the command line by their name)
    assert all(f"<@{to}>" in (error_text(e, "en") or "") for to, e in refusals.items() if e is not None)
    with world.db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity_type == REFUSED_PICK)).all()
        assert [(r.actor, r.entity_key, r.after) for r in rows] == [
            ("UBRAM", f"question:{qid}", {"refused": "away"})
        ] * 3
    more = [_forward(world, qid, "UDIRK", T0) for _ in range(MAX_REFUSED_PICKS - 3)]
    assert [e.code for e in more if e is not None] == ["chosen_away_until"] * (MAX_REFUSED_PICKS - 3)
    limited = _forward(world, qid, PAUL, T0)  # someone who could be asked
    assert limited is not None and limited.code == "too_many_picks"


def test_two_picks_at_once_by_the_same_chooser_never_let_one_more_through(world: World) -> None:
    """Two requests (two replicas) by one chooser with one refusal left: the second counts the first's refusal once
    it is committed (PostgreSQL: the chooser's advisory lock; SQLite: its write lock, taken before counting), so it is
    refused ``too_many_picks``, not recorded as a sixth refusal."""
    _seed(world)
    qid = _ask(world, Visibility.ANONYMOUS)
    for i, to in enumerate([ASKER, WIM, OLAF, ASKER][: MAX_REFUSED_PICKS - 1]):
        refused = _forward(world, qid, to, T0 + timedelta(minutes=i))
        assert refused is not None and refused.code == "cannot_ask"
    other: list[RoutingInputError | None] = []
    second = threading.Thread(target=lambda: other.append(_forward(world, qid, WIM, T0 + timedelta(minutes=6))))
    with world.db.session() as s:  # the first request: its refusal recorded, not committed yet
        question = s.get(Question, qid)
        assert question is not None
        bram = next(r.id for r in question.routings if r.recipient_slack_id == "UBRAM")
        with pytest.raises(RoutingInputError) as first:
            world.service.forward(
                s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id=OLAF, now=T0 + timedelta(minutes=5)
            )
        assert first.value.code == "cannot_ask"
        second.start()
        second.join(timeout=1.0)  # waits for the first's lock (without it, it counts four and goes on)
    second.join()
    assert len(other) == 1 and other[0] is not None and other[0].code == "too_many_picks"
    with world.db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity_type == REFUSED_PICK)).all()
        assert len(rows) == MAX_REFUSED_PICKS
