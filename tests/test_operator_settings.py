"""What an operator is told about settings that make the bot unsafe or half-working: the Slack API reached without
TLS, a triage channel given by name, nobody who is staff, SQL echoed with private texts."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import load_settings, read_settings, settings_warnings
from storage.db import Database
from tests.factories import add_expert
from tests.test_cli_operator import SECRET, one_clear_line, wieweet

PRIVATE = "mijn vertrouwelijke vraag over jan@gent.be"
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")  # the start of a record's line


@pytest.mark.parametrize(
    "url", ["http://slack.example/api/", "http://10.0.0.5:8080/api/", "http://localhost.evil.example/api/"]
)
def test_the_slack_api_is_reached_over_https_except_on_this_machine(url: str) -> None:
    settings, problems = read_settings({"SLACK_API_URL": url})
    assert problems == [
        "SLACK_API_URL must be an https:// URL (http:// only to localhost, 127.0.0.1 or ::1, such as a local "
        "emulator): the bot token would travel unencrypted"
    ]
    assert settings.slack_api_url == "https://slack.com/api/"


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/api/", "http://127.0.0.1:5000/api/", "http://[::1]:5000/api/", "https://x.test/a/"]
)
def test_http_is_accepted_to_this_machine(url: str) -> None:
    assert load_settings({"SLACK_API_URL": url}).slack_api_url == url


@pytest.mark.parametrize("value", ["#triage", "triage", "C0TRI", "D0TRIAGE1", "c0triage1", "C0TRIAGE1,C0OTHER1"])
def test_a_triage_channel_that_is_not_a_channel_id_is_a_setting_to_fix(value: str) -> None:
    _, problems = read_settings({"WIEWEET_TRIAGE_CHANNEL": value, "WIEWEET_JOB_INTERVAL": "soon"})
    assert len(problems) == 2 and any("WIEWEET_JOB_INTERVAL" in problem for problem in problems)
    triage = [problem for problem in problems if problem.startswith("WIEWEET_TRIAGE_CHANNEL must be a channel id")]
    assert triage == [
        "WIEWEET_TRIAGE_CHANNEL must be a channel id such as C0123ABCD (the channel's details show it at the bottom), "
        f"not {value!r}"
    ]


@pytest.mark.parametrize("value", ["C0TRIAGE1", "G0123ABCD", " C0123ABCDEF "])
def test_a_channel_id_is_a_triage_channel(value: str) -> None:
    assert load_settings({"WIEWEET_TRIAGE_CHANNEL": value}).triage_channel_id == value.strip()


def test_run_lists_a_triage_channel_name_with_the_other_settings_to_fix(tmp_path: Path) -> None:
    env = {
        "WIEWEET_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1-operator",
        "SLACK_SIGNING_SECRET": SECRET,
        "WIEWEET_TRIAGE_CHANNEL": "#triage",
    }
    line = one_clear_line(wieweet("run", "--http", cwd=tmp_path, env=env), code=2)
    assert "WIEWEET_TRIAGE_CHANNEL must be a channel id" in line and "'#triage'" in line, line


def test_nobody_staff_and_no_triage_channel_are_warned_about() -> None:
    warnings = settings_warnings(load_settings({}))
    assert len(warnings) == 2
    assert warnings[0].startswith("neither WIEWEET_STAFF_USER_IDS nor WIEWEET_STAFF_USERGROUP is set: nobody is staff")
    assert "nobody can approve" in warnings[0]
    assert warnings[1].startswith("WIEWEET_TRIAGE_CHANNEL is not set: escalated questions")
    assert "Home tab" in warnings[1]
    assert settings_warnings(load_settings({"WIEWEET_STAFF_USERGROUP": "S0STAFF01"}))[0].startswith(
        "WIEWEET_TRIAGE_CHANNEL is not set"
    )
    configured = {"WIEWEET_STAFF_USER_IDS": "U0STAFF01", "WIEWEET_TRIAGE_CHANNEL": "C0TRIAGE1"}
    assert settings_warnings(load_settings(configured)) == []


def _echoed(database: Database, caplog: pytest.LogCaptureFixture, **options: bool) -> str:
    echoing = Database(database.url, echo=True, auto_upgrade=False, **options)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), echoing.session() as session:
            session.execute(text("SELECT :asked AS asked"), {"asked": PRIVATE})
    finally:
        echoing.dispose()
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)  # echo=True turned it to INFO
    return caplog.text


def test_echoed_sql_leaves_out_the_values_unless_asked(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    hidden = _echoed(database, caplog)
    assert "SELECT" in hidden and PRIVATE not in hidden and "parameters hidden" in hidden, hidden
    caplog.clear()
    assert PRIVATE in _echoed(database, caplog, echo_parameters=True)


def test_the_second_switch_is_read_from_the_environment() -> None:
    assert not load_settings({"WIEWEET_ECHO_SQL": "1"}).echo_sql_parameters
    both = load_settings({"WIEWEET_ECHO_SQL": "1", "WIEWEET_ECHO_SQL_PARAMETERS": "true"})
    assert both.echo_sql and both.echo_sql_parameters


def test_echoed_sql_is_logged_on_stderr_and_never_printed_into_a_commands_output(
    database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        email = add_expert(session, "Echo Expert", created_at=datetime(2026, 3, 2, tzinfo=UTC)).email
    env = {"WIEWEET_DATABASE_URL": database.url, "WIEWEET_ECHO_SQL": "true"}
    asked = wieweet("ask", "--json", "leegstand", cwd=tmp_path, env=env)
    assert asked.returncode == 0, asked.stderr
    assert [json.loads(line)["query"] for line in asked.stdout.splitlines()] == ["leegstand"]  # JSON Lines only
    exported = wieweet("export", "experts", "-", cwd=tmp_path, env=env)
    assert exported.returncode == 0 and "Echo Expert" in exported.stdout, exported.stderr
    assert "sqlalchemy" not in exported.stdout and "SELECT" not in exported.stdout, exported.stdout
    person = wieweet("privacy", "export", "--email", email, cwd=tmp_path, env=env)
    assert json.loads(person.stdout)["expert_profile"]["name"] == "Echo Expert", person.stderr
    for done in (asked, exported, person):  # the SQL is on stderr, one record a line (without -v too)
        assert " INFO sqlalchemy.engine.Engine: SELECT " in done.stderr, done.stderr
        others = [line for line in done.stderr.splitlines() if not LOG_RECORD.match(line)]  # the command's notes
        assert not [line for line in others if "sqlalchemy" in line or "FROM" in line], done.stderr
    assert "parameters hidden" in person.stderr and email not in person.stderr, person.stderr
    with_values = {**env, "WIEWEET_ECHO_SQL_PARAMETERS": "1"}
    shown = wieweet("privacy", "export", "--email", email, cwd=tmp_path, env=with_values)
    assert email in shown.stderr and json.loads(shown.stdout)["expert_profile"]["email"] == email, shown.stderr


@pytest.mark.parametrize("bad", ["@anna", "anna@gent.be", "u012ab3cd", "U0SPACE01 U0SPACE02", "<@U0STAFF03>"])
def test_a_staff_entry_that_is_no_slack_user_id_is_a_setting_to_fix_naming_only_it(bad: str) -> None:
    settings, problems = read_settings({"WIEWEET_STAFF_USER_IDS": f"U0STAFF01, {bad};W0STAFF09"})
    assert problems == [
        "WIEWEET_STAFF_USER_IDS must list Slack user ids such as U012AB3CD (a member's profile shows it under "
        f"'Copy member ID'), separated by commas, not {bad!r}"
    ]
    assert "U0STAFF01" not in problems[0] and "W0STAFF09" not in problems[0]
    assert settings.staff_user_ids == frozenset()  # nobody is staff until the list is fixed


def test_staff_user_ids_with_spaces_around_them_are_staff() -> None:
    settings = load_settings({"WIEWEET_STAFF_USER_IDS": " U0STAFF01 ,W0STAFF09; U0STAFF02 "})
    assert settings.staff_user_ids == {"U0STAFF01", "W0STAFF09", "U0STAFF02"}


@pytest.mark.parametrize(
    "bad", ["@staff", "staff", "s0staff01", "U0STAFF01", "S0STAFF01,S0STAFF02", "<!subteam^S0STAFF01>"]
)
def test_a_staff_usergroup_that_is_no_user_group_id_is_a_setting_to_fix(bad: str) -> None:
    settings, problems = read_settings({"WIEWEET_STAFF_USERGROUP": bad, "WIEWEET_STAFF_USER_IDS": "U0STAFF01"})
    assert problems == [
        "WIEWEET_STAFF_USERGROUP must be one Slack user group id such as S0123ABCD (the group's id, not its @handle "
        f"or name), not {bad!r}"
    ]
    assert settings.staff_usergroup_id is None  # no group is asked about until it is fixed


@pytest.mark.parametrize("value", ["S0STAFF01", " S0123ABCDEF "])
def test_a_user_group_id_is_the_staff_usergroup(value: str) -> None:
    assert load_settings({"WIEWEET_STAFF_USERGROUP": value}).staff_usergroup_id == value.strip()


BOOLEANS = {
    "WIEWEET_ECHO_SQL": "echo_sql",
    "WIEWEET_ECHO_SQL_PARAMETERS": "echo_sql_parameters",
    "WIEWEET_REQUIRE_CONSENT": "require_consent",
    "WIEWEET_EXPERT_APPROVAL": "expert_approval",
    "WIEWEET_SEMANTIC": "semantic",
    "WIEWEET_THEME_NAMES_ONCE": "theme_names_once",
}


@pytest.mark.parametrize("variable", sorted(BOOLEANS))
@pytest.mark.parametrize(
    ("value", "meant"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("Yes", True), ("on", True)],
        *[("false", False), ("0", False), ("no", False), ("OFF", False), (" False ", False)],
    ],
)
def test_every_boolean_setting_reads_the_same_words(variable: str, value: str, meant: bool) -> None:
    assert getattr(load_settings({variable: value}), BOOLEANS[variable]) is meant


@pytest.mark.parametrize("variable", sorted(BOOLEANS))
@pytest.mark.parametrize("value", ["ja", "2", "enabled", "y", "tru"])
def test_any_other_boolean_value_is_a_setting_to_fix(variable: str, value: str) -> None:
    _, problems = read_settings({variable: value})
    assert problems == [f"{variable} must be true or false (also 1/0, yes/no, on/off), not {value!r}"]


@pytest.mark.parametrize(
    ("value", "language"),
    [("EN", "en"), ("en-GB", "en"), ("en_US", "en"), (" En ", "en"), ("nl-BE", "nl"), ("NL", "nl"), ("nl", "nl")],
)
def test_the_language_is_read_in_any_case_with_a_region(value: str, language: str) -> None:
    settings, problems = read_settings({"WIEWEET_LANGUAGE": value})
    assert problems == [] and settings.default_language == language


@pytest.mark.parametrize("value", ["fr", "fr-BE", "english", "e n", "-en"])
def test_another_language_is_a_setting_to_fix(value: str) -> None:
    settings, problems = read_settings({"WIEWEET_LANGUAGE": value})
    assert problems == [
        f"WIEWEET_LANGUAGE must be 'nl' or 'en' (any case; a region such as en-GB allowed), not {value!r}"
    ]
    assert settings.default_language == "nl"
