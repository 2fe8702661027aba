"""End to end: an official asks "who knows" in Slack, through the real bot process and the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from handlers import ids
from storage.models import Consent, Expert, Feedback, KnowledgeGap, ProcessedEvent, SearchLog
from tests.e2e.chaos import acks_while_locked
from tests.e2e.conftest import CHANNEL, EN_USER, NL_USER, OUTSIDER, PRIVATE_C
from tests.e2e.harness import BotProcess, flat, replay, warm_up
from tests.emulator import SlackEmulator

QUESTION = "wie weet iets over leegstandsheffing?"


def answers_in(emu: SlackEmulator, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in emu.thread(channel, thread_ts) if m.get("bot_id") and m.get("ts") != thread_ts]


def all_acked_at_first_try(emu: SlackEmulator) -> bool:
    """Every delivery acked by its first attempt: Slack neither retried one nor showed its own timeout. (That an ack
    waited for no slow work is checked by order, ``acks_while_locked``: the emulator's window is long.)"""
    return all(d.acked and d.attempts[0].acked for d in emu.deliveries)


@pytest.mark.postgres_too
def test_slash_command_answers_privately_with_share_button(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    warm_up(emulator, NL_USER)
    with acks_while_locked(emulator, demo_db_url) as acked_under_the_lock:  # no answer before the ack
        acked_under_the_lock(emulator.send_command(NL_USER, CHANNEL, text=QUESTION))
    post = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])[0]
    body = post["body"]
    assert body.get("response_type") == "ephemeral"
    rendered = flat(body["blocks"])
    assert "Wie weet:" in rendered and "Experts" in rendered
    assert "leegstand" in rendered.lower()
    action_ids = [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids.ACTION_SHARE in action_ids and ids.ACTION_MORE in action_ids
    assert emulator.messages(CHANNEL) == []  # nothing public
    assert all_acked_at_first_try(emulator)


def test_english_user_gets_english_and_locale_is_cached(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.send_command(EN_USER, CHANNEL, text="who knows about EU funding for housing?")
    emulator.send_command(EN_USER, CHANNEL, text="help")
    emulator.wait_for(lambda: len(emulator.response_posts) >= 2)
    bodies = [flat(p["body"]) for p in emulator.response_posts[:2]]  # the two replies may arrive in any order
    answer = next(b for b in bodies if "Who knows:" in b)
    help_text = next(b for b in bodies if "this help" in b)
    assert "Share in channel" in answer and "Experts" in answer
    assert "/wieweet" in help_text and "question" in help_text
    lookups = [c for c in emulator.calls_to("users.info") if c.params.get("user") == EN_USER]
    assert len(lookups) == 1


def test_help_in_dutch(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.send_command(NL_USER, CHANNEL, text="help")
    body = emulator.wait_for(lambda: emulator.response_posts)[0]["body"]
    assert "Wie weet dit?" in flat(body) and "vermeld me" in flat(body)


def test_a_mistyped_sub_command_gets_did_you_mean_and_is_not_searched(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    emulator.send_command(NL_USER, CHANNEL, text="help me")
    emulator.send_command(NL_USER, CHANNEL, text="praktijken")
    emulator.wait_for(lambda: len(emulator.response_posts) >= 2)
    said = flat([p["body"] for p in emulator.response_posts])
    assert "Bedoel je `/wieweet help`?" in said and "Bedoel je `/wieweet praktijk`?" in said
    assert "`/wieweet help`" in said
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:  # nothing searched, so no knowledge gap either
        assert conn.execute(select(func.count()).select_from(SearchLog)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(KnowledgeGap)).scalar_one() == 0
    engine.dispose()


def test_a_sub_command_in_a_mention_or_dm_gets_did_you_mean_and_is_not_searched(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    typo = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> behoefte")
    exact = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> help")
    dm = emulator.dm_channel_with(NL_USER)
    swapped = emulator.send_message(NL_USER, dm, "hlep", channel_type="im")
    replies = [
        emulator.wait_for(lambda c=c, d=d: answers_in(emulator, c, d.payload["event"]["ts"]))[0]["text"]
        for c, d in ((CHANNEL, typo), (CHANNEL, exact), (dm, swapped))
    ]
    assert "Bedoel je `/wieweet behoeften`?" in replies[0]
    assert "Bedoel je `/wieweet help`?" in replies[1] and "Bedoel je `/wieweet help`?" in replies[2]
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:  # nothing searched, so no knowledge gap either
        assert conn.execute(select(func.count()).select_from(SearchLog)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(KnowledgeGap)).scalar_one() == 0
    engine.dispose()


@pytest.mark.postgres_too
def test_mention_answers_once_in_thread_despite_duplicate_events_and_retries(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    warm_up(emulator, NL_USER)
    with acks_while_locked(emulator, demo_db_url) as acked_under_the_lock:  # recorded, acked, then answered
        mention, message = emulator.send_mention_message(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
        acked_under_the_lock(mention)
        acked_under_the_lock(message)
    ts = mention.payload["event"]["ts"]
    emulator.wait_for(lambda: answers_in(emulator, CHANNEL, ts))
    # Slack's retry of the same delivery, with the same event id
    emulator.send_event(mention.payload["event"], retry_num=1, event_id=mention.event_id)
    emulator.send_event(message.payload["event"], retry_num=2, event_id=message.event_id)
    emulator.send_command(NL_USER, CHANNEL, text="help")  # a later request proves the retries were processed
    emulator.wait_for(lambda: emulator.response_posts)
    replies = answers_in(emulator, CHANNEL, ts)
    assert len(replies) == 1
    assert replies[0]["thread_ts"] == ts
    assert "Experts" in flat(replies[0]["blocks"])
    assert all_acked_at_first_try(emulator)


def test_direct_message_is_answered_in_its_thread(bot: BotProcess, emulator: SlackEmulator) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    delivery = emulator.send_message(NL_USER, dm, "iemand ervaring met wijkwerking in Gent?", channel_type="im")
    ts = delivery.payload["event"]["ts"]
    reply = emulator.wait_for(lambda: answers_in(emulator, dm, ts))[0]
    assert "Experts" in flat(reply["blocks"])


def test_message_shortcut_answers_in_that_messages_thread(bot: BotProcess, emulator: SlackEmulator) -> None:
    question = emulator.send_message(EN_USER, CHANNEL, "Does any city have a vacancy tax on empty shops?", wait=True)
    ts = question.payload["event"]["ts"]
    emulator.send_message_shortcut(NL_USER, CHANNEL, ids.SHORTCUT_WHO_KNOWS, ts)
    reply = emulator.wait_for(lambda: answers_in(emulator, CHANNEL, ts))[0]
    assert "Wie weet:" in flat(reply["blocks"])  # in the language of the person who asked the bot


def test_own_and_other_bots_messages_and_edits_are_ignored(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    warm_up(emulator, NL_USER)
    with acks_while_locked(emulator, demo_db_url) as acked_under_the_lock:  # ignoring needs no database, no Slack
        for bot_id in (emulator.bot_id, "B0OTHER"):
            ignored = emulator.send_message(None, dm, QUESTION, channel_type="im", bot_id=bot_id, subtype="bot_message")
            acked_under_the_lock(ignored)
        for subtype in ("message_changed", "message_deleted", "channel_join"):
            delivery = emulator.send_event(
                {
                    "type": "message",
                    "subtype": subtype,
                    "channel": dm,
                    "channel_type": "im",
                    "ts": "1.000001",
                    "message": {"text": QUESTION, "user": NL_USER, "ts": "1.000000"},
                    "hidden": True,
                }
            )
            acked_under_the_lock(delivery)
    emulator.send_command(NL_USER, CHANNEL, text="help")
    emulator.wait_for(lambda: emulator.response_posts)
    assert emulator.calls_to("chat.postMessage") == []
    assert all_acked_at_first_try(emulator)


def test_hostile_question_cannot_ping_anyone(bot: BotProcess, emulator: SlackEmulator) -> None:
    hostile = f"<@{emulator.bot_user_id}> <!channel> <!here> <@{EN_USER}> <https://evil.example|bank> leegstand"
    mention = emulator.send_app_mention(NL_USER, CHANNEL, hostile)
    ts = mention.payload["event"]["ts"]
    reply = emulator.wait_for(lambda: answers_in(emulator, CHANNEL, ts))[0]
    posted = flat(reply.get("blocks")) + str(reply.get("text"))
    for forbidden in ("<!channel>", "<!here>", f"<@{EN_USER}>", "<https://evil.example"):
        assert forbidden not in posted


def test_rate_limited_post_is_retried_and_posted_once(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.fail_next("chat.postMessage", status=429, retry_after=1)
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    ts = mention.payload["event"]["ts"]
    emulator.wait_for(lambda: answers_in(emulator, CHANNEL, ts), timeout=15)
    assert len(answers_in(emulator, CHANNEL, ts)) == 1
    assert [c.status for c in emulator.calls_to("chat.postMessage")] == [429, 200]


def test_server_error_is_retried_after_checking_slack_and_answered_once(
    bot: BotProcess, emulator: SlackEmulator
) -> None:
    # A 500 on a post may or may not have posted: the retry looks in the thread for the answer's marker first.
    emulator.fail_next("chat.postMessage", status=500)
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    ts = mention.payload["event"]["ts"]
    emulator.wait_for(lambda: answers_in(emulator, CHANNEL, ts), timeout=20)
    assert len(answers_in(emulator, CHANNEL, ts)) == 1
    assert emulator.calls_to("conversations.replies")  # it looked before posting again
    assert emulator.ephemerals(user=NL_USER) == []  # no false error for work that succeeded


def test_a_post_that_went_out_despite_a_500_is_not_posted_again(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.fail_next("chat.postMessage", status=500, after=True)  # Slack posted, then answered 500
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    ts = mention.payload["event"]["ts"]
    emulator.wait_for(lambda: len(emulator.calls_to("conversations.replies")) >= 1, timeout=20)
    emulator.wait_for(lambda: "inbox kind=answer_message" in bot.log() and "attempt=2" in bot.log(), timeout=20)
    assert len(answers_in(emulator, CHANNEL, ts)) == 1
    assert len(emulator.calls_to("chat.postMessage")) == 1


@pytest.mark.postgres_too
def test_share_more_and_feedback_buttons(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    emulator.send_command(NL_USER, CHANNEL, text=QUESTION)
    body = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])[0]["body"]
    value = next(e["value"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"])
    engine = create_engine(demo_db_url)

    def votes() -> list[tuple[int, str | None]]:
        with engine.connect() as conn:
            return [(v, u) for v, u in conn.execute(select(Feedback.vote, Feedback.user_slack_id))]

    emulator.click_button(NL_USER, ids.ACTION_MORE, value=value, channel=CHANNEL, message=body)
    emulator.click_button(NL_USER, ids.ACTION_FEEDBACK_UP, value=value, channel=CHANNEL, message=body)
    # Actions are handled after the ack, each in its own thread: a second click sent before the first is handled
    # may be stored first. Wait for the 👍 as a person's next click would.
    emulator.wait_for(lambda: votes() == [(1, NL_USER)])
    thanks = "Bedankt voor je feedback"
    emulator.click_button(NL_USER, ids.ACTION_FEEDBACK_DOWN, value=value, channel=CHANNEL, message=body)
    emulator.wait_for(lambda: sum(thanks in flat(p["body"]) for p in emulator.response_posts) >= 2)
    share = emulator.click_button(NL_USER, ids.ACTION_SHARE, value=value, channel=CHANNEL, message=body)
    shared = emulator.wait_for(lambda: emulator.messages(CHANNEL))[0]
    replay(emulator, bot, share)  # the same click again: shared once
    emulator.click_button(NL_USER, ids.ACTION_SHARE, value=value, channel=CHANNEL, message=body)  # double click
    emulator.wait_for(lambda: "outcome=already shared" in bot.log())
    assert len(emulator.messages(CHANNEL)) == 1
    assert "Experts" in flat(shared["blocks"]) and f"<@{NL_USER}>" in shared["text"]
    emulator.wait_for(lambda: any("Meer resultaten" in flat(p["body"]) for p in emulator.response_posts))
    emulator.wait_for(lambda: votes() == [(-1, NL_USER)])  # one vote per person per result set, the latest counts
    engine.dispose()


@pytest.mark.parametrize("mode", ["socket"])
def test_restart_mid_conversation(mode: str, emulator: SlackEmulator, demo_db_url: str, tmp_path: Any) -> None:
    first = BotProcess(emulator, database_url=demo_db_url, mode=mode, log_path=tmp_path / "a.log").start()
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    ts = mention.payload["event"]["ts"]
    emulator.wait_for(lambda: answers_in(emulator, CHANNEL, ts))
    first.stop()
    second = BotProcess(emulator, database_url=demo_db_url, mode=mode, log_path=tmp_path / "b.log").start()
    try:
        emulator.send_event(mention.payload["event"], retry_num=1, event_id=mention.event_id)  # late redelivery
        follow_up = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> wijkwerking", thread_ts=ts)
        emulator.wait_for(lambda: len(answers_in(emulator, CHANNEL, ts)) >= 2)
        assert follow_up.acked
        assert len(answers_in(emulator, CHANNEL, ts)) == 2  # the follow-up answered, the redelivery not again
    finally:
        second.stop()
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(ProcessedEvent)).scalar_one()
    engine.dispose()
    assert claims == 2


def test_hostile_register_entries_are_escaped(emulator: SlackEmulator, demo_db_url: str, tmp_path: Any) -> None:
    engine = create_engine(demo_db_url)
    evil = "<!channel> <!here> <@U0ENUSER1> <https://evil.example|klik>"
    with Session(engine) as session:
        session.add(
            Expert(
                email="evil@example.be",
                name=evil,
                organisation=evil,
                role=evil * 50,
                expertise=["zwerfvuilrobots", evil],
                bio=evil * 400,
                consent=Consent.CONFIRMED,
            )
        )
        session.commit()
    engine.dispose()
    bot = BotProcess(emulator, database_url=demo_db_url, mode="socket", log_path=tmp_path / "x.log").start()
    try:
        mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> wie kent zwerfvuilrobots?")
        reply = emulator.wait_for(lambda: answers_in(emulator, CHANNEL, mention.payload["event"]["ts"]))[0]
    finally:
        bot.stop()
    posted = flat(reply["blocks"]) + reply["text"]
    assert "&lt;!channel&gt;" in posted  # the hostile expert is shown, harmlessly
    for forbidden in ("<!channel>", "<!here>", "<@U0ENUSER1>", "<https://evil.example"):
        assert forbidden not in posted


def test_socket_mode_reconnects_after_disconnect(emulator: SlackEmulator, demo_db_url: str, tmp_path: Any) -> None:
    bot = BotProcess(emulator, database_url=demo_db_url, mode="socket", log_path=tmp_path / "s.log").start()
    try:
        before = emulator.socket_connections_total
        emulator.socket_disconnect()
        emulator.wait_for_socket(total=before + 1, timeout=15)
        emulator.send_command(NL_USER, CHANNEL, text="help")
        assert emulator.wait_for(lambda: emulator.response_posts)
    finally:
        bot.stop()


# --- trust at the Slack boundary (issue 11) ---------------------------------------------------------------------------

GAP_QUESTION = "wie kent de beste recepten voor zuurdesembrood met spelt?"


def gaps(db_url: str) -> list[tuple[str | None, bool]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(KnowledgeGap.channel_id, KnowledgeGap.channel_is_private).order_by(KnowledgeGap.id)
        ).all()
    engine.dispose()
    return [(r[0], bool(r[1])) for r in rows]


def refusals(bot: BotProcess, user: str | None = None) -> list[str]:
    lines = [line for line in bot.log().splitlines() if "refused ref=" in line]
    return [line for line in lines if user is None or f"user={user} " in line]


def test_a_question_in_a_private_c_channel_is_stored_private(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    # Slack makes private channels with C ids now: only conversations.info can tell, and it is asked
    secret = emulator.send_app_mention(NL_USER, PRIVATE_C, f"<@{emulator.bot_user_id}> {GAP_QUESTION}")
    emulator.wait_for(lambda: answers_in(emulator, PRIVATE_C, secret.payload["event"]["ts"]))
    public = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {GAP_QUESTION}")
    emulator.wait_for(lambda: answers_in(emulator, CHANNEL, public.payload["event"]["ts"]))
    emulator.wait_for(lambda: len(gaps(demo_db_url)) == 2)
    assert gaps(demo_db_url) == [(PRIVATE_C, True), (CHANNEL, False)]  # the private one never reaches a digest
    assert {c.params.get("channel") for c in emulator.calls_to("conversations.info")} >= {PRIVATE_C, CHANNEL}


@pytest.mark.postgres_too
def test_a_slash_command_search_in_a_public_channel_leaves_a_private_gap(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    # /wieweet is answered to the person alone: nobody else read the search, so its gap is never quoted (digests,
    # work-session proposals and their labels) nor its asker named as having asked in public; a mention stands in
    # the channel for its members and leaves a public gap
    emulator.send_command(NL_USER, CHANNEL, text=GAP_QUESTION)
    emulator.wait_for(lambda: len(gaps(demo_db_url)) == 1)
    public = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {GAP_QUESTION}")
    emulator.wait_for(lambda: answers_in(emulator, CHANNEL, public.payload["event"]["ts"]))
    emulator.wait_for(lambda: len(gaps(demo_db_url)) == 2)
    assert gaps(demo_db_url) == [(CHANNEL, True), (CHANNEL, False)]


def first_answer(emulator: SlackEmulator) -> dict[str, Any]:
    return emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])[0]["body"]


def button_value(body: dict[str, Any]) -> str:
    return str(next(e["value"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]))


def test_another_users_search_cannot_be_read_shared_voted_or_asked(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    query = "vertrouwelijk: ontslag na burn-out bij een diensthoofd"
    emulator.send_command(NL_USER, CHANNEL, text=query)
    body = first_answer(emulator)
    value = button_value(body)
    posts_before = len(emulator.response_posts)
    # EN_USER replays NL_USER's buttons with NL_USER's search log id: every one refused, logged, nothing shown
    forged = (ids.ACTION_MORE, ids.ACTION_SHARE, ids.ACTION_FEEDBACK_UP, ids.ACTION_FEEDBACK_DOWN)
    for action in (*forged, ids.ACTION_ASK_EXPERTS):
        if action == ids.ACTION_ASK_EXPERTS and action not in flat(body):
            continue
        emulator.click_button(EN_USER, action, value=value, channel=CHANNEL, message=body)
    expected = len(forged) + (1 if ids.ACTION_ASK_EXPERTS in flat(body) else 0)
    emulator.wait_for(lambda: len(refusals(bot, EN_USER)) >= expected, timeout=15)
    lines = refusals(bot, EN_USER)
    assert all(f"target=search_log:{value}" in line for line in lines)
    assert {line.split(" action=")[1].split(" someone")[0] for line in lines} >= {
        "see more results of",
        "share",
        "give feedback on",
    }
    emulator.wait_for(lambda: len(emulator.response_posts) >= posts_before + expected)
    later = emulator.response_posts[posts_before:]
    assert all(p["user"] == EN_USER for p in later)
    assert "burn-out" not in flat([p["body"] for p in later])  # the query was never shown to them
    assert "not meant for you" in flat([p["body"] for p in later])
    assert emulator.messages(CHANNEL) == []  # nothing shared
    assert emulator.views(EN_USER) == []  # no "ask experts" modal with the query in it
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar_one() == 0
    engine.dispose()


def test_malformed_huge_and_unknown_search_ids_are_refused_cleanly(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.send_command(NL_USER, CHANNEL, text=QUESTION)
    body = first_answer(emulator)
    bad = ["abc", "9" * 400, "0", "-3", "\u0661\u0662", "1e3", "2147483648"]
    for value in bad:
        emulator.click_button(NL_USER, ids.ACTION_MORE, value=value, channel=CHANNEL, message=body)
    emulator.wait_for(lambda: len(refusals(bot, NL_USER)) >= len(bad), timeout=15)
    assert all("action=send a malformed search log id" in line for line in refusals(bot, NL_USER))
    emulator.click_button(NL_USER, ids.ACTION_FEEDBACK_UP, value="999999", channel=CHANNEL, message=body)
    emulator.wait_for(lambda: "niet meer beschikbaar" in flat([p["body"] for p in emulator.response_posts]))
    assert len(refusals(bot, NL_USER)) == len(bad)  # a gone search is not a forgery: told, not refused
    assert "unhandled error" not in bot.log() and "Traceback" not in bot.log()


def test_an_answer_posted_in_a_channel_is_usable_by_its_members_only(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    reply = emulator.wait_for(lambda: answers_in(emulator, CHANNEL, mention.payload["event"]["ts"]))[0]
    value = button_value(reply)
    emulator.click_button(EN_USER, ids.ACTION_MORE, value=value, channel=CHANNEL, message=reply["ts"])
    emulator.wait_for(
        lambda: any(p["user"] == EN_USER and "More results" in flat(p["body"]) for p in emulator.response_posts)
    )
    emulator.click_button(OUTSIDER, ids.ACTION_MORE, value=value, channel=CHANNEL, message=reply["ts"])
    emulator.wait_for(lambda: refusals(bot, OUTSIDER), timeout=15)
    assert f"target=search_log:{value}" in refusals(bot, OUTSIDER)[0]
    assert not any(p["user"] == OUTSIDER and "leegstand" in flat(p["body"]) for p in emulator.response_posts)
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:
        posted = conn.execute(select(SearchLog.posted_channel_id).where(SearchLog.id == int(value))).scalar_one()
    engine.dispose()
    assert posted == CHANNEL


def test_the_more_results_title_escapes_the_query(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.send_command(NL_USER, CHANNEL, text=f"<!channel> <@{EN_USER}> {QUESTION}")
    body = first_answer(emulator)
    emulator.click_button(NL_USER, ids.ACTION_MORE, value=button_value(body), channel=CHANNEL, message=body)
    more = emulator.wait_for(
        lambda: [p["body"] for p in emulator.response_posts if "Meer resultaten" in flat(p["body"])]
    )
    # Slack's markup for a real @channel and a person is made harmless text when the command comes in
    assert "\uff20channel @… wie weet" in str(more[0]["text"])
    for forbidden in ("<!channel>", f"<@{EN_USER}>", "&amp;lt;", "&lt;!channel&gt;"):
        assert forbidden not in flat(more)


def test_an_oversized_question_is_told_too_long_once_wherever_it_is_asked(
    bot: BotProcess, emulator: SlackEmulator
) -> None:
    """A question far over the search's limit (1000 characters), as a command, a mention and a DM, in both modes:
    each is answered once with why (never an error with a reference, never a traceback), and nothing of it is echoed
    as markup."""
    huge = "<!channel> leegstandsheffing " + "woonbeleid " * 900  # ~9,900 characters
    emulator.send_command(NL_USER, CHANNEL, text=huge)
    said = emulator.wait_for(lambda: [p["body"] for p in emulator.response_posts], timeout=20)
    mention = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {huge}")
    in_thread = emulator.wait_for(lambda: answers_in(emulator, CHANNEL, mention.payload["event"]["ts"]), timeout=20)
    dm_channel = emulator.dm_channel_with(NL_USER)
    dm_ts = emulator.send_message(NL_USER, dm_channel, huge, channel_type="im").payload["event"]["ts"]
    in_dm = emulator.wait_for(lambda: answers_in(emulator, dm_channel, dm_ts), timeout=20)
    for reply in (flat(said), flat(in_thread), flat(in_dm)):
        assert "Er ging iets mis" not in reply and "referentie" not in reply
        assert "<!channel>" not in reply and len(reply) < 20_000
    assert len(in_thread) == 1 and len(in_dm) == 1
    assert "Traceback" not in bot.log()


def test_a_mention_is_answered_in_its_askers_language_in_the_channels_thread(
    bot: BotProcess, emulator: SlackEmulator
) -> None:
    """What the answer in the thread of one's own mention says is for the one who asked (README: the language rule),
    though the channel can read it: an English-locale member gets English, a Dutch-locale one Dutch, in one channel."""
    english = emulator.send_app_mention(EN_USER, CHANNEL, f"<@{emulator.bot_user_id}> who knows about vacancy tax?")
    dutch = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
    mistyped = emulator.send_app_mention(EN_USER, CHANNEL, f"<@{emulator.bot_user_id}> hlep")
    replies = {
        name: emulator.wait_for(lambda d=d: answers_in(emulator, CHANNEL, d.payload["event"]["ts"]))[0]
        for name, d in (("en", english), ("nl", dutch), ("typo", mistyped))
    }
    for reply in replies.values():
        assert reply.get("thread_ts")  # posted in the channel's thread (not ephemeral)
    shown = flat(replies["en"]["blocks"])
    assert "Who knows:" in shown and "More results" in shown and "Ask these experts" in shown
    assert "Wie weet:" not in shown and "Meer resultaten" not in shown
    assert "Wie weet:" in flat(replies["nl"]["blocks"]) and "Who knows:" not in flat(replies["nl"]["blocks"])
    assert "Did you mean `/wieweet help`?" in replies["typo"]["text"]
