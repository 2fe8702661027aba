"""An expert marked away because Slack said their account was gone, whose account is active again: available again,
and staff told once when the mark had moved things (requests moved on and staff told of it, their own questions
withdrawn) — not per process, not per repeated event, not when the mark moved nothing. A confirmed-active account
clears the marks of a gone account (deactivated, unknown to Slack), never a bot's, nor an expert's own away or
staff's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.network import Network
from bot.register import profiles, unreachable
from bot.register.marked import ACCOUNT_GONE_REASONS, KEPT_ACTION, list_marked_away_ids
from bot.register.reactivated import REPEAT_WITHIN, make_available_again
from handlers.marked_away import MarkedAwayCache
from handlers.outbox import render_message
from handlers.profile_change import handle_profile_change
from handlers.reactivations import RECHECK_AFTER, RecentMarksCheck
from storage.models import AuditLog, Availability, Expert, OutboxKind, OutboxMessage, Visibility
from tests.cli import wieweet, wieweet_in
from tests.routing.conftest import NOW, World, seed_housing

K = OutboxKind
LATER = NOW + timedelta(hours=1)
BACK = NOW + timedelta(days=2)
HOME = Network(team_id="T0HOME001")


def slack_id(world: World, expert_id: int) -> str:
    with world.db.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.slack_user_id
        return expert.slack_user_id


def availability(world: World, expert_id: int) -> tuple[Availability, date | None]:
    with world.db.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None
        return expert.availability, expert.away_until


def deactivated(world: World, user: str, *, now: datetime = LATER) -> str:
    with world.db.session() as s:
        return world.service.person_deactivated(s, slack_user_id=user, reason="deleted", now=now).outcome


def reactivated(world: World, user: str, *, now: datetime = BACK) -> bool:
    with world.db.session() as s:
        return make_available_again(s, slack_user_id=user, now=now) is not None


def notices(world: World) -> list[OutboxMessage]:
    return world.outbox(K.EXPERT_REACTIVATED)


def asked_first(world: World, qid: int) -> str:
    with world.db.session() as s:
        return sorted(m.recipient_slack_id or "" for m in s.scalars(select(OutboxMessage)) if m.routing_id)[0]


def test_a_reactivation_after_requests_moved_on_tells_staff_once_per_mark(world: World) -> None:
    ids = seed_housing(world)
    qid = world.ask()
    gone = asked_first(world, qid)
    expert_id = next(i for i in ids.values() if slack_id(world, i) == gone)
    assert deactivated(world, gone).startswith("moved on 1, marked away True")
    assert [m.recipient_slack_id for m in world.outbox(K.DELIVERY_FAILED)] == [None]  # staff were told
    assert reactivated(world, gone)
    assert availability(world, expert_id) == (Availability.AVAILABLE, None)
    assert not reactivated(world, gone)  # the event again, or another process: nothing more
    [notice] = notices(world)
    assert notice.recipient_slack_id is None and notice.channel_id is None  # the triage channel (else staff by DM)
    assert notice.payload["expert_id"] == expert_id and notice.payload["slack_user_id"] == gone
    assert notice.payload["reason"] == "deleted" and notice.payload["told"] is True
    assert notice.payload["withdrawn"] == [] and str(notice.payload["marked_at"]).startswith("2026-11-23T10:00")
    shown = render_message(K.EXPERT_REACTIVATED, notice.payload, "en")
    assert f"<@{gone}> has an active Slack account again" in shown.text
    assert "marked away on 23 Nov 2026 (the Slack account is deactivated)" in shown.text
    assert "moved on to other experts then stay with those experts" in str(shown.blocks)
    assert "ingetrokken" not in str(render_message(K.EXPERT_REACTIVATED, notice.payload, "nl").blocks)

    # chosen by hand while deactivated again: a new mark staff were told of, so a new notice; and again only once
    with world.db.session() as s:
        assert world.service.pick_unreachable(s, question_id=qid, slack_user_id=gone, error="deleted", now=BACK)
    assert reactivated(world, gone, now=BACK + timedelta(days=1))
    assert not reactivated(world, gone, now=BACK + timedelta(days=2))
    assert len(notices(world)) == 2


def test_the_notice_names_the_askers_own_questions_withdrawn(world: World) -> None:
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])  # asked nothing of: only her own question moves
    qid = world.ask(asker_slack_id=emma, asker_name="Emma")
    assert deactivated(world, emma) == "moved on 0, marked away True, withdrawn 1"
    assert reactivated(world, emma)
    [notice] = notices(world)
    assert notice.payload["told"] is False and notice.payload["withdrawn"] == [qid]
    shown = str(render_message(K.EXPERT_REACTIVATED, notice.payload, "nl").blocks)
    assert f"#{qid}" in shown and "blijven ingetrokken" in shown and "andere experten" not in shown


def test_the_notice_numbers_only_the_questions_staff_may_see_and_counts_the_others(world: World) -> None:
    """The notice names the person: their anonymous, private or private-channel questions are never numbered next to
    that name (the triage channel shows an anonymous question's number and text, never its asker)."""
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    public = world.ask(asker_slack_id=emma, asker_name="Emma")
    hidden = [
        world.ask(asker_slack_id=emma, asker_name="Emma", visibility=Visibility.ANONYMOUS),
        world.ask(asker_slack_id=emma, asker_name="Emma", visibility=Visibility.PRIVATE),
        world.ask(asker_slack_id=emma, asker_name="Emma", channel_is_private=True),
    ]
    deactivated(world, emma)
    assert reactivated(world, emma)
    [notice] = notices(world)
    assert notice.payload["withdrawn"] == [public] and notice.payload["withdrawn_unlisted"] == 3
    shown = render_message(K.EXPERT_REACTIVATED, notice.payload, "en")
    text = shown.text + str(shown.blocks)
    assert f"<@{emma}>" in text and f"#{public} and 3 other questions (not listed)" in text
    assert not any(f"#{qid}" in text for qid in hidden)


def test_a_notice_for_an_anonymous_question_alone_counts_it_without_its_number(world: World) -> None:
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    qid = world.ask(asker_slack_id=emma, asker_name="Emma", visibility=Visibility.ANONYMOUS)
    deactivated(world, emma)
    assert reactivated(world, emma)
    [notice] = notices(world)
    assert notice.payload["withdrawn"] == [] and notice.payload["withdrawn_unlisted"] == 1
    shown = render_message(K.EXPERT_REACTIVATED, notice.payload, "nl")
    text = shown.text + str(shown.blocks)
    assert f"<@{emma}>" in text and f"#{qid}" not in text and "één vraag (niet vermeld)" in text


def test_a_mark_that_moved_nothing_is_cleared_without_a_notice(world: World) -> None:
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    assert deactivated(world, emma) == "moved on 0, marked away True, withdrawn 0"
    assert reactivated(world, emma)
    assert availability(world, ids["Emma"]) == (Availability.AVAILABLE, None)
    assert notices(world) == []


def test_a_request_refused_as_unknown_to_slack_is_cleared_by_an_active_account_and_staff_told(world: World) -> None:
    """A DM refused with ``user_not_found`` marks the expert away (staff told); Slack then says the account is there
    and active: that mark is cleared, as a deactivation's is, and staff hear it once."""
    seed_housing(world)
    qid = world.ask()
    gone = asked_first(world, qid)
    [request] = [m for m in world.outbox(K.EXPERT_REQUEST) if m.recipient_slack_id == gone]
    assert request.routing_id is not None
    with world.db.session() as s:
        outcome = world.service.recipient_unreachable(
            s, routing_id=request.routing_id, error="user_not_found", now=LATER
        )
    assert outcome == "moved on, marked away"
    with world.db.session() as s:
        assert list_marked_away_ids(s, reasons=ACCOUNT_GONE_REASONS) == {gone}
    assert gone in MarkedAwayCache().ids(world.db)  # its user_change is looked at
    at = [LATER + RECHECK_AFTER]
    replica = SimpleNamespace(
        db=world.db, marked_away=MarkedAwayCache(), clock=lambda: at[0], home=SimpleNamespace(network=HOME)
    )
    slack = mock.Mock()
    slack.users_info.return_value = {"ok": True, "user": {"id": gone, "team_id": "T0HOME001", "deleted": False}}
    check = RecentMarksCheck(replica, slack)  # type: ignore[arg-type]
    assert check() == [gone]  # the job runner asks about it too, and finds the account active
    [notice] = notices(world)
    assert notice.payload["reason"] == "user_not_found"
    assert (
        "not (or no longer) in this Slack workspace" in render_message(K.EXPERT_REACTIVATED, notice.payload, "en").text
    )


@pytest.mark.parametrize("reason", ["deleted", "user_disabled", "user_not_found", "cannot_dm_bot"])
def test_an_active_account_clears_the_marks_of_a_gone_account_and_never_a_bots(world: World, reason: str) -> None:
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    with world.db.session() as s:
        assert unreachable.mark_unreachable(s, expert_id=ids["Emma"], reason=reason, now=NOW) is not None
    cleared = reason != "cannot_dm_bot"  # a bot's account is active and still takes no DM
    assert reactivated(world, emma) is cleared
    assert availability(world, ids["Emma"])[0] is (Availability.AVAILABLE if cleared else Availability.AWAY)


@pytest.mark.parametrize("actor", [Actor.cli("admin"), None], ids=["staff", "own"])
def test_an_experts_own_away_and_staffs_are_never_cleared(world: World, actor: Actor | None) -> None:
    """Away by staff's or the expert's own choice (after the mark, or without any), with a date: an active account
    changes nothing, tells nobody."""
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    qid = world.ask(asker_slack_id=emma, asker_name="Emma")
    assert deactivated(world, emma).endswith("withdrawn 1")  # a mark that moved things
    who = actor or Actor.slack(emma, is_staff=False)
    until = date(2026, 12, 24)
    with world.db.session() as s:
        profiles.set_availability(
            s,
            actor=who,
            expert_id=ids["Emma"],
            availability=Availability.AWAY,
            until=until,
            now=LATER,
            today=date(2026, 11, 23),
        )
    assert reactivated(world, emma) is False
    assert availability(world, ids["Emma"]) == (Availability.AWAY, until)
    assert notices(world) == [] and qid


def test_the_user_change_of_an_active_account_sends_the_notice_after_commit(world: World) -> None:
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    world.ask(asker_slack_id=emma, asker_name="Emma")
    deactivated(world, emma)
    turn = mock.MagicMock(now=BACK, job=None)
    turn.body = {"event": {"type": "user_change", "user": {"id": emma, "team_id": "T0HOME001"}}}
    turn.services.home.network = Network(team_id="T0HOME001")
    turn.client.users_info.return_value = {"ok": True, "user": {"id": emma, "team_id": "T0HOME001"}}
    with world.db.session() as s:
        turn.session = s
        handle_profile_change(turn)
    assert turn.outcome == "reactivated: available again"
    turn.queued_messages.assert_called_once_with()
    assert len(notices(world)) == 1


def _refused_as_unknown(world: World, qid: int, user: str, *, now: datetime) -> str:
    """The request of question ``qid`` to ``user`` refused by Slack with ``user_not_found`` (the outbox's reaction)."""
    [request] = [m for m in world.outbox(K.EXPERT_REQUEST, question_id=qid) if m.recipient_slack_id == user]
    assert request.routing_id is not None
    with world.db.session() as s:
        return world.service.recipient_unreachable(s, routing_id=request.routing_id, error="user_not_found", now=now)


def test_a_dm_refused_as_unknown_again_after_an_automatic_clear_keeps_the_mark_and_tells_staff_no_more(
    world: World,
) -> None:
    """Slack refuses every DM to an expert with ``user_not_found`` while ``users.info`` says the account is active:
    without a bound each routed question would mark them away and clear them again, with a notice for staff each
    time. The second automatic clear within ``REPEAT_WITHIN`` keeps the mark, audited once; nothing asks again."""
    ids = seed_housing(world)
    first = world.ask()
    gone = asked_first(world, first)
    expert_id = next(i for i in ids.values() if slack_id(world, i) == gone)
    slack = mock.Mock()
    slack.users_info.return_value = {"ok": True, "user": {"id": gone, "team_id": "T0HOME001", "deleted": False}}
    at = [LATER]
    replica = SimpleNamespace(
        db=world.db, marked_away=MarkedAwayCache(), clock=lambda: at[0], home=SimpleNamespace(network=HOME)
    )
    check = RecentMarksCheck(replica, slack)  # type: ignore[arg-type]

    assert _refused_as_unknown(world, first, gone, now=LATER) == "moved on, marked away"
    at[0] = LATER + RECHECK_AFTER
    assert check() == [gone]  # active at Slack: available again, staff told
    assert availability(world, expert_id) == (Availability.AVAILABLE, None)
    assert len(notices(world)) == 1

    # the next question asks them again; Slack refuses the DM the same way
    second = world.ask(asker_slack_id="UASKER002", asker_name="Jan", now=BACK)
    assert gone in {m.recipient_slack_id for m in world.outbox(K.EXPERT_REQUEST, question_id=second)}
    told = len(world.outbox(K.DELIVERY_FAILED))
    assert _refused_as_unknown(world, second, gone, now=BACK) == "moved on, marked away"
    at[0] = BACK + RECHECK_AFTER
    assert check() == []  # the mark is kept this time
    assert availability(world, expert_id) == (Availability.AWAY, None)
    assert len(notices(world)) == 1  # no second "available again"
    with world.db.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None
        [kept] = [
            e for e in s.scalars(select(AuditLog).where(AuditLog.entity_key == expert.email)) if e.action == KEPT_ACTION
        ]
        assert kept.actor == "system" and kept.after is not None
        assert kept.after["reason"] == "user_not_found"
        assert str(kept.after["cleared_before"]).startswith((LATER + RECHECK_AFTER).isoformat()[:16])
        assert list_marked_away_ids(s, reasons=ACCOUNT_GONE_REASONS) == frozenset()  # nothing asks about it again
    assert not reactivated(world, gone, now=BACK + timedelta(hours=1))  # nor does a user_change
    # the register says why they are away: the mark that holds them, kept, not a bare "away"
    card = wieweet_in(world.db, "en", "register", "show", expert.email)
    assert card.exit_code == 0, card.output
    assert (
        f"availability:       away (away) (marked {BACK.date()}: Slack does not know this id; "
        "check the register's Slack id;" in card.output
    ), card.output  # what Slack said, in words, never its error key
    assert "user_not_found" not in card.output
    assert f"kept {(BACK + RECHECK_AFTER).date()}: back after an automatic clear" in card.output
    assert f"`wieweet register available {expert.email}` undoes it" in card.output
    dutch = wieweet(world.db, "register", "show", expert.email).output  # WIEWEET_LANGUAGE: nl (default)
    assert (
        f"beschikbaarheid:  afwezig (away) (gemarkeerd op {BACK.date()}: "
        "Slack kent deze id niet; controleer de Slack-id in het register;" in dutch
    ), dutch
    assert f"behouden op {(BACK + RECHECK_AFTER).date()}: terug na een automatische opheffing" in dutch
    assert f"`wieweet register available {expert.email}` maakt dat ongedaan" in dutch
    at[0] += timedelta(minutes=1)
    assert check() == [] and slack.users_info.call_count == 2

    # a third question does not go to them: no DM refused, no more notices for staff
    third = world.ask(asker_slack_id="UASKER003", asker_name="Lien", now=BACK + timedelta(hours=2))
    assert gone not in {m.recipient_slack_id for m in world.outbox(K.EXPERT_REQUEST, question_id=third)}
    assert len(world.outbox(K.DELIVERY_FAILED)) == told + 1 and len(notices(world)) == 1


def test_a_deactivation_confirmed_again_is_cleared_again(world: World) -> None:
    """Only a mark Slack never confirmed is kept: a deactivation ``users.info`` confirmed clears on each
    reactivation, however soon."""
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    for day in range(3):
        assert deactivated(world, emma, now=LATER + timedelta(days=day)).endswith("marked away True, withdrawn 0")
        assert reactivated(world, emma, now=LATER + timedelta(days=day, hours=1))


def test_an_unknown_mark_cleared_longer_ago_than_the_bound_is_cleared_again(world: World) -> None:
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    for n, moment in enumerate([NOW, NOW + REPEAT_WITHIN + timedelta(days=1)]):
        with world.db.session() as s:
            assert unreachable.mark_unreachable(s, expert_id=ids["Emma"], reason="user_not_found", now=moment)
        assert reactivated(world, emma, now=moment + timedelta(hours=1)), n
    with world.db.session() as s:
        assert unreachable.mark_unreachable(
            s, expert_id=ids["Emma"], reason="user_not_found", now=moment + timedelta(days=1)
        )
    assert not reactivated(world, emma, now=moment + timedelta(days=1, hours=1))


def test_the_job_runner_leaves_the_mark_of_an_account_of_another_organisation(world: World) -> None:
    """As the ``user_change`` path: Slack's answer names the account's team; one outside the network is not made
    available again by the job runner either."""
    ids = seed_housing(world)
    emma = slack_id(world, ids["Emma"])
    with world.db.session() as s:
        assert unreachable.mark_unreachable(s, expert_id=ids["Emma"], reason="user_not_found", now=NOW)
    slack = mock.Mock()
    slack.users_info.return_value = {"ok": True, "user": {"id": emma, "team_id": "T0OTHER01", "deleted": False}}
    replica = SimpleNamespace(
        db=world.db,
        marked_away=MarkedAwayCache(),
        clock=lambda: NOW + RECHECK_AFTER,
        home=SimpleNamespace(network=HOME),
    )
    assert RecentMarksCheck(replica, slack)() == []  # type: ignore[arg-type]
    assert availability(world, ids["Emma"]) == (Availability.AWAY, None)
    replica.home.network = None  # the network not known yet: nobody is inside
    slack.users_info.return_value = {"ok": True, "user": {"id": emma, "team_id": "T0HOME001", "deleted": False}}
    assert RecentMarksCheck(replica, slack)() == []  # type: ignore[arg-type]
    replica.home.network = HOME
    assert RecentMarksCheck(replica, slack)() == [emma]  # type: ignore[arg-type]
    assert availability(world, ids["Emma"]) == (Availability.AVAILABLE, None)
