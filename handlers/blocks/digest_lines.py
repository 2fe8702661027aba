"""What each item of the weekly digest says in Slack (``handlers.blocks.digest`` assembles them into messages): a
practice, an answered question with who answered and a link to its thread, an open question with its "Ik kan helpen"
button, a new expert, a knowledge gap, a theme's figures with its sparkline; and the small pure helpers they share
(dates in the digest's zone, people named or counted, a message's text length). Pure: no database, no network (a
``PermalinkFn`` handed in asks Slack for a thread's link).

Safety: all user and register text is escaped (``handlers.kit``) and cut visibly; people who opted out or withdrew
consent are "a colleague", never named or mentioned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.i18n import format_date as format_day
from bot.i18n import format_duration as format_time_span
from bot.i18n import format_list, format_number, t, tn
from bot.presenter import outcome_label
from digests.model import (
    QUOTE_MIN_ASKERS,
    AnsweredItem,
    GapItem,
    NewExpertItem,
    OpenQuestionItem,
    Person,
    PracticeItem,
    ThemeDigest,
)
from digests.period import TIMEZONE, to_local
from handlers import ids
from handlers.kit import (
    SECTION_LIMIT,
    button,
    cut,
    escape,
    escape_truncate,
    link,
    user_mention,
)

SPARK_CHARS = "▁▂▃▄▅▆▇█"

PermalinkFn = Callable[[str, str], str | None]


# --- small formatting helpers (pure) ---------------------------------------------------------------------------


def sparkline(values: Sequence[float]) -> str:
    """▁ for zero, █ for the maximum, any non-zero value at least ▂ (so a single question is visible)."""
    top = max(values, default=0)
    if top <= 0:
        return SPARK_CHARS[0] * len(values)
    chars = []
    for value in values:
        if value <= 0:
            chars.append(SPARK_CHARS[0])
        else:
            chars.append(SPARK_CHARS[max(1, min(7, round(value / top * 7)))])
    return "".join(chars)


def format_duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return t("digest.none", lang)
    return format_time_span(seconds, lang)


def format_date(moment: datetime, lang: str, *, year: bool = False, tz: ZoneInfo = TIMEZONE) -> str:
    """The moment's day in the digest's zone (``tz``, passed on: a local moment read again in the network's default
    zone would move across midnight)."""
    return format_day(moment, lang, year=year, tz=tz)


def format_range(start: datetime, end: datetime, lang: str, tz: ZoneInfo = TIMEZONE) -> str:
    first, last = to_local(start, tz), to_local(end, tz)
    shown_start = format_date(start, lang, year=first.year != last.year, tz=tz)
    return f"{shown_start} – {format_date(end, lang, year=True, tz=tz)}"


def person_text(person: Person, lang: str, *, mention: bool = True) -> str:
    """A mention for people with a Slack id, else their (escaped) name; hidden people are "a colleague".

    ``mention=False`` (text output, outside Slack): always the name, never a Slack id.
    """
    if person.hidden:
        return t("digest.colleague", lang)
    slack_mention = user_mention(person.slack_user_id) if mention else ""
    if slack_mention:
        return slack_mention
    if person.name.strip():
        return f"*{escape_truncate(person.name.strip(), 100)}*"
    return t("digest.colleague", lang)


def people_text(people: Iterable[Person], lang: str, *, limit: int | None = None, mention: bool = True) -> str:
    """Named people first, then "a colleague" / "N colleagues" for the hidden and nameless ones.

    With ``limit``, at most that many are named (those with the most answers first) and the rest, hidden ones
    included, are counted: "… and 12 others".
    """
    order: list[str] = []
    counts: dict[str, int] = {}
    text_of: dict[str, str | None] = {}  # person key -> their text (None: a colleague)
    colleagues: set[str] = set()
    for person in people:
        if person.key not in text_of:
            named = not person.hidden and bool((mention and user_mention(person.slack_user_id)) or person.name.strip())
            text_of[person.key] = person_text(person, lang, mention=mention) if named else None
        text = text_of[person.key]
        if text is None:
            colleagues.add(person.key)
            continue
        if text not in counts:
            order.append(text)
            counts[text] = 0
        counts[text] += 1
    if limit is not None and len(order) + min(1, len(colleagues)) > limit + 1:
        shown = sorted(order, key=lambda text: -counts[text])[:limit]
        others = len(order) - len(shown) + len(colleagues)
        count = format_number(others, lang)
        return format_list([*shown, tn("digest.others", "digest.others_plural", others, lang, count=count)], lang)
    if colleagues:
        count = format_number(len(colleagues), lang)
        order.append(tn("digest.colleagues", "digest.colleagues_plural", len(colleagues), lang, count=count))
    return format_list(order, lang)


def _text_len(value: Any) -> int:
    if isinstance(value, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else _text_len(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_len(v) for v in value)
    return 0


def block_chars(block: Block) -> int:
    """``message_text_length`` of one block, without serialising (for the block kinds the digest uses)."""
    if isinstance(block, SectionBlock):
        size = len(block.text.text) if block.text is not None else 0
        accessory = block.accessory
        if isinstance(accessory, ButtonElement) and accessory.text is not None:
            size += len(accessory.text.text)
        return size + sum(len(f.text) for f in block.fields or [])
    if isinstance(block, ContextBlock):
        return sum(len(getattr(e, "text", "") or "") for e in block.elements)
    if isinstance(block, HeaderBlock):
        return len(block.text.text) if block.text is not None else 0
    if isinstance(block, DividerBlock):
        return 0
    return _text_len(block.to_dict())


def message_text_length(blocks: Sequence[Block]) -> int:
    """All text of a message's blocks together (what the ~12,000 characters budget counts)."""
    return sum(_text_len(b.to_dict()) for b in blocks)


# --- lines ------------------------------------------------------------------------------------------------------


_OUTCOME_ICON = {"good": ":white_check_mark:", "mixed": ":large_yellow_circle:", "failed": ":x:"}


def practice_line(item: PracticeItem, lang: str) -> str:
    title = link(item.url, item.title or "?", limit=200)
    place = escape_truncate(item.city or item.organisation, 100)
    outcome = outcome_label(item.outcome, lang)
    icon = _OUTCOME_ICON.get(item.outcome or "", ":grey_question:")
    status = t("digest.practice_new" if item.is_new else "digest.practice_updated", lang)
    parts = [f"*{title}*"] + ([place] if place else [])
    return f"• {' — '.join(parts)} · {icon} {escape(outcome)} · _{status}_"


def _permalink_for(channel: str | None, ts: str | None, permalink: PermalinkFn | None) -> str:
    if not (channel and ts and permalink):
        return ""
    return permalink(channel, ts) or ""


def answered_url(item: AnsweredItem, permalink: PermalinkFn | None) -> str:
    """The stored permalink of an answer, else the question's thread, else where wieweet posted the answer."""
    url = item.permalink or _permalink_for(item.channel_id, item.thread_ts, permalink)
    for channel, ts in item.answer_posts:
        if url:
            break
        url = _permalink_for(channel, ts, permalink)
    return url


def answered_line(item: AnsweredItem, lang: str, permalink: PermalinkFn | None, *, mention: bool = True) -> str:
    question = link(answered_url(item, permalink), item.text or "?", limit=300)
    who = people_text(item.answerers, lang, mention=mention) or t("digest.colleague", lang)
    return f"• {question} — _{t('digest.answered_by', lang, names=who)}_"


def expert_line(item: NewExpertItem, lang: str, *, mention: bool = True) -> str:
    who = person_text(item.person, lang, mention=mention)
    about = ", ".join(escape_truncate(x, 120) for x in (item.role, item.organisation) if x and x.strip())
    if item.city and item.city.strip():
        about = f"{about} ({escape_truncate(item.city, 60)})" if about else escape_truncate(item.city, 60)
    return f"• {who}" + (f" — {about}" if about else "")


def gap_line(item: GapItem, lang: str) -> str:
    return f"• “{escape_truncate(item.query, 200)}” — {format_number(item.count, lang)}×"


def quoted_gaps(digest: ThemeDigest) -> tuple[tuple[GapItem, ...], int]:
    """The gaps the digest may quote (asked by at least ``QUOTE_MIN_ASKERS`` people), and how many others there are
    (asked by one person each: counted only)."""
    quoted = tuple(g for g in digest.gaps if g.count >= QUOTE_MIN_ASKERS)
    return quoted, digest.unquoted_gaps + len(digest.gaps) - len(quoted)


def open_question_block(
    item: OpenQuestionItem, lang: str, *, now: datetime, permalink: PermalinkFn | None, tz: ZoneInfo = TIMEZONE
) -> SectionBlock:
    question = link(_permalink_for(item.channel_id, item.thread_ts, permalink), item.text or "?", limit=500)
    days = max(0, (now - item.asked_at).days)
    meta = t("digest.open_since", lang, date=format_date(item.asked_at, lang, tz=tz))
    if days >= 2:
        meta += " · " + tn("digest.open_days", "digest.open_days_plural", days, lang, days=format_number(days, lang))
    return SectionBlock(
        text=MarkdownTextObject(text=cut(f"{question}\n_{meta}_", SECTION_LIMIT)),
        accessory=button(t("digest.can_help", lang), ids.ACTION_CAN_HELP, str(item.question_id)),
    )


def figures_text(theme: ThemeDigest, lang: str) -> str:
    now, before = theme.current, theme.previous
    figures = t(
        "digest.figures",
        lang,
        asked=format_number(now.asked, lang),
        prev_asked=format_number(before.asked, lang),
        answered=format_number(now.answered, lang),
        prev_answered=format_number(before.answered, lang),
        median=format_duration(now.median_answer_seconds, lang),
        prev_median=format_duration(before.median_answer_seconds, lang),
    )
    trend = t("digest.trend", lang, spark=sparkline([w.asked for w in theme.weeks]))
    return f"{figures}\n{trend}"
