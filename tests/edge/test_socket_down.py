"""Socket Mode that cannot come back (the app token revoked, Socket Mode turned off in the app's settings while the
bot runs): Slack's SDK tries ``apps.connections.open`` again every ping interval for ever, so ``wieweet run`` used to
go deaf while its jobs kept sending DMs and it looked healthy. Now it logs one ERROR naming the cause and exits with
code 3, so the supervisor restarts it where somebody sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.socketwatch import SOCKET_DOWN_EXIT
from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotProcess
from tests.emulator import SlackEmulator


@pytest.mark.parametrize(
    ("error", "down_seconds"),
    [
        ("token_revoked", "3600"),  # the token refused: no point waiting, it exits at once
        # Socket Mode turned off: it may be turned on again, so it waits the set time first (longer than the SDK's
        # 10 s between reconnects, so that one has failed and the ERROR can say why)
        ("link_disabled", "15"),
    ],
)
def test_socket_mode_that_cannot_reconnect_ends_the_process_with_one_error(
    error: str, down_seconds: str, tmp_path: Path
) -> None:
    with SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        bot = BotProcess(
            emulator,
            database_url=f"sqlite:///{tmp_path / 'w.db'}",
            mode="socket",
            log_path=tmp_path / "log",
            extra_env={"WIEWEET_SOCKET_DOWN_SECONDS": down_seconds},
        )
        bot.start()
        assert bot.process is not None
        emulator.fail_next("apps.connections.open", error=error, times=1_000_000)
        emulator.socket_drop()
        try:
            code = bot.process.wait(timeout=90)
        finally:
            bot.stop()
        log = bot.log()
        assert code == SOCKET_DOWN_EXIT, log
        ours = [line for line in log.splitlines() if "ERROR" in line and "handlers.socketwatch" in line]
        assert len(ours) == 1 and error in ours[0], log
        assert "Scheduler has been shut down" in log, log  # the jobs stopped in order on the way out


def test_an_app_token_refused_at_start_is_one_error_and_exit_code_3(tmp_path: Path) -> None:
    """``wieweet run`` started with a revoked app token: ``apps.connections.open`` refuses it inside ``connect()``.
    The same one ERROR line and exit code as when the running connection gives up; no traceback."""
    with SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        emulator.fail_next("apps.connections.open", error="token_revoked", times=1_000_000)
        bot = BotProcess(
            emulator, database_url=f"sqlite:///{tmp_path / 'w.db'}", mode="socket", log_path=tmp_path / "log"
        )
        with pytest.raises(AssertionError, match="bot exited with 3"):
            bot.start()
        bot.stop()
        log = bot.log()
    ours = [line for line in log.splitlines() if "ERROR" in line and "handlers.socketwatch" in line]
    assert len(ours) == 1 and "token_revoked" in ours[0] and "SLACK_APP_TOKEN" in ours[0], log
    assert "Traceback" not in log, log
    assert "Scheduler has been shut down" in log, log  # the jobs stopped in order on the way out
