"""``views.open``, ``views.push``, ``views.update``, ``views.publish``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .blocks import validate_view
from .ids import view_hash
from .models import JSON
from .params import ApiError, Params
from .state import State, ViewRecord

Handler = Callable[[State, Params], JSON]
MAX_MODAL_STACK = 3


def _view_body(params: Params, expected_type: str | None = None) -> JSON:
    body: Any = params.json("view")
    if body is None:
        raise ApiError("invalid_arguments", messages=["missing required field: view"])
    errors = validate_view(body)
    if not errors and expected_type is not None and body.get("type") != expected_type:
        errors = [f"must be {expected_type} [json-pointer:/view/type]"]
    if errors:
        raise ApiError("invalid_arguments", messages=errors)
    result: JSON = body
    return result


def _trigger_user(state: State, params: Params) -> str:
    trigger = params.require("trigger_id", error="invalid_trigger_id")
    record, error = state.use_trigger(trigger)
    if record is None:
        raise ApiError(error or "invalid_trigger_id")
    return record.user


def views_open(state: State, params: Params) -> JSON:
    body = _view_body(params, expected_type="modal")
    user = _trigger_user(state, params)
    with state.lock:
        for old in state.open_modals(user):
            old.is_open = False
        view = state.new_view(user, body)
        state.modal_stacks[user] = [view.id]
        return {"ok": True, "view": view.to_dict()}


def views_push(state: State, params: Params) -> JSON:
    body = _view_body(params, expected_type="modal")
    user = _trigger_user(state, params)
    with state.lock:
        stack = state.modal_stacks.setdefault(user, [])
        if len(stack) >= MAX_MODAL_STACK:
            raise ApiError("push_limit_reached")
        root = stack[0] if stack else None
        previous = stack[-1] if stack else None
        view = state.new_view(user, body, root=root, previous=previous)
        stack.append(view.id)
        return {"ok": True, "view": view.to_dict()}


def views_update(state: State, params: Params) -> JSON:
    view_id, external_id = params.text("view_id"), params.text("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", messages=["must provide view_id or external_id"])
    body = _view_body(params)
    with state.lock:
        view = state.find_view(view_id, external_id)
        if view is None or not view.is_open:
            raise ApiError("not_found")
        expected = params.text("hash")
        if expected is not None and expected != view.hash:
            raise ApiError("hash_conflict")
        _replace(view, body)
        return {"ok": True, "view": view.to_dict()}


def _replace(view: ViewRecord, body: JSON) -> None:
    view.body = body
    view.hash = view_hash()


def views_publish(state: State, params: Params) -> JSON:
    user = params.require("user_id", error="invalid_arguments")
    if user not in state.users:
        raise ApiError("user_not_found")
    body = _view_body(params, expected_type="home")
    with state.lock:
        existing_id = state.home_views.get(user)
        if existing_id is not None:
            view = state.views[existing_id]
            expected = params.text("hash")
            if expected is not None and expected != view.hash:
                raise ApiError("hash_conflict")
            _replace(view, body)
        else:
            view = state.new_view(user, body)
            state.home_views[user] = view.id
        return {"ok": True, "view": view.to_dict()}


METHODS: dict[str, Handler] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
