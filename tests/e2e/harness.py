"""Run the real ``wieweet run`` process against the Slack emulator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, ClassVar

from slack_sdk import WebClient

from bot import inbox as inbox_core
from handlers import inbox
from handlers.services import Services
from tests.emulator import SlackEmulator
from tests.emulator.models import Delivery

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1-wieweet-test"
APP_TOKEN = "xapp-1-wieweet-test"


def flat(value: Any) -> str:
    """A Slack payload as one string, text kept as it is (to look for a word anywhere in it)."""
    return json.dumps(value, ensure_ascii=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """``python -m bot run`` as a subprocess, in Socket Mode or HTTP mode, with its log captured to a file."""

    started: ClassVar[list[BotProcess]] = []  # every bot started, so fixtures can check them all after a test

    def __init__(
        self,
        emulator: SlackEmulator,
        *,
        database_url: str,
        mode: str,
        log_path: Path,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.emulator = emulator
        self.database_url = database_url
        self.mode = mode
        self.log_path = log_path
        self.extra_env = dict(extra_env or {})
        self.port = free_port() if mode == "http" else 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        # Slack calls made inside a database transaction that has written (handlers.txguard): any fails the test.
        self.tx_guard_path = log_path.with_name(log_path.name + ".txguard")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WIEWEET_"))}
        env.update(
            {
                "WIEWEET_DATABASE_URL": self.database_url,
                "SLACK_BOT_TOKEN": self.emulator.bot_token,
                "SLACK_API_URL": self.emulator.api_url,
                "PYTHONUNBUFFERED": "1",
                # the Slack flows, not the background embedder (tests/matching/test_semantic.py tests that)
                "WIEWEET_SEMANTIC": "0",
                "WIEWEET_TEST_TX_GUARD_FILE": str(self.tx_guard_path),
            }
        )
        if self.mode == "http":
            env["SLACK_SIGNING_SECRET"] = self.emulator.signing_secret
        else:
            env["SLACK_APP_TOKEN"] = self.emulator.app_token
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "bot", "-v", "run"]
        if self.mode == "http":
            cmd += ["--http", "--host", "127.0.0.1", "--port", str(self.port)]
        return cmd

    def start(self, timeout: float = 90.0) -> BotProcess:
        """Start the bot and wait until it serves. The wait ends as soon as it does; the long limit is for a loaded
        machine, where importing, migrating and loading the register took over 30 s (a second process on the same
        PostgreSQL, other test suites on the same cores)."""
        BotProcess.started.append(self)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), env=self.env(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        if self.mode == "http":
            self.emulator.http_target = f"{self.url}/slack/events"
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                        if response.status == 200:
                            return self
                except OSError:
                    time.sleep(0.1)
            raise AssertionError(f"bot did not become healthy in {timeout}s:\n{self.log()}")
        self.emulator.http_target = None
        total_before = self.emulator.socket_connections_total
        while time.monotonic() < deadline:
            self._check_alive()
            if self.emulator.socket_connections_total > total_before and self.emulator.socket_connected:
                return self
            time.sleep(0.05)
        raise AssertionError(f"bot did not connect over Socket Mode in {timeout}s:\n{self.log()}")

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"bot exited with {self.process.returncode}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def tx_violations(self) -> str:
        """What ``handlers.txguard`` reported: Slack calls made while a transaction that has written was open."""
        return self.tx_guard_path.read_text(encoding="utf-8") if self.tx_guard_path.exists() else ""

    def assert_no_slack_calls_in_transactions(self) -> None:
        violations = self.tx_violations()
        assert not violations, f"Slack was called inside a database transaction that has written:\n{violations}"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def warm_up(emulator: SlackEmulator, *users: str) -> None:
    """Let the bot ask Slack now what it asks once before it acks, so a test that then holds Slack
    (``SlackEmulator.hold_slack``) sees an ack wait for nothing: Bolt's ``auth.test`` on the first request after a
    start, and the network check's ``users.info`` of each of ``users`` (kept a while; ``handlers.network``). Each
    opens their Home tab and waits for it."""
    for user in users:
        _home_opened(emulator, user)


def _home_opened(emulator: SlackEmulator, user: str) -> None:
    def published() -> int:
        return len([c for c in emulator.calls_to("views.publish") if c.params.get("user_id") == user])

    before = published()
    emulator.open_home(user)
    emulator.wait_for(lambda: published() > before, timeout=30)


def replay(emulator: SlackEmulator, bot: BotProcess, delivery: Delivery, *, copies: int = 2) -> None:
    """Deliver ``delivery`` (already handled) again, ``copies`` times at once — a replayed payload, a second submit,
    Slack retrying — and wait until the bot has logged every copy as a duplicate. Each copy is acked."""
    before = bot.log().count("outcome=duplicate")
    sent = [emulator.redeliver(delivery, wait=False) for _ in range(copies)]
    for copy in sent:
        copy.wait(20)
        assert copy.acked, "a replayed delivery must be acked"
    emulator.wait_for(lambda: bot.log().count("outcome=duplicate") >= before + copies, timeout=20)


def run_pending(services: Services, client: WebClient, worker: str, *, after: timedelta = timedelta(0)) -> int:
    """One worker's pass over the pending inbox requests, in this thread (``after``: that much later, so a dead
    worker's claims are stale); returns how many it took."""
    now = inbox.wall_clock() + after
    rows = inbox_core.claim_requests(
        services.db, now=now, claim=f"{worker}/1", limit=10, stale_before=now - inbox.STALE_AFTER
    )
    processor = inbox.InboxWorker(services, client, threads=1, worker_id=worker)
    for row in rows:
        processor.process(row, claim=f"{worker}/1")
    processor.pool.shutdown(wait=True)
    return len(rows)
