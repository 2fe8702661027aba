"""Builders for what Slack sends to an app: Events API envelopes, commands and interaction payloads."""

from __future__ import annotations

import copy
import re
import secrets
import time
import uuid
from typing import Any

from .ids import event_id as new_event_id
from .models import JSON
from .state import Channel, State, ViewRecord

_MENTION = re.compile(r"<(@[UW][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^>]*)?)>")


def rich_text_blocks(text: str) -> list[JSON]:
    """The ``rich_text`` block Slack attaches to a user's message, with user/channel mentions split out."""
    elements: list[JSON] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        ref = match.group(1)
        if ref.startswith("@"):
            elements.append({"type": "user", "user_id": ref[1:]})
        else:
            elements.append({"type": "channel", "channel_id": ref[1:].split("|")[0]})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    return [
        {
            "type": "rich_text",
            "block_id": secrets.token_hex(3),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def event_callback(state: State, event: JSON, event_id: str | None = None) -> JSON:
    """The Events API outer envelope around ``event``."""
    return {
        "token": "emulator-verification-token",
        "team_id": state.team_id,
        "context_team_id": state.team_id,
        "context_enterprise_id": None,
        "api_app_id": state.payload_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": state.team_id,
                "user_id": state.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def user_message(
    state: State,
    *,
    user: str | None,
    channel: Channel,
    text: str,
    ts: str,
    thread_ts: str | None,
    subtype: str | None,
    bot_id: str | None,
) -> JSON:
    """A message as stored in the channel (and as the ``message`` event without the event fields)."""
    team = state.team_of(user)
    message: JSON = {"type": "message", "text": text, "ts": ts, "team": team}
    if user is not None:
        message["user"] = user
    if channel.is_ext_shared:  # like Slack in a Slack Connect channel: whose team wrote, and where it was written
        message["user_team"] = team
        message["source_team"] = team
    if subtype is not None:
        message["subtype"] = subtype
    if subtype == "file_share":  # like Slack: the file the person attached, and that it was not an upload alone
        message["files"] = [{"id": f"F{uuid.uuid4().hex[:10].upper()}", "name": "bijlage.png", "mimetype": "image/png"}]
        message["upload"] = False
        message["display_as_bot"] = False
    if bot_id is not None:
        message["bot_id"] = bot_id
    else:
        message["client_msg_id"] = str(uuid.uuid4())
        message["blocks"] = rich_text_blocks(text)
    if thread_ts:
        message["thread_ts"] = thread_ts
    return message


def message_event(state: State, message: JSON, channel: Channel, channel_type: str) -> JSON:
    event = copy.deepcopy(message)
    event["channel"] = channel.id
    event["event_ts"] = message["ts"]
    event["channel_type"] = channel_type
    return event


def app_mention_event(message: JSON, channel: Channel) -> JSON:
    event = {k: copy.deepcopy(v) for k, v in message.items() if k not in ("subtype",)}
    event["type"] = "app_mention"
    event["channel"] = channel.id
    event["event_ts"] = message["ts"]
    return event


def slash_command(
    state: State, *, user: str, channel: Channel, command: str, text: str, trigger_id: str, response_url: str
) -> JSON:
    """The form fields Slack posts for a slash command (all strings)."""
    brief = state.user_brief(user)
    return {
        "token": "emulator-verification-token",
        "team_id": state.team_id,
        "team_domain": state.team_domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user,
        "user_name": brief["name"],
        "command": command,
        "text": text,
        "api_app_id": state.payload_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def interaction_base(state: State, kind: str, user: str, trigger_id: str | None) -> JSON:
    payload: JSON = {
        "type": kind,
        "user": state.user_brief(user),
        "api_app_id": state.payload_app_id,
        "token": "emulator-verification-token",
        "team": {"id": state.team_id, "domain": state.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id
    return payload


def channel_brief(channel: Channel) -> JSON:
    return {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}


def action_payload(kind: str, action_id: str, block_id: str, element: JSON | None, extra: JSON) -> JSON:
    """One entry of ``actions`` in a block_actions payload."""
    action: JSON = {
        "type": kind,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        text: Any = (element or {}).get("text") or {"type": "plain_text", "text": action_id, "emoji": True}
        action["text"] = copy.deepcopy(text)
        style = (element or {}).get("style")
        if style:
            action["style"] = style
    action.update(extra)
    return action


def find_option(element: JSON | None, value: str) -> JSON | None:
    if not element:
        return None
    options: list[Any] = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if isinstance(option, dict) and option.get("value") == value:
            return copy.deepcopy(option)
    return None


_SELECTED: dict[str, str] = {
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


def _option(element: JSON | None, value: Any) -> JSON:
    return find_option(element, str(value)) or {
        "text": {"type": "plain_text", "text": str(value), "emoji": True},
        "value": str(value),
    }


def state_value(element: JSON | None, raw: Any) -> JSON:
    """One ``view.state.values`` entry; a plain value is shaped for the element's type in the view."""
    if isinstance(raw, dict):
        return copy.deepcopy(raw)
    kind = str((element or {}).get("type") or "plain_text_input")
    key = _SELECTED.get(kind)
    if key is None:
        return {"type": kind, "value": raw}
    if key == "selected_option":
        return {"type": kind, key: _option(element, raw)}
    if key == "selected_options":
        items = raw if isinstance(raw, list | tuple) else [raw]
        return {"type": kind, key: [_option(element, item) for item in items]}
    return {"type": kind, key: raw}


def _initial_state(element: JSON | None) -> JSON | None:
    """The state an untouched input element submits (its ``initial_*``), or None when it has none."""
    if not element:
        return None
    kind = str(element.get("type") or "")
    for initial, key in (
        ("initial_value", "value"),
        ("initial_option", "selected_option"),
        ("initial_options", "selected_options"),
        ("initial_date", "selected_date"),
        ("initial_time", "selected_time"),
        ("initial_user", "selected_user"),
        ("initial_users", "selected_users"),
        ("initial_conversation", "selected_conversation"),
        ("initial_channel", "selected_channel"),
    ):
        if element.get(initial) is not None:
            return {"type": kind, key: copy.deepcopy(element[initial])}
    return None


def view_state_values(view: ViewRecord, values: JSON) -> JSON:
    """Turn ``{block_id: {action_id: value}}`` (or ``{block_id: value}`` for an input block) into state values."""
    elements: dict[str, tuple[str | None, JSON | None]] = {}
    for block in view.body.get("blocks") or []:
        if isinstance(block, dict) and isinstance(block.get("block_id"), str):
            element = block.get("element")
            if isinstance(element, dict):
                elements[block["block_id"]] = (element.get("action_id"), element)
            else:
                elements[block["block_id"]] = (None, None)
    out: JSON = {}
    # like Slack, an input the user did not touch submits its initial value
    for block_id, (action_id, element) in elements.items():
        initial = _initial_state(element)
        if initial is not None and block_id not in values:
            out[block_id] = {str(action_id or block_id): initial}
    for block_id, entry in values.items():
        action_id, element = elements.get(block_id, (None, None))
        is_per_action = isinstance(entry, dict) and "type" not in entry
        if is_per_action:
            out[block_id] = {
                str(aid): state_value(element if aid == action_id else None, raw) for aid, raw in entry.items()
            }
        else:
            out[block_id] = {str(action_id or block_id): state_value(element, entry)}
    return out
