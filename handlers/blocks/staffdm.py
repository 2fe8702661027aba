"""Block Kit for a staff member's DM standing in for a triage post that was given up (``bot.staffdm``).

The DM is the message the triage channel would have shown — its content and buttons, rendered from the same payload
in the staff member's language — with one line saying what waits for them, which channel failed and why in plain
words (Slack's code beside them), and a closing line saying every staff member gets it once.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.i18n import N_, t
from bot.outbox import StaffDM
from handlers.blocks.routing import TRIAGE_UNDELIVERED_WHY, triage_channel_label
from handlers.kit import MAX_BLOCKS, Rendered, context, escape_truncate, fallback, section
from storage.models import OutboxKind

# What waits for staff, by the kind of the triage post (another kind: "a message for the knowledge centre")
STAFF_DM_SUBJECT = {
    OutboxKind.PRACTICE_REVIEW: N_("staffdm.subject_practice_review"),
    OutboxKind.PROFILE_REVIEW: N_("staffdm.subject_profile_review"),
    OutboxKind.NEEDS_PROPOSAL: N_("staffdm.subject_needs_proposal"),
    OutboxKind.DELIVERY_FAILED: N_("staffdm.subject_delivery_failed"),
}


def build_staff_dm(payload: StaffDM, original: Rendered, lang: str) -> Rendered:
    """``original`` (the triage post as rendered in ``lang``) with what waits, where it was not posted, and why."""
    subject = t(STAFF_DM_SUBJECT.get(payload.original_kind, N_("staffdm.subject_other")), lang)
    channel = payload.triage_channel_id
    if channel is None:
        head = t("staffdm.no_channel", lang, subject=subject)
    else:
        key = TRIAGE_UNDELIVERED_WHY.get(payload.error)
        why = t(key, lang) if key else t("routing.triage_undelivered_why_other", lang)
        head = t("staffdm.undelivered", lang, subject=subject, channel=triage_channel_label(channel), why=why)
    code = f" (`{escape_truncate(payload.error, 60)}`)" if payload.error and channel is not None else ""
    blocks: list[Block] = [
        *original.blocks[:1],
        section("⚠️ " + head + code),
        *original.blocks[1 : MAX_BLOCKS - 2],
        context(t("staffdm.where", lang)),
    ]
    return Rendered(text=fallback(head), blocks=blocks)
