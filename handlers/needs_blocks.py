"""Block Kit for the knowledge-needs outbox messages: a proposed work session (triage channel) and the DM asking
someone to add a topic to their profile.

First version, without buttons: the proposal is informative (staff act with ``wieweet needs …``); the recruiting DM
says what to do (``/wieweet profiel``). Texts are the catalogue's ``needs.*`` keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import t
from bot.mrkdwn import escape_truncate, user_mention
from handlers.routing_blocks import MAX_BLOCKS, Payload, Rendered, _context, _fallback, _quote, _section


def _people(people: Sequence[Mapping[str, Any]]) -> str:
    shown = []
    for person in people[:10]:
        mention = user_mention(person.get("slack_user_id"))
        name = escape_truncate(str(person.get("name") or ""), 100)
        organisation = escape_truncate(str(person.get("organisation") or ""), 100)
        label = mention or name
        if label:
            shown.append(f"{label} ({organisation})" if organisation else label)
    return ", ".join(shown)


def build_needs_proposal(payload: Payload, lang: str) -> Rendered:
    """The proposal as posted in the triage channel (payload: ``{"proposal": ProposalView.to_json()}``)."""
    proposal: Mapping[str, Any] = payload.get("proposal") or {}
    label = str(proposal.get("label") or "") or t("needs.private_topic", lang)
    head = t(
        "needs.proposal",
        lang,
        label=escape_truncate(label, 200),
        questions=int(proposal.get("questions") or 0),
        organisations=int(proposal.get("organisations") or 0),
    )
    blocks: list[Block] = [_section(head)]
    quoted = [str(q) for q in proposal.get("quoted") or []][:5]
    if quoted:
        blocks.append(_section("\n".join(_quote(q, 400) for q in quoted)))
    if int(proposal.get("not_quoted") or 0):
        blocks.append(_context(t("needs.not_quoted", lang, n=int(proposal["not_quoted"]))))
    lead = _people(proposal.get("experts") or []) or t("needs.nobody", lang)
    blocks.append(_section(t("needs.lead", lang, people=lead)))
    askers = _people(proposal.get("askers") or [])
    if askers:
        blocks.append(_section(t("needs.askers", lang, people=askers)))
    practices = [escape_truncate(str(p.get("title") or ""), 150) for p in proposal.get("practices") or []]
    if practices:
        blocks.append(_section(t("needs.practices", lang, items="; ".join(practices))))
    blocks.append(_context(t("needs.how", lang, id=int(proposal.get("id") or 0))))
    plain = t(
        "needs.proposal",
        lang,
        label=label,
        questions=proposal.get("questions") or 0,
        organisations=proposal.get("organisations") or 0,
    )
    return Rendered(text=_fallback(plain), blocks=blocks[:MAX_BLOCKS])


def build_expertise_request(payload: Payload, lang: str) -> Rendered:
    """DM: would you add this topic to your profile?"""
    label = str(payload.get("label") or "")
    reason = str(payload.get("reason") or "")
    why = t("needs.reason", lang, reason=escape_truncate(reason, 300)) if reason else ""
    text = t("needs.recruit", lang, label=escape_truncate(label, 200), reason=why)
    return Rendered(text=_fallback(t("needs.recruit", lang, label=label, reason="")), blocks=[_section(text)])
