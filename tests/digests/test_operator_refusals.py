"""A digest refused for a reason only the operator can fix — a missing scope, a revoked or wrong token — is no
failure of the week: it is said once per pass at ERROR (naming the scope Slack says is needed), staff are told once
per week per cause, and the week's digests stay due, so they go out once the app is allowed again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.i18n import t
from bot.outbox import read_payload
from bot.staff_notices import DigestStopped
from bot.staffdm import tell_staff
from digests.sender import SendStatus
from digests.subscriptions import stop_gone_channel, tell_digests_refused
from handlers.app import create_web_client
from handlers.blocks.digest_stopped import build_digest_stopped
from handlers.digest_sources import INFO, OperatorRefusals
from handlers.outbox import render_message
from storage.db import Database
from storage.models import DigestRunStatus, OutboxKind, OutboxMessage
from tests.cli import wieweet as run_cli
from tests.cli import wieweet_in
from tests.digests.conftest import IN_WEEK, NOW, add_practice, add_question
from tests.digests.test_lookup_fails import Passes, is_active, seed
from tests.digests.test_sending import run_of
from tests.emulator import SlackEmulator

CHANNELS = ("C0DIGEST1", "C0DIGEST2")


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    for channel in CHANNELS:
        emu.add_channel(channel, name=channel.lower())
    yield emu
    emu.stop()


def notices(database: Database) -> list[DigestStopped]:
    with database.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST_STOPPED)).all()
        payloads = [read_payload(row.kind, row.payload) for row in rows]
    # not the copies of a grouped notice for a release before it (``told_with``): this release ends them unsent
    return [p for p in payloads if isinstance(p, DigestStopped) and not p.told_with]


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_missing_chat_write_is_said_once_per_pass_not_posted_to_staff_and_the_digests_go_out_once_granted(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The notice to staff would be a ``chat.postMessage`` too, refused for the same scope: none is queued, and
    the ERROR line says staff are not told and why (as for a refused token)."""
    seed(database, *CHANNELS)
    emulator.set_bot_scopes(["channels:read", "groups:read"])  # chat:write not granted
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    passes = Passes(database, client)
    for minutes in (0, 11, 22):  # every pass while the scope is missing
        caplog.clear()
        with caplog.at_level(logging.INFO):
            results = passes.run(NOW + timedelta(minutes=minutes))
        assert {c: r.status for c, r in results.items()} == dict.fromkeys(CHANNELS, SendStatus.RETRY)
        [said] = errors(caplog)  # once per pass, not once per channel
        assert "missing_scope" in said and "chat:write" in said
        assert "staff are not told in Slack: chat:write is missing" in said
    for channel in CHANNELS:  # not failed for the week, not turned off
        assert run_of(database, channel).status is DigestRunStatus.CLAIMED and is_active(database, channel)
        assert emulator.messages(channel) == []
    with database.session() as s:  # nothing queued for staff: it could not be posted either
        assert s.scalars(select(OutboxMessage)).all() == []
    done = run_cli(database, "queued", "list", "--now", (NOW + timedelta(minutes=23)).isoformat())
    assert done.exit_code == 0, done.output
    lines = [line for line in done.output.splitlines() if line.strip().startswith(CHANNELS)]
    claimed = "bezig (claimed) (laatste poging: "  # the state in words, its code beside it
    assert len(lines) == 2 and all(claimed in line and "missing_scope" in line for line in lines)
    emulator.set_bot_scopes(None)  # the operator granted it: the week's digests go out, once each
    later = passes.run(NOW + timedelta(minutes=33))
    assert {c: (r.status, r.resumed) for c, r in later.items()} == dict.fromkeys(CHANNELS, (SendStatus.SENT, True))
    assert [len(emulator.messages(c)) for c in CHANNELS] == [1, 1] and notices(database) == []


def test_a_revoked_token_is_one_cause_said_in_the_log_not_posted_to_staff_with_that_token(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A notice to staff would be posted with the very token Slack refuses: none is queued (so none is tried in
    vain every outbox pass); the ERROR line says staff are not told, once per pass, and the digests stay due."""
    seed(database, *CHANNELS)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-revoked-token", "SLACK_API_URL": emulator.api_url})
    passes = Passes(database, create_web_client(settings))
    with caplog.at_level(logging.INFO):
        results = passes.run(NOW)
    assert {r.status for r in results.values()} == {SendStatus.RETRY}
    [said] = errors(caplog)
    assert "invalid_auth" in said and "conversations.info" in said
    assert "staff are not told in Slack: the token is refused" in said
    assert passes.run(NOW + timedelta(minutes=11)).keys() == set(CHANNELS)  # still due
    with database.session() as s:  # news for next week's digests
        add_practice(s, "Praktijk twee", url="https://example.org/p/2", created_at=NOW + timedelta(days=2))
    for minutes in (0, 11):  # next week, still refused: still due, still nothing queued for staff
        results = passes.run(NOW + timedelta(days=7, minutes=minutes))
        assert {(r.period, r.status) for r in results.values()} == {("2026-W49", SendStatus.RETRY)}
    assert notices(database) == []
    with database.session() as s:  # nothing else queued either: the token would post nothing
        assert s.scalars(select(OutboxMessage)).all() == []


def test_a_post_refused_for_the_tokens_kind_is_a_refused_token_not_told_to_staff_with_it(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """``not_allowed_token_type`` on ``chat.postMessage`` (a token of the wrong kind where the bot token belongs):
    the notice to staff is a ``chat.postMessage`` with that very token, so none is queued; the ERROR line says so,
    the pass posts no more, and the digests stay due and go out once the token is right."""
    seed(database, *CHANNELS)
    emulator.fail_next("chat.postMessage", error="not_allowed_token_type", times=2)
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    passes = Passes(database, client)
    for minutes in (0, 11):
        caplog.clear()
        mark = emulator.call_count
        with caplog.at_level(logging.INFO):
            results = passes.run(NOW + timedelta(minutes=minutes))
        assert {c: r.status for c, r in results.items()} == dict.fromkeys(CHANNELS, SendStatus.RETRY)
        assert len(emulator.calls_to("chat.postMessage", since=mark)) == 1  # the pass posts no more
        [said] = errors(caplog)
        assert "not_allowed_token_type" in said and "staff are not told in Slack: the token is refused" in said
    with database.session() as s:  # nothing queued for staff: it would be refused the same way
        assert s.scalars(select(OutboxMessage)).all() == []
    later = passes.run(NOW + timedelta(minutes=22))  # the token is right again: each channel gets its digest once
    assert {c: r.status for c, r in later.items()} == dict.fromkeys(CHANNELS, SendStatus.SENT)
    assert [len(emulator.messages(c)) for c in CHANNELS] == [1, 1]


def test_the_command_line_shows_why_the_weeks_digests_wait(database: Database, emulator: SlackEmulator) -> None:
    """``wieweet queued list`` (the operator's view of what is due) names the refusal each digest last met."""
    seed(database, *CHANNELS)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-revoked-token", "SLACK_API_URL": emulator.api_url})
    Passes(database, create_web_client(settings)).run(NOW)
    done = wieweet_in(database, "en", "queued", "list", "--now", (NOW + timedelta(minutes=1)).isoformat())
    assert done.exit_code == 0, done.output
    lines = [line for line in done.output.splitlines() if line.strip().startswith(CHANNELS)]
    assert len(lines) == 2 and all("claimed (claimed) (last try: " in line and "invalid_auth" in line for line in lines)


def test_another_missing_scope_is_still_told_to_staff_and_the_line_does_not_say_otherwise(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing read scope does not stop the notice's post: staff are told of it, rendered as waiting digests."""
    seed(database, *CHANNELS)
    emulator.set_bot_scopes(["chat:write", "groups:read"])
    client = create_web_client(
        load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    )
    with caplog.at_level(logging.INFO):
        Passes(database, client).run(NOW)
    [said] = errors(caplog)
    assert "missing_scope" in said and "staff are not told" not in said
    [notice] = notices(database)
    assert (notice.reason, notice.needed) == ("missing_scope", "channels:read")
    rendered = build_digest_stopped(notice, "en")
    assert "channels:read" in rendered.text and "stopped" not in rendered.text


SOURCES = ("C1SRC0001", "C1SRC0002")
DUE = (*CHANNELS, "C0DIGEST3")


@pytest.mark.parametrize(
    ("token", "scopes", "asked"),
    [
        # the token refused: the first call of the pass is the only one (a source channel's look-up)
        ("xoxb-revoked-token", None, {"conversations.info": 1, "chat.getPermalink": 0, "chat.postMessage": 0}),
        # a token of the wrong kind (the app-level token where the bot token belongs): the same
        ("xapp-1-A0-1-wrong", None, {"conversations.info": 1, "chat.getPermalink": 0, "chat.postMessage": 0}),
        # chat:write missing: the look-ups answer (the questions' links too, once per pass), one post is refused
        # and the other two are not tried, nor looked up (two source channels, one digest channel)
        (
            "xoxb-digest-test",
            ["channels:read", "groups:read"],
            {"conversations.info": 3, "chat.getPermalink": 2, "chat.postMessage": 1},
        ),
    ],
)
def test_after_a_refusal_the_pass_asks_slack_no_more_for_that_cause(
    database: Database, emulator: SlackEmulator, token: str, scopes: list[str] | None, asked: dict[str, int]
) -> None:
    seed(database, *DUE)
    with database.session() as s:
        for channel in SOURCES:
            add_question(s, f"PUBLIEK uit {channel}", created_at=IN_WEEK, channel_id=channel)
    for channel in (*SOURCES, "C0DIGEST3"):
        emulator.add_channel(channel, name=channel.lower())
    emulator.set_bot_scopes(scopes)
    passes = Passes(
        database, create_web_client(load_settings({"SLACK_BOT_TOKEN": token, "SLACK_API_URL": emulator.api_url}))
    )
    for minutes in (0, 11):  # each pass asks once more: the memory is the pass's
        mark = emulator.call_count
        results = passes.run(NOW + timedelta(minutes=minutes))
        assert {c: r.status for c, r in results.items()} == dict.fromkeys(DUE, SendStatus.RETRY)
        assert {method: len(emulator.calls_to(method, since=mark)) for method in asked} == asked
        assert len(emulator.calls[mark:]) == sum(asked.values())  # and nothing else (no permalinks either)
    for channel in DUE:  # still due: they go out once it is fixed
        assert run_of(database, channel).status is DigestRunStatus.CLAIMED and is_active(database, channel)


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("held", [True, False])
def test_staff_by_dm_read_that_the_digests_wait_not_that_one_stopped(database: Database, lang: str, held: bool) -> None:
    """The notice given up in the triage channel reaches each staff member by DM, under its own subject: the week's
    digests wait for the app's settings (``held``), not "a channel's digest was stopped"."""
    seed(database, "C0DIGEST1")
    with database.session() as s:
        if held:
            tell_digests_refused(
                s, error="missing_scope", needed="chat:write", channel_id="C0DIGEST1", period="2026-W48", now=NOW
            )
        else:
            stop_gone_channel(s, channel_id="C0DIGEST1", reason="is_archived", now=NOW)
        [notice] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST_STOPPED)).all()
        told = tell_staff(
            s, message_id=notice.id, staff={"U0STAFF01"}, channel_id="C0TRIAGE1", error="not_in_channel", now=NOW
        )
        assert told == "staff told: 1 of 1"
        [dm] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.STAFF_DM)).all()
        rendered = render_message(dm.kind, dm.payload, lang)
    key, other = ("staffdm.subject_digest_held", "staffdm.subject_digest_stopped")[:: 1 if held else -1]
    subject = t(key, lang)
    assert rendered.text.startswith(subject) and t(other, lang) not in rendered.text
    assert not subject.startswith("staffdm.") and subject != t(key, "en" if lang == "nl" else "nl")  # translated


@pytest.mark.parametrize("method", ["chat.postMessage", "conversations.info"])
def test_one_channels_no_permission_is_that_channels_refusal_not_the_passs(
    database: Database, emulator: SlackEmulator, method: str
) -> None:
    """Slack's ``no_permission`` concerns one conversation (the app is no member of it): the other channels of the
    pass are still asked and get their digest; that channel's post fails its week (as ``not_in_channel`` from a
    channel still subscribed, ``restricted_action``), as does its look-up's (recorded as the look-up's refusal); its
    subscription stays and staff are told of that channel, not that the app's configuration is wrong."""
    seed(database, *DUE)
    for channel in DUE:
        emulator.add_channel(channel, name=channel.lower())
    emulator.fail_next(method, error="no_permission", channel="C0DIGEST1", times=10)
    passes = Passes(
        database,
        create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})),
    )
    results = passes.run(NOW)
    assert {c: r.status for c, r in results.items()} == {
        "C0DIGEST1": SendStatus.FAILED,
        "C0DIGEST2": SendStatus.SENT,
        "C0DIGEST3": SendStatus.SENT,
    }
    assert [len(emulator.messages(c)) for c in DUE] == [0, 1, 1]
    # staff are told of that channel (its own refusal, once this week), never that the app is refused
    assert is_active(database, "C0DIGEST1")
    assert [(n.channel_id, n.method, n.refused, n.held) for n in notices(database)] == [
        ("C0DIGEST1", method, True, False)
    ]


def test_a_digest_channels_no_permission_at_the_look_up_fails_its_week_once_not_every_ten_minutes(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The look-up before the post refused with ``no_permission`` fails that channel's week, as its post would
    (recorded as the look-up's refusal, ``test_refusals_counted``): one ERROR, one notice to staff, and the passes
    of the rest of the week ask Slack nothing more about it."""
    seed(database, "C0DIGEST1")
    emulator.add_channel("C0DIGEST1", name="c0digest1")
    emulator.fail_next("conversations.info", error="no_permission", channel="C0DIGEST1", times=100)
    passes = Passes(
        database,
        create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})),
    )
    mark = emulator.call_count
    with caplog.at_level(logging.INFO):
        for minutes in range(0, 60 * 24, 11):  # a day of passes
            passes.run(NOW + timedelta(minutes=minutes))
    asked = [c for c in emulator.calls_to("conversations.info", since=mark) if c.params.get("channel") == "C0DIGEST1"]
    assert len(asked) == 1
    [said] = errors(caplog)
    assert "C0DIGEST1" in said and "no_permission" in said
    assert run_of(database, "C0DIGEST1").status is DigestRunStatus.FAILED and is_active(database, "C0DIGEST1")
    # staff told once (that channel's refusal, or the whole app's: a lone channel), not every pass
    assert [(n.channel_id, n.method, n.refused) for n in notices(database)] == [
        ("C0DIGEST1", "conversations.info", True)
    ]


def test_a_source_channels_no_permission_is_remembered_for_the_week(
    database: Database, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A source channel Slack will not tell about (``no_permission``) is left out, as before, and not asked again
    in the week's later passes; the next week asks again."""
    seed(database, *CHANNELS)
    with database.session() as s:
        add_question(s, "PUBLIEK uit C1SRC0001", created_at=IN_WEEK, channel_id="C1SRC0001")
    emulator.add_channel("C1SRC0001", name="c1src0001")
    emulator.fail_next("conversations.info", error="no_permission", channel="C1SRC0001", times=100)
    # C0DIGEST2's post fails on Slack's side once, so a later pass has its digest due again
    emulator.fail_next("chat.postMessage", error="internal_error", channel="C0DIGEST2", times=1)
    passes = Passes(
        database,
        create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})),
    )

    def asked_about_source(since: int) -> int:
        calls = emulator.calls_to("conversations.info", since=since)
        return sum(1 for c in calls if c.params.get("channel") == "C1SRC0001")

    mark = emulator.call_count
    first = passes.run(NOW)
    assert first["C0DIGEST1"].status is SendStatus.SENT and first["C0DIGEST2"].status is SendStatus.RETRY
    assert asked_about_source(mark) == 1
    mark = emulator.call_count
    again = passes.run(NOW + timedelta(minutes=11))
    assert again["C0DIGEST2"].status is SendStatus.SENT  # its digest went out, the channel still left out
    assert asked_about_source(mark) == 0
    for channel in CHANNELS:
        assert "PUBLIEK uit C1SRC0001" not in str(emulator.messages(channel))
    mark = emulator.call_count
    passes.run(NOW + timedelta(days=7))  # a new week: asked again
    assert asked_about_source(mark) == 1


def test_a_missing_read_scope_stops_the_look_ups_of_that_kind_of_channel_only(
    database: Database, emulator: SlackEmulator
) -> None:
    """``conversations.info`` needs ``channels:read`` for a public channel and ``groups:read`` for a private one:
    without ``groups:read`` the pass stops asking about the channels the database knows are private (they stay
    private), and goes on asking about the public ones — the source channels and the digest channels before each
    post — so the week's digests go out with the public channels' questions."""
    seed(database, *CHANNELS)
    with database.session() as s:
        add_question(s, "PUBLIEK uit C1SRC0001", created_at=IN_WEEK, channel_id="C1SRC0001")
        for channel in ("C1PRIV001", "C1PRIV002"):  # once public, now private: the database knows it
            add_question(s, f"PUBLIEK uit {channel}", created_at=IN_WEEK, channel_id=channel)
            add_question(s, f"PRIVE uit {channel}", created_at=IN_WEEK, channel_id=channel, channel_is_private=True)
    emulator.add_channel("C1SRC0001", name="c1src0001")
    for channel in ("C1PRIV001", "C1PRIV002"):
        emulator.add_channel(channel, name=channel.lower(), is_private=True)
    emulator.set_bot_scopes(["chat:write", "channels:read"])  # groups:read not granted
    passes = Passes(
        database,
        create_web_client(load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})),
    )
    mark = emulator.call_count
    results = passes.run(NOW)
    assert {c: r.status for c, r in results.items()} == dict.fromkeys(CHANNELS, SendStatus.SENT)
    asked = [c.params.get("channel") for c in emulator.calls_to("conversations.info", since=mark)]
    assert asked.count("C1SRC0001") == 1 and all(asked.count(c) == 1 for c in CHANNELS)
    assert asked.count("C1PRIV001") + asked.count("C1PRIV002") == 1  # the first refusal; the other not asked
    for channel in CHANNELS:
        posted = str(emulator.messages(channel))
        assert "PUBLIEK uit C1SRC0001" in posted
        assert "C1PRIV" not in posted and "PUBLIEK uit C1PRIV" not in posted
    [notice] = notices(database)
    assert (notice.reason, notice.needed) == ("missing_scope", "groups:read")


def test_a_look_up_refused_for_one_kind_is_refused_for_a_channel_of_unknown_kind_only_when_both_are() -> None:
    refusals = OperatorRefusals()
    refusals.refused(error="missing_scope", needed="groups:read", method=INFO, channel_id="C1PRIV001")
    assert refusals.refusing(INFO, private=True) == ("missing_scope", "groups:read")
    assert refusals.refusing(INFO, private=False) is None and refusals.refusing(INFO) is None
    assert refusals.refusing_look_up(lambda: None) is None
    refusals.refused(error="missing_scope", needed="channels:read", method=INFO, channel_id="C1SRC0001")
    assert refusals.refusing(INFO, private=False) == ("missing_scope", "channels:read")
    assert refusals.refusing(INFO) is not None and refusals.refusing_look_up(lambda: None) is not None
    assert refusals.refusing("chat.postMessage") is None  # another method is still asked
