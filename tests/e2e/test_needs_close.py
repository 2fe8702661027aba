"""End to end: closing a proposed work session through the real bot process and the Slack emulator.

While another staff member's invitation is under way (its hold, taken on another replica), Dismiss and Done are
refused — naming who is inviting, in the clicker's language, with nothing changed — and go through once the hold is
gone. The proposal's status lines (invited, dismissed, done) and the new channel's intro are what a channel reads:
in the network's language (``WIEWEET_LANGUAGE``), whoever clicks — tried with a Dutch and an English network, the
staff member reading the other language.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.i18n import t
from handlers import ids
from handlers.blocks.needs import status_dismissed, status_done, status_invited, status_invited_to
from storage.db import Database
from storage.models import NeedProposal, Practice, ProposalStatus
from tests.e2e.harness import BotProcess, flat
from tests.e2e.needs_seed import ASKERS, LEAD, add_askers_and_lead
from tests.e2e.staffing import STAFF, TRIAGE, add_staff, staff_bot
from tests.e2e.test_needs import needs_bot, needs_pass, our_proposal, status_of, triage_proposal, views_of
from tests.emulator import SlackEmulator

__all__ = ["needs_bot"]  # the fixture, from the needs tests

NOTES = "https://wiki.example.org/werksessie-zwerfkatten"


def hold(db: Database, proposal_id: int, until: datetime, staff: str | None) -> None:
    """Another replica's invite submission holds the proposal's invitation until ``until``, for ``staff``."""
    with db.session() as session:
        row = session.get(NeedProposal, proposal_id)
        assert row is not None
        row.invite_held_by, row.invite_held_until, row.invite_held_for = "needs_invite:VELSEWHERE", until, staff


def told(emu: SlackEmulator, user: str) -> str:
    """What ``user`` was told: ephemeral answers and DMs."""
    return flat([p["body"] for p in emu.response_posts]) + flat(emu.messages(emu.dm_channel_with(user)))


def test_dismiss_and_done_while_an_invitation_is_under_way_are_refused_naming_who(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)
    hold(db, proposal.id, datetime.now(UTC) + timedelta(minutes=5), LEAD)

    emulator.click_button(STAFF, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message, channel=TRIAGE)
    emulator.wait_for(lambda: "niets veranderd" in told(emulator, STAFF), timeout=20)
    assert f"<@{LEAD}> nodigt" in told(emulator, STAFF)  # who is inviting, in the staff member's language
    assert status_of(db, proposal.id) == ProposalStatus.OPEN

    emulator.click_button(STAFF, ids.ACTION_NEEDS_DONE, value=str(proposal.id), message=message, channel=TRIAGE)
    view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_DONE))[-1]
    emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_NOTES: NOTES})
    dm = emulator.dm_channel_with(STAFF)
    emulator.wait_for(lambda: NOTES in flat(emulator.messages(dm)), timeout=20)  # told, with what they typed
    assert flat(emulator.messages(dm)).count("niets veranderd") == 1
    assert status_of(db, proposal.id) == ProposalStatus.OPEN
    with db.session() as session:
        assert session.scalars(select(Practice).where(Practice.url == NOTES)).first() is None  # nothing lost either

    hold(db, proposal.id, datetime.now(UTC) - timedelta(seconds=1), LEAD)  # that attempt died: its hold ran out
    emulator.click_button(STAFF, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message, channel=TRIAGE)
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.DISMISSED, timeout=20)
    with db.session() as session:
        row = session.get(NeedProposal, proposal.id)
        assert row is not None and (row.invite_held_by, row.invite_held_for) == (None, None)


@pytest.fixture(params=["nl", "en"])
def network_bot(
    request: pytest.FixtureRequest, emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path
) -> Iterator[tuple[BotProcess, str]]:
    """The bot of a network in ``param``'s language, its staff member reading the other one."""
    network = str(request.param)
    add_staff(emulator)
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="en-GB" if network == "nl" else "nl-BE")
    add_askers_and_lead(
        emulator, db, now=datetime.now(UTC), lead_expertise=("zwerfkatten", "dierenwelzijn", "sterilisatie")
    )
    process = staff_bot(emulator, demo_db_url, tmp_path, WIEWEET_LANGUAGE=network)
    process.start()
    yield process, network
    process.stop()


@pytest.mark.parametrize("close", ["dismiss", "done"])
def test_the_status_lines_and_the_intro_are_in_the_networks_language_whoever_clicks(
    network_bot: tuple[BotProcess, str], emulator: SlackEmulator, db: Database, close: str
) -> None:
    _, lang = network_bot
    other = "en" if lang == "nl" else "nl"
    staff = f"<@{STAFF}>"
    needs_pass(db)
    proposal = our_proposal(db)
    message = triage_proposal(emulator, proposal.id)

    emulator.click_button(STAFF, ids.ACTION_NEEDS_INVITE, value=str(proposal.id), message=message, channel=TRIAGE)
    view = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_INVITE))[-1]
    emulator.submit_view(STAFF, view["id"], {ids.BLOCK_NEEDS_CHANNEL_NAME: "werksessie-taal"})
    emulator.wait_for(lambda: status_of(db, proposal.id) == ProposalStatus.INVITED, timeout=20)
    channel = (emulator.channel_info("werksessie-taal") or {})["id"]

    def updated_with(text: str) -> Any:
        return emulator.wait_for_call(
            "chat.update", lambda c: c.params.get("ts") == message["ts"] and text in flat(c.params), timeout=20
        )

    # drawn by the invitation's confirmation (who invited how many), or by a job pass that took the redraw first
    # (where to): either way in the network's language
    invited = len({LEAD, *ASKERS})

    def lines(lang: str) -> tuple[str, str]:
        return status_invited(lang, staff=staff, channel_id=channel, invited=invited), status_invited_to(
            lang, channel_id=channel
        )

    update = emulator.wait_for_call(
        "chat.update",
        lambda c: c.params.get("ts") == message["ts"] and any(line in flat(c.params) for line in lines(lang)),
        timeout=20,
    )
    assert not any(line in flat(update.params) for line in lines(other))
    intro = t("needs.channel_intro", lang, label="\0", staff=staff).split("\0")[0]
    emulator.wait_for(lambda: intro in flat(emulator.messages(channel)), timeout=20)

    if close == "dismiss":
        emulator.click_button(STAFF, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message, channel=TRIAGE)
        shown, not_shown = status_dismissed(lang, staff=staff), status_dismissed(other, staff=staff)
    else:
        emulator.click_button(STAFF, ids.ACTION_NEEDS_DONE, value=str(proposal.id), message=message, channel=TRIAGE)
        done = emulator.wait_for(lambda: views_of(emulator, STAFF, ids.VIEW_NEEDS_DONE))[-1]
        emulator.submit_view(STAFF, done["id"], {ids.BLOCK_NEEDS_NOTES: NOTES})
        shown = status_done(lang, staff=staff, notes_url=NOTES)
        not_shown = status_done(other, staff=staff, notes_url=NOTES)
    update = updated_with(shown)
    assert not_shown not in flat(update.params)
