"""The weekly digest as Slack messages: a pure function of ``DigestData`` (no database, no network).

The core (``digests``) selects what a digest shows and when it is due; this module is how it looks in Slack: the
messages assembled, each item's line or block from ``handlers.blocks.digest_lines``.

Per theme with something new: the figures of the week against the previous one and an 8-week sparkline, then
practices added or updated, questions answered (with who answered and a link to the thread), open questions with
an "Ik kan helpen" button, new experts, and the week's knowledge gaps. Thanks to the people who answered close it.

Safety: all user and register text is escaped (``handlers.kit``) and cut visibly; only public questions are shown
(checked again here, on top of the collector); people who opted out or withdrew consent are "a colleague",
never named or mentioned. A long digest is split over several messages between blocks, each message within
Slack's limits (≤ 50 blocks, section text ≤ 3000, header ≤ 150, ≤ 12,000 characters of text in all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
)

from bot.i18n import format_clock, format_number, normalise_language, t, tn, weekday_name
from digests.model import (
    AnsweredItem,
    DigestData,
    NewExpertItem,
    OpenQuestionItem,
    SubscriptionView,
    ThemeDigest,
    ThemeInfo,
)
from digests.period import parse_period
from handlers.blocks.digest_lines import (
    PermalinkFn,
    answered_line,
    block_chars,
    expert_line,
    figures_text,
    format_date,
    format_duration,
    format_range,
    gap_line,
    message_text_length,
    open_question_block,
    people_text,
    practice_line,
    quoted_gaps,
    sparkline,
)
from handlers.kit import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    context,
    cut,
    escape,
    escape_truncate,
    header,
    section,
)

# the digest's builders, and what each item says (``digest_lines``: the helpers of the dates, the text length and
# the figures are also this module's, as they were before the items moved there)
__all__ = [
    "DEFAULT_LIMITS",
    "MAX_BLOCKS",
    "MESSAGE_TEXT_LIMIT",
    "DigestLimits",
    "PermalinkFn",
    "build_digest",
    "digest_fallback_text",
    "digest_title",
    "format_date",
    "format_duration",
    "format_range",
    "message_text_length",
    "sparkline",
]

SECTION_BUDGET = 2_800  # lists are packed into sections up to this many characters
THANKS_LIMIT = 25  # people named in the thanks; the rest are counted


@dataclass(frozen=True, slots=True)
class DigestLimits:
    """How many items of each list a theme shows ("… and N more" for the rest)."""

    practices: int = 10
    answered: int = 10
    open_questions: int = 5
    new_experts: int = 10
    gaps: int = 10


DEFAULT_LIMITS = DigestLimits()


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
        return sum(block_chars(b) for b in self.blocks)


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
