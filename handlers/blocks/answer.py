"""The "who knows" answer as Block Kit: pure builders (typed ``slack_sdk.models.blocks``; no network, no database).

Every text that comes from users or the registers is escaped (``handlers.kit``) and cut visibly to Slack's limits,
so however long or hostile a register entry is, the message is valid and harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from bot.i18n import t
from bot.presenter import AnswerItem, AnswerView, ExpertItem, PracticeItem
from handlers import ids
from handlers.kit import (
    FALLBACK_LIMIT,
    MAX_BLOCKS,
    button,
    context,
    cut,
    escape,
    escape_truncate,
    header,
    link,
    section,
    user_mention,
)

SHOWN_PER_LIST = 3


def expert_line(expert: ExpertItem, lang: str) -> str:
    who = user_mention(expert.slack_user_id) or f"*{escape_truncate(expert.name, 150)}*"
    meta = ", ".join(escape_truncate(x, 200) for x in (expert.organisation, expert.role) if x)
    lines = [f"{who} — {meta}" if meta else who]
    if not expert.slack_user_id:
        lines.append(escape_truncate(expert.email, 320))
    icon = ":large_green_circle:" if expert.available else ":white_circle:"
    lines.append(f"{icon} {escape(expert.availability)}")
    if expert.reasons:
        why = "; ".join(escape_truncate(r, 200) for r in expert.reasons[:6])
        lines.append(f"_{t('answer.why', lang)}: {why}_")
    return "\n".join(lines)


def practice_line(practice: PracticeItem, lang: str) -> str:
    title = link(practice.url, practice.title, limit=250)
    meta = ", ".join(
        escape_truncate(x, 120)
        for x in (practice.city or practice.organisation, str(practice.year) if practice.year else "")
        if x
    )
    icon = {"good": ":white_check_mark:", "mixed": ":large_yellow_circle:", "failed": ":x:"}.get(
        practice.outcome or "", ":grey_question:"
    )
    lines = [f"*{title}*" + (f" — {meta}" if meta else ""), f"{icon} {escape(practice.outcome_label)}"]
    if practice.outcome in {"failed", "mixed"} and practice.lessons:
        lines.append("> " + escape_truncate(practice.lessons, 400).replace("\n", " "))
    if practice.reasons:
        why = "; ".join(escape_truncate(r, 200) for r in practice.reasons[:6])
        lines.append(f"_{t('answer.why', lang)}: {why}_")
    return "\n".join(lines)


def answer_line(answer: AnswerItem, lang: str = "nl") -> str:
    question = link(answer.url, answer.question, limit=400)
    line = f"{question}\n_{escape_truncate(answer.byline, 300)}_"
    if answer.reasons:
        why = "; ".join(escape_truncate(r, 200) for r in answer.reasons[:6])
        line += f"\n_{t('answer.why', lang)}: {why}_"
    return line


def build_answer_blocks(
    view: AnswerView,
    *,
    search_log_id: int,
    shareable: bool = False,
    offer_more: bool = True,
    offer_ask: bool = False,
) -> list[Block]:
    """The "who knows" answer: experts, practices, earlier answers, and its buttons."""
    lang = view.lang
    blocks: list[Block] = [header(t("answer.title", lang, query=view.query))]
    blocks.append(section(f"*{t('answer.experts', lang)}*"))
    if view.gap:
        blocks.append(section(":mag: " + t("answer.gap", lang)))
        if view.experts:
            blocks.append(context(t("answer.weak", lang)))
    for expert in view.experts[:SHOWN_PER_LIST]:
        blocks.append(section(expert_line(expert, lang)))
    blocks.append(DividerBlock())
    blocks.append(section(f"*{t('answer.practices', lang)}*"))
    if not view.practices:
        blocks.append(context(t("answer.no_practices", lang)))
    for practice in view.practices[:SHOWN_PER_LIST]:
        blocks.append(section(practice_line(practice, lang)))
    if view.answers:
        blocks.append(DividerBlock())
        blocks.append(section(f"*{t('answer.answers', lang)}*"))
        for answer in view.answers[:SHOWN_PER_LIST]:
            blocks.append(section(answer_line(answer, lang)))
    buttons = _answer_buttons(lang, str(search_log_id), shareable=shareable, offer_more=offer_more, offer_ask=offer_ask)
    blocks.append(ActionsBlock(block_id=ids.BLOCK_ANSWER_ACTIONS, elements=buttons))
    return blocks[:MAX_BLOCKS]


def _answer_buttons(
    lang: str, value: str, *, shareable: bool, offer_more: bool, offer_ask: bool
) -> list[ButtonElement]:
    buttons: list[ButtonElement] = []
    if shareable:
        buttons.append(button(t("slack.share", lang), ids.ACTION_SHARE, value, style="primary"))
    if offer_more:
        buttons.append(button(t("slack.more", lang), ids.ACTION_MORE, value))
    if offer_ask:
        buttons.append(button(t("routing.btn_ask_experts", lang), ids.ACTION_ASK_EXPERTS, value))
    buttons.append(button("👍", ids.ACTION_FEEDBACK_UP, value))
    buttons.append(button("👎", ids.ACTION_FEEDBACK_DOWN, value))
    return buttons


def build_more_blocks(view: AnswerView, *, offset: int) -> list[Block]:
    """Further results (after the first ``offset`` of each list), for the "more results" button."""
    lang = view.lang
    blocks: list[Block] = [section(f"*{t('slack.more_title', lang, query=escape_truncate(view.query, 200))}*")]
    experts: Sequence[ExpertItem] = view.experts[offset:]
    practices: Sequence[PracticeItem] = view.practices[offset:]
    answers: Sequence[AnswerItem] = view.answers[offset:]
    if not (experts or practices or answers):
        blocks.append(context(t("slack.no_more", lang)))
        return blocks
    if experts:
        blocks.append(section(f"*{t('answer.experts', lang)}*"))
        blocks.extend(section(expert_line(e, lang)) for e in experts)
    if practices:
        blocks.append(section(f"*{t('answer.practices', lang)}*"))
        blocks.extend(section(practice_line(p, lang)) for p in practices)
    if answers:
        blocks.append(section(f"*{t('answer.answers', lang)}*"))
        blocks.extend(section(answer_line(a, lang)) for a in answers)
    return blocks[:MAX_BLOCKS]


def answer_fallback_text(view: AnswerView) -> str:
    """Notification/fallback text: the question and the best experts' names (each escaped once; names, not
    mentions, so a search never pings the experts it finds)."""
    names = ", ".join(escape_truncate(e.name, 150) for e in view.experts[:SHOWN_PER_LIST] if not e.weak)
    text = t("answer.title", view.lang, query=escape_truncate(view.query, 500))
    if view.gap or not names:
        text += " " + t("slack.gap_short", view.lang)
    else:
        text += " " + names
    return cut(text, FALLBACK_LIMIT)


def build_help_blocks(lang: str) -> list[Block]:
    return [header(t("slack.help_title", lang)), section(t("slack.help_body", lang))]


def build_asker_alone_blocks(blocks: Sequence[Block], lang: str) -> list[Block]:
    """An answer given to the asker alone because the channel is shared with another organisation: the answer with,
    first, a short note why (kept within Slack's block limit)."""
    note = context(t("slack.shared_channel_private", lang))
    return [note, *list(blocks)[: MAX_BLOCKS - 1]]
