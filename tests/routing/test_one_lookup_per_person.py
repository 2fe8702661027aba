"""A routed question costs at most one ``users.info`` per person in an outbox batch: the DM's language look-up and
the look-up that reads a refused DM (``handlers.outbox_refused``: is the account deleted, unknown, active?) share
one memory of what Slack answered (``handlers.users_info.BatchAnswers``). Routing's DMs name their reader's
language, so in a routed batch the look-ups are the refusals' (this guards the memory of refusals); the memory
shared by a DM's language and its refusal is tested on its own below (and end to end by
``tests/needs/test_recruit_one_lookup.py``), as is an answer a later refusal contradicts (asked once more)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.register.refusals import Verdict
from handlers.outbox import OutboxSender
from handlers.outbox_refused import _verdict
from handlers.services import Services
from handlers.users_info import BatchAnswers
from tests.emulator import SlackEmulator
from tests.routing.conftest import ASKER, NOW, World, seed_housing

LATER = NOW + timedelta(minutes=1)


@pytest.mark.parametrize("account", ["bot", "unknown", "active"])
def test_a_routed_question_asks_users_info_once_per_person(world: World, account: str) -> None:
    """Everyone a bot (Slack refuses each DM, ``cannot_dm_bot``, and the look-up's answer decides what follows),
    unknown to Slack (``user_not_found``: DM and look-up alike) or active (the DMs go out)."""
    seed_housing(world)
    world.ask()
    world.ask(text="Wie weet iets over de leegstandsheffing op winkelpanden?", thread_ts="1700000000.000200")
    people = {m.recipient_slack_id for m in world.outbox() if m.recipient_slack_id}
    assert ASKER in people and len(people) >= 3
    assert len([m for m in world.outbox() if m.recipient_slack_id == ASKER]) >= 2  # two DMs to the asker
    with SlackEmulator() as emu:
        for user in people if account != "unknown" else ():
            emu.add_user(user, name=user.lower(), real_name=user, is_bot=account == "bot", locale="nl-BE")
        services = Services(
            settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
        )
        sender = OutboxSender(services, WebClient(token=emu.bot_token, base_url=emu.api_url))
        result = sender.send_pending(worker_id="w1")
        asked = Counter(str(call.params.get("user")) for call in emu.calls_to("users.info"))
        posted = [c for c in emu.calls_to("chat.postMessage") if c.ok]
    assert set(asked) <= people and ASKER in asked, asked
    assert max(asked.values()) == 1, asked  # one users.info per person, whatever followed
    assert bool(posted) is (account == "active")
    if account != "active":
        assert result.sent == 0 and result.failed >= len(people)


class Slack:
    """``users.info`` of one person, as Slack answers it now (``deleted`` may change during a batch)."""

    def __init__(self, *, is_bot: bool = False) -> None:
        self.deleted, self.is_bot, self.asked = False, is_bot, 0

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.asked += 1
        user = {"id": kwargs["user"], "deleted": self.deleted, "is_bot": self.is_bot, "locale": "en-GB"}
        return {"user": user}


def _language_then_refusal(world: World, slack: Slack, answers: BatchAnswers, refusal: str) -> tuple[Verdict, str]:
    """A batch's DM to ``UX`` whose language is looked up (``answers``), then refused by Slack with ``refusal``."""
    services = Services(
        settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
    )
    with world.db.session() as session:
        lang = services.locales.language(session=session, client=slack, user_id="UX", now=LATER, answers=answers)  # type: ignore[arg-type]
    assert lang == "en"
    return _verdict(slack, SimpleNamespace(recipient_slack_id="UX"), refusal, answers)  # type: ignore[arg-type]


def test_the_language_look_up_answers_a_later_refusal_in_the_batch(world: World) -> None:
    """The shared memory itself: the answer that gave the DM's language reads Slack's refusal (a bot: no DM)."""
    slack = Slack(is_bot=True)
    assert _language_then_refusal(world, slack, BatchAnswers(), "cannot_dm_bot")[0] is Verdict.UNREACHABLE
    assert slack.asked == 1


@pytest.mark.parametrize("refusal", ["account_inactive", "user_not_found"])
def test_an_active_answer_a_refusal_contradicts_is_asked_once_more(world: World, refusal: str) -> None:
    """review55 #4: the person deactivated after their language was asked (a batch runs for minutes): Slack's
    refusal says otherwise than the remembered answer, which is asked once more, and only once."""
    slack, answers = Slack(), BatchAnswers()
    services = Services(
        settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
    )
    with world.db.session() as session:
        services.locales.language(session=session, client=slack, user_id="UX", now=LATER, answers=answers)  # type: ignore[arg-type]
    slack.deleted = True
    message = SimpleNamespace(recipient_slack_id="UX")
    assert _verdict(slack, message, refusal, answers)[0] is Verdict.GONE  # type: ignore[arg-type]
    assert _verdict(slack, message, refusal, answers)[0] is Verdict.GONE  # type: ignore[arg-type]
    assert slack.asked == 2
