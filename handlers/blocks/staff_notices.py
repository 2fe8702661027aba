"""Block Kit for the notices for staff that concern no question (``bot.staff_notices``): each kind by its builder."""

from __future__ import annotations

from bot.staff_notices import ChannelCheckFailed, DigestStopped, ExpertReactivated
from handlers.blocks.channel_check import build_channel_check_failed
from handlers.blocks.digest_stopped import build_digest_stopped
from handlers.blocks.reactivated import build_expert_reactivated
from handlers.kit import Rendered

StaffNotice = DigestStopped | ChannelCheckFailed | ExpertReactivated


def render_staff_notice(payload: StaffNotice, lang: str) -> Rendered:
    match payload:
        case DigestStopped():
            return build_digest_stopped(payload, lang)
        case ChannelCheckFailed():
            return build_channel_check_failed(payload, lang)
        case ExpertReactivated():
            return build_expert_reactivated(payload, lang)
