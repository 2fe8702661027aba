"""The outbox payloads of notices for staff that concern no question: something the bot did on its own that staff
should know of (a digest turned off, the daily channel check refused, an expert available again). Each goes to the
triage channel (none of them names a recipient), else by DM to each staff member (``bot.staffdm``); ``bot.outbox``
stores and reads them as every other kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from storage.models import OutboxKind


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestStopped:
    """To staff: ``channel_id``'s digest subscription was turned off because the channel is gone for the bot
    (``reason``: Slack's ``is_archived``, ``not_in_channel``, ``channel_not_found``, or the event that said so)."""

    kind: ClassVar[OutboxKind] = OutboxKind.DIGEST_STOPPED
    channel_id: str
    reason: str = ""
    # ``held``: not stopped but waiting: the week's digests are refused for a reason only the operator can fix
    # (``reason``: Slack's ``missing_scope``, ``invalid_auth``…; ``needed``: the scope Slack says is needed;
    # ``channel_id``: the first channel refused); they go out once it is fixed
    held: bool = False
    needed: str = ""
    method: str = ""  # ``held``: the Slack method refused first (the post, or the look-up before it); "": not known
    # ``source``: no digest stopped or waiting: Slack refused to tell about ``channel_id``, a channel questions were
    # asked in (``reason``: its error, ``method``: the look-up), so ``questions`` of them were left out of the week's
    # digests (a channel nobody can vouch for is not public); named by its id only (a mention in Slack)
    source: bool = False
    questions: int = 0
    # ``refused``: not stopped: Slack refused ``channel_id``'s digest of the week (``reason``: its ``no_permission``,
    # ``method``: the post, or the look-up before it), so it failed for the week; the subscription stays on. That
    # channel's refusal, or (a lone subscription, or each its own schedule) the whole app's: the notice says both.
    # ``others``: the other channels refused so in the same pass, named after ``channel_id`` (a few); ``more``: how
    # many more were, counted (``digests.subscriptions.tell_channels_refused``)
    refused: bool = False
    others: tuple[str, ...] = ()
    more: int = 0
    # ``refused``: ``channel_id`` is one of the ``others`` (or the ``more``) of the notice naming ``told_with`` first:
    # this copy, queued under ``channel_id``'s own key and due later (``digests.subscriptions.GROUPED_WAIT``), is for a
    # replica of a release before grouped notices, which reads only ``channel_id`` of that notice (a rolling upgrade):
    # it tells this channel on its own. The replica that sends the grouped notice ends it unsent
    told_with: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCheckFailed:
    """To staff: the daily check of which channels turned private was refused for good on ``day`` (``error``)."""

    kind: ClassVar[OutboxKind] = OutboxKind.CHANNEL_CHECK_FAILED
    day: str
    attempts: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertReactivated:
    """To staff: an expert marked away because Slack said their account was gone (``reason``: the mark's, e.g.
    ``deleted``; ``marked_at``: ISO timestamp) has an active account again and is available again. Sent only when
    that mark had moved things staff saw: they were told of it (``told``: a request that did not reach the expert),
    or the person's own questions were withdrawn (``withdrawn``: the numbers of those staff may see, which stay
    withdrawn; ``withdrawn_unlisted``: how many others, anonymous or private, never listed by number)."""

    kind: ClassVar[OutboxKind] = OutboxKind.EXPERT_REACTIVATED
    expert_id: int
    name: str = ""
    slack_user_id: str | None = None
    reason: str = ""
    marked_at: str | None = None
    told: bool = False
    withdrawn: tuple[int, ...] = ()
    withdrawn_unlisted: int = 0
