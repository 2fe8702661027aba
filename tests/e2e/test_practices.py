"""End to end: practices from chat through the real bot process, the Slack emulator and the background jobs.

Submission by command modal → triage post → staff approval → searchable and the submitter told; rejection with a
reason; the "Bewaar als praktijk" shortcut; inline field errors with nothing saved; forged payloads refused (and
logged); staff edits through the modal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.register.submissions import practice_payload
from handlers import ids
from handlers.blocks.practice import build_practice_card
from storage.db import Database
from storage.models import AuditLog, Practice, RecordStatus
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER
from tests.e2e.harness import BotProcess, flat, replay
from tests.e2e.staffing import STAFF, TRIAGE, add_staff, staff_bot
from tests.emulator import SlackEmulator

TITLE = "Zwerfkatten steriliseren met vrijwilligers"
SUMMARY = "Vrijwilligers vangen zwerfkatten; de stad betaalt de sterilisatie bij de dierenarts."


@pytest.fixture
def practice_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    add_staff(emulator)
    process = staff_bot(emulator, demo_db_url, tmp_path)
    process.start()
    yield process
    process.stop()


def practice_view(emu: SlackEmulator, user: str) -> dict[str, Any]:
    views = emu.wait_for(lambda: [v for v in emu.views(user) if v.get("callback_id") == ids.VIEW_PRACTICE])
    return dict(views[-1])


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """What Slack would submit for an untouched modal: every field's initial value."""
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if "initial_value" in element:
            values[block["block_id"]] = element["initial_value"]
        elif "initial_option" in element:
            values[block["block_id"]] = element["initial_option"]["value"]
        elif "initial_options" in element:
            values[block["block_id"]] = [o["value"] for o in element["initial_options"]]
    return values


def submit_by_command(emu: SlackEmulator, user: str, **fields: Any) -> Any:
    emu.send_command(user, CHANNEL, text="praktijk")
    view = practice_view(emu, user)
    values = {ids.practice_block(name): value for name, value in fields.items()}
    return emu.submit_view(user, view["id"], values)


def triage_message(emu: SlackEmulator, title: str) -> dict[str, Any]:
    emu.wait_for_call(
        "chat.postMessage",
        lambda c: (
            c.params.get("channel") == TRIAGE
            and title in flat(c.params)
            and ids.ACTION_PRACTICE_APPROVE in flat(c.params.get("blocks"))
        ),
        timeout=20,
    )
    return dict([m for m in emu.messages(TRIAGE) if title in flat(m.get("blocks"))][-1])


def dm_texts(emu: SlackEmulator, user: str) -> str:
    return flat(emu.messages(emu.dm_channel_with(user)))


def answers(emu: SlackEmulator) -> str:
    return flat([p["body"] for p in emu.response_posts])


def stored(db: Database, title: str) -> Practice | None:
    with db.session() as session:
        return session.scalars(select(Practice).where(Practice.title == title)).first()


@pytest.mark.postgres_too
def test_submit_approve_and_find_it_with_forged_clicks_refused(
    practice_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    delivery = submit_by_command(
        emulator, NL_USER, title=TITLE, summary=SUMMARY, city="Mechelen", outcome="good", year="2025"
    )
    assert delivery.acked and delivery.response_action is None
    message = triage_message(emulator, TITLE)
    replay(emulator, practice_bot, delivery)  # the same submission again: still one practice, one triage post
    with db.session() as session:
        assert len(list(session.scalars(select(Practice).where(Practice.title == TITLE)))) == 1
    assert f"<@{NL_USER}>" in flat(message["blocks"])
    emulator.wait_for(lambda: "Bedankt! Je praktijk" in dm_texts(emulator, NL_USER))
    assert ids.ACTION_PRACTICE_EDIT in dm_texts(emulator, NL_USER)  # the submitter may still edit it
    practice = stored(db, TITLE)
    assert practice is not None and practice.status is RecordStatus.PENDING and practice.submitted_by == NL_USER

    # not searchable while it waits
    emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over zwerfkatten steriliseren?")
    emulator.wait_for(lambda: "blocks" in flat([p["body"] for p in emulator.response_posts]))
    assert TITLE not in answers(emulator)

    # forged: a non-staff user presses Approve, another user presses the submitter's Edit
    emulator.click_button(NL_USER, ids.ACTION_PRACTICE_APPROVE, message=message["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: "kenniscentrum" in answers(emulator) and "refused ref=" in practice_bot.log())
    emulator.click_button(EN_USER, ids.ACTION_PRACTICE_EDIT, message=message["ts"], channel=TRIAGE)
    emulator.wait_for(lambda: f"user={EN_USER} action=edit a practice" in practice_bot.log())
    assert f"user={NL_USER} action=approve a practice" in practice_bot.log()
    assert not [v for v in emulator.views(EN_USER) if v.get("callback_id") == ids.VIEW_PRACTICE]
    practice = stored(db, TITLE)
    assert practice is not None and practice.status is RecordStatus.PENDING

    # staff edit it through the modal (pre-filled), then approve
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_EDIT, message=message["ts"], channel=TRIAGE)
    view = practice_view(emulator, STAFF)
    values = initial_values(view)
    assert values[ids.practice_block("title")] == TITLE and values[ids.practice_block("outcome")] == "good"
    values[ids.practice_block("lessons")] = "Werk samen met het dierenasiel."
    edited = emulator.submit_view(STAFF, view["id"], values)
    assert edited.response_action is None
    replay(emulator, practice_bot, edited)  # one "update" in the audit log (checked below)
    emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and "Bewerkt door" in flat(c.params)
    )
    practice = stored(db, TITLE)
    assert practice is not None and practice.lessons == "Werk samen met het dierenasiel."
    assert practice.year == 2025 and practice.city == "Mechelen"  # untouched fields kept

    # a colleague starts rejecting it while it gets approved: their reason modal then says it was handled
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_REJECT, message=message["ts"], channel=TRIAGE)
    reject = emulator.wait_for(
        lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_PRACTICE_REJECT]
    )[-1]
    approve = emulator.click_button(STAFF, ids.ACTION_PRACTICE_APPROVE, message=message["ts"], channel=TRIAGE)
    update = emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and "Goedgekeurd door" in flat(c.params)
    )
    replay(emulator, practice_bot, approve)  # one "approve" in the audit log, no "already handled" to staff
    assert "al behandeld" not in answers(emulator)
    assert ids.ACTION_PRACTICE_APPROVE not in flat(update.params.get("blocks"))
    emulator.wait_for(lambda: "is goedgekeurd" in dm_texts(emulator, NL_USER), timeout=20)
    late = emulator.submit_view(STAFF, reject["id"], {ids.BLOCK_PRACTICE_REJECT_REASON: "Dubbel."})
    assert late.acked and late.response_action is None  # only the database knows it was decided: told by DM
    staff_dm = emulator.dm_channel_with(STAFF)
    emulator.wait_for(lambda: "al behandeld" in flat(emulator.messages(staff_dm)), timeout=20)
    assert "> Dubbel." in flat(emulator.messages(staff_dm))  # what they typed, quoted
    practice = stored(db, TITLE)
    assert practice is not None and practice.status is RecordStatus.PUBLISHED

    assert len([m for m in emulator.messages(TRIAGE) if TITLE in flat(m.get("blocks"))]) == 1
    dms = emulator.messages(emulator.dm_channel_with(NL_USER))
    assert len([m for m in dms if "is goedgekeurd" in str(m.get("text"))]) == 1

    # searchable right away
    before = len(emulator.response_posts)
    emulator.send_command(EN_USER, CHANNEL, text="wie weet iets over zwerfkatten steriliseren?")
    emulator.wait_for(lambda: len(emulator.response_posts) > before and TITLE in answers(emulator))

    # the submitter may no longer edit it; every change is in the audit log
    with db.session() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.entity_type == "practice").order_by(AuditLog.id))
        assert [(a.actor, a.action) for a in rows if TITLE in a.entity_key] == [
            (NL_USER, "submit"),
            (STAFF, "update"),
            (STAFF, "approve"),
        ]


def test_reject_with_reason_invalid_fields_and_the_shortcut(
    practice_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    # an invalid field: shown inline, the modal stays open, nothing saved, nothing for staff
    emulator.send_command(NL_USER, CHANNEL, text="praktijk")
    view = practice_view(emulator, NL_USER)
    refused = emulator.submit_view(
        NL_USER,
        view["id"],
        {
            ids.practice_block("title"): TITLE,
            ids.practice_block("summary"): SUMMARY,
            ids.practice_block("year"): "twintig",
            ids.practice_block("url"): "www.mechelen.be",
        },
    )
    assert refused.response_action == "errors"
    assert refused.ack_body is not None
    errors = refused.ack_body["errors"]
    assert set(errors) == {ids.practice_block("year"), ids.practice_block("url")}
    assert "geen geldig jaar" in errors[ids.practice_block("year")]
    assert any(v["id"] == view["id"] for v in emulator.views(NL_USER))
    assert stored(db, TITLE) is None
    emulator.close_view(NL_USER, view["id"])

    # the shortcut pre-fills the modal from a message, with a link to it
    posted = emulator.add_message(NL_USER, CHANNEL, f"*{TITLE}*\n{SUMMARY}")
    emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_SAVE_PRACTICE, str(posted["ts"]))
    view = practice_view(emulator, NL_USER)
    values = initial_values(view)
    assert values[ids.practice_block("title")] == TITLE
    assert SUMMARY in values[ids.practice_block("summary")]
    assert values[ids.practice_block("url")].startswith("http")
    emulator.submit_view(NL_USER, view["id"], values)
    message = triage_message(emulator, TITLE)

    # the submitter edits it from their confirmation while it waits; the triage message follows
    dm = emulator.dm_channel_with(NL_USER)
    thanks = emulator.wait_for(
        lambda: [m for m in emulator.messages(dm) if ids.ACTION_PRACTICE_EDIT in flat(m.get("blocks"))]
    )[-1]
    emulator.click_button(NL_USER, ids.ACTION_PRACTICE_EDIT, message=thanks["ts"], channel=dm)
    view = emulator.wait_for(
        lambda: [
            v for v in emulator.views(NL_USER) if v.get("callback_id") == ids.VIEW_PRACTICE and v["id"] != view["id"]
        ]
    )[-1]
    values = initial_values(view)
    values[ids.practice_block("lessons")] = "Start met een proefproject."
    assert emulator.submit_view(NL_USER, view["id"], values).response_action is None
    emulator.wait_for_call(
        "chat.update",
        lambda c: c.params.get("ts") == message["ts"] and "Start met een proefproject" in flat(c.params),
    )
    emulator.wait_for(lambda: "Praktijk *" in answers(emulator) or "bewaard" in dm_texts(emulator, NL_USER))

    # staff reject with a reason (required); the submitter is told why
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_REJECT, message=message["ts"], channel=TRIAGE)
    reject = emulator.wait_for(
        lambda: [v for v in emulator.views(STAFF) if v.get("callback_id") == ids.VIEW_PRACTICE_REJECT]
    )[-1]
    empty = emulator.submit_view(STAFF, reject["id"], {ids.BLOCK_PRACTICE_REJECT_REASON: " "})
    assert empty.response_action == "errors"
    emulator.submit_view(STAFF, reject["id"], {ids.BLOCK_PRACTICE_REJECT_REASON: "Staat al in het register."})
    emulator.wait_for_call(
        "chat.update", lambda c: c.params.get("ts") == message["ts"] and "Geweigerd door" in flat(c.params)
    )
    emulator.wait_for(lambda: "Staat al in het register." in dm_texts(emulator, NL_USER), timeout=20)
    practice = stored(db, TITLE)
    assert practice is not None and practice.status is RecordStatus.REJECTED
    # a second decision on the same practice is refused with a friendly message
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_APPROVE, message=message, channel=TRIAGE)  # its old buttons
    emulator.wait_for(lambda: "al behandeld" in answers(emulator))

    # the staff overview's card (``/wieweet beheer``): removing is for staff only, and audited
    with db.session() as session:
        found = session.scalars(select(Practice).where(Practice.title == TITLE)).one()
        card = {
            "ts": "1700000000.000100",
            "blocks": [b.to_dict() for b in build_practice_card(practice_payload(found), "nl")],
        }
    emulator.click_button(NL_USER, ids.ACTION_PRACTICE_REMOVE, message=card, channel=CHANNEL)
    emulator.wait_for(lambda: f"user={NL_USER} action=remove a practice" in practice_bot.log())
    assert stored(db, TITLE) is not None
    emulator.click_button(STAFF, ids.ACTION_PRACTICE_REMOVE, message=card, channel=TRIAGE)
    emulator.wait_for(lambda: "uit het register verwijderd" in answers(emulator))
    assert stored(db, TITLE) is None
    with db.session() as session:
        actions = [a.action for a in session.scalars(select(AuditLog).where(AuditLog.entity_key.contains(TITLE)))]
        assert actions == ["submit", "update", "reject", "delete"]
