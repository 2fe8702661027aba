"""TEST ONLY: catch a Slack Web API call made while a database transaction that has written is still open.

Such a call holds the database's write lock (all of SQLite, rows on PostgreSQL) for as long as Slack takes, and
every other request waits or fails meanwhile. ``install(path)`` (from ``WIEWEET_TEST_TX_GUARD_FILE``, set by the
end-to-end tests; production never sets it) watches every engine's statements and commits per thread, and every
``WebClient`` / ``WebhookClient`` call: a call made while the calling thread has an open transaction that wrote is
appended to ``path`` (method and where it was called from). The end-to-end harness fails any test whose bot wrote
to that file. Which transactions have written is tracked by ``storage.db.watch_writes``.
"""

from __future__ import annotations

import logging
import threading
import traceback
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from storage.db import thread_has_written, watch_writes

log = logging.getLogger(__name__)

_lock = threading.Lock()
_target: list[Path] = []  # where violations are reported, once installed


def _report(what: str) -> None:
    if not _target or not thread_has_written():
        return
    stack = "".join(traceback.format_stack(limit=14)[:-2])
    with _lock, _target[0].open("a", encoding="utf-8") as out:
        out.write(f"Web API call {what} inside a transaction that has written:\n{stack}\n")
    log.error("Web API call %s inside a transaction that has written", what)


def install(path: str) -> None:
    """Watch every engine and Slack client of this process (idempotent)."""
    if _target:
        return
    _target.append(Path(path))
    watch_writes()
    api_call = WebClient.api_call
    send_dict = WebhookClient.send_dict

    def guarded_api_call(self: WebClient, api_method: str, *args: Any, **kwargs: Any) -> Any:
        _report(api_method)
        return api_call(self, api_method, *args, **kwargs)

    def guarded_send_dict(self: WebhookClient, body: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        _report("response_url")
        return send_dict(self, body, *args, **kwargs)

    WebClient.api_call = guarded_api_call  # type: ignore[method-assign,assignment]
    WebhookClient.send_dict = guarded_send_dict  # type: ignore[method-assign]
    log.warning("TEST ONLY: Web API calls inside written transactions are reported to %s", path)
