"""``wieweet run`` stopped as systemd, Kubernetes or ``docker stop`` stop it (SIGTERM) or as an operator does (Ctrl-C):
the server stops accepting (the health check fails), the inbox and the jobs shut down, and the exit code is 0."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from queue import Empty, Queue

import pytest
from slack_bolt import App

from handlers.app import MAX_RATE_LIMIT_WAIT, AckFirstSocketModeHandler
from storage.db import Database, current_revision, head_revision
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


@pytest.mark.parametrize("mode", ["http", "socket"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_while_starting_ends_cleanly_with_exit_code_0(mode: str, stop: signal.Signals, tmp_path: Path) -> None:
    """Stopped while it starts (a rollout undone, an operator changing their mind): it stops once the step under way
    (creating the schema, loading the register) ends — not in the middle of it — and exits 0, never serving."""
    with SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        bot = BotProcess(emulator, database_url=f"sqlite:///{tmp_path / 'w.db'}", mode=mode, log_path=tmp_path / "log")
        with bot.log_path.open("ab") as out:
            process = subprocess.Popen(bot.command(), env=bot.env(), stdout=out, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while "Running upgrade" not in bot.log():  # creating the schema: well before it serves
                    assert process.poll() is None and time.monotonic() < deadline, bot.log()
                    time.sleep(0.01)
                process.send_signal(stop)
                code = process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        log = bot.log()
        assert code == 0, log
        assert "Aborted!" not in log and "Traceback" not in log, log
        assert "stopped while starting" in log, log
        assert "listening on" not in log and "connected over Socket Mode" not in log, log
        assert emulator.socket_connections_total == 0
        database = Database(bot.database_url)
        try:
            with database.engine.connect() as connection:  # the schema it was creating is complete
                assert current_revision(connection) == head_revision()
        finally:
            database.dispose()


def test_stopping_closes_the_listener_but_not_what_requests_in_progress_write_to() -> None:
    """SIGTERM closes the listening socket at once; a request still in a worker thread then wakes the server through
    its trigger. Closing the whole server there (``server.close()``) closed that trigger too: the finishing request
    failed with "Bad file descriptor" (or wrote into whatever file took the number). Seen under load as a traceback
    in ``test_run_stops_cleanly_with_exit_code_0[SIGTERM-http]``."""
    from waitress.server import create_server  # noqa: PLC0415

    from handlers.app import _stop_listening  # noqa: PLC0415

    server = create_server(lambda _environ, _start: [], host="127.0.0.1", port=0)
    port = server.getsockname()[1]
    try:
        _stop_listening(server)
        with pytest.raises(OSError):  # new connections are refused
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        server.pull_trigger()  # what a request finishing in a worker thread does: no OSError
    finally:
        server.close()


@pytest.mark.parametrize("mode", ["http", "socket"])
@pytest.mark.parametrize(
    ("first", "second"),
    [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGINT), (signal.SIGTERM, signal.SIGTERM)],
    ids=["Ctrl-C-twice", "SIGTERM-then-Ctrl-C", "SIGTERM-twice"],
)
def test_a_second_stop_signal_ends_a_hung_shutdown_at_once(
    mode: str, first: signal.Signals, second: signal.Signals, tmp_path: Path
) -> None:
    """The orderly shutdown waits for the work in progress; when that hangs — here a Slack call that Slack told to
    come back later (a 429 with the longest ``Retry-After`` the client waits out in-process) — a second signal ends
    the process at once: exit code 128 + the signal (130 for Ctrl-C), one log line saying the shutdown was cut short.
    Before, the second Ctrl-C was ignored in Socket Mode and ended in "Aborted!" with the process still waiting for
    its threads over HTTP."""
    user = "U0HUNG001"
    with SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator:
        emulator.add_user(user, name="hung", real_name="Hung Request", locale="nl-BE")
        bot = BotProcess(emulator, database_url=f"sqlite:///{tmp_path / 'w.db'}", mode=mode, log_path=tmp_path / "log")
        bot.start()
        process = bot.process
        assert process is not None
        try:
            emulator.fail_next("views.publish", status=429, retry_after=MAX_RATE_LIMIT_WAIT)
            emulator.open_home(user, wait=False)
            emulator.wait_for(lambda: emulator.calls_to("views.publish"), timeout=60)  # now asleep in that call
            process.send_signal(first)
            emulator.wait_for(lambda: "wieweet stopping" in bot.log(), timeout=60)
            assert process.poll() is None, bot.log()  # the orderly shutdown waits for the stuck call
            process.send_signal(second)
            code = process.wait(timeout=60)
        finally:
            bot.kill()
        log = bot.log()
        assert code == 128 + second, log
        assert log.count("shutdown cut short") == 1, log
        assert "Traceback" not in log and "Aborted!" not in log, log


def test_closing_socket_mode_wakes_the_message_thread_instead_of_waiting_for_its_read_to_time_out() -> None:
    """slack_sdk's message thread reads its queue with a 1 s timeout; closing the handler puts it out of that read at
    once (``AckFirstSocketModeHandler.close``), so a stop takes no extra second. By what the read returned, not time:
    without the wake-up the read ends in ``Empty``."""
    app = App(token=BOT_TOKEN, signing_secret=SIGNING_SECRET, token_verification_enabled=False)
    handler = AckFirstSocketModeHandler(app, app_token=APP_TOKEN)
    reading, timed_out = threading.Event(), threading.Event()

    class Watched(Queue[str | None]):
        def get(self, block: bool = True, timeout: float | None = None) -> str | None:
            reading.set()
            try:
                return super().get(block, timeout)
            except Empty:
                timed_out.set()
                raise

    handler.client.message_queue = Watched()
    assert reading.wait(30), "the message thread never read the queue"  # it reads the new queue from now on
    handler.close()
    assert not handler.client.message_processor.is_alive()
    assert not timed_out.is_set(), "close waited for the message thread's read to time out"
