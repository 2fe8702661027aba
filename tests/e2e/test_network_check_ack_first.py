"""End to end: when the network check cannot ask Slack who is acting (its ``users.info`` gets no answer in time,
Slack held here), the request is acknowledged first and the person's "could not check who you are" message goes to
Slack only after the ack (``handlers.after_ack``): by order, not time — the emulator notes what reached Slack while
it was held (``SlackEmulator.held_calls``) and reads it the moment the ack arrives (fixsmall42 item 4). Over HTTP the
message sent right after the response may reach the emulator's server before its client has read that response (one
event loop serves both), so there the snapshot may already hold it: the ack that came while Slack was held is the
check (``assert_acked_before_slow_work``), as in ``test_error_before_ack``."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.chaos import ACK_WAIT, assert_acked_before_slow_work
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER
from tests.e2e.harness import BotProcess, flat, warm_up
from tests.e2e.test_network_unchecked import UNCHECKED
from tests.emulator import SlackEmulator
from tests.emulator.models import Delivery


def held_at_ack(delivery: Delivery) -> list[str]:
    final = delivery.final
    assert final is not None and isinstance(final.at_ack, list), delivery.summary()
    return final.at_ack


def sent_unchecked(emulator: SlackEmulator, send: Callable[[], Delivery]) -> Delivery:
    """``send`` by a person the bot has not looked up yet, while Slack is held: the check's ``users.info`` times
    out; the ack comes, then Slack is let go."""
    warm_up(emulator, EN_USER)  # Bolt's first auth.test, not this request's
    emulator.ack_probe = lambda _delivery: emulator.held_calls
    try:
        with emulator.hold_slack():
            delivery = send()
            delivery.wait(ACK_WAIT + 10)
    finally:
        emulator.ack_probe = None
    assert_acked_before_slow_work(delivery, database=False)
    return delivery


def told_unchecked(emulator: SlackEmulator) -> list[object]:
    return [e for e in emulator.ephemerals(user=NL_USER) if any(text in flat(e) for text in UNCHECKED)]


def test_a_question_told_could_not_check_after_its_ack(bot: BotProcess, emulator: SlackEmulator) -> None:
    text = f"<@{emulator.bot_user_id}> wie weet iets over leegstand?"
    mention = sent_unchecked(emulator, lambda: emulator.send_app_mention(NL_USER, CHANNEL, text))
    held = held_at_ack(mention)
    if bot.mode == "socket":
        assert held == ["users.info"], held  # the check's own look-up, nothing said yet
    else:  # over HTTP the message sent right after the response may reach the emulator before its client read it
        assert held[0] == "users.info" and set(held[1:]) <= {"chat.postEphemeral"}, held
    emulator.wait_for(lambda: told_unchecked(emulator), timeout=20)  # ... said once Slack answers again
    assert "network check failed ref=" in bot.log()
