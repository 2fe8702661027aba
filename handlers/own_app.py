"""Requests for another Slack app: acknowledged and dropped before anything else sees them.

Slack signs every request with the signing secret of the app it is for, and names that app in ``api_app_id``
(events, slash commands, interactions; in Socket Mode the envelope's payload). A request that verified but names
another app (a signing secret shared between apps, a Request URL pointed here by mistake) is not for wieweet: it is
acknowledged (so Slack does not retry it), nothing is recorded, searched or answered, and one warning is logged.
Defence in depth behind the signature and the network check (``handlers.network``). A payload without
``api_app_id``, or a process that does not know its own app's id (``handlers.app.own_app_id``), goes on as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.text import shown_value

log = logging.getLogger(__name__)


def other_app(body: Mapping[str, Any], app_id: str | None) -> str | None:
    """The ``api_app_id`` a request names when it is not ``app_id`` (None: ours, none named, or ours unknown)."""
    named = body.get("api_app_id")
    if not app_id or not isinstance(named, str) or not named or named == app_id:
        return None
    return named


def register(app: App, app_id: str | None) -> None:
    """The check, after the middleware that marks Socket Mode requests verified, before the network check."""

    @app.middleware
    def own_app_only(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        body = req.body
        named = other_app(body, app_id)
        if named is None:
            return next()
        kind = str(body.get("type") or ("command" if body.get("command") else "-"))
        log.warning(
            "dropped a request for another app: api_app_id=%s kind=%s (this app is %s)",
            shown_value(named),
            shown_value(kind),
            app_id,
        )
        return BoltResponse(status=200, body={"options": []} if kind == "block_suggestion" else "")
