"""What an outbox message looks like: each kind rendered in a language (``render_payload``), or a stored one read
back first (``render_message``). Sending it is ``handlers.outbox``'s.
"""

from __future__ import annotations

from bot.outbox import (
    ConsentRequest,
    ExpertiseRequest,
    NeedsProposal,
    OutboxPayload,
    PracticeReview,
    ProfileReview,
    StaffDM,
    SubmissionOutcome,
    payload_json,
    read_payload,
)
from bot.staff_notices import ChannelCheckFailed, DigestStopped, ExpertReactivated
from handlers.blocks.needs import build_expertise_request, build_needs_proposal
from handlers.blocks.practice import build_practice_review
from handlers.blocks.profile import build_consent_request, build_profile_review, build_submission_outcome
from handlers.blocks.routing import render_routing
from handlers.blocks.staff_notices import render_staff_notice
from handlers.blocks.staffdm import build_staff_dm
from handlers.kit import Payload, Rendered
from storage.models import OutboxKind

__all__ = ["render_message", "render_payload"]


def render_message(kind: OutboxKind, payload: Payload, lang: str) -> Rendered:
    """What a stored outbox message of any kind looks like in ``lang`` (``PayloadError``: it does not fit)."""
    return render_payload(read_payload(kind, payload), lang)


def render_payload(payload: OutboxPayload, lang: str) -> Rendered:
    """What an outbox message looks like in ``lang``: self-service kinds here, routing's by ``render_routing``."""
    match payload:
        case ConsentRequest():
            return build_consent_request(payload, lang)
        case ProfileReview():
            return build_profile_review(payload, lang)
        case SubmissionOutcome():
            return build_submission_outcome(payload, lang)
        case PracticeReview():
            return build_practice_review(payload, lang)
        case NeedsProposal():
            return build_needs_proposal(payload_json(payload), lang)
        case ExpertiseRequest():
            return build_expertise_request(payload_json(payload), lang)
        case DigestStopped() | ChannelCheckFailed() | ExpertReactivated():
            return render_staff_notice(payload, lang)
        case StaffDM():
            return build_staff_dm(payload, render_message(payload.original_kind, payload.original, lang), lang)
        case _:
            return render_routing(payload, lang)
