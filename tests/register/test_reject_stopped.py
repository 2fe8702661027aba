"""A profile made in Slack that waits for staff, whose owner then withdrew ("Remove me") or opted out: staff can still
reject it. Its entry is not deleted (it is what keeps a stopped person's answers unnamed and an import from listing
them again) but marked rejected: out of the review queue, never shown or asked; the owner is told as usual."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.register import consent, profile_decisions, profiles
from bot.register.profiles import ProfileStateError
from bot.register.themes import ensure_default_themes
from handlers import ids
from handlers.blocks.profile import expert_card_blocks, profile_card
from storage.db import Database
from storage.models import AuditLog, Availability, Consent, Expert, OutboxKind, OutboxMessage, RecordStatus, is_stopped

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)
TODAY = date(2026, 12, 6)
PIET = Actor.slack("U0PIET001", is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)
PIET_EMAIL = "piet.wacht@leuven.be"
FORM = {
    "name": "Piet Wacht",
    "email": PIET_EMAIL,
    "organisation": "Stad Leuven",
    "city": "Leuven",
    "role": "beleidsmedewerker wonen",
    "expertise": "leegstandsheffing",
    "themes": "wonen",
    "languages": "nl",
    "bio": "",
}


def _pending_then_stopped(database: Database, stop: str) -> int:
    with database.session() as s:
        ensure_default_themes(s, now=NOW)
    with database.session() as s:
        saved = profiles.save_profile(
            s, actor=PIET, values=FORM, now=NOW, approval_required=True, slack_email=PIET_EMAIL
        )
        assert saved.pending_approval
        expert_id = saved.expert.id
    with database.session() as s:
        if stop == "withdrawn":
            consent.withdraw_listing(s, actor=PIET, expert_id=expert_id, now=NOW)
        else:
            profiles.set_availability(
                s, actor=PIET, expert_id=expert_id, availability=Availability.OPTED_OUT, now=NOW, today=TODAY
            )
    return expert_id


@pytest.mark.parametrize("stop", ["withdrawn", "opted_out"])
def test_staff_reject_a_pending_profile_whose_owner_stopped(database: Database, stop: str) -> None:
    expert_id = _pending_then_stopped(database, stop)
    with database.session() as s:
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None  # kept: the stop still holds
        assert expert.status is RecordStatus.REJECTED
        assert is_stopped(expert)
        assert (expert.consent is Consent.WITHDRAWN) == (stop == "withdrawn")
        assert expert.availability is Availability.OPTED_OUT
        assert profiles.list_pending_profiles(s) == []  # out of the review queue
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SUBMISSION_OUTCOME)).one()
        assert told.recipient_slack_id == PIET.slack_id
        assert told.payload["outcome"] == "profile_rejected" and told.payload["note"] == "dubbel"
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "reject")).one()
        assert audit.after is not None and audit.after["status"] == "rejected"
        # decided: a second decision (a second staff member, an old button) is refused as such
        for decide in (
            lambda: profile_decisions.reject_profile(
                s, actor=STAFF, expert_id=expert_id, version=None, reason="x", now=NOW
            ),
            lambda: profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=None, now=NOW),
        ):
            with pytest.raises(ProfileStateError) as refused:
                decide()
            assert refused.value.code == "already_moderated"
        with pytest.raises(ProfileStateError) as refused:  # and staff still cannot remove them: erasure does
            profile_decisions.remove_expert(s, actor=STAFF, expert_id=expert_id, now=NOW)
        assert refused.value.code == "remove_stopped"


def _card_actions(expert: Expert) -> list[str]:
    [_, actions] = expert_card_blocks(profile_card(expert, "nl", stale=False), "nl")
    return [str(element.action_id) for element in getattr(actions, "elements", [])]


def test_the_staff_card_offers_reject_while_it_waits_and_nothing_to_decide_after(database: Database) -> None:
    """``/wieweet beheer``: approve and reject on the waiting profile of someone who stopped (both are carried
    out), no remove (refused: erasure); once rejected neither approve nor reject (refused as decided)."""
    expert_id = _pending_then_stopped(database, "withdrawn")
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None
        actions = _card_actions(expert)
        assert ids.ACTION_PROFILE_REJECT in actions and ids.ACTION_PROFILE_APPROVE in actions
        assert ids.ACTION_EXPERT_REMOVE not in actions
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None
        assert _card_actions(expert) == [ids.ACTION_PROFILE_EDIT]


def test_filled_in_again_after_that_it_waits_for_staff_again(database: Database) -> None:
    expert_id = _pending_then_stopped(database, "withdrawn")
    with database.session() as s:
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW)
    with database.session() as s:
        saved = profiles.save_profile(
            s, actor=PIET, values=FORM, now=NOW, expert_id=expert_id, approval_required=True, slack_email=PIET_EMAIL
        )
        assert saved.pending_approval and not saved.created
    with database.session() as s:
        assert [e.id for e in profiles.list_pending_profiles(s)] == [expert_id]
        profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=None, now=NOW)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.PUBLISHED and not is_stopped(expert)


def test_a_pending_profile_of_someone_still_listed_is_deleted_when_rejected(database: Database) -> None:
    with database.session() as s:
        ensure_default_themes(s, now=NOW)
    with database.session() as s:
        saved = profiles.save_profile(
            s, actor=PIET, values=FORM, now=NOW, approval_required=True, slack_email=PIET_EMAIL
        )
        expert_id = saved.expert.id
    with database.session() as s:
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW)
    with database.session() as s:
        assert s.get(Expert, expert_id) is None
