"""The objects a workspace holds: conversations, views, triggers, files, response URLs."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

from .models import JSON


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_ext_shared: bool = False
    """Shared with another organisation (Slack Connect)."""
    is_org_shared: bool = False
    """Shared between workspaces of one Enterprise Grid organisation."""
    user: str | None = None
    """For an IM: the human on the other side."""
    members: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))
    topic: str = ""
    purpose: str = ""
    is_archived: bool = False
    """Archived: Slack refuses posts in it (``is_archived``)."""
    messages: list[JSON] = field(default_factory=list)

    def find(self, ts: str) -> JSON | None:
        for message in self.messages:
            if message.get("ts") == ts:
                return message
        return None

    def to_dict(self, bot_user_id: str) -> JSON:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        # Like Slack: private channels made since 2021 have C ids and are "channels" (is_channel), only the old G-id
        # private channels are "groups"; group DMs are is_mpim. Privacy is is_private, whatever the id.
        legacy_group = self.is_private and self.id.startswith("G") and not self.is_mpim
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not legacy_group and not self.is_mpim,
            "is_group": legacy_group,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": self.is_ext_shared or self.is_org_shared,
            "is_org_shared": self.is_org_shared,
            "is_ext_shared": self.is_ext_shared,
            "is_member": bot_user_id in self.members,
            "created": self.created,
            "creator": self.members[0] if self.members else "",
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
        }


@dataclass
class ViewRecord:
    id: str
    user: str
    body: JSON
    hash: str
    team_id: str
    app_id: str
    bot_id: str
    root_view_id: str | None = None
    previous_view_id: str | None = None
    values: JSON = field(default_factory=dict)
    is_open: bool = True

    @property
    def type(self) -> str:
        return str(self.body.get("type", "modal"))

    def to_dict(self) -> JSON:
        body = self.body
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "blocks": copy.deepcopy(body.get("blocks", [])),
            "private_metadata": body.get("private_metadata", ""),
            "callback_id": body.get("callback_id", ""),
            "state": {"values": copy.deepcopy(self.values)},
            "hash": self.hash,
            "title": copy.deepcopy(body.get("title")),
            "clear_on_close": bool(body.get("clear_on_close", False)),
            "notify_on_close": bool(body.get("notify_on_close", False)),
            "close": copy.deepcopy(body.get("close")),
            "submit": copy.deepcopy(body.get("submit")),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id or self.id,
            "app_id": self.app_id,
            "external_id": body.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


@dataclass
class Trigger:
    id: str
    user: str
    issued: float  # on the test clock (``State.test_clock``)
    used: bool = False


@dataclass
class FileRecord:
    id: str
    name: str
    length: int
    user: str
    created: int
    upload_url: str
    title: str = ""
    content: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None

    def to_dict(self) -> JSON:
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": "text/plain" if self.name.endswith((".txt", ".csv")) else "application/octet-stream",
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "user": self.user,
            "size": len(self.content) if self.content is not None else self.length,
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(self.channels),
            "url_private": f"https://files.emulator.slack/files-pri/{self.id}/{self.name}",
            "permalink": f"https://emulator.slack/files/{self.user}/{self.id}/{self.name}",
            "channels": list(self.channels),
            "groups": [],
            "ims": [],
        }


@dataclass
class ResponseUrl:
    id: str
    user: str
    channel: str | None
    kind: str
    message_ts: str | None = None
    is_ephemeral: bool = False
    uses: int = 0
    created: float = 0.0  # on the test clock (``State.test_clock``), never wall time
