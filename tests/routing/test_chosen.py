"""Who a question may be given to by hand (``bot.routing.chosen``): an expert passing it on and staff assigning it
are refused, with nothing written, for the asker (without telling an anonymous asker apart from anyone else) and for
people whose register entry says never to ask them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.error_texts import error_text
from bot.i18n import format_date
from bot.routing.chosen import REFUSED_PICK
from bot.routing.errors import RoutingInputError
from storage import register_repo
from storage.models import (
    AuditLog,
    Availability,
    Consent,
    EscalationReason,
    OutboxKind,
    OutboxMessage,
    Question,
    QuestionEvent,
    Routing,
    Timer,
    Visibility,
)
from tests.routing.conftest import ASKER, NOW, World, add_expert, seed_housing

LATER = NOW + timedelta(hours=1)
STAFF = Actor.slack("USTAFF1", is_staff=True)
WIM, OLAF, PAUL = "UWIM", "UOLAF", "UPAUL"  # consent withdrawn, opted out, available

Choose = Callable[[World, Session, int, str], object]


def _forward(world: World, s: Session, qid: int, to: str) -> object:
    question = s.get(Question, qid)
    assert question is not None
    bram = next(r.id for r in question.routings if r.recipient_slack_id == "UBRAM")
    return world.service.forward(s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id=to, now=LATER)


def _assign(world: World, s: Session, qid: int, to: str) -> object:
    # staff assign only a question that waits for them: escalated here, in the same unit of work (rolled back with it)
    question = world.service.core.lock_question(s, qid)
    world.service.core.escalate(s, question, EscalationReason.ALL_DECLINED, now=LATER)
    return world.service.staff_assign(s, question_id=qid, to_slack_id=to, actor=STAFF, now=LATER)


CHOOSERS = [pytest.param(_forward, id="pass-on"), pytest.param(_assign, id="staff-assign")]


def _seed(world: World) -> None:
    seed_housing(world, extra=False)
    with world.db.session() as s:
        add_expert(s, "Wim", organisation="Stad Leuven", expertise=["x"], themes=[], consent=Consent.WITHDRAWN)
        add_expert(
            s, "Olaf", organisation="Stad Leuven", expertise=["x"], themes=[], availability=Availability.OPTED_OUT
        )
        add_expert(s, "Paul", organisation="Stad Leuven", expertise=["x"], themes=[])
    world.load()


def _ask(world: World, visibility: Visibility) -> int:
    if visibility is Visibility.PUBLIC:
        qid = world.ask()
    else:
        qid = world.ask(visibility=visibility, channel_id=None, thread_ts=None)
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None and "UBRAM" in {r.recipient_slack_id for r in question.routings}
    return qid


def _written(world: World) -> tuple[int, ...]:
    with world.db.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Routing, OutboxMessage, Timer, QuestionEvent)
        )


def _refused(world: World, choose: Choose, qid: int, to: str) -> RoutingInputError:
    before = _written(world)
    with pytest.raises(RoutingInputError) as err, world.db.session() as s:
        choose(world, s, qid, to)
    assert _written(world) == before  # nothing written, nobody asked
    return err.value


@pytest.mark.parametrize("choose", CHOOSERS)
def test_the_asker_of_an_anonymous_question_is_refused_exactly_like_anyone_who_cannot_be_asked(
    world: World, choose: Choose, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(world)
    qid = _ask(world, Visibility.ANONYMOUS)
    with caplog.at_level(logging.INFO, logger="bot.routing.chosen"):
        asker = _refused(world, choose, qid, ASKER)
        withdrawn = _refused(world, choose, qid, WIM)
        opted_out = _refused(world, choose, qid, OLAF)
    # whoever picks people one by one learns nothing that sets the asker apart
    assert asker.code == withdrawn.code == opted_out.code == "cannot_ask"
    for lang in ("nl", "en"):
        texts = {error_text(e, lang) for e in (asker, withdrawn, opted_out)}
        assert len(texts) == 1 and None not in texts
    assert getattr(asker, "values", {}) == getattr(withdrawn, "values", {}) == getattr(opted_out, "values", {})
    # each probe of the asker shows in the log, without naming who asked
    probes = [r for r in caplog.records if r.levelno == logging.WARNING and "anonymous" in r.getMessage()]
    assert len(probes) == 1 and ASKER not in probes[0].getMessage()


@pytest.mark.parametrize("choose", CHOOSERS)
def test_a_cannot_ask_refusal_on_an_anonymous_question_is_audited_as_it_was_told(world: World, choose: Choose) -> None:
    """Told alike, audited alike: whoever reads the audit log (the operator who chose, too) cannot tell the pick of
    the asker from the others, neither by a reason nor by its absence; never whom they chose."""
    _seed(world)
    qid = _ask(world, Visibility.ANONYMOUS)
    for to in (ASKER, WIM, OLAF):
        with world.db.session() as s:
            try:
                choose(world, s, qid, to)
            except RoutingInputError as error:  # kept: committed with the request, as the Slack layer does
                assert error.code == "cannot_ask" and error.keep_changes
    reasons = [after for _actor, key, after in _refused_picks(world) if key == f"question:{qid}"]
    assert reasons == [{"refused": "cannot_ask"}] * 3


@pytest.mark.parametrize("choose", CHOOSERS)
def test_a_cannot_ask_refusal_on_a_question_that_names_its_asker_keeps_its_real_reason(
    world: World, choose: Choose
) -> None:
    """Nobody is hidden there: the audit entry says why the person chosen cannot be asked, never whom."""
    _seed(world)
    for visibility in (Visibility.PUBLIC, Visibility.PRIVATE):
        qid = _ask(world, visibility)
        for to in (WIM, OLAF):
            with world.db.session() as s:
                try:
                    choose(world, s, qid, to)
                except RoutingInputError as error:
                    assert error.code == "cannot_ask" and error.keep_changes
        reasons = [after for _actor, key, after in _refused_picks(world) if key == f"question:{qid}"]
        assert reasons == [
            {"refused": "cannot_ask", "reason": "consent_withdrawn"},
            {"refused": "cannot_ask", "reason": "opted_out"},
        ]


@pytest.mark.parametrize("choose", CHOOSERS)
def test_the_asker_of_a_question_that_names_them_is_told_why(world: World, choose: Choose) -> None:
    _seed(world)
    for visibility in (Visibility.PUBLIC, Visibility.PRIVATE):
        qid = _ask(world, visibility)
        assert _refused(world, choose, qid, ASKER).code == "forward_to_asker"


@pytest.mark.parametrize("choose", CHOOSERS)
@pytest.mark.parametrize("to", [WIM, OLAF], ids=["consent-withdrawn", "opted-out"])
def test_someone_who_withdrew_or_opted_out_is_never_given_a_question_by_hand(
    world: World, choose: Choose, to: str
) -> None:
    _seed(world)
    qid = _ask(world, Visibility.PUBLIC)
    assert _refused(world, choose, qid, to).code == "cannot_ask"
    assert not [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == to]
    # someone available is asked as before
    with world.db.session() as s:
        choose(world, s, qid, PAUL)
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == PAUL]


AWAY_UNTIL = (LATER + timedelta(days=7)).date()
ADA, XAVI, BACK = "UADA", "UXAVI", "UBACK"  # away until a date, away without one, away until a date now past


def _seed_away(world: World) -> None:
    _seed(world)
    with world.db.session() as s:
        for name, until in (("Ada", AWAY_UNTIL), ("Xavi", None), ("Back", LATER.date() - timedelta(days=1))):
            add_expert(
                s, name, organisation="Stad Leuven", expertise=["x"], themes=[], availability=Availability.AWAY
            ).away_until = until
    world.load()


@pytest.mark.parametrize("choose", CHOOSERS)
def test_someone_away_is_not_given_a_question_by_hand_and_the_chooser_is_told_until_when(
    world: World, choose: Choose
) -> None:
    _seed_away(world)
    qid = _ask(world, Visibility.PUBLIC)
    dated = _refused(world, choose, qid, ADA)
    undated = _refused(world, choose, qid, XAVI)
    assert (dated.code, undated.code) == ("chosen_away_until", "chosen_away")
    for lang in ("nl", "en"):
        text = error_text(dated, lang)
        assert text is not None and f"<@{ADA}>" in text and format_date(AWAY_UNTIL, lang, year=True) in text
        text = error_text(undated, lang)
        assert text is not None and f"<@{XAVI}>" in text
    # back since yesterday: asked as anyone available
    with world.db.session() as s:
        choose(world, s, qid, BACK)
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == BACK]


def test_staff_may_assign_someone_away_when_they_confirm_and_it_is_audited(world: World) -> None:
    _seed_away(world)
    qid = _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.ALL_DECLINED, now=LATER)
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id=ADA, actor=STAFF, now=LATER, assign_away=True)
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == ADA]
    with world.db.session() as s:
        (entry,) = register_repo.list_audit_log(s, entity_type="question", entity_key=str(qid))
        assert (entry.actor, entry.action) == ("staff:USTAFF1", "assign_away")
        assert entry.after == {"slack_user_id": ADA, "away_until": AWAY_UNTIL.isoformat()}


def test_someone_away_may_still_volunteer(world: World) -> None:
    _seed_away(world)
    qid = _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:
        routing = world.service.volunteer(s, question_id=qid, slack_id=ADA, now=LATER)
        assert routing.recipient_slack_id == ADA


PIA = "UPIA"  # listed from a file, her listing never confirmed (consent pending)


def _seed_unconfirmed(world: World) -> None:
    _seed(world)
    with world.db.session() as s:
        add_expert(s, "Pia", organisation="Stad Leuven", expertise=["x"], themes=[], consent=Consent.PENDING)
    world.load()


def _refused_picks(world: World) -> list[tuple[str, str, object]]:
    with world.db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity_type == REFUSED_PICK).order_by(AuditLog.id))
        return [(r.actor, r.entity_key, r.after) for r in rows]


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.ANONYMOUS])
def test_staff_may_not_assign_someone_whose_listing_was_never_confirmed_as_routing_would_not_ask_them(
    world: World, visibility: Visibility
) -> None:
    _seed_unconfirmed(world)
    qid = _ask(world, visibility)
    assert PIA not in {r.recipient_slack_id for r in _routings(world, qid)}  # the matcher passed her over
    with world.db.session() as s:
        world.service.core.escalate(s, world.service.core.lock_question(s, qid), EscalationReason.DEADLINE, now=LATER)
    before = _written(world)
    with world.db.session() as s:  # committed as a request commits a refusal that keeps its record
        try:
            world.service.staff_assign(s, question_id=qid, to_slack_id=PIA, actor=STAFF, now=LATER)
        except RoutingInputError as error:
            refused = error
            assert error.keep_changes
            s.commit()
        else:
            pytest.fail("staff assigned someone whose listing was never confirmed")
    assert refused.code == "chosen_unconfirmed"
    for lang, words in (("nl", "nog niet bevestigd"), ("en", "has not confirmed their listing")):
        text = error_text(refused, lang)
        assert text is not None and f"<@{PIA}>" in text and words in text
    assert _written(world) == before  # nobody asked, nothing of the question changed
    assert not [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == PIA]
    # audited and counted as any refused pick, never naming whom
    assert _refused_picks(world) == [("staff:USTAFF1", f"question:{qid}", {"refused": "chosen_unconfirmed"})]
    # once she confirms, staff may ask her
    with world.db.session() as s:
        expert = register_repo.get_expert_by_slack_id(s, slack_user_id=PIA)
        assert expert is not None
        expert.consent = Consent.CONFIRMED
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id=PIA, actor=STAFF, now=LATER)
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == PIA]


def test_with_consent_required_staff_may_assign_someone_outside_the_register_but_not_an_unconfirmed_listing(
    world: World,
) -> None:
    """The rule is about listings (as the README says): someone the register does not know has none to confirm and
    may be assigned (whether they belong to the network is the Slack layer's check, before this one)."""
    _seed_unconfirmed(world)
    first, second = _ask(world, Visibility.PUBLIC), _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:
        _assign(world, s, first, "U0OUTSIDE1")
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == "U0OUTSIDE1"]
    assert _refused(world, _assign, second, PIA).code == "chosen_unconfirmed"


def test_staff_may_assign_an_unconfirmed_listing_when_routing_asks_those_too(world: World) -> None:
    _seed_unconfirmed(world)
    world.with_policy(require_confirmed_consent=False)  # WIEWEET_REQUIRE_CONSENT=false
    qid = _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:
        _assign(world, s, qid, PIA)
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == PIA]
    assert _refused_picks(world) == []


def test_an_expert_may_pass_a_question_on_to_an_unconfirmed_colleague_and_she_may_volunteer(world: World) -> None:
    """A colleague an expert asks personally, as one outside the register, and someone offering help herself."""
    _seed_unconfirmed(world)
    qid = _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:
        _forward(world, s, qid, PIA)
    assert [m for m in world.outbox(OutboxKind.EXPERT_REQUEST) if m.recipient_slack_id == PIA]
    other = _ask(world, Visibility.PUBLIC)
    with world.db.session() as s:
        assert world.service.volunteer(s, question_id=other, slack_id=PIA, now=LATER).recipient_slack_id == PIA
    assert _refused_picks(world) == []


def _routings(world: World, qid: int) -> list[Routing]:
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        routings = list(question.routings)
        s.expunge_all()
        return routings
