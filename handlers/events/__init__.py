"""Events: mentions of the bot and direct messages get an answer in the thread; the Home tab is published when
opened; a channel that turned private or is shared with another organisation makes what was asked there private; a
channel archived or left by the bot loses its digest subscription (staff are told); a deactivated member's requests
move on and their questions are withdrawn, once Slack confirms it (``handlers.profile_change``);
everything else is acknowledged and ignored.

What counts as a mention or DM is one definition (``handlers.addressed``), shared with the network check.
Slack acks an event before any listener runs and never resends an acked one, so a mention or DM is recorded in the
inbox by listener middleware (``handlers.answers.record_message``) before Bolt acks it; the row is also the dedupe
claim (Slack sends both ``app_mention`` and ``message`` for one message, and redelivers on retries), and the
answer is produced from it once (``handlers.answers.answer_message``), whichever process gets which delivery. A
channel made private or shared is recorded in the inbox too (``deferred``: ``handlers.recorded.record_event``) and
handled from there, by a replica that runs the database's schema.
"""

from __future__ import annotations

from slack_bolt import App

from handlers import answers, deactivated, digests, privacy, profile_change, profiles
from handlers.listener import listener
from handlers.requestspec import Kind
from handlers.services import Services


def register(app: App, services: Services) -> None:
    recorder = answers.record_message(services)
    for event in ("app_mention", "message"):
        app.event(event, middleware=[recorder])(
            listener(services, Kind.EVENT, answers.handle_message_event, ack_first=True, inbox=True)
        )
    app.event("app_home_opened")(listener(services, Kind.EVENT, profiles.handle_home_opened, ack_first=True))
    for event in ("channel_converted_to_private", "channel_shared"):  # what was asked there becomes private
        app.event(event)(listener(services, Kind.EVENT, privacy.handle_channel_private, deferred=True))
    for event in digests.GONE_EVENTS:  # its digest is turned off, staff told once
        app.event(event)(listener(services, Kind.EVENT, digests.handle_channel_gone, ack_first=True))
    # sent for every profile change of every member: a deactivation, or a change of someone marked away by one, is
    # recorded and confirmed with Slack from the inbox (``handlers.profile_change``); every other change is only
    # acknowledged (no look-up, nothing stored: an unmatched event would be answered 404, retried by Slack and counted
    # as a failed delivery)
    app.event("user_change", matchers=[profile_change.worth_a_look(services)])(
        listener(services, Kind.EVENT, profile_change.handle_profile_change, deferred=True)
    )
    app.event("user_change")(deactivated.acknowledge_only)
