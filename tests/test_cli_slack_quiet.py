"""Every command line command that asks Slack (``import experts``, ``register check-slack``, ``digest --send-due``;
``run`` is the bot, whose log keeps them) writes none of slack_sdk's own ERROR lines when Slack is out of reach —
a line per connection attempt, the page it could not decode — only its own clear line: one rule for the command
line (``bot.cli.main``, ``handlers.slack_settings.quiet_client_failures``), not one per call. The output is read as
an operator sees it: with the logging a fresh ``wieweet`` process sets up (``composition_root_logging``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk import WebClient

from handlers.slack_settings import CLIENT_FAILURES, CLIENT_LOGGER
from storage.db import Database
from tests.digests.test_cli import NOW_ARG, seeded, wieweet  # noqa: F401
from tests.register.test_check_slack_unreachable import composition_root_logging, page_server  # noqa: F401
from tests.register.test_email_claims import OFFICIAL, squatted
from tests.test_cli_operator import closed_port

LIBRARY = ("slack_sdk", "urllib3", *CLIENT_FAILURES)  # a library's own line, by its logger's name or its text


def import_experts(database: Database, tmp_path: Path, env: dict[str, str]) -> list[str]:
    squatted(database)  # an account linked by a profile made in Slack: the import asks Slack about it
    path = tmp_path / "experts.csv"
    path.write_text(OFFICIAL, encoding="utf-8")
    return wieweet(database.url, "import", "experts", str(path), env=env).output.splitlines()


def check_slack(database: Database, _tmp_path: Path, env: dict[str, str]) -> list[str]:
    squatted(database)
    return wieweet(database.url, "register", "check-slack", env=env).output.splitlines()


def send_due(database: Database, _tmp_path: Path, env: dict[str, str]) -> list[str]:
    assert wieweet(database.url, "digest", "subscribe", "--channel", "C0DIGEST1").exit_code == 0
    return wieweet(database.url, "digest", "--send-due", NOW_ARG, env=env).output.splitlines()


COMMANDS = {"import experts": import_experts, "register check-slack": check_slack, "digest --send-due": send_due}


@pytest.fixture
def nothing_listening() -> str:
    return f"http://127.0.0.1:{closed_port()}/api/"


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("slack", "page_server"), [("nothing_listening", None), ("page_server", 200)], indirect=["page_server"]
)
def test_slack_out_of_reach_shows_no_line_of_the_library(
    seeded: Database,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
    command: str,
    slack: str,
    page_server: str,  # noqa: F811
) -> None:
    url = page_server if slack == "page_server" else str(request.getfixturevalue(slack))
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": url, "WIEWEET_LANGUAGE": "en"}
    lines = COMMANDS[command](seeded, tmp_path, env)
    assert lines, command
    assert not [line for line in lines if any(marker in line for marker in LIBRARY)], lines
    assert not [line for line in lines if "Traceback" in line or "S3cretT0ken" in line], lines


def test_the_quieted_logger_is_the_clients_own() -> None:
    """The rule names the logger slack_sdk's client writes to: renamed in a new slack_sdk, this says so."""
    assert WebClient().logger.name == CLIENT_LOGGER
