"""Pure Block Kit builders (typed ``slack_sdk.models.blocks``; no network, no database).

Every text that comes from users or the registers is escaped (``bot.mrkdwn``) and cut visibly to Slack's limits,
so however long or hostile a register entry is, the message is valid and harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.i18n import t
from bot.mrkdwn import cut, escape, escape_truncate, link, truncate, user_mention
from bot.presenter import AnswerItem, AnswerView, ExpertItem, PracticeItem
from handlers import ids

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
FALLBACK_LIMIT = 3000
SHOWN_PER_LIST = 3


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut(text, SECTION_LIMIT)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=cut(text, CONTEXT_LIMIT))])


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=truncate(label, BUTTON_TEXT_LIMIT), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
    )


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
    title = cut(t("answer.title", lang, query=escape(view.query)), HEADER_LIMIT)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=title))]
    blocks.append(_section(f"*{t('answer.experts', lang)}*"))
    if view.gap:
        blocks.append(_section(":mag: " + t("answer.gap", lang)))
        if view.experts:
            blocks.append(_context(t("answer.weak", lang)))
    for expert in view.experts[:SHOWN_PER_LIST]:
        blocks.append(_section(expert_line(expert, lang)))
    blocks.append(DividerBlock())
    blocks.append(_section(f"*{t('answer.practices', lang)}*"))
    if not view.practices:
        blocks.append(_context(t("answer.no_practices", lang)))
    for practice in view.practices[:SHOWN_PER_LIST]:
        blocks.append(_section(practice_line(practice, lang)))
    if view.answers:
        blocks.append(DividerBlock())
        blocks.append(_section(f"*{t('answer.answers', lang)}*"))
        for answer in view.answers[:SHOWN_PER_LIST]:
            blocks.append(_section(answer_line(answer, lang)))
    buttons: list[ButtonElement] = []
    value = str(search_log_id)
    if shareable:
        buttons.append(_button(t("slack.share", lang), ids.ACTION_SHARE, value, style="primary"))
    if offer_more:
        buttons.append(_button(t("slack.more", lang), ids.ACTION_MORE, value))
    if offer_ask:
        buttons.append(_button(t("routing.btn_ask_experts", lang), ids.ACTION_ASK_EXPERTS, value))
    buttons.append(_button("👍", ids.ACTION_FEEDBACK_UP, value))
    buttons.append(_button("👎", ids.ACTION_FEEDBACK_DOWN, value))
    blocks.append(ActionsBlock(block_id=ids.BLOCK_ANSWER_ACTIONS, elements=buttons))
    return blocks[:MAX_BLOCKS]


def build_more_blocks(view: AnswerView, *, offset: int) -> list[Block]:
    """Further results (after the first ``offset`` of each list), for the "more results" button."""
    lang = view.lang
    blocks: list[Block] = [_section(f"*{t('slack.more_title', lang, query=escape_truncate(view.query, 200))}*")]
    experts: Sequence[ExpertItem] = view.experts[offset:]
    practices: Sequence[PracticeItem] = view.practices[offset:]
    answers: Sequence[AnswerItem] = view.answers[offset:]
    if not (experts or practices or answers):
        blocks.append(_context(t("slack.no_more", lang)))
        return blocks
    if experts:
        blocks.append(_section(f"*{t('answer.experts', lang)}*"))
        blocks.extend(_section(expert_line(e, lang)) for e in experts)
    if practices:
        blocks.append(_section(f"*{t('answer.practices', lang)}*"))
        blocks.extend(_section(practice_line(p, lang)) for p in practices)
    if answers:
        blocks.append(_section(f"*{t('answer.answers', lang)}*"))
        blocks.extend(_section(answer_line(a, lang)) for a in answers)
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
    return [
        HeaderBlock(text=PlainTextObject(text=t("slack.help_title", lang))),
        _section(t("slack.help_body", lang)),
    ]


def build_message_blocks(text: str) -> list[Block]:
    """A short notice (errors, confirmations): one section, already-safe text expected."""
    return [_section(text)]
