"""What the knowledge-needs services return: plain, frozen values the CLI, the report and the Slack layer render.

Privacy is applied before these are made (``bot.needs.core``): ``quoted`` holds only shareable (public) wording,
everything else is a count; people appear only when they may be named (consent confirmed, not opted out, not
withdrawn, not erased) and never as the asker of an anonymous or private question.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

COVERED = "covered"  # someone in the register matches the topic well and can be asked
WEAK = "weak"  # matches exist but are weak, away, opted out or unconfirmed
NOT_COVERED = "none"  # nobody: a knowledge gap of the network

TREND_NEW = "new"
TREND_RISING = "rising"
TREND_STABLE = "stable"
TREND_FALLING = "falling"


@dataclass(frozen=True, slots=True)
class PersonRef:
    """Someone the output may name: an expert of the register and/or a Slack user."""

    name: str
    slack_user_id: str | None = None
    expert_id: int | None = None
    organisation: str = ""
    reason: str = ""  # why they are listed (for recruiting: what they answered or are the contact for)


@dataclass(frozen=True, slots=True)
class PracticeRef:
    id: int
    title: str
    city: str = ""
    organisation: str = ""
    outcome: str | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class TopicView:
    """One topic's figures in a period."""

    id: int
    label: str  # from a shareable question; "" when the topic has none (then show ``themes`` and counts)
    themes: tuple[str, ...]
    questions: int  # routed questions asked in the period
    gaps: int  # "who knows" searches that matched nobody, in the period (once per asker and wording)
    organisations: int  # distinct organisations of the askers (known ones; anonymous askers are not resolved)
    cities: int
    answered: int  # of the period's questions, answered by now
    median_answer_hours: float | None
    coverage: str  # COVERED | WEAK | NOT_COVERED
    trend: str  # TREND_*
    previous: tuple[int, ...]  # questions + gaps (counted as ``gaps``) in the previous periods, most recent first
    quoted: tuple[str, ...]  # up to a few shareable wordings
    not_quoted: int  # private, anonymous or from private channels: counted only
    first_asked: datetime | None = None
    last_asked: datetime | None = None
    proposal_id: int | None = None  # the live proposal of the topic, if any
    askers: int = 0  # distinct people who asked in the period (topics are ranked by it)

    @property
    def total(self) -> int:
        return self.questions + self.gaps

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["total"] = self.total
        for key in ("first_asked", "last_asked"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True, slots=True)
class NeedsOverview:
    period: str
    start: datetime
    end: datetime
    topics: tuple[TopicView, ...]  # the most asked first
    items: int  # questions + gaps in the period
    unassigned: int  # items grouping has not placed (0 after an update)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "items": self.items,
            "unassigned": self.unassigned,
            "topics": [t.to_json() for t in self.topics],
        }


@dataclass(frozen=True, slots=True)
class UpdateReport:
    """What one grouping run did."""

    items: int  # questions and gaps known
    placed: int  # placed by this run
    new_topics: int
    joined: int  # placed in a topic that existed before the run
    labelled: int  # topics that got a label
    waiting: int = 0  # not placed yet: waiting for their meaning vector (the needs pass computes it)
    busy: bool = False  # another process was grouping (``wait=False``): nothing was done


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposed work session, as staff see it."""

    id: int
    topic_id: int
    label: str
    status: str
    created_at: datetime
    window_start: datetime
    window_end: datetime
    organisations: int
    questions: int
    quoted: tuple[str, ...]  # shareable questions of the topic in the window
    not_quoted: int  # the others: counted only
    experts: tuple[PersonRef, ...]  # who could lead it
    askers: tuple[PersonRef, ...]  # who would likely come
    practices: tuple[PracticeRef, ...]  # to present
    channel_id: str | None = None
    notes_url: str = ""
    practice_id: int | None = None
    decided_by: str = ""  # who dismissed it or marked it done (the audit log's label: a Slack id, ``cli:…``)

    @property
    def is_live(self) -> bool:
        """Open or invited: staff may still act on it (its posts are the bot's to keep current)."""
        return self.status in ("open", "invited")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "window_start", "window_end"):
            data[key] = getattr(self, key).isoformat()
        return data


@dataclass(frozen=True, slots=True)
class InvitePlan:
    """Whom to invite to which channel; the Slack layer creates the channel (when ``create``) and invites."""

    proposal_id: int
    create: bool  # True: create ``channel_name``; False: invite to ``channel_id``
    channel_id: str | None
    channel_name: str
    invite: tuple[str, ...]  # Slack user ids
    without_slack: tuple[PersonRef, ...] = ()  # experts to contact otherwise (no Slack account)
    intro: str = ""  # the topic's label, for the channel's purpose / first message


@dataclass(frozen=True, slots=True)
class RecruitRequest:
    """A queued DM asking someone to add a topic to their profile."""

    topic_id: int
    expert_id: int  # the register entry asked (``needs recruit --ask IDS``: the ids given)
    slack_user_id: str
    queued: bool  # False: they were asked about this topic before, or cannot be reached
    unreachable: str = ""  # why not queued: Slack cannot reach them (its error, or why their entry is marked away)


@dataclass(frozen=True, slots=True)
class RecruitPlan:
    topic_id: int
    label: str
    coverage: str
    candidates: tuple[PersonRef, ...] = field(default_factory=tuple)
