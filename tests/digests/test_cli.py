"""``wieweet digest``: dry-run previews, subscriptions, and sending what is due through the Slack emulator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli.digest_cmds import SEND_FAILED, describe_send, send_failed
from bot.config import load_settings
from digests.sender import SendResult, SendStatus
from handlers.app import create_web_client
from handlers.blocks.digest import DigestLimits
from handlers.digest_post import send_digest, slack_permalink, slack_post
from storage.db import Database
from storage.models import Availability, DigestRunStatus, Visibility
from tests.digests.conftest import (
    add_expert,
    add_gap,
    add_practice,
    add_question,
    local,
    seed_themes,
)
from tests.emulator import SlackEmulator

NOW_ARG = "--now=2026-11-25T12:00:00+01:00"  # Wednesday of week 48
ENGLISH = {"WIEWEET_LANGUAGE": "en"}  # an operator whose WIEWEET_LANGUAGE is English (Dutch unless set)


def wieweet(database_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--database", database_url, *args], env=env, catch_exceptions=False)


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.session() as s:
        seed_themes(s)
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        bo = add_expert(s, "Bo Afgemeld", slack="U0BO", availability=Availability.OPTED_OUT)
        add_practice(s, "Leegstandsheffing op winkelpanden", city="Kortrijk", url="https://www.kortrijk.be/leegstand")
        add_practice(s, "EFRO-aanvraag met vijf steden", themes=["europa"])
        add_question(
            s,
            "Wie kent een goede aanpak voor <!channel> huurpremies?",
            answered_at=local(2026, 11, 19, 15),
            answers=[(an, "An Peeters", "U0AN"), (bo, "Bo Afgemeld", "U0BO")],
        )
        add_question(s, "Geheime vraag", visibility=Visibility.PRIVATE)
        add_question(s, "Wie helpt met een Urbact-dossier?", themes=["europa"])
        add_gap(s, "tijdelijke wonen in kerken")  # one person, twice: counted, not quoted
        add_gap(s, "tijdelijke wonen in kerken", asker="U0ONCE")
        add_gap(s, "tijdelijke wonen in kerken", asker="U0ONCE")
        add_gap(s, "Wie weet iets over leegstand in kerkgebouwen?")
        add_gap(s, "Wie weet iets over leegstand in kerkgebouwen?")
    return database


def test_help_texts_have_examples() -> None:
    runner = CliRunner()
    for args in (
        ["digest", "--help"],
        ["digest", "subscribe", "--help"],
        ["digest", "unsubscribe", "--help"],
        ["digest", "list", "--help"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, args
        assert "Examples:" in result.output and "wieweet digest" in result.output, args


def test_dry_run_without_subscription(seeded: Database) -> None:
    result = wieweet(seeded.url, "digest", "--channel", "C0WONEN02", "--week", "2026-W48", "--dry-run", NOW_ARG)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Weekoverzicht wieweet · 16 nov – 23 nov 2026" in out
    assert "Wonen en woonbeleid" in out and "Europa en EU-financiering" in out
    assert "Leegstandsheffing op winkelpanden (https://www.kortrijk.be/leegstand) — Kortrijk" in out
    assert "beantwoord door An Peeters en een collega" in out
    assert "Dank je wel, An Peeters en een collega, voor de antwoorden deze week!" in out
    assert "Wie helpt met een Urbact-dossier?" in out and "[Ik kan helpen]" in out
    assert "“tijdelijke wonen in kerken” — 2×" in out  # two people (one asked twice)
    assert "“leegstand in kerkgebouwen” — 2×" in out and "Wie weet iets over" not in out  # the topic, not the query
    assert "Geheime vraag" not in out and "U0BO" not in out and "Bo Afgemeld" not in out
    # Text output names people; Slack ids and the preview's channel are for Slack only.
    assert re.search(r"\b[UW]0[A-Z0-9]+\b", out) is None and "@" not in out
    assert "C0WONEN02" not in out and "CPREVIEW" not in out and "dry run" not in out
    assert result.stderr.strip() == (  # the operator's language (WIEWEET_LANGUAGE): Dutch unless set
        "proefrit, er is niets gepost: 2026-W48, 2026-11-16 09:00 – 2026-11-23 09:00 Brussels, "
        "zoals voor kanaal C0WONEN02, 1 bericht"
    )
    args = ("digest", "--channel", "C0WONEN02", "--week", "2026-W48", "--dry-run", NOW_ARG)
    english = wieweet(seeded.url, *args, env=ENGLISH)
    assert "dry run" not in english.stdout
    assert english.stderr.strip() == (
        "dry run, nothing posted: 2026-W48, 2026-11-16 09:00 – 2026-11-23 09:00 Brussels, "
        "as for channel C0WONEN02, 1 message"
    )


def test_dry_run_without_channel_names_no_channel(seeded: Database) -> None:
    result = wieweet(seeded.url, "digest", "--week", "2026-W48", "--dry-run", NOW_ARG)
    assert result.exit_code == 0, result.output
    assert "CPREVIEW" not in result.output and "U0AN" not in result.output
    assert "An Peeters" in result.stdout and "alle thema's, 1 bericht" in result.stderr
    # Block Kit for Slack (--json) keeps the mention: Slack shows it as the person's name.
    raw = wieweet(seeded.url, "digest", "--week", "2026-W48", "--dry-run", "--json", NOW_ARG)
    assert "<@U0AN>" in raw.stdout and "An Peeters" not in raw.stdout


def test_dry_run_options(seeded: Database) -> None:
    english = wieweet(
        seeded.url,
        "digest",
        "--week",
        "2026-W48",
        "--dry-run",
        "--lang",
        "en",
        "--themes",
        "Europe and EU funding",
        NOW_ARG,
    )
    assert english.exit_code == 0, english.output
    assert "wieweet weekly digest · 16 Nov – 23 Nov 2026" in english.output
    assert "Europe and EU funding" in english.output and "Housing" not in english.output
    assert "I can help" in english.output
    raw = wieweet(seeded.url, "digest", "--week", "2026-W48", "--dry-run", "--json", NOW_ARG)
    messages = json.loads(raw.output)
    assert isinstance(messages, list) and messages[0][0]["type"] == "header"
    assert "&lt;!channel&gt;" in raw.output and "<!channel>" not in raw.output
    quiet = wieweet(seeded.url, "digest", "--week", "2026-W40", "--dry-run", NOW_ARG)
    assert quiet.exit_code == 0 and "Een rustige week" in quiet.output


def test_dry_run_uses_the_channel_subscription(seeded: Database) -> None:
    assert (
        wieweet(
            seeded.url,
            "digest",
            "subscribe",
            "--channel",
            "C0EU00001",
            "--themes",
            "europa",
            "--lang",
            "en",
            "--day",
            "wed",
            "--time",
            "11:00",
        ).exit_code
        == 0
    )
    result = wieweet(seeded.url, "digest", "--channel", "C0EU00001", "--week", "2026-W48", "--dry-run", NOW_ARG)
    assert result.exit_code == 0, result.output
    assert "Europe and EU funding" in result.output and "Housing" not in result.output
    assert "Every Wednesday at 11:00" in result.output
    assert "2026-11-18 11:00 – 2026-11-25 11:00 Brussels" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["digest", "--week", "2026-48", "--dry-run"], "ongeldige week '2026-48'"),
        (["digest", "--week", "2025-W53", "--dry-run"], "2025-W53 is geen ISO-week"),
        # the calendar's ends: the week after (its end) is no date; was an OverflowError
        (["digest", "--week", "9999-W52", "--dry-run"], "ongeldige week '9999-W52': het jaar moet tussen 1900 en 8999"),
        (["digest", "--week", "0001-W01", "--dry-run"], "ongeldige week '0001-W01': het jaar moet tussen 1900 en 8999"),
        (["digest", "--themes", "wonnen", "--dry-run"], "onbekend thema 'wonnen' (bedoel je 'wonen'?)"),
        (["digest", "--channel", "#wonen", "--dry-run"], "ongeldige Slack-kanaal-id '#wonen'"),
        # a name is not an id: upper-casing it made "cultuur" the id CULTUUR, a subscription that never posts
        (["digest", "subscribe", "--channel", "cultuur"], "de id van het kanaal, niet de naam"),
        (["digest", "subscribe", "--channel", "general"], "de id van het kanaal, niet de naam"),
        (["digest", "--channel", "general", "--dry-run"], "de id van het kanaal, niet de naam"),
        (["digest", "subscribe", "--channel", "c0eu"], "de id van het kanaal, niet de naam"),
        # a name typed in capitals has an id's letters but no digit, or too few characters
        (["digest", "subscribe", "--channel", "GENERAL"], "de id van het kanaal, niet de naam"),
        (["digest", "subscribe", "--channel", "RANDOM"], "de id van het kanaal, niet de naam"),
        (["digest", "subscribe", "--channel", "CULTUUR-NEWS"], "de id van het kanaal, niet de naam"),
        (["digest", "--channel", "GEMEENTEN", "--dry-run"], "de id van het kanaal, niet de naam"),
        (["digest", "subscribe", "--channel", "C0X000001", "--time", "25:00"], "ongeldig tijdstip '25:00'"),
        (["digest", "subscribe", "--channel", "C0X000001", "--day", "lundi"], "onbekende dag 'lundi'"),
        (["digest", "subscribe", "--channel", "C0X000001", "--themes", "sport"], "onbekend thema 'sport'"),
        # WIEWEET_LANGUAGE: nl (default); both languages in tests/test_operator_texts.py
        (["digest", "unsubscribe", "--channel", "C0NOPE001"], "'C0NOPE001' heeft geen actief abonnement"),
        (["digest", "--send-due"], "stel SLACK_BOT_TOKEN in"),
    ],
)
def test_clear_errors(seeded: Database, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["--database", seeded.url, *args], env={"SLACK_BOT_TOKEN": ""})
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_subscribe_list_unsubscribe(seeded: Database) -> None:
    added = wieweet(
        seeded.url,
        "digest",
        "subscribe",
        "--channel",
        "C0WONEN02",
        "--themes",
        "wonen,europa",
        "--day",
        "fri",
        "--time",
        "16:30",
        "--post-empty",
    )
    assert added.exit_code == 0, added.output
    assert "C0WONEN02 geabonneerd op wonen, europa: elke vrijdag 16:30 Brussels (nl); volgende digest 2026-" in (
        added.output
    )
    private = wieweet(seeded.url, "digest", "subscribe", "--channel", "G0PRIV001", "--private", env=ENGLISH)
    assert "subscribed G0PRIV001 to all themes: every Monday 09:00 Brussels (en); next digest 2026-" in private.output
    listed = wieweet(seeded.url, "digest", "list")
    assert listed.output.splitlines()[0].split() == [
        "kanaal",
        "thema's",
        "schema",
        "taal",
        "leeg",
        "actief",
        "volgende",
        "(Brussels)",
        "vorige",
    ]
    rows = {line.split()[0]: line.split() for line in listed.output.splitlines()[1:-1]}
    assert rows["C0WONEN02"] == ["C0WONEN02", "wonen,europa", "vr", "16:30", "nl", "ja", "ja", *rows["C0WONEN02"][7:]]
    assert rows["G0PRIV001"][:7] == ["G0PRIV001", "alle", "ma", "09:00", "en", "nee", "ja"]
    assert listed.output.splitlines()[-1] == "2 abonnementen"
    english = wieweet(seeded.url, "digest", "list", env=ENGLISH)
    assert english.output.splitlines()[0].split() == [
        "channel",
        "themes",
        "schedule",
        "lang",
        "empty",
        "active",
        "next",
        "run",
        "(Brussels)",
        "last",
        "run",
    ]
    assert "C0WONEN02      wonen,europa                 Fri 16:30  nl   yes   yes" in english.output
    assert "G0PRIV001      all                          Mon 09:00  en   no    yes" in english.output
    assert english.output.splitlines()[-1] == "2 subscriptions"
    removed = wieweet(seeded.url, "digest", "unsubscribe", "--channel", "C0WONEN02")
    assert removed.exit_code == 0 and removed.output.strip() == "abonnement van C0WONEN02 stopgezet"
    assert wieweet(seeded.url, "digest", "list").output.splitlines()[-1] == "1 abonnement"
    assert wieweet(seeded.url, "digest", "list", "--all", env=ENGLISH).output.splitlines()[-1] == "2 subscriptions"
    again = wieweet(seeded.url, "digest", "unsubscribe", "--channel", "G0PRIV001", env=ENGLISH)
    assert again.output.strip() == "unsubscribed G0PRIV001"
    assert wieweet(seeded.url, "digest", "list", env=ENGLISH).output.splitlines()[-1] == "0 subscriptions"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-digest-test")
    emu.start()
    emu.add_channel("C0DIGEST1", name="wonen")
    emu.add_channel("C0GONE001", name="gone", bot_is_member=False)
    yield emu
    emu.stop()


def test_send_due_through_the_slack_emulator(seeded: Database, emulator: SlackEmulator) -> None:
    with seeded.session() as s:
        for i in range(120):  # enough to need several messages
            add_practice(s, f"Praktijk {i:03d} " + "met een lange titel " * 8, themes=["klimaat"])
    for channel in ("C0DIGEST1", "C0GONE001"):
        assert wieweet(seeded.url, "digest", "subscribe", "--channel", channel).exit_code == 0
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", NOW_ARG, env=env)
    assert sent.exit_code == 1, sent.output  # a digest failed: cron's monitor sees it without reading the lines
    # in the operator's language (Dutch unless set), the status code first, in brackets, for scripts
    assert "C0DIGEST1 2026-W48 [sent] verstuurd (" in sent.output
    assert "C0GONE001 2026-W48 [failed] mislukt (" in sent.output and "not_in_channel" in sent.output
    posted = emulator.messages("C0DIGEST1")
    assert len(posted) >= 1
    assert all(len(m["blocks"]) <= 50 for m in posted)
    assert posted[0]["text"].startswith("Weekoverzicht wieweet 16 nov – 23 nov 2026")
    everything = json.dumps([m["blocks"] for m in posted], ensure_ascii=False)
    assert "Leegstandsheffing op winkelpanden" in everything and "Geheime vraag" not in everything
    assert "<!channel>" not in everything and "U0BO" not in everything
    again = wieweet(seeded.url, "digest", "--send-due", NOW_ARG, env=env)
    assert again.output.strip() == "geen digests te versturen"
    assert wieweet(seeded.url, "digest", "--send-due", NOW_ARG, env=env | ENGLISH).output.strip() == "no digests due"
    assert len(emulator.messages("C0DIGEST1")) == len(posted)
    listed = wieweet(seeded.url, "digest", "list")
    assert f"2026-W48 verstuurd (sent) ({len(posted)}/{len(posted)})" in listed.output
    english = wieweet(seeded.url, "digest", "list", env=ENGLISH)
    assert f"2026-W48 sent ({DigestRunStatus.SENT.value}) ({len(posted)}/{len(posted)})" in english.output


def test_send_due_exits_0_when_a_digest_is_only_tried_again_later(seeded: Database, emulator: SlackEmulator) -> None:
    emulator.add_channel("C0DIGEST2", name="klimaat")
    for channel in ("C0DIGEST1", "C0DIGEST2"):
        assert wieweet(seeded.url, "digest", "subscribe", "--channel", channel).exit_code == 0
    emulator.fail_next("chat.postMessage", error="no_permission", times=100)  # the token's refusal: stays due
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url}
    sent = wieweet(seeded.url, "digest", "--send-due", NOW_ARG, env=env)
    assert sent.exit_code == 0, sent.output  # nothing failed: the next pass tries again
    lines = sent.output.splitlines()
    assert len(lines) == 2 and all(" [retry] wordt later opnieuw geprobeerd (" in line for line in lines), lines
    english = wieweet(seeded.url, "digest", "--send-due", "--now=2026-11-25T12:30:00+01:00", env=env | ENGLISH)
    assert english.exit_code == 0 and english.output.count(" [retry] to be tried again later (") == 2, english.output


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("status", list(SendStatus), ids=str)
def test_every_send_status_is_said_in_words_after_its_code(status: SendStatus, lang: str) -> None:
    """One layout whatever ``WIEWEET_LANGUAGE`` is: channel, week, ``[code]``, then the words for a person."""
    line = describe_send(SendResult("C0DIGEST1", "2026-W48", status, 3, 1, error="boom"), lang)
    channel, period, code, rest = line.split(" ", 3)
    assert (channel, period, code) == ("C0DIGEST1", "2026-W48", f"[{status.value}]"), line  # awk's $3, any language
    assert rest.endswith(": boom") and re.search(r"\([13] (van|of) 3 ", rest), line
    if lang == "nl":
        assert status.value not in rest, line  # the words, never the bare code, after the code
    assert f"({status.value}" not in rest and f"[{status.value}]" not in rest, line  # no "failed (failed; …)"


README_FAILED_PATTERN = r"\[(failed|error)\]"  # what README tells a monitor to grep (grep -E)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_readmes_pattern_finds_exactly_the_failed_sends_in_both_languages(lang: str) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"grep -E '{README_FAILED_PATTERN}'" in readme
    found = {
        status
        for status in SendStatus
        if re.search(README_FAILED_PATTERN, describe_send(SendResult("C0DIGEST1", "2026-W48", status, 2, 0), lang))
    }
    assert found == SEND_FAILED == {SendStatus.FAILED, SendStatus.ERROR}


def test_send_due_fails_only_for_a_digest_that_failed() -> None:
    failing = {s for s in SendStatus if send_failed([SendResult("C0DIGEST1", "2026-W48", s)])}
    assert failing == {SendStatus.FAILED, SendStatus.ERROR}
    assert not send_failed([])


def test_long_digest_in_several_messages_is_accepted_by_slack(seeded: Database, emulator: SlackEmulator) -> None:
    with seeded.session() as s:
        for i in range(150):
            add_practice(s, f"Praktijk {i:03d} <b>&</b> " + "met een lange titel " * 8, themes=["klimaat", "wonen"])
    assert wieweet(seeded.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": emulator.api_url})
    client = create_web_client(settings)
    result = send_digest(
        seeded,
        channel_id="C0DIGEST1",
        period="2026-W48",
        now=local(2026, 11, 25, 12),
        worker_id="test",
        post=slack_post(client),
        permalink=slack_permalink(client),
        limits=DigestLimits(practices=1000),
    )
    assert result.status is SendStatus.SENT and result.parts_total >= 4, result
    posted = emulator.messages("C0DIGEST1")
    assert len(posted) == result.parts_total
    text = json.dumps([m["blocks"] for m in posted], ensure_ascii=False)
    assert all(f"Praktijk {i:03d} &lt;b&gt;&amp;&lt;/b&gt;" in text for i in range(150))
