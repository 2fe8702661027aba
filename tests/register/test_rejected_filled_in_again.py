"""A profile staff rejected while its owner had stopped is kept, marked rejected (``tests/register/
test_reject_stopped.py``). Its owner filling it in again is a new submission: staff are asked to review it again
(a post per submission, found with its staff DM copies to show the decision; the first review's buttons refused).
Until then it is not listed: being available again or confirming it is refused with a clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox, staffdm
from bot.error_texts import error_text
from bot.register import consent, profile_decisions, profile_reviews, profiles
from bot.register.profile_reviews import ReviewReplaced
from bot.register.profiles import ProfileStateError
from storage.db import Database
from storage.models import Availability, Expert, OutboxKind, OutboxMessage, RecordStatus
from tests.register.test_reject_stopped import FORM, NOW, PIET, PIET_EMAIL, STAFF, TODAY, _pending_then_stopped

LATER = NOW + timedelta(days=2)
TRIAGE = "C0TRIAGE1"


def _reviews(s: Session) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PROFILE_REVIEW)
    return list(s.scalars(query.order_by(OutboxMessage.id)))


def _sent(s: Session, message: OutboxMessage, *, channel: str, ts: str) -> None:
    assert outbox.mark_outbox_sent(s, message_id=message.id, ts=ts, channel=channel, now=NOW)


def _rejected(database: Database, stop: str) -> tuple[int, str]:
    """A stopped person's waiting profile, posted to staff and rejected; its id and the version the post showed."""
    expert_id = _pending_then_stopped(database, stop)
    with database.session() as s:
        [first] = _reviews(s)
        _sent(s, first, channel=TRIAGE, ts="1000.1")
        version = str(first.payload["version"])
    with database.session() as s:
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=version, reason="dubbel", now=NOW)
    return expert_id, version


@pytest.mark.parametrize("stop", ["withdrawn", "opted_out"])
def test_filled_in_again_it_is_posted_to_staff_again(database: Database, stop: str) -> None:
    expert_id, first_version = _rejected(database, stop)
    with database.session() as s:  # the first review's buttons, before it was filled in again: decided
        with pytest.raises(ProfileStateError) as refused:
            profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=first_version, now=NOW)
        assert refused.value.code == "already_moderated"
    with database.session() as s:
        changed = {**FORM, "bio": "Tien jaar leegstandsbeleid in Leuven."}
        saved = profiles.save_profile(
            s,
            actor=PIET,
            values=changed,
            now=LATER,
            expert_id=expert_id,
            approval_required=True,
            slack_email=PIET_EMAIL,
        )
        assert saved.pending_approval and not saved.created
    with database.session() as s:
        first, second = _reviews(s)  # a review post per submission
        assert second.dedupe_key == profile_reviews.review_key(expert_id, LATER) != first.dedupe_key
        assert second.payload["version"] != first_version and "leegstandsbeleid" not in str(first.payload)
        # the new post and a staff member's DM copy of it (the triage channel refused it) show the decision; the
        # first post showed the rejection already
        _sent(s, second, channel=TRIAGE, ts="2000.2")
        told = staffdm.tell_staff(
            s, message_id=second.id, staff=[STAFF.slack_id], channel_id=TRIAGE, error="x", now=NOW
        )
        assert told == "staff told: 1 of 1"
        copy = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.STAFF_DM)).one()
        assert copy.dedupe_key == staffdm.staff_dm_key(second.dedupe_key, str(STAFF.slack_id))
        _sent(s, copy, channel="D0STAFF01", ts="3000.3")
    with database.session() as s:
        refs = profile_reviews.review_message_refs(s, expert_id=expert_id)
        assert refs == [
            {"channel_id": TRIAGE, "message_ts": "2000.2"},
            {"channel_id": "D0STAFF01", "message_ts": "3000.3"},
        ]
        with pytest.raises(ReviewReplaced):  # an old button of the first review: not the submission that waits
            profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=first_version, now=LATER)
    with database.session() as s:
        version = str(_reviews(s)[1].payload["version"])
        profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=version, now=LATER)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.PUBLISHED


def _filled_in_again(database: Database, expert_id: int, *, values: dict[str, str]) -> None:
    with database.session() as s:
        profiles.save_profile(
            s,
            actor=PIET,
            values=values,
            now=LATER,
            expert_id=expert_id,
            approval_required=True,
            slack_email=PIET_EMAIL,
        )


@pytest.mark.parametrize("stop", ["withdrawn", "opted_out"])
def test_the_same_content_filled_in_again_is_not_decided_from_the_first_review(database: Database, stop: str) -> None:
    """The first review's buttons name its submission, not only the content: the same profile filled in again is a
    new submission staff have not seen as such, so neither Approve nor Reject of the first review decides it."""
    expert_id, first_version = _rejected(database, stop)
    _filled_in_again(database, expert_id, values=FORM)  # word for word what staff rejected
    with database.session() as s:
        _first, second = _reviews(s)
        current = str(second.payload["version"])
        assert current != first_version  # the content is the same; the submission is not
        assert current[:16] == first_version[:16]
    for decide in (
        lambda s, v: profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=v, now=LATER),
        lambda s, v: profile_decisions.reject_profile(
            s, actor=STAFF, expert_id=expert_id, version=v, reason="x", now=LATER
        ),
        lambda s, v: profile_reviews.check_review(s, expert_id=expert_id, version=v),  # the Reject button
    ):
        for old in (first_version, first_version[:16]):  # the first review's button; one made before the stamps
            with database.session() as s, pytest.raises(ReviewReplaced) as refused:
                decide(s, old)
            assert "replaced" in error_text(refused.value, "en")
            assert "vervangen" in error_text(refused.value, "nl")
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.PENDING
    with database.session() as s:  # the new review's Approve decides the new submission
        profile_decisions.approve_profile(s, actor=STAFF, expert_id=expert_id, version=current, now=LATER)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.PUBLISHED


@pytest.mark.parametrize("stamped", [True, False])
def test_a_first_review_still_decides_its_own_submission(database: Database, stamped: bool) -> None:
    """With one submission on record, its review's buttons decide it, with the stamp or (made before) without."""
    expert_id = _pending_then_stopped(database, "withdrawn")
    with database.session() as s:
        [review] = _reviews(s)
        version = str(review.payload["version"])
        assert len(version) == 24
    with database.session() as s:
        shown = version if stamped else version[:16]
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=shown, reason="x", now=NOW)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.REJECTED


def test_edits_while_it_waits_and_staff_edits_post_nothing_more(database: Database) -> None:
    expert_id, _ = _rejected(database, "withdrawn")
    with database.session() as s:  # staff editing the rejected profile leave it rejected: nothing to review
        profiles.save_profile(s, actor=STAFF, values=FORM, now=LATER, expert_id=expert_id, slack_email=None)
    with database.session() as s:
        assert len(_reviews(s)) == 1
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.REJECTED
    for when in (LATER, LATER + timedelta(hours=1)):  # filled in again, then edited while it waits
        with database.session() as s:
            profiles.save_profile(
                s,
                actor=PIET,
                values=FORM,
                now=when,
                expert_id=expert_id,
                approval_required=True,
                slack_email=PIET_EMAIL,
            )
    with database.session() as s:
        assert len(_reviews(s)) == 2


def test_a_review_posted_under_the_older_key_is_still_found(database: Database) -> None:
    """A review queued before the keys had the submission's time (``profile_review:<id>``)."""
    expert_id = _pending_then_stopped(database, "withdrawn")
    with database.session() as s:
        [review] = _reviews(s)
        review.dedupe_key = f"profile_review:{expert_id}"
        _sent(s, review, channel=TRIAGE, ts="1000.1")
    with database.session() as s:
        ref = profile_reviews.review_message_ref(s, expert_id=expert_id)
        assert ref == {"channel_id": TRIAGE, "message_ts": "1000.1"}


def _dm_copy(s: Session, review: OutboxMessage, *, ts: str) -> None:
    """The triage channel refused ``review``: staff got it by DM (sent, at ``ts``)."""
    staffdm.tell_staff(s, message_id=review.id, staff=[STAFF.slack_id], channel_id=TRIAGE, error="x", now=NOW)
    [copy] = [
        m for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.STAFF_DM)) if not m.sent_ts
    ]
    _sent(s, copy, channel="D0STAFF01", ts=ts)


def test_the_earlier_reviews_dm_copy_keeps_showing_its_decision(database: Database) -> None:
    """Only the latest submission's review and its DM copies are redrawn (an edit while it waits, a decision): the
    first review's DM copy keeps the rejection, never showing buttons for the new submission."""
    expert_id = _pending_then_stopped(database, "withdrawn")
    with database.session() as s:
        [first] = _reviews(s)
        _sent(s, first, channel=TRIAGE, ts="1000.1")
        _dm_copy(s, first, ts="1500.1")
        version = str(first.payload["version"])
    with database.session() as s:
        assert profile_reviews.review_message_refs(s, expert_id=expert_id) == [
            {"channel_id": TRIAGE, "message_ts": "1000.1"},
            {"channel_id": "D0STAFF01", "message_ts": "1500.1"},
        ]
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=version, reason="dubbel", now=NOW)
    _filled_in_again(database, expert_id, values=FORM)
    with database.session() as s:
        _first, second = _reviews(s)
        _sent(s, second, channel=TRIAGE, ts="2000.2")
    with database.session() as s:
        assert profile_reviews.review_message_refs(s, expert_id=expert_id) == [
            {"channel_id": TRIAGE, "message_ts": "2000.2"}
        ]
        _dm_copy(s, second, ts="2500.2")
    with database.session() as s:
        assert profile_reviews.review_message_refs(s, expert_id=expert_id) == [
            {"channel_id": TRIAGE, "message_ts": "2000.2"},
            {"channel_id": "D0STAFF01", "message_ts": "2500.2"},
        ]


def test_dm_copies_of_a_review_under_the_older_key_are_still_found(database: Database) -> None:
    expert_id = _pending_then_stopped(database, "withdrawn")
    with database.session() as s:
        [review] = _reviews(s)
        review.dedupe_key = f"profile_review:{expert_id}"
        _sent(s, review, channel=TRIAGE, ts="1000.1")
        _dm_copy(s, review, ts="1500.1")
    with database.session() as s:
        assert profile_reviews.review_message_refs(s, expert_id=expert_id) == [
            {"channel_id": TRIAGE, "message_ts": "1000.1"},
            {"channel_id": "D0STAFF01", "message_ts": "1500.1"},
        ]


@pytest.mark.parametrize("stop", ["withdrawn", "opted_out"])
def test_a_rejected_profile_cannot_be_made_available_or_confirmed(database: Database, stop: str) -> None:
    expert_id, _ = _rejected(database, stop)
    changes = {
        "available": lambda s: profiles.set_availability(
            s, actor=PIET, expert_id=expert_id, availability=Availability.AVAILABLE, now=LATER, today=TODAY
        ),
        "away": lambda s: profiles.set_availability(
            s,
            actor=PIET,
            expert_id=expert_id,
            availability=Availability.AWAY,
            until=TODAY + timedelta(days=7),
            now=LATER,
            today=TODAY,
        ),
        "staff": lambda s: profiles.set_availability(
            s, actor=STAFF, expert_id=expert_id, availability=Availability.AVAILABLE, now=LATER, today=TODAY
        ),
        "confirm": lambda s: consent.confirm_listing(s, actor=PIET, expert_id=expert_id, now=LATER),
    }
    for name, change in changes.items():
        with database.session() as s:
            with pytest.raises(ProfileStateError) as refused:
                change(s)
            assert refused.value.code == "profile_rejected", name
    assert "Pas je profiel aan" in (error_text(refused.value, "nl") or "")
    assert "Edit your profile to submit it again" in (error_text(refused.value, "en") or "")
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.REJECTED
        assert expert.availability is Availability.OPTED_OUT and expert.last_confirmed_at == NOW
