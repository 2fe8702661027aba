"""Request parameters as Slack reads them: form strings or JSON values, merged."""

from __future__ import annotations

import json
from typing import Any

from .models import JSON

JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "user_auth_blocks"})
"""Fields Slack accepts as JSON text in form bodies; recorded calls hold them parsed."""


class ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": ...}`` with an HTTP status and headers."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        messages: list[str] | None = None,
        extra: JSON | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.messages = messages or []
        self.extra = extra or {}  # more fields of the answer, e.g. missing_scope's "needed" and "provided"

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["errors"] = list(self.messages)
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


def normalize(raw: JSON) -> JSON:
    """Parse JSON-in-form fields (``blocks``, ``view`` …) so both transports look alike."""
    out: JSON = {}
    for key, value in raw.items():
        if key in JSON_FIELDS and isinstance(value, str):
            try:
                out[key] = json.loads(value) if value.strip() else None
            except json.JSONDecodeError:
                out[key] = value
        else:
            out[key] = value
    return out


class Params:
    """Typed access to one request's parameters."""

    def __init__(self, data: JSON) -> None:
        self.data = data

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value) or None

    def require(self, key: str, error: str | None = None) -> str:
        value = self.text(key)
        if value is None:
            if error is not None:
                raise ApiError(error)
            raise ApiError("invalid_arguments", messages=[f"missing required field: {key}"])
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes")

    def number(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ApiError("invalid_arguments", messages=[f"{key} must be an integer"]) from exc

    def json(self, key: str) -> Any:
        value = self.data.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ApiError("invalid_arguments", messages=[f"{key} is not valid JSON"]) from exc
        return value

    def csv(self, key: str) -> list[str]:
        value = self.data.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
        text = self.text(key)
        return [part.strip() for part in text.split(",") if part.strip()] if text else []
