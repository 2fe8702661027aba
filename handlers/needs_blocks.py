"""Block Kit for the knowledge-needs outbox messages: a proposed work session (triage channel) and the DM asking
someone to add a topic to their profile.

First version, without buttons: the proposal is informative (staff act with ``wieweet needs …`` until the Slack
round adds invite / dismiss / done buttons); the recruiting DM says what to do (``/wieweet profiel``). Texts are
local to this module until they move into the message catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.mrkdwn import escape_truncate, user_mention
from handlers.routing_blocks import MAX_BLOCKS, Payload, Rendered, _context, _fallback, _quote, _section

_TEXTS = {
    "nl": {
        "proposal": "*Voorstel voor een werksessie:* {label}\n{questions} vragen uit {organisations} organisaties "
        "in de afgelopen weken.",
        "private_topic": "(enkel besloten vragen)",
        "not_quoted": "+ {n} besloten of anonieme vraag/vragen (niet getoond)",
        "lead": "*Kan ze leiden:* {people}",
        "askers": "*Komen wellicht:* {people}",
        "practices": "*Praktijken om te tonen:* {items}",
        "nobody": "niemand gevonden",
        "how": "Uitnodigen, afwijzen of afronden: `wieweet needs` (voorstel #{id}).",
        "recruit": "Het kenniscentrum zoekt expertise over *{label}*: er kwamen vragen over, en niemand in het "
        "register staat ervoor. {reason}\nWil je dit onderwerp aan je expertprofiel toevoegen? Dat kan met "
        "`/wieweet profiel`.",
        "reason": "Je kwam in beeld omdat: {reason}.",
    },
    "en": {
        "proposal": "*Proposed work session:* {label}\n{questions} questions from {organisations} organisations in "
        "the past weeks.",
        "private_topic": "(private questions only)",
        "not_quoted": "+ {n} private or anonymous question(s) (not shown)",
        "lead": "*Could lead it:* {people}",
        "askers": "*Likely to come:* {people}",
        "practices": "*Practices to present:* {items}",
        "nobody": "nobody found",
        "how": "Invite, dismiss or close: `wieweet needs` (proposal #{id}).",
        "recruit": "The knowledge centre is looking for expertise on *{label}*: people asked about it and nobody in "
        "the register covers it. {reason}\nWould you add this topic to your expert profile? Use `/wieweet profiel`.",
        "reason": "You were suggested because: {reason}.",
    },
}


def _tx(lang: str) -> Mapping[str, str]:
    return _TEXTS["en" if lang == "en" else "nl"]


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
    tx = _tx(lang)
    proposal: Mapping[str, Any] = payload.get("proposal") or {}
    label = str(proposal.get("label") or "") or tx["private_topic"]
    head = tx["proposal"].format(
        label=escape_truncate(label, 200),
        questions=int(proposal.get("questions") or 0),
        organisations=int(proposal.get("organisations") or 0),
    )
    blocks: list[Block] = [_section(head)]
    quoted = [str(q) for q in proposal.get("quoted") or []][:5]
    if quoted:
        blocks.append(_section("\n".join(_quote(q, 400) for q in quoted)))
    if int(proposal.get("not_quoted") or 0):
        blocks.append(_context(tx["not_quoted"].format(n=int(proposal["not_quoted"]))))
    blocks.append(_section(tx["lead"].format(people=_people(proposal.get("experts") or []) or tx["nobody"])))
    askers = _people(proposal.get("askers") or [])
    if askers:
        blocks.append(_section(tx["askers"].format(people=askers)))
    practices = [escape_truncate(str(p.get("title") or ""), 150) for p in proposal.get("practices") or []]
    if practices:
        blocks.append(_section(tx["practices"].format(items="; ".join(practices))))
    blocks.append(_context(tx["how"].format(id=int(proposal.get("id") or 0))))
    plain = tx["proposal"].format(
        label=label, questions=proposal.get("questions") or 0, organisations=proposal.get("organisations") or 0
    )
    return Rendered(text=_fallback(plain), blocks=blocks[:MAX_BLOCKS])


def build_expertise_request(payload: Payload, lang: str) -> Rendered:
    """DM: would you add this topic to your profile?"""
    tx = _tx(lang)
    label = str(payload.get("label") or "")
    reason = str(payload.get("reason") or "")
    why = tx["reason"].format(reason=escape_truncate(reason, 300)) if reason else ""
    text = tx["recruit"].format(label=escape_truncate(label, 200), reason=why)
    return Rendered(text=_fallback(tx["recruit"].format(label=label, reason="")), blocks=[_section(text)])
