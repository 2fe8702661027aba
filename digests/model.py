"""The digest's data: frozen values gathered from the database once, then rendered by a pure builder."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.i18n import DEFAULT_LANGUAGE, t, theme_label

if TYPE_CHECKING:
    from storage.models import DigestSubscription

OTHER_THEME = "_other"  # items without a theme (shown to all-themes subscriptions); never a real theme key
QUOTE_MIN_ASKERS = 2  # a knowledge gap's wording is shown in a digest only when this many people asked it

# "Is this conversation private now?" — Slack's answer (the Slack layer's ``ChannelDirectory``), when the caller has
# a Slack connection; in a digest pass, what the database knows when Slack cannot answer (``handlers.digest_sources``).
# A channel's privacy is never read from its id.
PrivateChannel = Callable[[str], bool]
# Told the questions a digest would have quoted (id -> the channel it was asked in) that ``PrivateChannel`` left out
LeftOut = Callable[[Mapping[int, str]], None]


def is_public_content(
    *, visibility: str, channel_id: str | None, channel_is_private: bool, private_channel: PrivateChannel | None = None
) -> bool:
    """The digest rule: only public questions asked in a public Slack channel.

    No channel is not public: a query typed at the command line or console, or a question asked from the Home tab
    or a DM, was never shown to anyone, so a digest does not show it either. ``channel_is_private`` is what Slack
    said when the question was stored; ``private_channel`` asks Slack again (a channel may have turned private
    since), so either makes it private.
    """
    if visibility != "public" or channel_is_private or not channel_id:
        return False
    return not (private_channel is not None and private_channel(channel_id))


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """What the builder needs to know about a subscription (also made up for a preview without one)."""

    channel_id: str
    themes: tuple[str, ...] = ()  # empty: all themes
    weekday: int = 0
    hour: int = 9
    minute: int = 0
    language: str = DEFAULT_LANGUAGE
    post_empty: bool = False
    channel_is_private: bool = False

    @classmethod
    def from_subscription(cls, subscription: DigestSubscription) -> SubscriptionView:
        return cls(
            channel_id=subscription.channel_id,
            themes=tuple(subscription.themes or ()),
            weekday=subscription.weekday,
            hour=subscription.hour,
            minute=subscription.minute,
            language=subscription.language,
            post_empty=subscription.post_empty,
            channel_is_private=subscription.channel_is_private,
        )


@dataclass(frozen=True, slots=True)
class ThemeInfo:
    key: str
    label_nl: str
    label_en: str

    def label(self, lang: str) -> str:
        if self.key == OTHER_THEME:
            return t("digest.other_theme", lang)
        return theme_label(self, lang)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the digest may name. ``hidden``: opted out or consent withdrawn — shown as "a colleague".

    ``key`` only deduplicates (never shown). Hidden people are collected without name or Slack id.
    """

    key: str
    name: str = ""
    slack_user_id: str | None = None
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class PracticeItem:
    id: int
    title: str
    city: str
    organisation: str
    outcome: str | None  # good | mixed | failed | None
    url: str
    is_new: bool  # created in the window (otherwise: updated in it)
    changed_at: datetime


class AskedInChannel:
    """A question a digest may list: ``public`` applies the digest rule (``is_public_content``) to what was stored."""

    __slots__ = ()
    visibility: str
    channel_id: str | None
    channel_is_private: bool

    @property
    def public(self) -> bool:
        return is_public_content(
            visibility=self.visibility, channel_id=self.channel_id, channel_is_private=self.channel_is_private
        )


@dataclass(frozen=True, slots=True)
class AnsweredItem(AskedInChannel):
    question_id: int
    text: str
    asked_at: datetime
    answered_at: datetime
    answerers: tuple[Person, ...]
    permalink: str = ""  # stored on an answer, when known
    channel_id: str | None = None  # the question's thread
    thread_ts: str | None = None
    answer_posts: tuple[tuple[str, str], ...] = ()  # (channel, ts) of answers posted by wieweet
    visibility: str = "public"
    channel_is_private: bool = False


@dataclass(frozen=True, slots=True)
class OpenQuestionItem(AskedInChannel):
    question_id: int
    text: str
    asked_at: datetime
    channel_id: str | None = None
    thread_ts: str | None = None
    visibility: str = "public"
    channel_is_private: bool = False


@dataclass(frozen=True, slots=True)
class NewExpertItem:
    id: int
    person: Person
    organisation: str = ""
    city: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class GapItem:
    """Queries of the week that matched nobody, grouped: the topic of the latest wording (without its question
    framing: "leegstandsheffing", not "wie weet iets over leegstandsheffing?") and how many different people asked
    it (one person asking it again adds nothing). Only a wording at least ``QUOTE_MIN_ASKERS`` people share is
    quoted; the others are counted in ``ThemeDigest.unquoted_gaps``."""

    query: str
    count: int


@dataclass(frozen=True, slots=True)
class WeekFigures:
    asked: int = 0
    answered: int = 0
    median_answer_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ThemeDigest:
    theme: ThemeInfo
    practices: tuple[PracticeItem, ...] = ()
    answered: tuple[AnsweredItem, ...] = ()
    open_questions: tuple[OpenQuestionItem, ...] = ()
    new_experts: tuple[NewExpertItem, ...] = ()
    gaps: tuple[GapItem, ...] = ()
    unquoted_gaps: int = 0  # gap wordings only one person asked: counted, never quoted (one member cannot write
    # the public list)
    weeks: tuple[WeekFigures, ...] = field(default_factory=tuple)  # oldest first; the last is this digest's week

    @property
    def current(self) -> WeekFigures:
        return self.weeks[-1] if self.weeks else WeekFigures()

    @property
    def previous(self) -> WeekFigures:
        return self.weeks[-2] if len(self.weeks) >= 2 else WeekFigures()


@dataclass(frozen=True, slots=True)
class DigestData:
    window_start: datetime
    window_end: datetime
    themes: tuple[ThemeDigest, ...]  # vocabulary order; themes with nothing new are left out by the builder
    timezone: str = "Europe/Brussels"  # the zone the window and dates are shown in (Settings.timezone)

    def theme(self, key: str) -> ThemeDigest | None:
        return next((t for t in self.themes if t.theme.key == key), None)


def quoted_questions(data: DigestData, themes: Collection[str] = ()) -> dict[int, str]:
    """The questions ``data`` quotes (answered and open, id -> the channel asked in) on ``themes`` (empty: all)."""
    wanted = set(themes)
    digests = [digest for digest in data.themes if not wanted or digest.theme.key in wanted]
    items: list[AnsweredItem | OpenQuestionItem] = [item for digest in digests for item in digest.answered]
    items += [item for digest in digests for item in digest.open_questions]
    return {item.question_id: item.channel_id for item in items if item.channel_id}
