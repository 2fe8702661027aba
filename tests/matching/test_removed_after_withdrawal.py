"""Staff cannot remove the register entry of someone who withdrew their listing or opted out of questions: that entry
is what keeps their earlier answers unnamed ("who knows", digests) and a later import from listing them again.
The refusal says so and points to erasure, which removes the person and their names properly. Rejecting their profile
while it waits for approval keeps the entry, marked rejected, for the same reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.actors import Actor
from bot.error_texts import error_text
from bot.knowledge import KnowledgeBase
from bot.register import profile_decisions, profiles
from storage.db import Database
from storage.models import Expert, RecordStatus
from tests.matching.test_unnamed_answers import NOW, _named, _stop, expert_id  # noqa: F401

STAFF = Actor.cli("staff")


@pytest.mark.parametrize("how", ["withdraw", "opt_out"])
def test_removing_the_entry_of_someone_who_stopped_is_refused_and_they_stay_unnamed(
    database: Database,
    expert_id: int,  # noqa: F811
    how: str,
) -> None:
    _stop(database, expert_id, how)
    with database.session() as s, pytest.raises(profiles.ProfileStateError) as refused:
        profile_decisions.remove_expert(s, actor=STAFF, expert_id=expert_id, now=NOW + timedelta(hours=2))
    assert refused.value.code == "remove_stopped"
    for lang, erase in (("nl", "wis je"), ("en", "erase them")):  # translated, pointing to erasure
        said = error_text(refused.value, lang)
        assert said is not None and erase in said and "wieweet privacy erase" in said
    with database.session() as s:
        assert s.get(Expert, expert_id) is not None  # the entry stays
    fresh = KnowledgeBase(database)
    fresh.load()
    try:
        assert _named(fresh)[0] == [""]
    finally:
        fresh.close()


@pytest.mark.parametrize("how", ["withdraw", "opt_out"])
def test_rejecting_a_waiting_profile_of_someone_who_stopped_keeps_the_entry_and_they_stay_unnamed(
    database: Database,
    expert_id: int,  # noqa: F811
    how: str,
) -> None:
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None
        expert.status = RecordStatus.PENDING
    _stop(database, expert_id, how)
    with database.session() as s:
        profile_decisions.reject_profile(
            s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW + timedelta(hours=2)
        )
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None and expert.status is RecordStatus.REJECTED  # kept, decided
    fresh = KnowledgeBase(database)
    fresh.load()
    try:
        assert _named(fresh)[0] == [""]
    finally:
        fresh.close()


def test_an_entry_of_someone_who_did_not_stop_is_still_removed(
    database: Database,
    expert_id: int,  # noqa: F811
) -> None:
    with database.session() as s:
        profile_decisions.remove_expert(s, actor=STAFF, expert_id=expert_id, now=NOW + timedelta(hours=2))
    with database.session() as s:
        assert s.get(Expert, expert_id) is None
