"""End to end: a subscribed channel gets its weekly digest from the running bot, exactly once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.setting_values import normalise_database_url
from digests.model import SubscriptionView
from digests.period import IsoWeek
from digests.schedule import digest_window, next_run_time
from handlers import ids
from handlers import ids as digest_ids
from storage.models import DigestRun, DigestRunStatus, DigestSubscription, Question, QuestionStatus, Theme, Visibility
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER, OUTSIDER, PRIVATE_C
from tests.e2e.harness import BotProcess, replay
from tests.emulator import SlackEmulator

BRUSSELS = ZoneInfo("Europe/Brussels")


def next_monday_ten() -> datetime:
    """An hour after the first Monday 09:00 (Brussels) from now: the Monday 09:00 digest is due, and covers the week
    the demo was loaded in — also on a Monday before 09:00, when that is today (the next Monday's digest would cover
    the week after the demo)."""
    slot = next_run_time(SubscriptionView(channel_id=CHANNEL), after=datetime.now(UTC), tz=BRUSSELS)
    return slot + timedelta(hours=1)


def start(emulator: SlackEmulator, db_url: str, clock: Path, log: Path) -> BotProcess:
    env = {"WIEWEET_FAKE_NOW_FILE": str(clock), "WIEWEET_JOB_INTERVAL": "0.5"}
    return BotProcess(emulator, database_url=db_url, mode="socket", log_path=log, extra_env=env).start()


@pytest.mark.postgres_too
def test_digest_is_posted_once_and_not_again_after_restart(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["--database", demo_db_url, "digest", "subscribe", "--channel", CHANNEL])
    assert result.exit_code == 0, result.output
    clock = tmp_path / "now.txt"
    clock.write_text((next_monday_ten() - timedelta(days=2)).isoformat(), encoding="utf-8")  # Saturday before
    bot = start(emulator, demo_db_url, clock, tmp_path / "a.log")
    try:
        posts_before = len(emulator.calls_to("chat.postMessage"))
        clock.write_text(next_monday_ten().isoformat(), encoding="utf-8")  # the Monday slot has passed
        first = emulator.wait_for_call(
            "chat.postMessage", predicate=lambda c: c.params.get("channel") == CHANNEL, timeout=30
        )
        emulator.wait_for(lambda: bot.log().count("digest SendResult") >= 1, timeout=30)
        count = len([c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL])
        assert count >= 1 and posts_before == 0
        text = json.dumps(first.params.get("blocks"), ensure_ascii=False)
        assert "Weekoverzicht wieweet" in text  # Dutch, the subscription's default language
        assert "rustige week" not in text  # the week the demo was loaded in, not a quiet one after it
        assert "<!channel>" not in text and "<!here>" not in text
    finally:
        bot.stop()
    again = start(emulator, demo_db_url, clock, tmp_path / "b.log")
    try:
        emulator.wait_for(lambda: again.log().count("jobs started") >= 1, timeout=30)
        emulator.wait_for_socket()
        # several job passes later, nothing new in the channel: one digest per channel per week
        time.sleep(2.0)  # four job intervals of 0.5 s; there is no event to wait for when nothing may happen
        after = len([c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL])
        assert after == count
    finally:
        again.stop()


def test_preview_and_unsubscribe_from_chat(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    result = CliRunner().invoke(main, ["--database", demo_db_url, "digest", "subscribe", "--channel", CHANNEL])
    assert result.exit_code == 0, result.output
    emulator.send_command(NL_USER, CHANNEL, text="digest voorbeeld")
    preview = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])
    assert "Weekoverzicht wieweet" in json.dumps(preview[0]["body"], ensure_ascii=False)
    assert preview[0]["body"]["response_type"] == "ephemeral"
    assert not [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]
    emulator.send_command(NL_USER, CHANNEL, text="digest uit")
    emulator.wait_for(lambda: any("geen weekoverzicht meer" in str(p["body"]) for p in emulator.response_posts))
    emulator.send_command(NL_USER, CHANNEL, text="digest uit")
    emulator.wait_for(lambda: any("heeft geen weekoverzicht" in str(p["body"]) for p in emulator.response_posts))
    listed = CliRunner().invoke(main, ["--database", demo_db_url, "digest", "list"])
    assert CHANNEL not in listed.output  # inactive subscriptions are only listed with --all


def test_i_can_help_button_routes_the_question_to_the_clicker(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    period = str(IsoWeek.containing(datetime.now(UTC)))
    window_start, _end = digest_window(SubscriptionView(channel_id=CHANNEL), period)
    engine = create_engine(demo_db_url)
    with Session(engine) as session:
        question = Question(
            text="Wie heeft ervaring met tijdelijke invulling van leegstaande kerken?",
            asker_slack_id=EN_USER,
            asker_name="Sam Carter",
            visibility=Visibility.PUBLIC,
            status=QuestionStatus.ESCALATED,
            channel_id=CHANNEL,
            thread_ts="1700000000.000100",
            created_at=window_start + timedelta(hours=1),  # asked during the week this digest covers
            themes=[session.get(Theme, "wonen")],
        )
        session.add(question)
        session.commit()
        question_id = question.id
    engine.dispose()
    emulator.send_command(NL_USER, CHANNEL, text="digest voorbeeld")
    body = emulator.wait_for(lambda: [p["body"] for p in emulator.response_posts if "blocks" in p["body"]])[0]
    assert "leegstaande kerken" in json.dumps(body, ensure_ascii=False)
    helps = emulator.click_button(
        NL_USER, digest_ids.ACTION_CAN_HELP, value=str(question_id), channel=CHANNEL, message=body
    )
    dm = emulator.dm_channel_with(NL_USER)
    request = emulator.wait_for_call("chat.postMessage", predicate=lambda c: c.params.get("channel") == dm, timeout=20)
    assert "leegstaande kerken" in json.dumps(request.params, ensure_ascii=False)
    emulator.wait_for(lambda: any("Bedankt" in str(p["body"]) for p in emulator.response_posts))
    replay(emulator, bot, helps)  # the same click again: asked once, thanked once
    time.sleep(1.5)  # a few more outbox runs
    assert len([c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == dm]) == 1
    assert len([p for p in emulator.response_posts if "Bedankt" in str(p["body"])]) == 1


@pytest.mark.postgres_too
def test_subscribe_from_chat_with_the_modal(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    emulator.send_command(NL_USER, CHANNEL, text="digest")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    view = emulator.views(NL_USER)[-1]
    assert view["callback_id"] == ids.VIEW_DIGEST
    delivery = emulator.submit_view(
        NL_USER,
        view["id"],
        values={
            ids.BLOCK_DIGEST_THEMES: {
                ids.INPUT_DIGEST_THEMES: {
                    "type": "multi_static_select",
                    "selected_options": [{"value": "wonen"}, {"value": "europa"}],
                }
            },
            ids.BLOCK_DIGEST_DAY: {
                ids.INPUT_DIGEST_DAY: {"type": "static_select", "selected_option": {"value": "fri"}}
            },
            ids.BLOCK_DIGEST_TIME: {ids.INPUT_DIGEST_TIME: {"type": "timepicker", "selected_time": "16:30"}},
            ids.BLOCK_DIGEST_LANG: {
                ids.INPUT_DIGEST_LANG: {"type": "radio_buttons", "selected_option": {"value": "en"}}
            },
            ids.BLOCK_DIGEST_EMPTY: {
                ids.INPUT_DIGEST_EMPTY: {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
            },
        },
    )
    assert delivery.acked
    emulator.wait_for(lambda: any("vrijdag om 16:30" in str(e.get("text")) for e in emulator.ephemerals(user=NL_USER)))
    replay(emulator, bot, delivery)  # submitted again: one subscription (below), confirmed once
    assert len([e for e in emulator.ephemerals(user=NL_USER) if "vrijdag om 16:30" in str(e.get("text"))]) == 1
    engine = create_engine(demo_db_url)
    with Session(engine) as session:
        subscription = session.scalars(select(DigestSubscription)).one()
        assert (subscription.channel_id, sorted(subscription.themes), subscription.weekday) == (
            CHANNEL,
            ["europa", "wonen"],
            4,
        )
        assert (subscription.hour, subscription.minute, subscription.language, subscription.post_empty) == (
            16,
            30,
            "en",
            True,
        )
        assert subscription.channel_is_private is False and subscription.created_by == NL_USER
    engine.dispose()


def test_two_processes_on_one_postgres_post_the_digest_once(
    emulator: SlackEmulator, postgres_demo_url: str, tmp_path: Path
) -> None:
    url = normalise_database_url(postgres_demo_url)
    result = CliRunner().invoke(main, ["--database", url, "digest", "subscribe", "--channel", CHANNEL])
    assert result.exit_code == 0, result.output
    clock = tmp_path / "now.txt"
    clock.write_text(next_monday_ten().isoformat(), encoding="utf-8")
    first = start(emulator, url, clock, tmp_path / "a.log")
    second = start(emulator, url, clock, tmp_path / "b.log")
    try:
        emulator.wait_for_call("chat.postMessage", predicate=lambda c: c.params.get("channel") == CHANNEL, timeout=30)
        emulator.wait_for(lambda: "digest SendResult" in first.log() + second.log(), timeout=30)
        time.sleep(2.0)  # several more job passes in both processes: nothing may be posted again
    finally:
        first.stop()
        second.stop()
    posted = [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]
    engine = create_engine(url)
    with Session(engine) as session:
        run = session.scalars(select(DigestRun)).one()
        assert run.status is DigestRunStatus.SENT and len(run.parts_sent) == run.parts_total == len(posted)
    engine.dispose()


# --- trust at the Slack boundary (issue 11) ---------------------------------------------------------------------------

OTHER_CHANNEL = "C0ANDERS1"


def add_open_question(db_url: str, text: str, channel: str, *, channel_is_private: bool = False) -> int:
    period = str(IsoWeek.containing(datetime.now(UTC)))
    window_start, _end = digest_window(SubscriptionView(channel_id=CHANNEL), period)
    engine = create_engine(db_url)
    with Session(engine) as session:
        question = Question(
            text=text,
            asker_slack_id=EN_USER,
            asker_name="Sam Carter",
            visibility=Visibility.PUBLIC,
            status=QuestionStatus.ESCALATED,
            channel_id=channel,
            channel_is_private=channel_is_private,
            thread_ts="1700000000.000200",
            created_at=window_start + timedelta(hours=1),
            themes=[session.get(Theme, "wonen")],
        )
        session.add(question)
        session.commit()
        question_id = question.id
    engine.dispose()
    return question_id


def refusals(bot: BotProcess, user: str) -> list[str]:
    return [line for line in bot.log().splitlines() if "refused ref=" in line and f"user={user} " in line]


def test_a_question_from_a_private_c_channel_is_never_in_a_digest(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    public = add_open_question(demo_db_url, "Wie kent herbestemming van leegstaande kerken?", CHANNEL)
    # stored as public (as the id's first letter made it before): Slack says the channel is private, so it is
    secret = add_open_question(demo_db_url, "Vertrouwelijk: ontslag na burn-out in de dienst wonen", PRIVATE_C)
    emulator.send_command(NL_USER, CHANNEL, text="digest voorbeeld")
    body = emulator.wait_for(lambda: [p["body"] for p in emulator.response_posts if "blocks" in p["body"]])[0]
    shown = json.dumps(body, ensure_ascii=False)
    assert "leegstaande kerken" in shown and "burn-out" not in shown
    # its "Ik kan helpen" was never offered: a forged click is refused and logged, nobody is asked
    since = len(emulator.calls)
    emulator.click_button(NL_USER, digest_ids.ACTION_CAN_HELP, value=str(secret), channel=CHANNEL, message=body)
    emulator.wait_for(lambda: refusals(bot, NL_USER))
    assert f"action=volunteer for a question that is not public target=question:{secret}" in refusals(bot, NL_USER)[0]
    time.sleep(1.0)  # a DM would go out right after the commit; give it the chance to (wrongly) appear
    dm = emulator.dm_channel_with(NL_USER)
    assert not [c for c in emulator.calls_to("chat.postMessage", since) if c.params.get("channel") == dm]
    assert public != secret


def test_only_members_and_staff_change_a_channels_digest(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    emulator.add_channel(OTHER_CHANNEL, name="anders", members=[EN_USER])
    result = CliRunner().invoke(main, ["--database", demo_db_url, "digest", "subscribe", "--channel", CHANNEL])
    assert result.exit_code == 0, result.output
    # someone outside the channel: "digest uit" and the preview are refused, logged, the subscription stays
    emulator.send_command(OUTSIDER, CHANNEL, text="digest uit")
    emulator.send_command(OUTSIDER, CHANNEL, text="digest voorbeeld")
    emulator.send_command(OUTSIDER, CHANNEL, text="digest")
    emulator.wait_for(lambda: len(refusals(bot, OUTSIDER)) >= 3)
    assert all(f"target=channel:{CHANNEL}" in line for line in refusals(bot, OUTSIDER))
    told = "leden van dit kanaal"  # the refusal is logged first, then the user is told
    emulator.wait_for(lambda: told in json.dumps([p["body"] for p in emulator.response_posts], ensure_ascii=False))
    assert emulator.views(OUTSIDER) == []
    engine = create_engine(demo_db_url)
    with Session(engine) as session:
        assert session.scalars(select(DigestSubscription)).one().active is True
    engine.dispose()
    # a member's modal, forged to subscribe a channel they are not in: refused (by DM: only Slack's data can tell,
    # after the ack), nothing stored
    emulator.send_command(NL_USER, CHANNEL, text="digest")
    view = emulator.wait_for(lambda: emulator.views(NL_USER))[-1]
    emulator.forge_view_metadata(view["id"], json.dumps({"channel_id": OTHER_CHANNEL}))
    delivery = emulator.submit_view(NL_USER, view["id"], {})
    assert delivery.acked and delivery.response_action is None
    emulator.wait_for(lambda: refusals(bot, NL_USER))
    emulator.wait_for(lambda: emulator.messages(emulator.dm_channel_with(NL_USER)))
    assert f"action=subscribe a channel to the digest target=channel:{OTHER_CHANNEL}" in refusals(bot, NL_USER)[0]
    engine = create_engine(demo_db_url)
    with Session(engine) as session:
        assert [s.channel_id for s in session.scalars(select(DigestSubscription))] == [CHANNEL]
    engine.dispose()
