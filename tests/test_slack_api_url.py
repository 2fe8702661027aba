"""SLACK_API_URL, where every call carries the bot token: a user name or password, a query or fragment and a space or
control character in it are refused with a clear line in the operator's language (never a traceback, never the
value), and "cannot reach Slack at …" shows the address masked (review47, finding 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import Settings, read_settings
from bot.errors import ConfigError, Problem
from bot.operator_texts import operator_text
from bot.setting_values import parse_slack_api_url
from handlers.app import create_app
from handlers.services import Services
from tests.test_cli_operator import closed_port

# (the value, what the Dutch line says, what the English line says)
REFUSED = [
    ("http://u:hunter2@127.0.0.1:18479/", "mag geen gebruikersnaam of wachtwoord", "must not hold a user name or"),
    ("https://hunter2@slack.com/api/", "mag geen gebruikersnaam of wachtwoord", "must not hold a user name or"),
    ("https://slack.com/api/?token=hunter2", "mag geen query of fragment", "must not hold a query or fragment"),
    ("https://slack.com/api/?", "mag geen query of fragment", "must not hold a query or fragment"),
    ("https://slack.com/api/#hunter2", "mag geen query of fragment", "must not hold a query or fragment"),
    ("http://localhost:1/\x1b[2J", "bevat een spatie of een stuurteken", "holds a space or a control character"),
    ("https://slack.com/ api/", "bevat een spatie of een stuurteken", "holds a space or a control character"),
    ("https://slack.com/api/\u202e", "bevat een spatie of een stuurteken", "holds a space or a control character"),
    ("http://[::1/api/", "moet een http(s)://-URL zijn", "must be an http(s):// URL"),
    ("https://slack.com:port/api/", "moet een http(s)://-URL zijn", "must be an http(s):// URL"),
]


@pytest.mark.parametrize(("url", "dutch", "english"), REFUSED, ids=lambda v: repr(v)[:40])
def test_a_slack_api_url_with_a_password_a_query_or_a_control_character_is_refused(
    url: str, dutch: str, english: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_slack_api_url(url)
    [problem] = refused.value.args
    assert isinstance(problem, Problem) and problem.startswith("SLACK_API_URL")
    for language, said in (("nl", dutch), ("en", english)):
        line = operator_text(problem, language)
        assert said in line and "hunter2" not in line and "\x1b" not in line, line
    _, problems = read_settings({"SLACK_API_URL": url})  # one refused setting among the others, no traceback
    assert [str(found) for found in problems] == [str(problem)]


@pytest.mark.parametrize("url", ["https://slack.com/api/", " https://slack.com/api ", "http://127.0.0.1:8080/api/"])
def test_a_plain_slack_api_url_is_taken(url: str) -> None:
    assert parse_slack_api_url(url) == url.strip().rstrip("/") + "/"


@pytest.mark.parametrize("language", ["nl", "en"])
def test_run_refuses_an_escape_in_slack_api_url_in_one_line(tmp_path: Path, language: str) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1-2",
        "SLACK_SIGNING_SECRET": "f00dfeedf00dfeedf00dfeedf00dfeed",
        "SLACK_API_URL": "http://localhost:1/\x1b[2J",
        "WIEWEET_LANGUAGE": language,
    }
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'w.db'}", "run", "--http"], env=env)
    said = {"nl": "error: SLACK_API_URL bevat een spatie", "en": "error: SLACK_API_URL holds a space"}[language]
    assert result.exit_code == 2 and said in result.output, result.output
    assert "\x1b" not in result.output and "Traceback" not in result.output and result.exception is not None


def test_cannot_reach_slack_shows_the_address_masked() -> None:
    """A URL given past the settings' check (a Settings made in code) is still shown masked."""
    url = f"http://u:hunter2@127.0.0.1:{closed_port()}/?token=xyz123"
    services = Services(settings=Settings(slack_bot_token="xoxb-1-2", slack_api_url=url), db=None, knowledge=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as refused:
        create_app(services, http=True)
    [problem] = refused.value.args
    for line in (str(problem), operator_text(problem, "nl"), operator_text(problem, "en")):
        assert "127.0.0.1" in line and "hunter2" not in line and "xyz123" not in line, line
    assert "kan Slack niet bereiken op http://u:***@127.0.0.1:" in operator_text(problem, "nl")
