"""``wieweet import experts`` with Slack out of reach — nothing listening, no answer in time, an error status of the
server (5xx), an answer that is not Slack's — says so in the one line ``register check-slack`` says
(``handlers.slack_settings.slack_unreachable``), in the operator's language, and exits 2 with nothing imported:
never a traceback, never each account listed as not asked (fixsmall42 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient

from bot.cli import main
from storage.db import Database
from tests.emulator import SlackEmulator
from tests.register.test_check_slack_unreachable import SAID, WHY, page_server  # noqa: F401
from tests.register.test_email_claims import OFFICIAL, SQUATTER, db, slack, squatted, the_expert  # noqa: F401
from tests.test_cli_operator import closed_port


def import_experts(db: Database, tmp_path: Path, url: str, language: str) -> tuple[int, list[str]]:  # noqa: F811
    squatted(db)  # an account to ask Slack about
    path = tmp_path / "experts.csv"
    path.write_text(OFFICIAL, encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-claims-test", "SLACK_API_URL": url, "WIEWEET_LANGUAGE": language}
    result = CliRunner().invoke(main, ["--database", db.url, "import", "experts", str(path)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output  # no traceback
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def assert_one_line(db: Database, code: int, lines: list[str], url: str, language: str, why: str) -> None:  # noqa: F811
    assert code == 2, lines
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], lines  # the last line, the only error
    line = lines[-1]
    assert line.startswith(SAID[language].format(url=url)), line
    assert WHY[why][language == "en"] in line, line
    assert "S3cretT0ken" not in line and "\x1b" not in line, line
    assert not any("CONFLICT" in text or "Traceback" in text for text in lines), lines
    assert the_expert(db).slack_user_id == SQUATTER.slack_id  # nothing imported


@pytest.mark.parametrize("language", ["nl", "en"])
def test_nothing_listening(db: Database, tmp_path: Path, language: str) -> None:  # noqa: F811
    url = f"http://127.0.0.1:{closed_port()}/api/"
    assert_one_line(db, *import_experts(db, tmp_path, url, language), url, language, "refused")


@pytest.mark.parametrize("language", ["nl", "en"])
def test_no_answer_in_time(
    db: Database,  # noqa: F811
    tmp_path: Path,
    slack: SlackEmulator,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    def timed_out(self: WebClient, **_kw: object) -> None:
        raise TimeoutError("The read operation timed out")

    monkeypatch.setattr(WebClient, "users_info", timed_out)
    assert_one_line(db, *import_experts(db, tmp_path, slack.api_url, language), slack.api_url, language, "timeout")


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("status", [500, 503])
def test_an_error_status_of_the_server(
    db: Database,  # noqa: F811
    tmp_path: Path,
    slack: SlackEmulator,  # noqa: F811
    language: str,
    status: int,
) -> None:
    slack.fail_next("users.info", status=status, times=100)
    assert_one_line(db, *import_experts(db, tmp_path, slack.api_url, language), slack.api_url, language, "status")


@pytest.mark.parametrize(("page_server", "why"), [(502, "status"), (200, "not_json")], indirect=["page_server"])
def test_an_answer_that_is_not_slacks(db: Database, tmp_path: Path, page_server: str, why: str) -> None:  # noqa: F811
    assert_one_line(db, *import_experts(db, tmp_path, page_server, "en"), page_server, "en", why)


def test_slack_refusing_the_account_is_still_a_conflict_not_a_stop(
    db: Database,  # noqa: F811
    tmp_path: Path,
    slack: SlackEmulator,  # noqa: F811
) -> None:
    """Slack answered (``user_not_found``): about that account, reported as before; no unreachable line."""
    slack.fail_next("users.info", error="user_not_found", times=100)
    code, lines = import_experts(db, tmp_path, slack.api_url, "en")
    assert code == 0 and not any("cannot reach Slack" in line for line in lines), lines
    assert any("CONFLICT" in line for line in lines), lines
