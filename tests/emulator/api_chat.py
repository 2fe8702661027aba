"""``chat.*`` and ``reactions.*``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .blocks import MAX_MESSAGE_TEXT, validate_message_blocks
from .models import JSON
from .params import ApiError, Params
from .state import Channel, State

Handler = Callable[[State, Params], JSON]


def visible_channel(state: State, params: Params, key: str = "channel") -> Channel:
    """The channel named by ``params[key]`` as the bot sees it, else ``channel_not_found``."""
    ref = params.require(key, error="channel_not_found")
    channel = state.resolve_channel(ref)
    if channel is None or not state.bot_can_see(channel):
        raise ApiError("channel_not_found")
    return channel


def message_content(params: Params, *, required: bool = True) -> tuple[str | None, Any, Any]:
    """``(text, blocks, attachments)`` validated like Slack (``no_text``, ``invalid_blocks``, ``msg_too_long``)."""
    text = params.text("text")
    blocks = params.json("blocks")
    attachments = params.json("attachments")
    if blocks is not None:
        errors = validate_message_blocks(blocks)
        if errors:
            raise ApiError("invalid_blocks", messages=errors)
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if required and not text and not blocks and not attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        raise ApiError("msg_too_long")
    return text, blocks, attachments


def public_message(message: JSON) -> JSON:
    """A stored message as Slack echoes it back (without thread bookkeeping)."""
    out = copy.deepcopy(message)
    for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
        out.pop(key, None)
    return out


def post_message(state: State, params: Params) -> JSON:
    state.require_scope("chat:write")
    channel = visible_channel(state, params)
    if channel.is_archived:
        raise ApiError("is_archived")
    if state.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    text, blocks, attachments = message_content(params)
    thread_ts = params.text("thread_ts")
    with state.lock:
        message = state.bot_message(text, blocks, thread_ts, state.clock.next())
        if attachments is not None:
            message["attachments"] = attachments
        metadata = params.json("metadata")
        if metadata is not None:
            message["metadata"] = metadata
        if params.flag("reply_broadcast") and thread_ts:
            message["subtype"] = "thread_broadcast"
        state.store_message(channel, message)
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": public_message(message)}


def post_ephemeral(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    user = params.require("user", error="user_not_found")
    if user not in state.users:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks, _attachments = message_content(params)
    eph = state.add_ephemeral(channel.id, user, text, blocks, params.text("thread_ts"), source="chat.postEphemeral")
    return {"ok": True, "message_ts": eph["message_ts"]}


def _own_message(state: State, channel: Channel, ts: str, error: str) -> JSON:
    message = channel.find(ts)
    if message is None:
        raise ApiError("message_not_found")
    if message.get("bot_id") != state.bot_id:
        raise ApiError(error)
    return message


def update(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    ts = params.require("ts", error="message_not_found")
    text, blocks, attachments = message_content(params, required=False)
    with state.lock:
        message = _own_message(state, channel, ts, "cant_update_message")
        if text is not None:
            message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = attachments
        if not message.get("text") and not message.get("blocks") and not message.get("attachments"):
            raise ApiError("no_text")
        message["edited"] = {"user": state.bot_user_id, "ts": state.clock.next()}
        return {
            "ok": True,
            "channel": channel.id,
            "ts": ts,
            "text": message.get("text", ""),
            "message": public_message(message),
        }


def delete(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    ts = params.require("ts", error="message_not_found")
    with state.lock:
        message = _own_message(state, channel, ts, "cant_delete_message")
        channel.messages.remove(message)
    return {"ok": True, "channel": channel.id, "ts": ts}


def permalink_for(channel_id: str, message: JSON) -> str:
    ts = str(message["ts"])
    link = f"https://emulator.slack/archives/{channel_id}/p{ts.replace('.', '')}"
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel_id}"
    return link


def get_permalink(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    ts = params.require("message_ts", error="message_not_found")
    message = state.find_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    return {"ok": True, "channel": channel.id, "permalink": permalink_for(channel.id, message)}


def _reaction_target(state: State, params: Params) -> tuple[JSON, str]:
    channel = visible_channel(state, params)
    ts = params.require("timestamp", error="message_not_found")
    name = params.require("name", error="invalid_name").strip(":")
    message = channel.find(ts)
    if message is None:
        raise ApiError("message_not_found")
    return message, name


def reactions_add(state: State, params: Params) -> JSON:
    with state.lock:
        message, name = _reaction_target(state, params)
        reactions: list[JSON] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if state.bot_user_id in reaction["users"]:
                    raise ApiError("already_reacted")
                reaction["users"].append(state.bot_user_id)
                reaction["count"] += 1
                break
        else:
            reactions.append({"name": name, "users": [state.bot_user_id], "count": 1})
    return {"ok": True}


def reactions_remove(state: State, params: Params) -> JSON:
    with state.lock:
        message, name = _reaction_target(state, params)
        reactions: list[JSON] = message.get("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name and state.bot_user_id in reaction["users"]:
                reaction["users"].remove(state.bot_user_id)
                reaction["count"] -= 1
                if reaction["count"] == 0:
                    reactions.remove(reaction)
                return {"ok": True}
    raise ApiError("no_reaction")


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}
