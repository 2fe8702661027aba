"""The owner of a profile staff rejected after they opted out (kept, marked rejected): their Home tab and the staff's
card say it is not listed and offer only "edit" (filling it in again submits it), not "available again" or an
opt-out of questions they are never asked."""

from __future__ import annotations

import json

import pytest

from bot.register import profile_decisions
from handlers import ids
from handlers.blocks.home import HomeData, build_home_view
from handlers.blocks.profile import expert_card_blocks, profile_card
from storage.db import Database
from storage.models import Expert
from tests.register.test_reject_stopped import NOW, STAFF, _pending_then_stopped


def _actions(blocks: list[dict[str, object]]) -> list[str]:
    return [
        str(element["action_id"])
        for block in blocks
        for element in block.get("elements", []) or []  # type: ignore[attr-defined]
        if isinstance(element, dict) and "action_id" in element
    ]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_home_tab_of_a_rejected_opted_out_owner_offers_only_editing(database: Database, lang: str) -> None:
    expert_id = _pending_then_stopped(database, "opted_out")
    with database.session() as s:
        profile_decisions.reject_profile(s, actor=STAFF, expert_id=expert_id, version=None, reason="dubbel", now=NOW)
    with database.session() as s:
        expert = s.get(Expert, expert_id)
        assert expert is not None
        card = profile_card(expert, lang, stale=False)
        home = build_home_view(HomeData(profile=card), lang).to_dict()
        staff_card = [b.to_dict() for b in expert_card_blocks(card, lang)]
    actions = _actions(home["blocks"])
    assert ids.ACTION_PROFILE_EDIT in actions
    for offered in (
        ids.ACTION_HOME_OPT_OUT,
        ids.ACTION_HOME_AVAILABLE,
        ids.ACTION_HOME_AWAY,
        ids.ACTION_CONSENT_CONFIRM,
    ):
        assert offered not in actions, actions
    text = json.dumps(home, ensure_ascii=False)
    assert ("niet aanvaard" if lang == "nl" else "not accepted") in text.lower()
    assert ("Niet aanvaard" if lang == "nl" else "Not accepted") in json.dumps(staff_card, ensure_ascii=False)
    assert _actions(staff_card) == [ids.ACTION_PROFILE_EDIT]
