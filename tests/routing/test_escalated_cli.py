"""``wieweet escalated`` speaks the operator's language (``WIEWEET_LANGUAGE``, Dutch by default): why each question
went to staff in words with its stored code beside it, whether the triage channel got it (the ``NOT POSTED`` marker
stays beside the words), the count line; the ``--json`` lines keep their codes whatever the language."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.outbox import mark_outbox_sent
from storage.models import EscalationReason, OutboxKind, OutboxMessage, Visibility
from tests.cli import wieweet, wieweet_in
from tests.routing.conftest import NOW, World, seed_housing


def _escalated(world: World, reason: EscalationReason, **ask: object) -> int:
    qid = world.ask(**ask)
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, reason, now=NOW + timedelta(hours=1))
    return qid


def _triage(world: World, qid: int) -> int:
    (post,) = world.outbox(OutboxKind.TRIAGE, qid)
    return post.id


def _two_waiting(world: World) -> tuple[int, int]:
    """One question whose triage post failed for good (the bot not in the channel), one anonymous one posted."""
    seed_housing(world)
    missed = _escalated(world, EscalationReason.DEADLINE)
    posted = _escalated(world, EscalationReason.NO_MATCH, visibility=Visibility.ANONYMOUS)
    with world.db.session() as s:
        failed = s.scalars(select(OutboxMessage).where(OutboxMessage.id == _triage(world, missed))).one()
        failed.failed_at, failed.last_error = NOW + timedelta(hours=2), "not_in_channel"
        assert mark_outbox_sent(s, message_id=_triage(world, posted), ts="1.2", channel="C0TRIAGE1", now=NOW)
    return missed, posted


def _row(output: str, qid: int) -> str:
    (row,) = [line for line in output.splitlines() if line.startswith(f"#{qid} ")]
    return row


def test_the_table_is_in_dutch_with_the_codes_beside_the_words(world: World) -> None:
    missed, posted = _two_waiting(world)
    listed = wieweet(world.db, "escalated")
    assert listed.exit_code == 0, listed.output
    assert "geen antwoord binnen de termijn (deadline)" in _row(listed.output, missed)
    assert "NIET GEPOST (NOT POSTED): 'not_in_channel'" in _row(listed.output, missed)
    assert "niemand in het register past (no_match)" in _row(listed.output, posted)
    assert " gepost " in _row(listed.output, posted) and "(privé of anoniem)" in _row(listed.output, posted)
    assert listed.output.endswith("2 vragen wachten op het kenniscentrum, 0 even bijgehouden\n")
    assert " posted " not in listed.output and "waiting for staff" not in listed.output
    # the columns line up: the triage column starts at the same place on every row
    rows = [_row(listed.output, missed), _row(listed.output, posted)]
    assert rows[0].index("NIET GEPOST") == rows[1].index("gepost ")


def test_the_table_in_english_and_the_json_unchanged(world: World) -> None:
    missed, posted = _two_waiting(world)
    listed = wieweet_in(world.db, "en", "escalated")
    assert listed.exit_code == 0, listed.output
    assert "no answer in time (deadline)" in _row(listed.output, missed)
    assert "NOT POSTED: 'not_in_channel'" in _row(listed.output, missed)
    assert "nobody in the register fits (no_match)" in _row(listed.output, posted)
    assert " posted " in _row(listed.output, posted) and "(private or anonymous)" in _row(listed.output, posted)
    assert listed.output.endswith("2 questions waiting for staff, 0 held\n")
    for language in ("nl", "en"):  # what a script reads is the same in every language
        lines = wieweet_in(world.db, language, "escalated", "--json").output.splitlines()
        rows = {row["question_id"]: row for row in map(json.loads, lines)}
        assert rows[missed]["reason"] == "deadline" and rows[missed]["triage_error"] == "not_in_channel"
        assert rows[posted]["reason"] == "no_match" and rows[posted]["state"] == "escalated"
        assert rows[posted]["text"] is None


def test_one_waiting_question_is_counted_in_the_singular(world: World) -> None:
    seed_housing(world)
    _escalated(world, EscalationReason.NOBODY_AVAILABLE)
    assert wieweet(world.db, "escalated").output.endswith("1 vraag wacht op het kenniscentrum, 0 even bijgehouden\n")
    english = wieweet_in(world.db, "en", "escalated").output
    assert (
        english.endswith("1 question waiting for staff, 0 held\n") and "nobody available (nobody_available)" in english
    )


def test_times_are_local_and_slacks_error_is_quoted_as_a_stored_value(world: World) -> None:
    """When a question went to staff reads as every command-line list writes it (YYYY-MM-DD HH:MM in
    WIEWEET_TIMEZONE, Brussels here), not as ISO UTC; what Slack said is quoted as a stored value (``shown_value``:
    printable, no escape sequence)."""
    missed, posted = _two_waiting(world)
    with world.db.session() as s:
        failed = s.scalars(select(OutboxMessage).where(OutboxMessage.id == _triage(world, missed))).one()
        failed.last_error = "not_in_channel\x1b[2J"
    for language in ("nl", "en"):
        listed = wieweet_in(world.db, language, "escalated")
        assert listed.exit_code == 0, listed.output
        for qid in (missed, posted):  # escalated at NOW + 1 hour: 11:00 in Brussels, 10:00 UTC
            assert _row(listed.output, qid).split()[1:3] == ["2026-11-23", "11:00"], listed.output
        assert "+00:00" not in listed.output and "\x1b" not in listed.output
        assert "NOT POSTED): 'not_in_channel[2J'" in _row(listed.output, missed) or (
            language == "en" and "NOT POSTED: 'not_in_channel[2J'" in _row(listed.output, missed)
        )
    lines = wieweet(world.db, "escalated", "--json").output.splitlines()
    rows = {row["question_id"]: row for row in map(json.loads, lines)}
    assert rows[missed]["escalated_at"] == (NOW + timedelta(hours=1)).isoformat(timespec="minutes")  # UTC, as stored
    assert rows[missed]["triage_error"] == "not_in_channel\x1b[2J"  # the value itself
