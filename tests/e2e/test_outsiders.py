"""End to end: people of another organisation in a Slack Connect channel get nothing of the register.

They can mention the bot, run ``/wieweet``, use its shortcuts, click its buttons and open its Home tab; each of
these is refused by the network check (``handlers.network``) with one friendly message and one refusal line in the
log, and nothing is recorded, searched, stored or routed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from handlers import ids
from storage.models import DigestSubscription, InboxRequest, KnowledgeGap, Question, SearchLog
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.emulator import SlackEmulator

EXTERNAL = "U0EXTERN1"  # a person of another organisation
OTHER_TEAM = "T0OTHER01"
SHARED = "C0SHARED1"  # a Slack Connect channel: the network's people and the other organisation's
QUESTION = "wie weet iets over leegstandsheffing?"
OUTSIDE_NL = "wieweet is er voor de leden van het netwerk"
OUTSIDE_EN = "wieweet is for the members of the network"


@pytest.fixture
def shared(emulator: SlackEmulator) -> SlackEmulator:
    emulator.add_user(EXTERNAL, name="extern", real_name="Eve Extern", locale="en-GB", team_id=OTHER_TEAM)
    emulator.add_channel(SHARED, name="samen", is_ext_shared=True, members=[NL_USER, EXTERNAL, emulator.bot_user_id])
    return emulator


def stored_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (InboxRequest, Question, SearchLog, KnowledgeGap)
            }
    finally:
        engine.dispose()


def refusals(bot: BotProcess) -> list[str]:
    return [line for line in bot.log().splitlines() if "refused" in line and "outside the network" in line]


def told_outside(text: object) -> bool:
    return OUTSIDE_EN in flat(text) or OUTSIDE_NL in flat(text)


@pytest.fixture
def before(shared: SlackEmulator, demo_db_url: str) -> Iterator[dict[str, int]]:
    yield stored_counts(demo_db_url)


@pytest.mark.postgres_too
def test_mention_from_outside_is_refused_and_nothing_is_stored(
    bot: BotProcess, shared: SlackEmulator, demo_db_url: str, before: dict[str, int]
) -> None:
    mention = shared.send_app_mention(EXTERNAL, SHARED, f"<@{shared.bot_user_id}> {QUESTION}")
    assert mention.acked
    told = shared.wait_for(lambda: [e for e in shared.ephemerals(user=EXTERNAL) if told_outside(e)])
    assert told[0]["channel"] == SHARED
    shared.wait_for(lambda: refusals(bot))
    assert len(refusals(bot)) == 1 and f"user={EXTERNAL}" in refusals(bot)[0] and OTHER_TEAM in refusals(bot)[0]
    assert [m for m in shared.messages(SHARED) if m.get("bot_id")] == []
    assert stored_counts(demo_db_url) == before
    assert shared.calls_to("chat.postMessage") == []


def test_command_from_outside_is_refused_in_the_ack(
    bot: BotProcess, shared: SlackEmulator, demo_db_url: str, before: dict[str, int]
) -> None:
    delivery = shared.send_command(EXTERNAL, SHARED, text=QUESTION)
    assert delivery.acked and told_outside(delivery.ack_body)
    assert (delivery.ack_body or {}).get("response_type") == "ephemeral"
    shared.wait_for(lambda: refusals(bot))
    shared.send_command(NL_USER, SHARED, text="help")  # a later request: the refused one had its chance to run
    shared.wait_for(lambda: shared.response_posts)
    assert all("Experts" not in flat(p["body"]) for p in shared.response_posts)
    assert stored_counts(demo_db_url) == before


def test_shortcuts_from_outside_are_refused(bot: BotProcess, shared: SlackEmulator, before: dict[str, int]) -> None:
    question = shared.send_message(NL_USER, SHARED, "Heeft een stad een heffing op leegstaande winkels?", wait=True)
    shared.send_message_shortcut(EXTERNAL, SHARED, ids.SHORTCUT_WHO_KNOWS, question.payload["event"]["ts"])
    shared.wait_for(lambda: [p for p in shared.response_posts if told_outside(p["body"])])
    shared.send_global_shortcut(EXTERNAL, ids.SHORTCUT_ASK_EXPERT)  # refused too, not told again within a minute
    shared.wait_for(lambda: len(refusals(bot)) == 2)
    assert shared.views(EXTERNAL) == []  # no modal opened
    told = [p for p in shared.response_posts if told_outside(p["body"])]
    assert len(told) == 1 and not [m for m in shared.messages(shared.dm_channel_with(EXTERNAL)) if told_outside(m)]
    assert [m for m in shared.messages(SHARED) if m.get("bot_id")] == []


def test_button_from_outside_is_refused(bot: BotProcess, shared: SlackEmulator) -> None:
    dm = shared.dm_channel_with(NL_USER)
    asked = shared.send_message(NL_USER, dm, QUESTION, channel_type="im")
    ts = asked.payload["event"]["ts"]
    answer = shared.wait_for(lambda: [m for m in shared.thread(dm, ts) if m.get("bot_id")])[0]
    shared.click_button(EXTERNAL, ids.ACTION_MORE, message=answer["ts"], channel=dm)
    shared.wait_for(lambda: [p for p in shared.response_posts if told_outside(p["body"])])
    assert len(shared.thread(dm, ts)) == 2  # the question and its answer: nothing more was posted
    assert len(refusals(bot)) == 1


def test_home_tab_from_outside_shows_only_what_wieweet_is_for(bot: BotProcess, shared: SlackEmulator) -> None:
    shared.open_home(EXTERNAL)
    home = shared.wait_for(lambda: shared.home_view(EXTERNAL))
    assert told_outside(home) and "Experts" not in flat(home)
    assert len(refusals(bot)) == 1
    shared.open_home(NL_USER)  # a person of the network still gets their own
    assert not told_outside(shared.wait_for(lambda: shared.home_view(NL_USER)))


def test_direct_message_from_outside_is_refused(bot: BotProcess, shared: SlackEmulator, demo_db_url: str) -> None:
    before = stored_counts(demo_db_url)
    dm = shared.dm_channel_with(EXTERNAL)
    shared.send_message(EXTERNAL, dm, QUESTION, channel_type="im")
    shared.wait_for(lambda: [e for e in shared.ephemerals(user=EXTERNAL) if told_outside(e)])
    assert [m for m in shared.messages(dm) if m.get("bot_id")] == []
    assert stored_counts(demo_db_url) == before


def test_slack_error_on_users_info_is_no_refusal(bot: BotProcess, shared: SlackEmulator) -> None:
    shared.fail_next("users.info", error="fatal_error", times=3)
    delivery = shared.send_command(EXTERNAL, SHARED, text=QUESTION)
    assert delivery.acked and len(delivery.attempts) == 1 and not told_outside(delivery.ack_body)
    assert "kon net niet nagaan wie je bent" in flat(delivery.ack_body)  # "could not check who you are": no refusal
    shared.wait_for(lambda: "users.info: fatal_error" in bot.log())
    assert "network check failed ref=" in bot.log() and refusals(bot) == []


def test_allowed_team_is_inside(shared: SlackEmulator, demo_db_url: str, tmp_path: Path) -> None:
    bot = BotProcess(
        shared,
        database_url=demo_db_url,
        mode="socket",
        log_path=tmp_path / "bot.log",
        extra_env={"WIEWEET_ALLOWED_TEAMS": f"T0ELSE001, {OTHER_TEAM}"},
    )
    bot.start()
    try:
        shared.send_command(EXTERNAL, SHARED, text=QUESTION)
        post = shared.wait_for(lambda: [p for p in shared.response_posts if "blocks" in p["body"]])[0]
        assert "Experts" in flat(post["body"]) and not told_outside(post["body"])
        assert refusals(bot) == []
    finally:
        bot.stop()


# --- people of the network in a shared channel: what names the register goes to them alone ------------------------

ALONE_NL = "Alleen jij ziet dit antwoord"


def test_mention_in_a_shared_channel_is_answered_to_the_asker_alone(
    bot: BotProcess, shared: SlackEmulator, demo_db_url: str
) -> None:
    mention, _message = shared.send_mention_message(NL_USER, SHARED, f"<@{shared.bot_user_id}> {QUESTION}")
    ts = mention.payload["event"]["ts"]
    answer = shared.wait_for(lambda: [e for e in shared.ephemerals(user=NL_USER) if "Experts" in flat(e)])
    assert answer[0]["channel"] == SHARED and answer[0]["thread_ts"] == ts
    assert ALONE_NL in flat(answer[0]["blocks"])
    shared.send_command(NL_USER, SHARED, text="help")  # a later request: the mention had its chance to post
    shared.wait_for(lambda: shared.response_posts)
    assert [m for m in shared.thread(SHARED, ts) if m.get("bot_id")] == []
    assert shared.ephemerals(user=EXTERNAL) == []
    assert len(answer) == 1 and refusals(bot) == []
    assert stored_counts(demo_db_url)["SearchLog"] == 1  # the network's own question is searched and logged


def test_command_in_a_shared_channel_offers_no_share_button(bot: BotProcess, shared: SlackEmulator) -> None:
    shared.send_command(NL_USER, SHARED, text=QUESTION)
    body = shared.wait_for(lambda: [p for p in shared.response_posts if "blocks" in p["body"]])[0]["body"]
    assert body.get("response_type") == "ephemeral" and "Experts" in flat(body)
    assert ids.ACTION_SHARE not in flat(body)
    shared.send_command(NL_USER, "C0WONEN01", text=QUESTION)  # an ordinary channel of the network: shareable
    shared.wait_for(lambda: [p for p in shared.response_posts if ids.ACTION_SHARE in flat(p["body"])])


def test_shortcut_in_a_shared_channel_answers_the_person_alone(bot: BotProcess, shared: SlackEmulator) -> None:
    question = shared.send_message(EXTERNAL, SHARED, "Does any city have a vacancy tax on empty shops?", wait=True)
    ts = question.payload["event"]["ts"]
    shared.send_message_shortcut(NL_USER, SHARED, ids.SHORTCUT_WHO_KNOWS, ts)
    body = shared.wait_for(lambda: [p for p in shared.response_posts if "Experts" in flat(p["body"])])[0]["body"]
    assert ALONE_NL in flat(body) and body.get("response_type") == "ephemeral"
    shared.send_command(NL_USER, SHARED, text="help")
    shared.wait_for(lambda: len(shared.response_posts) >= 2)
    assert [m for m in shared.thread(SHARED, ts) if m.get("bot_id")] == []


def test_no_digest_for_a_shared_channel(bot: BotProcess, shared: SlackEmulator) -> None:
    for text in ("digest", "digest voorbeeld"):
        shared.send_command(NL_USER, SHARED, text=text)
    said = shared.wait_for(lambda: [p for p in shared.response_posts if "andere organisatie" in flat(p["body"])])
    shared.wait_for(lambda: len([p for p in shared.response_posts if "andere organisatie" in flat(p["body"])]) == 2)
    assert said and shared.views(NL_USER) == []  # no subscription modal opened
    assert [m for m in shared.messages(SHARED) if m.get("bot_id")] == []


def test_a_digest_modal_forged_to_a_shared_channel_subscribes_nothing(
    bot: BotProcess, shared: SlackEmulator, demo_db_url: str
) -> None:
    shared.send_command(NL_USER, "C0WONEN01", text="digest")
    view = shared.wait_for(lambda: shared.views(NL_USER))[-1]
    shared.forge_view_metadata(view["id"], json.dumps({"channel_id": SHARED}))  # a member of it, but it is shared
    assert shared.submit_view(NL_USER, view["id"], {}).acked
    shared.wait_for(lambda: "andere organisatie" in flat(shared.messages(shared.dm_channel_with(NL_USER))))
    engine = create_engine(demo_db_url)
    try:
        with Session(engine) as session:
            assert session.scalars(select(DigestSubscription)).all() == []
    finally:
        engine.dispose()


@pytest.mark.postgres_too
@pytest.mark.parametrize("kind", ["is_restricted", "is_ultra_restricted"])
def test_a_guest_of_the_networks_own_team_is_refused_like_an_outsider(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str, kind: str
) -> None:
    """A guest (a consultant invited into a channel) is of the network's own team, so the payload alone let them in
    before: they could search the register. Now ``users.info`` says they are a guest and they get the outsiders'
    message, nothing stored; a member of the team in the same channel is answered."""
    guest = "U0GUEST01"
    emulator.add_user(guest, name="gast", real_name="Gert Gast", locale="nl-BE", guest=kind)
    emulator.add_channel("C0GUESTS1", name="met-gasten", members=[NL_USER, guest, emulator.bot_user_id])
    before = stored_counts(demo_db_url)
    delivery = emulator.send_command(guest, "C0GUESTS1", text=QUESTION)
    assert delivery.acked and told_outside(delivery.ack_body)
    emulator.wait_for(lambda: [line for line in refusals(bot) if f"user={guest}" in line])
    assert stored_counts(demo_db_url) == before
    emulator.send_command(NL_USER, "C0GUESTS1", text=QUESTION)  # a member of the team in the same channel
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "Wie weet:" in flat(p["body"])])


@pytest.mark.postgres_too
def test_a_member_made_a_guest_is_refused_at_once_not_after_the_cache_expires(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    """Whom ``users.info`` says a person is, is kept for ``ACCESS_TTL`` (10 minutes); Slack's ``user_change`` (a
    member made a guest) drops it, so the next request of theirs to that process is checked again and refused."""
    member = "U0MEMBER7"
    emulator.add_user(member, name="mila", real_name="Mila Lid", locale="nl-BE")
    emulator.add_channel("C0GUESTS2", name="met-leden", members=[NL_USER, member, emulator.bot_user_id])
    emulator.send_command(member, "C0GUESTS2", text=QUESTION)  # a member: answered, and whom they are is kept
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "Wie weet:" in flat(p["body"])])
    assert not [line for line in refusals(bot) if f"user={member}" in line]
    changed = emulator.send_user_changed(member, is_restricted=True)  # an admin made them a multi-channel guest
    assert changed.acked
    before = stored_counts(demo_db_url)
    delivery = emulator.send_command(member, "C0GUESTS2", text=QUESTION)
    assert delivery.acked and told_outside(delivery.ack_body)
    emulator.wait_for(lambda: [line for line in refusals(bot) if f"user={member}" in line])
    assert stored_counts(demo_db_url) == before
