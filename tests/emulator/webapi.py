"""The Web API front door: auth, injected faults, rate limits, dispatch and recording."""

from __future__ import annotations

import math
import time

from . import api_chat, api_conversations, api_directory, api_files, api_views
from .models import JSON, Call, Fault
from .params import ApiError, Params, normalize
from .state import State

APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


class WebApi:
    def __init__(self, state: State) -> None:
        self.state = state
        self.methods: dict[str, api_chat.Handler] = {
            **api_chat.METHODS,
            **api_conversations.METHODS,
            **api_directory.METHODS,
            **api_files.METHODS,
            **api_views.METHODS,
        }

    def handle(self, method: str, raw_params: JSON, header_token: str | None) -> tuple[int, JSON, dict[str, str]]:
        """Answer one call: ``(http status, json body, extra headers)``; every call is recorded."""
        params = normalize(raw_params)
        body_token = params.pop("token", None)
        token = header_token or (str(body_token) if body_token else None)
        try:
            body = self._dispatch(method, Params(params), token)
            status, headers = 200, {}
        except ApiError as err:
            body, status, headers = err.body(), err.status, err.headers
            if err.error == "unknown_method":
                body["req_method"] = method
        self.state.record_call(
            Call(
                method=method,
                params=params,
                token=token,
                time=time.time(),
                status=status,
                response=body,
                headers=headers,
            )
        )
        return status, body, headers

    def _dispatch(self, method: str, params: Params, token: str | None) -> JSON:
        handler = self.methods.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        fault = self.state.take_fault(method, params.text("channel"))
        if fault is not None and not fault.after:
            self._raise_fault(fault)
        self._authenticate(method, token)
        spent = self.state.over_budget(method)
        if spent is not None:
            raise ApiError("ratelimited", status=429, headers={"Retry-After": str(spent)})
        wait = self.state.rate_limited(method, params.text("channel"))
        if wait is not None:
            raise ApiError("ratelimited", status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
        result = handler(self.state, params)
        if fault is not None:  # ``after``: it happened, but the caller hears it failed
            self._raise_fault(fault)
        return result

    def _raise_fault(self, fault: Fault) -> None:
        if fault.status == 429:
            retry_after = fault.retry_after if fault.retry_after is not None else 1
            headers = {"Retry-After": str(retry_after)} if fault.retry_after_header else {}
            raise ApiError(fault.error or "ratelimited", status=429, headers=headers)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status >= 500:
            raise ApiError(fault.error or "internal_error", status=fault.status, headers=headers)
        raise ApiError(fault.error or "fatal_error", status=fault.status, headers=headers, extra=fault.extra)

    def _authenticate(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        state = self.state
        if method in APP_TOKEN_METHODS:
            if not token.startswith("xapp-"):
                raise ApiError("not_allowed_token_type")
            if token != state.app_token:
                raise ApiError("invalid_auth")
            return
        if token.startswith("xapp-"):
            raise ApiError("not_allowed_token_type")
        if token != state.bot_token:
            raise ApiError("invalid_auth")
