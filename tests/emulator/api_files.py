"""``files.getUploadURLExternal``, ``files.completeUploadExternal``, ``files.info``.

The upload URL handed out points back at the emulator (``/upload/v1/<file id>``), so
``WebClient.files_upload_v2`` runs its real three steps.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from .api_chat import visible_channel
from .models import JSON
from .params import ApiError, Params
from .state import State

Handler = Callable[[State, Params], JSON]


def get_upload_url(state: State, params: Params) -> JSON:
    filename = params.require("filename")
    length = params.number("length", -1)
    if length < 0:
        raise ApiError("invalid_arguments", messages=["missing required field: length"])
    record = state.new_file(filename, length, state.bot_user_id)
    return {"ok": True, "upload_url": record.upload_url, "file_id": record.id}


def complete_upload(state: State, params: Params) -> JSON:
    items = params.json("files")
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_arguments", messages=["missing required field: files"])
    channel_ids = params.csv("channels")
    single = params.text("channel_id")
    if single:
        channel_ids = [single, *channel_ids]
    channels = [visible_channel(state, Params({"channel": c})) for c in channel_ids]
    thread_ts = params.text("thread_ts")
    comment = params.text("initial_comment")
    with state.lock:
        records = []
        for item in items:
            record = state.files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if record is None or record.content is None:
                raise ApiError("file_not_found")
            record.title = str(item.get("title") or record.name)
            records.append(record)
        for record in records:
            record.completed = True
            record.initial_comment = comment
            record.thread_ts = thread_ts
            record.channels.extend(c.id for c in channels)
        for channel in channels:
            message = state.bot_message(comment, None, thread_ts, state.clock.next())
            message["files"] = [r.to_dict() for r in records]
            message["upload"] = True
            state.store_message(channel, message)
        return {"ok": True, "files": [r.to_dict() for r in records]}


def files_info(state: State, params: Params) -> JSON:
    file_id = params.require("file", error="file_not_found")
    with state.lock:
        record = state.files.get(file_id)
        if record is None or not record.completed:
            raise ApiError("file_not_found")
        return {"ok": True, "file": copy.deepcopy(record.to_dict()), "comments": [], "response_metadata": {}}


METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "files.info": files_info,
}
