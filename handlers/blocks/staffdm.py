"""Block Kit for a staff member's DM standing in for a triage post that was given up (``bot.staffdm``).

The DM is the message the triage channel would have shown — its content and buttons, rendered from the same payload
in the staff member's language — with one line saying what waits for them (an escalated question by its number),
which channel failed and why in plain words (Slack's code beside them), and a closing line saying every staff member
gets it once.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.i18n import N_, t
from bot.outbox import StaffDM
from bot.text import is_slack_channel_id
from handlers.kit import MAX_BLOCKS, Rendered, context, escape_truncate, fallback, section
from storage.models import OutboxKind

# What waits for staff, by the kind of the triage post (another kind: "a message for the knowledge centre")
STAFF_DM_SUBJECT = {
    OutboxKind.TRIAGE: N_("staffdm.subject_triage"),  # {id}: the question's number
    OutboxKind.PRACTICE_REVIEW: N_("staffdm.subject_practice_review"),
    OutboxKind.PROFILE_REVIEW: N_("staffdm.subject_profile_review"),
    OutboxKind.NEEDS_PROPOSAL: N_("staffdm.subject_needs_proposal"),
    OutboxKind.DELIVERY_FAILED: N_("staffdm.subject_delivery_failed"),
    OutboxKind.DIGEST_STOPPED: N_("staffdm.subject_digest_stopped"),
    OutboxKind.CHANNEL_CHECK_FAILED: N_("staffdm.subject_channel_check_failed"),
    OutboxKind.EXPERT_REACTIVATED: N_("staffdm.subject_expert_reactivated"),
}
# Slack's reasons a post in the triage channel fails, in plain words (others: "Slack refused it", with the code)
TRIAGE_UNDELIVERED_WHY = {
    "not_in_channel": N_("routing.triage_undelivered_why_not_in_channel"),
    "is_archived": N_("routing.triage_undelivered_why_archived"),
    "channel_not_found": N_("routing.triage_undelivered_why_not_found"),
    "ratelimited": N_("routing.triage_undelivered_why_rate_limited"),
    "rate_limited": N_("routing.triage_undelivered_why_rate_limited"),
    "shared_outside": N_("routing.triage_undelivered_why_shared_outside"),  # not posted there: ``handlers.outbox``
}


def triage_channel_label(channel: str) -> str:
    """The triage channel as a DM names it: a link when it is a channel id, else the configured text, escaped."""
    return f"<#{channel}>" if is_slack_channel_id(channel) else escape_truncate(channel, 40)


def build_staff_dm(payload: StaffDM, original: Rendered, lang: str) -> Rendered:
    """``original`` (the triage post as rendered in ``lang``) with what waits, where it was not posted, and why."""
    subject = _subject(payload, lang)
    channel = payload.triage_channel_id
    if channel is None:
        head = t("staffdm.no_channel", lang, subject=subject)
    else:
        key = TRIAGE_UNDELIVERED_WHY.get(payload.error)
        why = t(key, lang) if key else t("routing.triage_undelivered_why_other", lang)
        head = t("staffdm.undelivered", lang, subject=subject, channel=triage_channel_label(channel), why=why)
    code = f" (`{escape_truncate(payload.error, 60)}`)" if payload.error and channel is not None else ""
    where = N_("staffdm.where_triage") if payload.original_kind is OutboxKind.TRIAGE else N_("staffdm.where")
    blocks: list[Block] = [
        *original.blocks[:1],
        section("⚠️ " + head + code),
        *original.blocks[1 : MAX_BLOCKS - 2],
        context(t(where, lang)),
    ]
    return Rendered(text=fallback(head), blocks=blocks)


def _subject(payload: StaffDM, lang: str) -> str:
    if payload.original_kind is OutboxKind.TRIAGE:
        number = payload.original.get("question_id")
        return t("staffdm.subject_triage", lang, id=number if isinstance(number, int) else "?")
    if payload.original_kind is OutboxKind.DIGEST_STOPPED and payload.original.get("held") is True:
        return t("staffdm.subject_digest_held", lang)
    if payload.original_kind is OutboxKind.DIGEST_STOPPED and payload.original.get("source") is True:
        several = payload.original.get("others") or payload.original.get("more")  # a pass's channels, grouped
        key = N_("staffdm.subject_digest_sources") if several else N_("staffdm.subject_digest_source")
        return t(key, lang)
    return t(STAFF_DM_SUBJECT.get(payload.original_kind, N_("staffdm.subject_other")), lang)
