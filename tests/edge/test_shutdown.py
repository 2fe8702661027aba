"""``wieweet run`` stopped as systemd, Kubernetes or ``docker stop`` stop it (SIGTERM) or as an operator does (Ctrl-C):
the server stops accepting (the health check fails), the inbox and the jobs shut down, and the exit code is 0."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotProcess
from tests.emulator import SlackEmulator


@pytest.mark.parametrize("mode", ["http", "socket"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_stops_cleanly_with_exit_code_0(mode: str, stop: signal.Signals, tmp_path: Path) -> None:
    with SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        bot = BotProcess(emulator, database_url=f"sqlite:///{tmp_path / 'w.db'}", mode=mode, log_path=tmp_path / "log")
        bot.start()
        assert bot.process is not None
        bot.process.send_signal(stop)
        assert bot.process.wait(timeout=60) == 0, bot.log()
        bot.stop()
        log = bot.log()
        assert "Scheduler has been shut down" in log and "Traceback" not in log, log
        if mode == "http":
            assert "wieweet stopped serving HTTP" in log, log
            with pytest.raises(OSError):  # nothing answers the health check any more
                urllib.request.urlopen(f"{bot.url}/healthz", timeout=2)
