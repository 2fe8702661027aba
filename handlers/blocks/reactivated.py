"""Block Kit for staff: an expert marked away because Slack said their account was gone has an active account again
and is available again (``bot.register.reactivated``), in the triage channel or, when that cannot take it, by DM."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.i18n import format_date, format_number, t, tn
from bot.staff_notices import ExpertReactivated
from handlers.blocks.routing import UNDELIVERED_WHY
from handlers.kit import Rendered, context, escape_truncate, fallback, section, user_mention


def build_expert_reactivated(payload: ExpertReactivated, lang: str) -> Rendered:
    """Who is available again, since when they were away and why; what stays as the mark left it (the requests that
    moved on, their own questions withdrawn: by number only those staff may see, the others counted)."""
    who = user_mention(payload.slack_user_id) or f"*{escape_truncate(payload.name, 150)}*"
    key = UNDELIVERED_WHY.get(payload.reason)
    why = t(key, lang) if key else f"`{escape_truncate(payload.reason, 80)}`"
    head = t("register.reactivated", lang, name=who, day=_day(payload.marked_at, lang), why=why)
    lines = [t("register.reactivated_moved", lang)] if payload.told else []
    if payload.withdrawn or payload.withdrawn_unlisted:
        lines.append(t("register.reactivated_withdrawn", lang, ids=_withdrawn(payload, lang)))
    blocks: list[Block] = [section("✅ " + head)]
    if lines:
        blocks.append(context("\n".join(lines)))
    return Rendered(text=fallback(head), blocks=blocks)


def _withdrawn(payload: ExpertReactivated, lang: str) -> str:
    """The questions withdrawn, "#3, #5 and 2 other questions (not listed)": an anonymous or private one is never
    tied to the person by its number."""
    shown = payload.withdrawn
    numbers = ", ".join(f"#{n}" for n in shown[:20]) + (" …" if len(shown) > 20 else "")
    unlisted = payload.withdrawn_unlisted
    if not unlisted:
        return numbers
    count = format_number(unlisted, lang)
    if not numbers:
        return tn("register.reactivated_unlisted", "register.reactivated_unlisted_plural", unlisted, lang, count=count)
    others = tn("register.reactivated_others", "register.reactivated_others_plural", unlisted, lang, count=count)
    return f"{numbers} {others}"


def _day(marked_at: str | None, lang: str) -> str:
    """The local day of the stored moment ("4 Dec 2026"); text that is no moment as it is."""
    try:
        return format_date(datetime.fromisoformat(marked_at or ""), lang, year=True)
    except ValueError:
        return escape_truncate(marked_at or "", 40)
