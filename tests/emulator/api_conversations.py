"""``conversations.create`` and ``conversations.invite``, with Slack's checks and errors.

Both need a scope the bot token may lack: ``channels:manage`` for public channels, ``groups:write`` for private
ones (``State.bot_scopes``; ``None`` grants all). Without it Slack answers ``missing_scope`` with the scope
``needed`` and the ones ``provided``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .api_chat import visible_channel
from .ids import random_id
from .models import JSON
from .params import ApiError, Params
from .state import State

Handler = Callable[[State, Params], JSON]

_NAME = re.compile(r"^[a-z0-9_\-\u00c0-\u024f]+$")  # lower case letters, digits, hyphens, underscores
MAX_INVITES = 1000


def _scope(is_private: bool) -> str:
    return "groups:write" if is_private else "channels:manage"


def conversations_create(state: State, params: Params) -> JSON:
    name = params.require("name", error="invalid_name_required")
    is_private = params.flag("is_private")
    state.require_scope(_scope(is_private))
    if len(name) > 80:
        raise ApiError("invalid_name_maxlength")
    if not _NAME.match(name):
        raise ApiError("invalid_name_specials" if name.lower() == name else "invalid_name")
    with state.lock:
        if any(not c.is_im and c.name == name for c in state.channels.values()):
            raise ApiError("name_taken")
        channel = state.add_channel(random_id("C"), name=name, is_private=is_private, members=[state.bot_user_id])
        return {"ok": True, "channel": channel.to_dict(state.bot_user_id)}


def conversations_invite(state: State, params: Params) -> JSON:
    channel = visible_channel(state, params)
    users = params.csv("users")
    if not users:
        raise ApiError("no_user")
    if len(users) > MAX_INVITES:
        raise ApiError("too_many_users")
    if channel.is_im or channel.is_mpim:
        raise ApiError("method_not_supported_for_channel_type")
    state.require_scope(_scope(channel.is_private))
    with state.lock:
        if state.bot_user_id not in channel.members:
            raise ApiError("not_in_channel")
        if state.bot_user_id in users:
            raise ApiError("cant_invite_self")
        for user in users:
            record = state.users.get(user)
            if record is None:
                raise ApiError("user_not_found")
            if record.get("deleted"):
                raise ApiError("user_is_deleted")  # Slack: "cant_invite" for deactivated users in some cases
        new = [u for u in dict.fromkeys(users) if u not in channel.members]
        if not new:
            raise ApiError("already_in_channel")
        channel.members.extend(new)
        return {"ok": True, "channel": channel.to_dict(state.bot_user_id)}


METHODS: dict[str, Handler] = {
    "conversations.create": conversations_create,
    "conversations.invite": conversations_invite,
}
