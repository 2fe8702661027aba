"""Signed HTTP requests as Slack sends them to an app's Request URL."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .models import JSON, DeliveryKind

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def encode_body(kind: DeliveryKind, payload: JSON) -> tuple[bytes, str]:
    """``(body, content type)``: events as JSON, commands as a form, interactions as ``payload=<json>``."""
    if kind in ("events_api", "url_verification"):
        return json.dumps(payload).encode("utf-8"), "application/json"
    if kind == "slash_commands":
        form = {k: "" if v is None else str(v) for k, v in payload.items()}
        return urlencode(form).encode("utf-8"), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8"), "application/x-www-form-urlencoded"


def signed_headers(
    signing_secret: str,
    body: bytes,
    content_type: str,
    *,
    retry_num: int = 0,
    retry_reason: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers with ``X-Slack-Signature: v0=<hmac-sha256 of "v0:<ts>:<body>">`` and retry markers."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    headers = {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }
    if retry_num > 0:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers
