"""The test-facing driver: what a Slack user does, turned into payloads delivered to the bot."""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from .blocks import find_action_element
from .delivery import Deliverer
from .models import JSON, Delivery
from .payloads import (
    action_payload,
    app_mention_event,
    channel_brief,
    event_callback,
    interaction_base,
    message_event,
    slash_command,
    state_value,
    user_message,
    view_state_values,
)
from .responses import apply_command_ack, apply_view_submission_ack
from .state import Channel, State, ViewRecord


class DriverMixin:
    """Sends events, commands and interactions; mixed into :class:`SlackEmulator`."""

    _state: State
    _deliverer: Deliverer

    # -- helpers ------------------------------------------------------------------------------------

    def _channel(self, channel: str | None, user: str) -> Channel:
        if channel is None:
            return self._state.dm_channel(user)
        found = self._state.resolve_channel(channel)
        if found is None:
            raise ValueError(f"unknown channel {channel!r}: call add_channel() first")
        return found

    def _event(self, event: JSON, *, retry_num: int, event_id: str | None, wait: bool) -> Delivery:
        envelope = event_callback(self._state, event, event_id)
        return self._deliverer.deliver(
            "events_api", envelope, retry_num=retry_num, event_id=envelope["event_id"], wait=wait
        )

    def _store_user_message(
        self,
        user: str | None,
        channel: Channel,
        text: str,
        thread_ts: str | None,
        subtype: str | None = None,
        bot_id: str | None = None,
    ) -> JSON:
        state = self._state
        with state.lock:
            message = user_message(
                state,
                user=user,
                channel=channel,
                text=text,
                ts=state.clock.next(),
                thread_ts=thread_ts,
                subtype=subtype,
                bot_id=bot_id,
            )
            state.store_message(channel, message)
            return copy.deepcopy(message)

    def add_message(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None, bot_id: str | None = None
    ) -> JSON:
        """Seed a message in the channel's history without sending any event; returns it (with its ts)."""
        return self._store_user_message(user, self._channel(channel, user), text, thread_ts, None, bot_id)

    # -- Events API ---------------------------------------------------------------------------------

    def send_event(
        self, event: JSON, *, retry_num: int = 0, event_id: str | None = None, wait: bool = True
    ) -> Delivery:
        """Deliver a raw ``event`` inside an ``event_callback`` envelope (no channel state is touched)."""
        return self._event(copy.deepcopy(event), retry_num=retry_num, event_id=event_id, wait=wait)

    def send_channel_archived(self, channel: str, user: str, *, event_id: str | None = None) -> Delivery:
        """``user`` archives ``channel``: posts in it are refused with ``is_archived`` from now on, and Slack sends
        ``channel_archive`` (``group_archive`` for a private channel)."""
        target = self._channel(channel, user)
        with self._state.lock:
            target.is_archived = True
        kind = "group_archive" if target.is_private else "channel_archive"
        return self._event(
            {"type": kind, "channel": target.id, "user": user}, retry_num=0, event_id=event_id, wait=True
        )

    def send_member_left(self, channel: str, user: str, *, event_id: str | None = None) -> Delivery:
        """``user`` (the bot too: removed by someone) leaves ``channel``; Slack sends ``member_left_channel``."""
        target = self._channel(channel, user)
        with self._state.lock:
            if user in target.members:
                target.members.remove(user)
        event = {
            "type": "member_left_channel",
            "user": user,
            "channel": target.id,
            "channel_type": "G" if target.is_private else "C",
            "team": self._state.team_id,
        }
        return self._event(event, retry_num=0, event_id=event_id, wait=True)

    def send_bot_removed(self, channel: str, by: str, *, event_id: str | None = None) -> Delivery:
        """``by`` removes the bot from ``channel``: posts there are refused with ``not_in_channel`` from now on, and
        Slack tells the bot with ``channel_left`` (``group_left`` for a private channel), not ``member_left_channel``
        (which goes to the members still in it)."""
        target = self._channel(channel, by)
        bot = self._state.bot_user_id
        with self._state.lock:
            if bot in target.members:
                target.members.remove(bot)
        event: JSON = {"type": "group_left" if target.is_private else "channel_left", "channel": target.id}
        if not target.is_private:
            event.update(actor_id=by, event_ts=self._state.clock.next())
        return self._event(event, retry_num=0, event_id=event_id, wait=True)

    def send_user_changed(self, user: str, *, event_id: str | None = None, **fields: Any) -> Delivery:
        """An admin changes ``user``'s account (``fields``, e.g. ``is_restricted=True``: made a guest): ``users.info``
        says so from now on, and Slack sends ``user_change`` with the whole user object."""
        with self._state.lock:
            record = self._state.users[user]
            record.update(fields)
            snapshot = copy.deepcopy(record)
        return self._event({"type": "user_change", "user": snapshot}, retry_num=0, event_id=event_id, wait=True)

    def send_user_deactivated(self, user: str, *, event_id: str | None = None) -> Delivery:
        """An admin deactivates ``user``: ``users.info`` says ``deleted`` and DMs are refused from now on, and Slack
        sends ``user_change`` with the whole user object (its ``team_id`` the person's own team)."""
        with self._state.lock:
            record = self._state.users[user]
            record["deleted"] = True
            snapshot = copy.deepcopy(record)
        return self._event({"type": "user_change", "user": snapshot}, retry_num=0, event_id=event_id, wait=True)

    def send_message(
        self,
        user: str | None,
        channel: str | None = None,
        text: str = "",
        *,
        thread_ts: str | None = None,
        channel_type: str | None = None,
        subtype: str | None = None,
        bot_id: str | None = None,
        retry_num: int = 0,
        event_id: str | None = None,
        wait: bool = True,
    ) -> Delivery:
        """A user posts ``text`` (``channel=None``: in their DM with the bot); stored like Slack, then sent.

        ``delivery.ts`` is the new message's ts.
        """
        if channel is None and user is None:
            raise ValueError("send_message needs a channel or a user (for their DM)")
        target = self._channel(channel, user or "")
        message = self._store_user_message(user, target, text, thread_ts, subtype, bot_id)
        event = message_event(self._state, message, target, channel_type or self._state.channel_type(target))
        return self._event(event, retry_num=retry_num, event_id=event_id, wait=wait)

    def send_app_mention(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        retry_num: int = 0,
        event_id: str | None = None,
        wait: bool = True,
    ) -> Delivery:
        """Only the ``app_mention`` event for a new message (see :meth:`send_mention_message` for both)."""
        target = self._channel(channel, user)
        message = self._store_user_message(user, target, text, thread_ts)
        return self._event(app_mention_event(message, target), retry_num=retry_num, event_id=event_id, wait=wait)

    def send_mention_message(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None, wait: bool = True
    ) -> tuple[Delivery, Delivery]:
        """What Slack really does for ``@bot …``: one message, an ``app_mention`` and a ``message`` event
        (same ts, different event ids). Returns ``(app_mention delivery, message delivery)``."""
        target = self._channel(channel, user)
        message = self._store_user_message(user, target, text, thread_ts)
        mention = self._event(app_mention_event(message, target), retry_num=0, event_id=None, wait=wait)
        event = message_event(self._state, message, target, self._state.channel_type(target))
        return mention, self._event(event, retry_num=0, event_id=None, wait=wait)

    def open_home(self, user: str, *, wait: bool = True) -> Delivery:
        """The user opens the app's Home tab (``app_home_opened``)."""
        state = self._state
        event: JSON = {
            "type": "app_home_opened",
            "user": user,
            "channel": state.dm_channel(user).id,
            "tab": "home",
            "event_ts": state.clock.next(),
        }
        with state.lock:
            home_id = state.home_views.get(user)
            if home_id is not None:
                event["view"] = state.views[home_id].to_dict()
        return self._event(event, retry_num=0, event_id=None, wait=wait)

    def send_url_verification(self, challenge: str = "emulator-challenge", *, wait: bool = True) -> Delivery:
        """The Request URL check (HTTP mode only); the bot must echo ``challenge``."""
        if self._deliverer.http_target is None:
            raise ValueError("url_verification exists only in HTTP mode: set http_target first")
        payload = {"token": "emulator-verification-token", "challenge": challenge, "type": "url_verification"}
        return self._deliverer.deliver("url_verification", payload, wait=wait)

    # -- commands and shortcuts ---------------------------------------------------------------------

    def send_command(
        self, user: str, channel: str | None = None, command: str = "/wieweet", text: str = "", *, wait: bool = True
    ) -> Delivery:
        """A slash command (with a fresh ``trigger_id`` and ``response_url``); a text ack is shown to the user."""
        state = self._state
        target = self._channel(channel, user)
        payload = slash_command(
            state,
            user=user,
            channel=target,
            command=command,
            text=text,
            trigger_id=state.issue_trigger(user),
            response_url=state.new_response_url(user, target.id, "slash_commands"),
        )
        return self._deliverer.deliver(
            "slash_commands", payload, on_ack=lambda ack: apply_command_ack(state, payload, ack), wait=wait
        )

    def send_message_shortcut(
        self, user: str, channel: str, callback_id: str, message_ts: str, *, wait: bool = True
    ) -> Delivery:
        state = self._state
        target = self._channel(channel, user)
        message = state.find_message(target.id, message_ts)
        if message is None:
            raise ValueError(f"no message {message_ts} in {target.id}")
        payload = interaction_base(state, "message_action", user, state.issue_trigger(user))
        payload.update(
            {
                "callback_id": callback_id,
                "action_ts": f"{time.time():.6f}",
                "channel": channel_brief(target),
                "message_ts": message_ts,
                "message": copy.deepcopy(message),
                "response_url": state.new_response_url(user, target.id, "message_action", message_ts),
            }
        )
        return self._deliverer.deliver("interactive", payload, wait=wait)

    def send_global_shortcut(self, user: str, callback_id: str, *, wait: bool = True) -> Delivery:
        state = self._state
        payload = interaction_base(state, "shortcut", user, state.issue_trigger(user))
        payload.update({"callback_id": callback_id, "action_ts": f"{time.time():.6f}"})
        return self._deliverer.deliver("interactive", payload, wait=wait)

    # -- block actions ------------------------------------------------------------------------------

    def click_button(
        self,
        user: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        message: str | JSON | None = None,
        channel: str | None = None,
        view: str | None = None,
        *,
        wait: bool = True,
    ) -> Delivery:
        """Click a button in a stored message (``message`` = its ts, with ``channel``) or in a view (``view`` = id).

        The button must exist there; ``value`` defaults to the button's own value.
        """
        return self._block_action(
            user, "button", action_id, {"value": value}, block_id, message, channel, view, wait=wait
        )

    def select_user(
        self,
        user: str,
        action_id: str,
        selected_user: str,
        block_id: str | None = None,
        message: str | JSON | None = None,
        channel: str | None = None,
        view: str | None = None,
        *,
        wait: bool = True,
    ) -> Delivery:
        """Pick ``selected_user`` in a ``users_select``."""
        extra = {"selected_user": selected_user}
        return self._block_action(user, "users_select", action_id, extra, block_id, message, channel, view, wait=wait)

    def select_option(
        self,
        user: str,
        action_id: str,
        value: str,
        block_id: str | None = None,
        message: str | JSON | None = None,
        channel: str | None = None,
        view: str | None = None,
        *,
        wait: bool = True,
    ) -> Delivery:
        """Pick the option with ``value`` in a ``static_select`` (its text is taken from the block)."""
        extra = {"selected_option": value}
        return self._block_action(user, "static_select", action_id, extra, block_id, message, channel, view, wait=wait)

    def pick_date(
        self,
        user: str,
        action_id: str,
        selected_date: str,
        block_id: str | None = None,
        message: str | JSON | None = None,
        channel: str | None = None,
        view: str | None = None,
        *,
        wait: bool = True,
    ) -> Delivery:
        """Pick ``selected_date`` (YYYY-MM-DD) in a ``datepicker``."""
        extra = {"selected_date": selected_date}
        return self._block_action(user, "datepicker", action_id, extra, block_id, message, channel, view, wait=wait)

    def _block_action(
        self,
        user: str,
        kind: str,
        action_id: str,
        extra: JSON,
        block_id: str | None,
        message: str | JSON | None,
        channel: str | None,
        view: str | None,
        *,
        wait: bool,
    ) -> Delivery:
        state = self._state
        payload = interaction_base(state, "block_actions", user, state.issue_trigger(user))
        if view is not None:
            blocks = self._view_container(payload, view)
        elif message is not None:
            blocks = self._message_container(payload, user, message, channel)
        else:
            raise ValueError("click in a message (message=ts, channel=...) or a view (view=view_id)")
        found_block, element = find_action_element(blocks, action_id)
        if element is None:
            raise ValueError(f"no element with action_id {action_id!r} in {blocks!r}")
        if kind == "button" and extra.get("value") is None:
            extra = {"value": element.get("value")} if element.get("value") is not None else {}
        if kind == "static_select":
            extra = {"selected_option": state_value(element, extra["selected_option"])["selected_option"]}
        resolved_block = block_id or found_block or secrets.token_hex(3)
        payload["actions"] = [action_payload(str(element.get("type", kind)), action_id, resolved_block, element, extra)]
        return self._deliverer.deliver("interactive", payload, wait=wait)

    def _view_container(self, payload: JSON, view_id: str) -> Any:
        record = self._state.find_view(view_id)
        if record is None or not record.is_open:
            raise ValueError(f"view {view_id} is not open")
        payload["container"] = {"type": "view", "view_id": record.id}
        payload["view"] = record.to_dict()
        payload["state"] = {"values": copy.deepcopy(record.values)}
        return record.body.get("blocks")

    def _message_container(self, payload: JSON, user: str, message: str | JSON, channel: str | None) -> Any:
        state = self._state
        ts = message if isinstance(message, str) else str(message.get("ts", ""))
        target = self._locate(ts, channel) if channel is None else self._channel(channel, user)
        stored = state.find_message(target.id, ts)
        ephemeral = state.find_ephemeral(target.id, ts) if stored is None else None
        body: JSON | None = message if isinstance(message, dict) else stored or ephemeral
        if body is None:
            raise ValueError(f"no message {ts} in {target.id}")
        is_ephemeral = stored is None and ephemeral is not None
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": target.id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = channel_brief(target)
        if not is_ephemeral:
            payload["message"] = copy.deepcopy(body)
        payload["state"] = {"values": {}}
        payload["response_url"] = state.new_response_url(user, target.id, "block_actions", ts, is_ephemeral)
        return body.get("blocks")

    def _locate(self, ts: str, channel: str | None) -> Channel:
        state = self._state
        with state.lock:
            for candidate in state.channels.values():
                if candidate.find(ts) is not None:
                    return candidate
            for eph in state.ephemerals:
                if eph["message_ts"] == ts:
                    return state.channels[eph["channel"]]
        raise ValueError(f"no message with ts {ts} (channel {channel})")

    # -- views --------------------------------------------------------------------------------------

    def _open_view(self, user: str, view_id: str) -> ViewRecord:
        record = self._state.find_view(view_id)
        if record is None or not record.is_open or record.user != user:
            raise ValueError(f"view {view_id} is not open for {user}")
        return record

    def submit_view(self, user: str, view_id: str, values: JSON | None = None, *, wait: bool = True) -> Delivery:
        """Press Submit. ``values``: ``{block_id: {action_id: value}}`` or ``{block_id: value}``, where a plain
        value is shaped for the element (text → ``value``, select → ``selected_option`` …) and a dict is sent
        as is. The ack's ``response_action`` (errors/update/push/clear) is applied; see ``response_action``."""
        state = self._state
        record = self._open_view(user, view_id)
        with state.lock:
            record.values = view_state_values(record, values or {})
            payload = interaction_base(state, "view_submission", user, state.issue_trigger(user))
            payload["view"] = record.to_dict()
            payload["response_urls"] = []
        return self._deliverer.deliver(
            "interactive", payload, on_ack=lambda ack: apply_view_submission_ack(state, record, ack), wait=wait
        )

    def redeliver(self, delivery: Delivery, *, wait: bool = True) -> Delivery:
        """Deliver the same payload again (same trigger, view, event ids): a replayed request, or Slack retrying a
        request whose ack it did not get. Freshly signed, as a replay within the signature's window would be."""
        return self._deliverer.deliver(delivery.kind, copy.deepcopy(delivery.payload), wait=wait)

    def close_view(self, user: str, view_id: str, *, wait: bool = True) -> Delivery | None:
        """Press Cancel / ×: the modal closes; ``view_closed`` is sent only if the view asked (notify_on_close)."""
        state = self._state
        record = self._open_view(user, view_id)
        notify = bool(record.body.get("notify_on_close"))
        payload = interaction_base(state, "view_closed", user, None)
        payload["view"] = record.to_dict()
        payload["is_cleared"] = False
        state.close_modal(record)
        if not notify:
            return None
        return self._deliverer.deliver("interactive", payload, wait=wait)
