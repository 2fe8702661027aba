"""Pure Block Kit builders for knowledge needs: the proposed work session in the triage channel (invite / dismiss /
done), its two modals, the DM asking someone to add a topic to their profile, the topics of a period
(``/wieweet behoeften``) and the staff Home tab's "Kennisbehoeften" section.

Builders take the plain values of ``bot.needs`` (``ProposalView.to_json()`` in an outbox payload, ``NeedsOverview``)
and a language. Question wording in them is shareable wording only (``bot.needs`` decides); every text is escaped.
Buttons carry the proposal's or topic's id (value and block id); who may press them is decided by the service from
the clicking user, never from the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    InputBlock,
    PlainTextInputElement,
    UrlInputElement,
)
from slack_sdk.models.views import View

from bot.i18n import N_, format_number, format_tenths, t, tn
from bot.needs import NeedsOverview, TopicView, recruit_reasons
from bot.needs.model import COVERED, NOT_COVERED, TREND_FALLING, TREND_NEW, TREND_RISING, TREND_STABLE, WEAK
from bot.needs.proposals import counted_askers
from handlers import ids
from handlers.kit import (
    MAX_BLOCKS,
    Payload,
    Rendered,
    button,
    context,
    danger_button,
    escape_truncate,
    fallback,
    header,
    link,
    modal,
    plain,
    quote,
    section,
    user_mention,
)

QUOTED_MAX = 5
PEOPLE_MAX = 10
OVERVIEW_TOPICS = 15  # topics in /wieweet behoeften (3 blocks each at most)
HOME_TOPICS = 5
SENTENCE_ENDS = ".?!…"  # a text ending in one of these ends a sentence itself
LIVE = frozenset({"open", "invited"})
COVERAGE_KEYS = {
    COVERED: N_("needs.coverage_covered"),
    WEAK: N_("needs.coverage_weak"),
    NOT_COVERED: N_("needs.coverage_none"),
}
TREND_KEYS = {
    TREND_NEW: N_("needs.trend_new"),
    TREND_RISING: N_("needs.trend_rising"),
    TREND_STABLE: N_("needs.trend_stable"),
    TREND_FALLING: N_("needs.trend_falling"),
}


def _people(people: Sequence[Mapping[str, Any]]) -> str:
    shown = []
    for person in people[:PEOPLE_MAX]:
        mention = user_mention(person.get("slack_user_id"))
        name = escape_truncate(str(person.get("name") or ""), 100)
        organisation = escape_truncate(str(person.get("organisation") or ""), 100)
        label = mention or name
        if label:
            shown.append(f"{label} ({organisation})" if organisation else label)
    return ", ".join(shown)


def proposal_payload(proposal: Mapping[str, Any], *, status_line: str = "") -> dict[str, Any]:
    """An outbox / update payload: the proposal (``ProposalView.to_json()``) and a status line (safe mrkdwn)."""
    return {"proposal": dict(proposal), "status_line": status_line}


# --- the proposal in the triage channel ---------------------------------------------------------------------------


def build_needs_proposal(payload: Payload, lang: str) -> Rendered:
    """The proposed work session (payload: ``proposal_payload``): the topic, its questions (shareable ones quoted,
    the others counted), who could lead it, who would likely come, practices to present; the staff's buttons while
    it is open (invite, done, dismiss) or invited (done, dismiss); a status line once acted upon."""
    proposal: Mapping[str, Any] = payload.get("proposal") or {}
    proposal_id = int(proposal.get("id") or 0)
    label = str(proposal.get("label") or "") or t("needs.private_topic", lang)
    questions, organisations = int(proposal.get("questions") or 0), int(proposal.get("organisations") or 0)
    head = t(
        "needs.proposal",
        lang,
        label=escape_truncate(label, 200),
        **counted_askers(questions, organisations, lang),
    )
    blocks: list[Block] = [section(head)]
    quoted = [str(q) for q in proposal.get("quoted") or []][:QUOTED_MAX]
    if quoted:
        blocks.append(section("\n".join(quote(q, 400) for q in quoted)))
    if int(proposal.get("not_quoted") or 0):
        hidden = int(proposal["not_quoted"])
        blocks.append(
            context(tn("needs.not_quoted", "needs.not_quoted_plural", hidden, lang, n=format_number(hidden, lang)))
        )
    lead = _people(proposal.get("experts") or []) or t("needs.nobody", lang)
    blocks.append(section(t("needs.lead", lang, people=lead)))
    askers = _people(proposal.get("askers") or [])
    if askers:
        blocks.append(section(t("needs.askers", lang, people=askers)))
    practices = [escape_truncate(str(p.get("title") or ""), 150) for p in proposal.get("practices") or []]
    if practices:
        blocks.append(section(t("needs.practices", lang, items="; ".join(practices))))
    status = str(proposal.get("status") or "open")
    status_line = str(payload.get("status_line") or "")
    if status_line:
        blocks.append(context(status_line))
    if status in LIVE and proposal_id:
        blocks.append(_proposal_actions(proposal_id, status, lang))
    return Rendered(text=fallback(head), blocks=blocks[:MAX_BLOCKS])


def _proposal_actions(proposal_id: int, status: str, lang: str) -> ActionsBlock:
    value = str(proposal_id)
    elements = []
    if status == "open":
        elements.append(button(t("needs.btn_invite", lang), ids.ACTION_NEEDS_INVITE, value, style="primary"))
    elements.append(button(t("needs.btn_done", lang), ids.ACTION_NEEDS_DONE, value))
    elements.append(
        danger_button(
            t("needs.btn_dismiss", lang),
            ids.ACTION_NEEDS_DISMISS,
            value,
            title=t("needs.dismiss_title", lang),
            text=t("needs.dismiss_text", lang),
            deny=t("needs.dismiss_deny", lang),
        )
    )
    return ActionsBlock(block_id=ids.block_id(ids.BLOCK_NEEDS_PROPOSAL, proposal_id), elements=elements)


def status_invited(lang: str, *, staff: str, channel_id: str, invited: int) -> str:
    return tn(
        "needs.status_invited",
        "needs.status_invited_plural",
        invited,
        lang,
        staff=staff,
        channel=f"<#{channel_id}>",
        n=format_number(invited, lang),
    )


def status_invited_to(lang: str, *, channel_id: str) -> str:
    """An invited proposal's status when its post is updated by the bot (a question withdrawn meanwhile)."""
    return t("needs.status_invited_to", lang, channel=f"<#{channel_id}>")


def status_dismissed(lang: str, *, staff: str) -> str:
    return t("needs.status_dismissed", lang, staff=staff)


def status_done(lang: str, *, staff: str, notes_url: str) -> str:
    return t("needs.status_done", lang, staff=staff, notes=link(notes_url, t("needs.notes", lang)))


# --- the modals ---------------------------------------------------------------------------------------------------


def build_invite_modal(
    lang: str, *, proposal_id: int, label: str, invite: Sequence[str], without_slack: Sequence[str], channel_name: str
) -> View:
    """Invite the proposed people: to an existing channel (picked) or to a new one (its name, pre-filled)."""
    people = ", ".join(m for m in (user_mention(u) for u in invite[:30]) if m) or t("needs.nobody", lang)
    intro = t("needs.invite_intro", lang, label=escape_truncate(label or t("needs.private_topic", lang), 200))
    blocks: list[Block] = [section(intro), section(t("needs.invite_people", lang, people=people))]
    if without_slack:
        names = ", ".join(escape_truncate(n, 100) for n in without_slack[:10])
        blocks.append(context(t("needs.invite_without_slack", lang, people=names)))
    blocks.append(
        InputBlock(
            block_id=ids.BLOCK_NEEDS_CHANNEL,
            label=plain(t("needs.invite_existing", lang), 2000),
            optional=True,
            element=ConversationSelectElement(
                action_id=ids.INPUT_NEEDS_CHANNEL,
                placeholder=plain(t("needs.invite_existing_hint", lang), 150),
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=ids.BLOCK_NEEDS_CHANNEL_NAME,
            label=plain(t("needs.invite_new", lang), 2000),
            optional=True,
            hint=plain(t("needs.invite_new_hint", lang), 2000),
            element=PlainTextInputElement(
                action_id=ids.INPUT_NEEDS_CHANNEL_NAME, initial_value=channel_name[:80], max_length=80
            ),
        )
    )
    return modal(
        ids.VIEW_NEEDS_INVITE,
        t("needs.invite_title", lang),
        t("needs.invite_submit", lang),
        lang,
        blocks,
        {"proposal_id": proposal_id},
    )


def build_done_modal(lang: str, *, proposal_id: int, label: str) -> View:
    """Mark the session done: the link to its notes (required), which become a practice submission."""
    blocks: list[Block] = [
        section(t("needs.done_intro", lang, label=escape_truncate(label or t("needs.private_topic", lang), 200))),
        InputBlock(
            block_id=ids.BLOCK_NEEDS_NOTES,
            label=plain(t("needs.done_notes", lang), 2000),
            element=UrlInputElement(action_id=ids.INPUT_NEEDS_NOTES),
        ),
        InputBlock(
            block_id=ids.BLOCK_NEEDS_SUMMARY,
            label=plain(t("needs.done_summary", lang), 2000),
            optional=True,
            element=PlainTextInputElement(action_id=ids.INPUT_NEEDS_SUMMARY, multiline=True, max_length=3000),
        ),
    ]
    return modal(
        ids.VIEW_NEEDS_DONE,
        t("needs.done_title", lang),
        t("needs.done_submit", lang),
        lang,
        blocks,
        {"proposal_id": proposal_id},
    )


# --- recruiting ---------------------------------------------------------------------------------------------------


def _why_asked(reason: str, lang: str) -> str:
    """Why the person was suggested, in their language: one short sentence of the stored reason's kind
    (``recruit_reasons.SENTENCE_KEYS``, without the code itself: a Slack user is no script) with what it names, as
    stored ("Je beantwoordde eerder een vraag hierover: <question>"); a reason without a known code as stored. A
    reason that ends a sentence itself ("…?") gets no "." after it."""
    if not reason:
        return ""
    code, detail = recruit_reasons.parse(reason)
    if code:
        why = t(recruit_reasons.SENTENCE_KEYS[code], lang, detail=escape_truncate(detail, 300))
    else:
        why = t("needs.reason", lang, reason=escape_truncate(reason, 300))
    return why[:-1] if why.endswith(tuple(f"{end}." for end in SENTENCE_ENDS)) else why


def build_expertise_request(payload: Payload, lang: str) -> Rendered:
    """DM: would you add this topic to your profile? One button adds it (only for the person asked). ``gone``: the
    topic may no longer be added as asked (``bot.needs.TopicLabelGone``): said without its label, no button."""
    if payload.get("gone"):
        gone = t("needs.recruit_gone", lang)
        return Rendered(text=fallback(gone), blocks=[section(gone)])
    label = str(payload.get("label") or "")
    reason = str(payload.get("reason") or "")
    topic_id = int(payload.get("topic_id") or 0)
    text = t("needs.recruit", lang, label=escape_truncate(label, 200), reason=_why_asked(reason, lang))
    blocks: list[Block] = [section(text)]
    if payload.get("added"):
        blocks.append(context(t("needs.recruit_added", lang, label=escape_truncate(label, 200))))
    elif topic_id:
        blocks.append(
            ActionsBlock(
                block_id=ids.block_id(ids.BLOCK_EXPERTISE_REQUEST, topic_id),
                elements=[button(t("needs.btn_add_topic", lang), ids.ACTION_ADD_TOPIC, str(topic_id), style="primary")],
            )
        )
    return Rendered(text=fallback(text), blocks=blocks)


# --- topics of a period -------------------------------------------------------------------------------------------


def topic_line(topic: TopicView, lang: str) -> str:
    """One topic: label (or its number when it has no shareable wording), figures (questions and gaps, the people
    who asked them, their organisations and cities), coverage and trend."""
    label = f"*{escape_truncate(topic.label, 150)}*" if topic.label else t("needs.topic_private", lang, id=topic.id)
    figures = tn(
        "needs.topic_figures",
        "needs.topic_figures_plural",
        topic.total,
        lang,
        count=format_number(topic.total, lang),
        askers=tn(
            "needs.topic_askers",
            "needs.topic_askers_plural",
            topic.askers,
            lang,
            count=format_number(topic.askers, lang),
        ),
        organisations=format_number(topic.organisations, lang),
        cities=format_number(topic.cities, lang),
    )
    answered = t(
        "needs.topic_answered",
        lang,
        answered=format_number(topic.answered, lang),
        questions=format_number(topic.questions, lang),
    )
    if topic.median_answer_hours is not None:
        answered += " " + t("needs.topic_median", lang, hours=format_tenths(topic.median_answer_hours, lang))
    coverage = t(COVERAGE_KEYS.get(topic.coverage, COVERAGE_KEYS[NOT_COVERED]), lang)
    trend = t(TREND_KEYS.get(topic.trend, TREND_KEYS[TREND_STABLE]), lang)
    line = f"{label}\n{figures} · {answered} · {coverage} · {trend}"
    if topic.proposal_id is not None:
        line += " · " + t("needs.topic_proposed", lang, id=topic.proposal_id)
    return line


def _items(count: int, lang: str) -> str:
    """ "4 questions and knowledge gaps", in the plural form ``count`` takes."""
    return tn("needs.n_items", "needs.n_items_plural", count, lang, n=format_number(count, lang))


def _no_topics(overview: NeedsOverview, lang: str) -> str:
    """Why no topic is listed: no questions at all, or questions none of which is in a topic (yet)."""
    return t("needs.no_topics_yet", lang) if overview.items else t("needs.overview_empty", lang)


def build_needs_overview(overview: NeedsOverview, lang: str, *, limit: int = OVERVIEW_TOPICS) -> list[Block]:
    """``/wieweet behoeften [periode]``: the period's topics, the most asked first."""
    blocks: list[Block] = [
        header(t("needs.overview_title", lang, period=overview.period)),
        context(
            tn(
                "needs.overview_summary",
                "needs.overview_summary_plural",
                len(overview.topics),
                lang,
                count=format_number(len(overview.topics), lang),
                items=_items(overview.items, lang),
            )
        ),
    ]
    if not overview.topics:
        blocks.append(section(_no_topics(overview, lang)))
        return blocks
    for topic in overview.topics[:limit]:
        blocks.append(section(topic_line(topic, lang)))
    if len(overview.topics) > limit:
        more = len(overview.topics) - limit
        blocks.append(
            context(tn("needs.overview_more", "needs.overview_more_plural", more, lang, n=format_number(more, lang)))
        )
    blocks.append(context(t("needs.overview_hint", lang)))
    return blocks[:MAX_BLOCKS]


def build_needs_home_section(overview: NeedsOverview, lang: str, *, limit: int = HOME_TOPICS) -> list[Block]:
    """The staff Home tab's "Kennisbehoeften": the period's most asked topics and where to see more."""
    blocks: list[Block] = [
        DividerBlock(),
        header(t("needs.home_title", lang)),
        context(t("needs.home_period", lang, period=overview.period, items=_items(overview.items, lang))),
    ]
    if not overview.topics:
        blocks.append(section(_no_topics(overview, lang)))
    for topic in overview.topics[:limit]:
        blocks.append(section(topic_line(topic, lang)))
    blocks.append(context(t("needs.overview_hint", lang)))
    return blocks
