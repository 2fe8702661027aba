"""``auth.test``, ``bots.info``, ``conversations.*``, ``users.*``, ``usergroups.*``, ``apps.connections.open``."""

from __future__ import annotations

import base64
import copy
import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .api_chat import visible_channel
from .ids import stable_id
from .models import JSON
from .params import ApiError, Params
from .state import Channel, State

Handler = Callable[[State, Params], JSON]
T = TypeVar("T")


def paginate(items: Sequence[T], params: Params, default_limit: int = 100) -> tuple[list[T], str]:
    """Slack cursor pagination: ``(page, next_cursor)``; the cursor is opaque base64 like Slack's."""
    limit = params.number("limit", default_limit) or default_limit
    cursor = params.text("cursor")
    start = 0
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except ValueError as exc:
            raise ApiError("invalid_cursor") from exc
    page = list(items[start : start + limit])
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return page, next_cursor


def auth_test(state: State, params: Params) -> JSON:
    return {
        "ok": True,
        "url": f"https://{state.team_domain}.slack.com/",
        "team": "Emulated Workspace",
        "user": state.bot_name,
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
        **({"enterprise_id": state.enterprise_id} if state.enterprise_id else {}),
    }


def bots_info(state: State, params: Params) -> JSON:
    bot = params.text("bot") or state.bot_id
    if bot != state.bot_id:
        raise ApiError("bot_not_found")
    return {
        "ok": True,
        "bot": {
            "id": state.bot_id,
            "deleted": False,
            "name": state.bot_name,
            "updated": 0,
            "app_id": state.app_id,
            "user_id": state.bot_user_id,
            "icons": {},
        },
    }


def apps_connections_open(state: State, params: Params) -> JSON:
    ticket = secrets.token_hex(16)
    with state.lock:
        state.socket_tickets.add(ticket)
    ws_base = state.base_url.replace("http://", "ws://", 1).removesuffix("/")
    return {"ok": True, "url": f"{ws_base}/socket?ticket={ticket}&app_id={state.app_id}"}


def conversations_open(state: State, params: Params) -> JSON:
    channel_ref = params.text("channel")
    if channel_ref:
        found = state.resolve_channel(channel_ref)
        if found is None:
            raise ApiError("channel_not_found")
        channel = found
    else:
        users = [u for u in params.csv("users") if u != state.bot_user_id]
        if not users:
            raise ApiError("users_list_not_supplied")
        for user in users:
            if user not in state.users:
                raise ApiError("user_not_found")
            if len(users) == 1:
                refuse_dm(state.users[user])
        channel = state.dm_channel(users[0]) if len(users) == 1 else _mpim(state, users)
    if params.flag("return_im"):
        return {"ok": True, "no_op": True, "already_open": True, "channel": channel.to_dict(state.bot_user_id)}
    return {"ok": True, "channel": {"id": channel.id}}


def refuse_dm(user: JSON) -> None:
    """Slack opens no DM with another bot (``cannot_dm_bot``) or a deactivated account (``user_disabled``)."""
    if user.get("is_bot"):
        raise ApiError("cannot_dm_bot")
    if user.get("deleted"):
        raise ApiError("user_disabled")


def _mpim(state: State, users: list[str]) -> Channel:
    members = sorted({*users, state.bot_user_id})
    channel_id = stable_id("G", ",".join(members))
    with state.lock:
        existing = state.channels.get(channel_id)
        if existing is not None:
            return existing
        names = "--".join(str(state.users[u]["name"]) for u in members)
        return state.add_channel(channel_id, name=f"mpdm-{names}-1", is_mpim=True, members=members)


def conversations_info(state: State, params: Params) -> JSON:
    """A channel's facts; as Slack, the bot token needs ``channels:read`` for a public channel and ``groups:read``
    for a private one (``missing_scope`` naming the one ``needed``)."""
    channel = visible_channel(state, params)
    if not (channel.is_im or channel.is_mpim):
        state.require_scope("groups:read" if channel.is_private else "channels:read")
    info = channel.to_dict(state.bot_user_id)
    if params.flag("include_num_members") and not channel.is_im:
        info["num_members"] = len(channel.members)
    return {"ok": True, "channel": info}


def conversations_list(state: State, params: Params) -> JSON:
    """Public channels (``types``: also ``private_channel`` ones the bot is in), by Slack's cursor pagination."""
    types = set(params.csv("types") or ["public_channel"])
    for kind, scope in (("public_channel", "channels:read"), ("private_channel", "groups:read")):
        if kind in types:
            state.require_scope(scope)
    with state.lock:
        listed = [
            c.to_dict(state.bot_user_id)
            for c in state.channels.values()
            if not (c.is_im or c.is_mpim)
            and (
                ("private_channel" in types and c.is_private and state.bot_user_id in c.members)
                or ("public_channel" in types and not c.is_private)
            )
        ]
    page, next_cursor = paginate(listed, params)
    return {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}


def conversations_members(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    with state.lock:
        members = list(channel.members)
    page, next_cursor = paginate(members, params)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}


def _history_scope(state: State, channel: Channel) -> str:
    """The scope reading a conversation's messages needs, by its type (``missing_scope`` without it)."""
    return {"im": "im:history", "mpim": "mpim:history", "group": "groups:history"}.get(
        state.channel_type(channel), "channels:history"
    )


def conversations_replies(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    state.require_scope(_history_scope(state, channel))
    ts = params.require("ts", error="thread_not_found")
    with state.lock:
        parent = channel.find(ts)
        if parent is None:
            raise ApiError("thread_not_found")
        root = str(parent.get("thread_ts") or ts)
        oldest = float(params.text("oldest") or "0")
        thread = [
            copy.deepcopy(m)
            for m in channel.messages
            if (m["ts"] == root or m.get("thread_ts") == root) and float(m["ts"]) >= oldest
        ]
    page, next_cursor = paginate(thread, params, default_limit=1000)
    return {
        "ok": True,
        "messages": page,
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_history(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    state.require_scope(_history_scope(state, channel))
    latest = float(params.text("latest") or "inf")
    oldest = float(params.text("oldest") or "0")
    inclusive = params.flag("inclusive")
    with state.lock:
        top = [
            copy.deepcopy(m)
            for m in reversed(channel.messages)
            if (not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("subtype") == "thread_broadcast")
            and (oldest <= float(m["ts"]) <= latest if inclusive else oldest < float(m["ts"]) < latest)
        ]
    page, next_cursor = paginate(top, params)
    return {
        "ok": True,
        "messages": page,
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _public_user(user: JSON, include_locale: bool) -> JSON:
    out = copy.deepcopy(user)
    if not include_locale:
        out.pop("locale", None)
    return out


def users_info(state: State, params: Params) -> JSON:
    user_id = params.require("user", error="user_not_found")
    with state.lock:
        user = state.users.get(user_id)
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": _public_user(user, params.flag("include_locale"))}


def users_lookup_by_email(state: State, params: Params) -> JSON:
    email = params.require("email", error="users_not_found").lower()
    with state.lock:
        for user in state.users.values():
            if str(user["profile"].get("email", "")).lower() == email:
                return {"ok": True, "user": _public_user(user, include_locale=False)}
    raise ApiError("users_not_found")


def users_list(state: State, params: Params) -> JSON:
    include_locale = params.flag("include_locale")
    with state.lock:
        users = [_public_user(u, include_locale) for u in state.users.values()]
    page, next_cursor = paginate(users, params, default_limit=200)
    return {"ok": True, "members": page, "cache_ts": 0, "response_metadata": {"next_cursor": next_cursor}}


def usergroups_users_list(state: State, params: Params) -> JSON:
    group_id = params.require("usergroup", error="no_such_subteam")
    with state.lock:
        group = state.usergroups.get(group_id)
        if group is None:
            raise ApiError("no_such_subteam")
        return {"ok": True, "users": list(group["users"])}


def usergroups_list(state: State, params: Params) -> JSON:
    include_users = params.flag("include_users")
    groups: list[Any] = []
    with state.lock:
        for group in state.usergroups.values():
            item = copy.deepcopy(group)
            if not include_users:
                item.pop("users", None)
            groups.append(item)
    return {"ok": True, "usergroups": groups}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "bots.info": bots_info,
    "apps.connections.open": apps_connections_open,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.members": conversations_members,
    "conversations.list": conversations_list,
    "conversations.replies": conversations_replies,
    "conversations.history": conversations_history,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "users.list": users_list,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.list": usergroups_list,
}
