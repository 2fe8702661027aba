"""The weekly digest as Slack messages: a pure function of ``DigestData`` (no database, no network).

The core (``digests``) selects what a digest shows and when it is due; this module is how it looks in Slack.

Per theme with something new: the figures of the week against the previous one and an 8-week sparkline, then
practices added or updated, questions answered (with who answered and a link to the thread), open questions with
an "Ik kan helpen" button, new experts, and the week's knowledge gaps. Thanks to the people who answered close it.

Safety: all user and register text is escaped (``handlers.kit``) and cut visibly; only public questions are shown
(checked again here, on top of the collector); people who opted out or withdrew consent are "a colleague",
never named or mentioned. A long digest is split over several messages between blocks, each message within
Slack's limits (≤ 50 blocks, section text ≤ 3000, header ≤ 150, ≤ 12,000 characters of text in all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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

from bot.i18n import format_clock, format_list, format_number, normalise_language, t, tn, weekday_name
from bot.i18n import format_date as format_day
from bot.i18n import format_duration as format_time_span
from bot.presenter import outcome_label
from digests.model import (
    QUOTE_MIN_ASKERS,
    AnsweredItem,
    DigestData,
    GapItem,
    NewExpertItem,
    OpenQuestionItem,
    Person,
    PracticeItem,
    SubscriptionView,
    ThemeDigest,
    ThemeInfo,
)
from digests.period import TIMEZONE, parse_period, to_local
from handlers import ids
from handlers.kit import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    SECTION_LIMIT,
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

SECTION_BUDGET = 2_800  # lists are packed into sections up to this many characters
SPARK_CHARS = "▁▂▃▄▅▆▇█"
THANKS_LIMIT = 25  # people named in the thanks; the rest are counted

PermalinkFn = Callable[[str, str], str | None]


@dataclass(frozen=True, slots=True)
class DigestLimits:
    """How many items of each list a theme shows ("… and N more" for the rest)."""

    practices: int = 10
    answered: int = 10
    open_questions: int = 5
    new_experts: int = 10
    gaps: int = 10


DEFAULT_LIMITS = DigestLimits()


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


def _block_chars(block: Block) -> int:
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


# --- assembling ---------------------------------------------------------------------------------------------------


def _pack_lines(lines: Sequence[str], budget: int = SECTION_BUDGET) -> list[str]:
    """Join lines into texts of at most ``budget`` characters (a single longer line is cut visibly)."""
    texts: list[str] = []
    current = ""
    for raw in lines:
        line = cut(raw, budget)
        if current and len(current) + 1 + len(line) > budget:
            texts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


@dataclass(frozen=True, slots=True)
class _Visible:
    """A theme's items after the builder's own privacy check."""

    digest: ThemeDigest
    answered: tuple[AnsweredItem, ...]
    open_questions: tuple[OpenQuestionItem, ...]
    new_experts: tuple[NewExpertItem, ...]

    @property
    def has_news(self) -> bool:
        d = self.digest
        return bool(
            d.practices
            or self.answered
            or self.open_questions
            or self.new_experts
            or d.gaps
            or d.unquoted_gaps
            or d.current.asked
            or d.current.answered
        )


def _visible(digest: ThemeDigest) -> _Visible:
    return _Visible(
        digest=digest,
        answered=tuple(a for a in digest.answered if a.public),
        open_questions=tuple(q for q in digest.open_questions if q.public),
        new_experts=tuple(e for e in digest.new_experts if not e.person.hidden),
    )


@dataclass(slots=True)
class _Unit:
    """Blocks that stay together in one message."""

    blocks: list[Block]
    theme: ThemeInfo | None
    opens_theme: bool

    @property
    def chars(self) -> int:
        return sum(_block_chars(b) for b in self.blocks)


def _theme_pieces(
    view: _Visible,
    lang: str,
    *,
    now: datetime,
    permalink: PermalinkFn | None,
    limits: DigestLimits,
    tz: ZoneInfo,
    mention: bool = True,
) -> list[tuple[Block, bool]]:
    """The theme's blocks, each with "glue to the next block" (a heading never ends a message)."""
    digest = view.digest
    pieces: list[tuple[Block, bool]] = [
        (DividerBlock(), True),
        (header(digest.theme.label(lang)), True),
        (context(figures_text(digest, lang)), True),
    ]

    def add_blocks(title: str, blocks: list[Block], more: int) -> None:
        """A heading section (glued to the first block), then one block per item (the open questions)."""
        if not blocks:
            return
        pieces.append((section(title), True))
        for block in blocks[:-1]:
            pieces.append((block, False))
        pieces.append((blocks[-1], more > 0))
        if more > 0:
            pieces.append((context(t("digest.more", lang, count=format_number(more, lang))), False))

    def add_lines(title: str, lines: list[str], more: int) -> None:
        """The heading as the first line of the first section; lines packed into as few sections as fit."""
        if not lines:
            return
        texts = _pack_lines([title, *lines])
        for text in texts[:-1]:
            pieces.append((section(text), False))
        pieces.append((section(texts[-1]), more > 0))
        if more > 0:
            pieces.append((context(t("digest.more", lang, count=format_number(more, lang))), False))

    practices = sorted(digest.practices, key=lambda p: (not p.is_new, -p.changed_at.timestamp(), p.id))
    add_lines(
        t("digest.practices", lang),
        [practice_line(p, lang) for p in practices[: limits.practices]],
        len(practices) - limits.practices,
    )
    answered = sorted(view.answered, key=lambda a: (-a.answered_at.timestamp(), a.question_id))
    add_lines(
        t("digest.answered", lang),
        [answered_line(a, lang, permalink, mention=mention) for a in answered[: limits.answered]],
        len(answered) - limits.answered,
    )
    open_questions = sorted(view.open_questions, key=lambda q: (q.asked_at, q.question_id))
    add_blocks(
        t("digest.open", lang),
        [
            open_question_block(q, lang, now=now, permalink=permalink, tz=tz)
            for q in open_questions[: limits.open_questions]
        ],
        len(open_questions) - limits.open_questions,
    )
    add_lines(
        t("digest.experts", lang),
        [expert_line(e, lang, mention=mention) for e in view.new_experts[: limits.new_experts]],
        len(view.new_experts) - limits.new_experts,
    )
    gaps, unquoted = quoted_gaps(digest)
    add_lines(
        t("digest.gaps", lang),
        [gap_line(g, lang) for g in gaps[: limits.gaps]]
        + (
            [
                tn(
                    "digest.gaps_unquoted",
                    "digest.gaps_unquoted_plural",
                    unquoted,
                    lang,
                    count=format_number(unquoted, lang),
                )
            ]
            if unquoted
            else []
        ),
        len(gaps) - limits.gaps,
    )
    if len(pieces) == 3:  # figures only: let the theme close on its figures
        pieces[-1] = (pieces[-1][0], False)
    return pieces


def _units(pieces: Sequence[tuple[Block, bool]], theme: ThemeInfo | None) -> list[_Unit]:
    units: list[_Unit] = []
    current: list[Block] = []
    for block, glue in pieces:
        current.append(block)
        if not glue:
            units.append(_Unit(blocks=current, theme=theme, opens_theme=not units))
            current = []
    if current:
        units.append(_Unit(blocks=current, theme=theme, opens_theme=not units))
    return units


def _themes_label(view: SubscriptionView, data: DigestData, lang: str) -> str:
    if not view.themes:
        return t("digest.all_themes", lang)
    labels = [d.theme.label(lang) for d in data.themes if d.theme.key in view.themes]
    return escape(", ".join(labels)) if labels else t("digest.all_themes", lang)


def digest_title(data: DigestData, lang: str) -> str:
    return t(
        "digest.title", lang, range=format_range(data.window_start, data.window_end, lang, ZoneInfo(data.timezone))
    )


def digest_fallback_text(data: DigestData, *, lang: str, part: int, parts: int) -> str:
    """The notification text of part ``part`` (1-based): plain, no user content."""
    text = t(
        "digest.fallback", lang, range=format_range(data.window_start, data.window_end, lang, ZoneInfo(data.timezone))
    )
    shown = t("digest.part", lang, part=format_number(part, lang), parts=format_number(parts, lang))
    return f"{text} ({shown})" if parts > 1 else text


def _pack(
    units: Sequence[_Unit], *, first_reserved: tuple[int, int], later_reserved: tuple[int, int]
) -> list[list[_Unit]]:
    messages: list[list[_Unit]] = []
    current: list[_Unit] = []
    blocks, chars = first_reserved
    for unit in units:
        size, length = len(unit.blocks), unit.chars
        if current and (blocks + size > MAX_BLOCKS or chars + length > MESSAGE_TEXT_LIMIT):
            messages.append(current)
            current = []
            blocks, chars = later_reserved
        current.append(unit)
        blocks += size
        chars += length
    if current:
        messages.append(current)
    return messages


def build_digest(
    data: DigestData,
    *,
    subscription_view: SubscriptionView,
    period: str,
    now: datetime,
    lang: str | None = None,
    permalink: PermalinkFn | None = None,
    limits: DigestLimits = DEFAULT_LIMITS,
    mentions: bool = True,
) -> list[list[Block]]:
    """The digest as messages (each a list of blocks). ``[]``: nothing to post (a quiet week, ``post_empty`` off).

    ``period`` is the ISO week the digest is sent in (for the record; the covered window is in ``data``);
    ``now`` dates the open questions ("open for N days"); ``permalink(channel, ts)`` turns a Slack thread into a
    link (an answer's stored permalink is used first). ``mentions=False`` names people instead of mentioning
    their Slack ids (for text read outside Slack, e.g. ``wieweet digest --dry-run``).
    """
    language = normalise_language(lang or subscription_view.language)
    parse_period(period)  # validated only: what is shown is the window in ``data``
    wanted = set(subscription_view.themes)
    visible = [v for v in (_visible(d) for d in data.themes if not wanted or d.theme.key in wanted) if v.has_news]
    title = digest_title(data, language)
    intro = t("digest.intro", language, themes=_themes_label(subscription_view, data, language))
    footer = t(
        "digest.footer",
        language,
        day=weekday_name(subscription_view.weekday, language),
        time=format_clock(subscription_view.hour, subscription_view.minute, language),
    )
    if not visible:
        if not subscription_view.post_empty:
            return []
        quiet = t("digest.quiet", language, themes=_themes_label(subscription_view, data, language))
        return [[header(title), context(intro), section(quiet), context(footer)]]

    units: list[_Unit] = []
    for view in visible:
        pieces = _theme_pieces(
            view, language, now=now, permalink=permalink, limits=limits, tz=ZoneInfo(data.timezone), mention=mentions
        )
        units.extend(_units(pieces, view.digest.theme))
    closing: list[Block] = [DividerBlock()]
    answerers = [p for v in visible for a in v.answered for p in a.answerers]
    if answerers:
        names = people_text(answerers, language, limit=THANKS_LIMIT, mention=mentions)
        closing.append(context(t("digest.thanks", language, names=names)))
    closing.append(context(footer))
    units.append(_Unit(blocks=closing, theme=None, opens_theme=True))

    part_reserve = 60  # " · deel 12/12"
    first_reserved = (2, len(title) + len(intro) + part_reserve)
    later_reserved = (1, len(title) + HEADER_LIMIT + 2 * part_reserve)
    packed = _pack(units, first_reserved=first_reserved, later_reserved=later_reserved)

    parts = len(packed)
    messages: list[list[Block]] = []
    for index, message_units in enumerate(packed, start=1):
        shown = t("digest.part", language, part=format_number(index, language), parts=format_number(parts, language))
        part = f" · {shown}" if parts > 1 else ""
        blocks: list[Block]
        if index == 1:
            blocks = [header(title), context(intro + part)]
        else:
            label = f"_{escape(title)}{part}_"
            first = message_units[0]
            if first.theme is not None and not first.opens_theme:
                label += " · " + t(
                    "digest.continued", language, theme=f"*{escape_truncate(first.theme.label(language), 100)}*"
                )
            blocks = [context(label)]
        for unit in message_units:
            blocks.extend(unit.blocks)
        messages.append(blocks)
    return messages
