"""``wieweet question show`` of a question staff may not see in full (``payloads.is_shareable``): asked in a private
channel, it shows neither its text and asker nor where it was asked (the channel's id, its thread)."""

from __future__ import annotations

from datetime import timedelta

from storage.models import EscalationReason
from tests.cli import wieweet, wieweet_in
from tests.routing.conftest import ASKER, NOW, World, seed_housing, world_fixture  # noqa: F401 (the fixture)

PRIVATE_CHANNEL, THREAD = "C0GEHEIM1", "1700000000.000900"


def test_show_does_not_say_where_a_private_channel_question_was_asked(world: World) -> None:
    seed_housing(world)
    qid = world.ask(
        text="Een vraag uit een besloten kanaal over leegstandsheffing",
        channel_id=PRIVATE_CHANNEL,
        channel_is_private=True,
        thread_ts=THREAD,
    )
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.DEADLINE, now=NOW + timedelta(hours=1))
    done = wieweet(world.db, "question", "show", str(qid))
    assert done.exit_code == 0, done.output
    assert PRIVATE_CHANNEL not in done.output and THREAD not in done.output
    assert "besloten kanaal" not in done.output and ASKER not in done.output
    assert "draad: (niet getoond" in done.output  # the operator's language: Dutch unless WIEWEET_LANGUAGE says English
    english = wieweet_in(world.db, "en", "question", "show", str(qid))
    assert "thread: (not shown" in english.output and PRIVATE_CHANNEL not in english.output

    public = world.ask(text="Wie kent de leegstandsheffing in Gent?")
    done = wieweet(world.db, "question", "show", str(public))
    assert "draad: C0WONEN01 1700000000.000100" in done.output  # a public channel's is shown
