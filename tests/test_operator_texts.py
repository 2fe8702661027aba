"""The command line says every refused setting, the warnings about settings, why a file cannot be written and the
digest's refusals in the operator's language (``WIEWEET_LANGUAGE``, Dutch unless set), without a secret."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.config import environment_language, read_settings, unknown_settings
from bot.errors import Problem, WieweetError
from bot.files import check_folder, replace_file
from bot.operator_texts import operator_text, settings_text
from bot.setting_values import normalise_database_url
from handlers.slack_settings import settings_problems

BOT_TOKEN = "xoxb-1234-5678-S3cretT0kenValue"
SECRET = "f00dfeedf00dfeedf00dfeedf00dfeed"


def only_problem(environ: dict[str, str]) -> Problem:
    _, problems = read_settings(environ)
    assert len(problems) == 1, problems
    assert isinstance(problems[0], Problem), problems
    return problems[0]


# (the environment, what the Dutch line says, what the English line says): one case per family of refusal
SETTINGS = [
    ({"WIEWEET_STAFF_USER_IDS": "@anna"}, "moet Slack-gebruikers-id's opsommen", "must list Slack user ids"),
    ({"WIEWEET_JOB_INTERVAL": "soon"}, "moet een aantal seconden zijn, niet 'soon'", "number of seconds, not 'soon'"),
    ({"WIEWEET_JOB_INTERVAL": "0"}, "WIEWEET_JOB_INTERVAL moet meer dan 0 seconden zijn", "more than 0 seconds"),
    ({"WIEWEET_SEMANTIC": "maybe"}, "moet true of false zijn", "must be true or false"),
    ({"WIEWEET_GAP_LEVELS": "x"}, "moet register of off zijn, niet 'x'", "must be register or off, not 'x'"),
    ({"WIEWEET_RECONFIRM_DAYS": "soon"}, "een geheel aantal dagen zijn", "a whole number of days, not 'soon'"),
    ({"WIEWEET_RECONFIRM_DAYS": "0"}, "moet minstens 1 dag zijn", "must be at least 1 day"),
    ({"WIEWEET_MAX_BODY_BYTES": "10"}, "minstens 4.096 bytes", "at least 4,096 bytes"),
    ({"WIEWEET_HTTP_TIMEOUT": "601"}, "mag hoogstens 600 seconden zijn", "must be at most 600 seconds"),
    ({"WIEWEET_TIMEZONE": "Mars/Base"}, "naam van een IANA-tijdzone", "an IANA time zone name"),
    ({"WIEWEET_EXTRA_HOLIDAYS": "11 juli"}, "geen dag: '11', 'juli'", "not a day: '11', 'juli'"),
    ({"WIEWEET_EXTRA_HOLIDAYS": "none,07-11"}, "samen met jaarlijkse dagen (07-11)", "together with yearly days"),
    ({"SLACK_API_URL": "ftp://x/api"}, "moet een http(s)://-URL zijn", "must be an http(s):// URL"),
    ({"SLACK_API_URL": "http://slack.com/api/"}, "onversleuteld", "would travel unencrypted"),
    ({"WIEWEET_TRIAGE_CHANNEL": "#triage"}, "kanaal-id zijn zoals C0123ABCD", "a channel id such as C0123ABCD"),
    ({"WIEWEET_STAFF_USERGROUP": "@staff"}, "id van een Slack-gebruikersgroep", "one Slack user group id"),
    ({"WIEWEET_NEEDS_SIMILARITY": "x"}, "een getal tussen 0 en 1 zijn", "a number between 0 and 1"),
    ({"WIEWEET_NEEDS_SIMILARITY": "1.5"}, "tussen 0 en 1 liggen", "between 0 and 1 (exclusive)"),
    ({"WIEWEET_ALLOWED_TEAMS": "acme"}, "moet Slack-team-id's opsommen", "must list Slack team ids"),
    ({"WIEWEET_DATABASE_URL": "mysql://db/w"}, "sqlite:///- of postgresql://-URL zijn", "a sqlite:/// or"),
    ({"WIEWEET_DATABASE_URL": "postgresql://u@db:5x/w"}, "poort die geen getal is", "port that is not a number"),
    ({"WIEWEET_DATABASE_URL": "sqlite://./w.db"}, "drie schuine strepen", "takes three slashes"),
    ({"WIEWEET_DATABASE_URL": ":memory:"}, "in het geheugen", "in memory, which keeps nothing"),
    ({"WIEWEET_DATABASE_URL": "host:5432/db"}, "ook geen bestandspad", "nor a file path"),
    ({"WIEWEET_DATABASE_URL": " "}, "WIEWEET_DATABASE_URL is leeg", "WIEWEET_DATABASE_URL is empty"),
    ({"SLACK_APP_ID": "my-app"}, "moet een app-id zijn zoals A0123ABCDE", "must be an app id such as A0123ABCDE"),
]


@pytest.mark.parametrize(("environ", "dutch", "english"), SETTINGS, ids=lambda v: str(v)[:40])
def test_each_refused_setting_in_both_languages(environ: dict[str, str], dutch: str, english: str) -> None:
    problem = only_problem(environ)
    assert dutch in operator_text(problem, "nl"), operator_text(problem, "nl")
    assert english in operator_text(problem, "en"), operator_text(problem, "en")
    assert problem.startswith(next(iter(environ))) or problem.startswith("WIEWEET_DATABASE_URL")  # English stays


@pytest.mark.parametrize(
    ("url", "dutch", "english"),
    [
        ("postgresql://u@db/w?sslmod=require", "bedoel je sslmode?", "; did you mean sslmode?"),
        ("postgresql://u@db/w?foo=1&bar=2", "'foo' (en nog 1), die PostgreSQL niet kent", "'foo' (and 1 more)"),
        ("postgresql://u@db/w?autocommit=false", "een argument van het stuurprogramma psycopg", "psycopg driver"),
        ("postgresql://u@db/w?plugin=nope", "de SQLAlchemy-plugin 'nope'", "the SQLAlchemy plugin 'nope'"),
        ("postgresql://u@db/w?plugins=x", "noem elke plugin met ?plugin=NAAM", "name each plugin with ?plugin=NAME"),
        ("postgresql:/u@db/w", "ook geen bestandspad", "nor a file path"),
    ],
)
def test_a_refused_database_url_in_both_languages(url: str, dutch: str, english: str) -> None:
    with pytest.raises(WieweetError) as refused:
        normalise_database_url(url, source="--database")
    line = refused.value.args[0]
    assert dutch in operator_text(line, "nl") and operator_text(line, "nl").startswith("--database ")
    assert english in operator_text(line, "en")


class Slack:
    """The Slack settings of ``settings_problems``: valid ones unless given (an empty one: not set)."""

    def __init__(self, **values: str) -> None:
        self.slack_bot_token = values.get("bot", BOT_TOKEN) or None
        self.slack_app_token = values.get("app", "xapp-1-A0123-4567-abc") or None
        self.slack_signing_secret = values.get("secret", SECRET) or None


@pytest.mark.parametrize(
    ("values", "http", "dutch", "english"),
    [
        ({"bot": ""}, False, "stel SLACK_BOT_TOKEN in op het bot-token", "set SLACK_BOT_TOKEN to the app's bot token"),
        ({"app": ""}, False, "stel SLACK_APP_TOKEN in op een token op app-niveau", "set SLACK_APP_TOKEN"),
        ({"secret": ""}, True, "stel SLACK_SIGNING_SECRET in", "set SLACK_SIGNING_SECRET"),
        ({"bot": "xoxp-1-2"}, True, "moet een bot-token zijn dat begint met xoxb-", "must be a bot token starting"),
        ({"bot": f"Bearer {BOT_TOKEN}"}, True, 'begint met "Bearer "', 'starts with "Bearer "'),
        ({"bot": f"MY {BOT_TOKEN}"}, True, "3 tekens voor xoxb-", "3 characters before xoxb-"),
        ({"bot": "xoxb-"}, True, "gevolgd door de rest van het token", "followed by the rest of the token"),
        ({"bot": f'"{BOT_TOKEN}"'}, True, "staat tussen aanhalingstekens", "is in quotes"),
        ({"bot": f'"{BOT_TOKEN}"'}, True, "(xoxb-…) zonder die aanhalingstekens", "(xoxb-…) without them"),
        ({"bot": f"{BOT_TOKEN} {BOT_TOKEN}"}, True, "1 spatie of tab naast", "1 space or tab besides"),
        ({"bot": f"{BOT_TOKEN}\n"}, True, "1 regeleinde naast de letters", "1 line break besides"),
        ({"bot": f"{BOT_TOKEN}\n\n"}, True, "2 regeleinden naast de letters", "2 line breaks besides"),
        ({"bot": f"'{BOT_TOKEN}'!?"}, True, "2 aanhalingstekens, 2 andere tekens", "2 quotes, 2 other characters"),
        ({"bot": f"{BOT_TOKEN}!"}, True, "1 ander teken naast", "1 other character besides"),
        ({"bot": BOT_TOKEN, "app": "xoxb-1"}, False, "een token op app-niveau zijn dat begint met xapp-", "xapp-"),
        ({"bot": BOT_TOKEN, "secret": SECRET[:10]}, True, "te kort (10 tekens)", "too short (10 characters)"),
        ({"bot": BOT_TOKEN, "secret": SECRET[:1]}, True, "te kort (1 teken);", "too short (1 character);"),
        ({"bot": BOT_TOKEN, "secret": SECRET + " "}, True, "1 teken dat geen letter", "1 character other"),
        ({"bot": BOT_TOKEN, "secret": f" {SECRET} "}, True, "2 tekens die geen letter", "2 characters other"),
    ],
)
def test_each_refused_slack_setting_in_both_languages_without_the_secret(
    values: dict[str, str], http: bool, dutch: str, english: str
) -> None:
    [problem] = settings_problems(Slack(**values), http=http)  # type: ignore[arg-type]
    said = {lang: operator_text(problem, lang) for lang in ("nl", "en")}
    assert dutch in said["nl"] and english in said["en"], said
    for text in (*said.values(), str(problem)):
        assert "S3cretT0ken" not in text and SECRET[:10] not in text


def test_several_refused_settings_are_counted_in_the_language() -> None:
    _, problems = read_settings({"WIEWEET_SEMANTIC": "maybe", "WIEWEET_JOB_INTERVAL": "soon"})
    assert settings_text(tuple(problems), "nl").startswith("2 instellingen om te verbeteren:\n  - ")
    assert settings_text(tuple(problems), "en").startswith("2 settings to fix:\n  - ")


def test_a_misspelt_setting_is_warned_about_in_both_languages() -> None:
    close, unknown = unknown_settings({"WIEWEET_TIMEZON": "x", "WIEWEET_WHATEVER": "y"})
    assert (
        operator_text(close, "nl")
        == "WIEWEET_TIMEZON is geen instelling van wieweet en wordt genegeerd (bedoel je WIEWEET_TIMEZONE?)"
    )
    assert operator_text(unknown, "en") == "WIEWEET_WHATEVER is not a wieweet setting and is ignored"


def wieweet(tmp_path: Path, *args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'w.db'}", *args], env=env)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("", "error: WIEWEET_SEMANTIC moet true of false zijn (of 1/0, yes/no, on/off), niet 'maybe'"),
        ("en-GB", "error: WIEWEET_SEMANTIC must be true or false (also 1/0, yes/no, on/off), not 'maybe'"),
    ],
)
def test_the_command_line_refuses_a_setting_in_the_operators_language(
    tmp_path: Path, language: str, expected: str
) -> None:
    result = wieweet(tmp_path, "themes", "list", env={"WIEWEET_SEMANTIC": "maybe", "WIEWEET_LANGUAGE": language})
    assert result.exit_code == 2 and result.output.strip() == expected, result.output


def test_a_language_that_is_none_is_said_in_dutch_and_english(tmp_path: Path) -> None:
    assert environment_language({"WIEWEET_LANGUAGE": "fr"}) == "nl" and environment_language({}) == "nl"
    assert environment_language({"WIEWEET_LANGUAGE": "EN"}) == "en"
    result = wieweet(tmp_path, "themes", "list", env={"WIEWEET_LANGUAGE": "fr", "WIEWEET_TIMEZON": "x"})
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "warning: WIEWEET_TIMEZON is geen instelling van wieweet en wordt genegeerd (bedoel je WIEWEET_TIMEZONE?)",
        "error: WIEWEET_LANGUAGE moet 'nl' of 'en' zijn (hoofdletters mogen; een regio zoals en-GB ook), niet 'fr' / "
        "WIEWEET_LANGUAGE must be 'nl' or 'en' (any case; a region such as en-GB allowed), not 'fr'",
    ]


def test_a_refused_setting_never_shows_a_secret(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": f'"{BOT_TOKEN}"',
        "SLACK_SIGNING_SECRET": SECRET + "\n",
        "WIEWEET_STAFF_USER_IDS": BOT_TOKEN,  # a token pasted into the wrong variable: masked where it is quoted
        "WIEWEET_DATABASE_URL": "postgresql://wieweet:Pa55word@db/w?sslmod=require",
    }
    for language in ("nl", "en"):
        result = wieweet(tmp_path, "run", "--http", env={**env, "WIEWEET_LANGUAGE": language})
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "S3cretT0ken" not in result.output and SECRET not in result.output and "Pa55word" not in result.output
        assert "WIEWEET_STAFF_USER_IDS" in result.output and "SLACK_SIGNING_SECRET" in result.output


@pytest.mark.parametrize("language", ["nl", "en"])
def test_why_a_file_cannot_be_written_in_both_languages(
    tmp_path: Path, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = {"nl": ("bestaat niet", "is geen map", "is een map; geef een bestandsnaam"), "en": ()}
    said["en"] = ("does not exist", "is not a folder", "is a folder; give a file name")
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    for path, text in zip(
        (tmp_path / "no" / "r.csv", tmp_path / "plain" / "r.csv", tmp_path), said[language], strict=True
    ):
        with pytest.raises(WieweetError) as refused:
            check_folder(path)
        assert text in operator_text(refused.value.args[0], language)

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, f"No space left on device {BOT_TOKEN}")  # a system text is masked too

    monkeypatch.setattr("bot.files.os.fsync", full)
    with pytest.raises(WieweetError) as failed:
        replace_file(tmp_path / "r.csv", b"x")
    line = operator_text(failed.value.args[0], language)
    reason = {"nl": "de schijf is vol; melding: No space left on device", "en": "the disk is full; message: No space"}
    assert reason[language] in line and "S3cretT0ken" not in line, line


@pytest.mark.parametrize(
    ("language", "not_subscribed", "no_token"),
    [
        ("nl", "'C0NOPE001' heeft geen actief abonnement op het weekoverzicht", "stel SLACK_BOT_TOKEN in op het"),
        ("en", "'C0NOPE001' has no active digest subscription", "set SLACK_BOT_TOKEN to the app's bot token"),
    ],
)
def test_the_digests_refusals_in_both_languages(
    tmp_path: Path, language: str, not_subscribed: str, no_token: str
) -> None:
    env = {"WIEWEET_LANGUAGE": language, "SLACK_BOT_TOKEN": ""}
    assert wieweet(tmp_path, "db", "upgrade", env=env).exit_code == 0
    result = wieweet(tmp_path, "digest", "unsubscribe", "--channel", "C0NOPE001", env=env)
    assert result.exit_code == 2 and result.output.strip() == f"error: {not_subscribed}", result.output
    result = wieweet(tmp_path, "digest", "--send-due", env=env)
    assert result.exit_code == 2 and no_token in result.output, result.output
    result = wieweet(tmp_path, "register", "check-slack", env=env)
    assert result.exit_code == 2 and no_token in result.output, result.output
