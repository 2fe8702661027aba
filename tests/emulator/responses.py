"""What Slack does with ``response_url`` posts and with ack bodies."""

from __future__ import annotations

import time
from typing import Any

from .blocks import validate_message_blocks, validate_view
from .ids import view_hash
from .models import JSON
from .state import ResponseUrl, State, ViewRecord

MAX_RESPONSE_URL_USES = 5


def post_response(
    state: State, *, user: str, channel: str | None, body: JSON, thread_ts: str | None, source: str
) -> None:
    """A new message from a response_url or a command ack: ephemeral unless ``response_type`` is in_channel."""
    text, blocks = body.get("text"), body.get("blocks")
    thread_ts = body.get("thread_ts") or thread_ts
    if channel is None:
        return
    if body.get("response_type") == "in_channel":
        with state.lock:
            target = state.channels.get(channel)
            if target is None:
                return
            message = state.bot_message(text, blocks, thread_ts, state.clock.next())
            state.store_message(target, message)
    else:
        state.add_ephemeral(channel, user, text, blocks, thread_ts, source=source)


def handle_response_url(state: State, url_id: str, body: Any) -> tuple[int, JSON]:
    """Apply a POST to ``/response/<id>`` the way Slack does; returns ``(status, json body)``."""
    with state.lock:
        record = state.response_urls.get(url_id)
        if record is None:
            return 404, {"ok": False, "error": "no_such_url"}
        if not isinstance(body, dict):
            return 400, {"ok": False, "error": "invalid_payload"}
        refusal = None
        if state.test_clock - record.created > state.config.response_url_ttl:
            refusal = "expired_url"
        elif record.uses >= MAX_RESPONSE_URL_USES:
            refusal = "used_url"
        if refusal is not None:
            state.response_refusals.append({"url_id": url_id, "user": record.user, "error": refusal, "body": body})
            return 404, {"ok": False, "error": refusal}
        blocks = body.get("blocks")
        if blocks is not None and validate_message_blocks(blocks):
            return 400, {"ok": False, "error": "invalid_blocks"}
        record.uses += 1
        state.response_posts.append(
            {
                "url_id": url_id,
                "kind": record.kind,
                "user": record.user,
                "channel": record.channel,
                "body": body,
                "time": time.time(),
            }
        )
        if body.get("delete_original"):
            _delete_original(state, record)
        elif body.get("replace_original"):
            _replace_original(state, record, body)
        else:
            post_response(
                state, user=record.user, channel=record.channel, body=body, thread_ts=None, source="response_url"
            )
    return 200, {"ok": True}


def _original(state: State, record: ResponseUrl) -> JSON | None:
    if record.channel is None or record.message_ts is None:
        return None
    if record.is_ephemeral:
        return state.find_ephemeral(record.channel, record.message_ts)
    return state.find_message(record.channel, record.message_ts)


def _delete_original(state: State, record: ResponseUrl) -> None:
    original = _original(state, record)
    if original is None:
        return
    if record.is_ephemeral:
        original["deleted"] = True
        return
    channel = state.channels.get(record.channel or "")
    if channel is not None and original in channel.messages:
        channel.messages.remove(original)


def _replace_original(state: State, record: ResponseUrl, body: JSON) -> None:
    original = _original(state, record)
    if original is None:
        post_response(state, user=record.user, channel=record.channel, body=body, thread_ts=None, source="response_url")
        return
    original["text"] = body.get("text", "")
    if "blocks" in body:
        original["blocks"] = body["blocks"]
    else:
        original.pop("blocks", None)
    if not record.is_ephemeral:
        original["edited"] = {"user": state.bot_user_id, "ts": state.clock.next()}


def apply_command_ack(state: State, command: JSON, ack: JSON | None) -> None:
    """A slash command ack with text/blocks is shown to the user (or the channel with in_channel)."""
    if not ack or not (ack.get("text") or ack.get("blocks")):
        return
    post_response(
        state, user=str(command["user_id"]), channel=str(command["channel_id"]), body=ack, thread_ts=None, source="ack"
    )


def apply_view_submission_ack(state: State, view: ViewRecord, ack: JSON | None) -> None:
    """Close, update, push or keep (``errors``) the submitted modal, like Slack."""
    action = (ack or {}).get("response_action")
    with state.lock:
        if action == "errors":
            return
        if action == "update" and isinstance((ack or {}).get("view"), dict):
            new_body: JSON = (ack or {})["view"]
            if not validate_view(new_body):
                view.body = new_body
                view.hash = view_hash()
            return
        if action == "push" and isinstance((ack or {}).get("view"), dict):
            stack = state.modal_stacks.setdefault(view.user, [])
            pushed = state.new_view(view.user, (ack or {})["view"], root=stack[0] if stack else None, previous=view.id)
            stack.append(pushed.id)
            return
        state.close_modal(view, clear=action == "clear")
