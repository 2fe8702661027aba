"""What the knowledge-needs use cases share: the settings, the privacy rules, one read of the needs, the search.

``NeedsCore`` holds the knowledge base (the matcher: its analysis groups the questions, its "who knows" search tells
whether anyone covers a topic and who could lead a session), the configuration and the meaning signal; the
topics (``bot.needs.topics``), proposals (``bot.needs.proposals``) and recruiting (``bot.needs.recruiting``) each
get it, and ``bot.needs.service.NeedsService`` puts them behind one object.

Privacy: a question is *shareable* when it is public and was asked in a public channel (the digest's rule);
only shareable wording is quoted or used for a label, the rest is counted. Anonymous askers are never resolved to
an organisation or named; askers of private questions are never named. People who opted out or withdrew consent
are never named; erased people have no rows left to name (``bot.privacy``).
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.config import Settings
from bot.errors import QueryError, WieweetError
from bot.i18n import DEFAULT_LANGUAGE
from bot.knowledge import KnowledgeBase
from bot.matching.results import SearchResult
from bot.needs.analysis import Vectoriser
from bot.needs.grouping import (
    DEFAULT_MEANING_THRESHOLD,
    DEFAULT_MEANING_WEIGHT,
    DEFAULT_THRESHOLD,
    MOVABLE_SIZE,
    REPLACE_SIZE,
)
from bot.needs.meaning import QuestionMeaning
from bot.needs.model import COVERED, NOT_COVERED, TREND_FALLING, TREND_NEW, TREND_RISING, TREND_STABLE, WEAK
from bot.needs.state import REFIT_GROWTH
from bot.routing.states import no_longer_quoted
from bot.text import is_slack_user_id
from digests.model import is_public_content
from storage import needs_people_repo as people
from storage import needs_repo as repo
from storage import register_repo
from storage.models import (
    Availability,
    Consent,
    Expert,
    NeedProposal,
    NeedTopic,
    ProposalStatus,
    gap_key,
)

log = logging.getLogger(__name__)

TREND_PERIODS = 3
LIVE = (ProposalStatus.OPEN, ProposalStatus.INVITED)


class ProposalClosed(WieweetError):
    """The proposal was already dismissed or marked done (by someone else, or a second click)."""

    code = "proposal_closed"
    refusal = True


class AlreadyInvited(ProposalClosed):
    """Someone invited the proposal's people already (a second invite modal, a stale button): where to, so the one
    who tried sees the session is on and where it is held."""

    code = "proposal_invited"

    def __init__(self, proposal_id: int, channel_id: str | None) -> None:
        # the channel id comes from the database, never from a payload
        channel = f"<#{channel_id}>" if channel_id else "?"
        super().__init__(message=f"proposal #{proposal_id} was invited already", values={"channel": channel})
        self.channel_id = channel_id


class InviteUnderWay(ProposalClosed):
    """Another submission of the invite modal (a second staff member's, at the same moment) holds the proposal's
    invitation: it is making the channel and inviting the people now, so this one makes nothing."""

    code = "proposal_inviting"
    people = frozenset({"staff"})

    def __init__(self, proposal_id: int, staff: str | None = None) -> None:
        # ``staff``, who holds it, comes from the database (the hold's Slack user id), never from a payload
        super().__init__(message=f"proposal #{proposal_id} is being invited by another submission")
        if staff and is_slack_user_id(staff):
            self.code = "proposal_inviting_by"
            self.values = {"staff": staff}  # a mention in Slack, a name on the command line (``error_text``)


class CloseWhileInviting(WieweetError):
    """A Dismiss or a Done while a staff member's invitation is under way (its hold stands): refused, nothing changed,
    so the channel they are making is never left with a closed proposal; they can close it once it is invited (or
    the invitation failed and let go)."""

    code = "proposal_close_inviting"
    refusal = True
    people = frozenset({"staff"})

    def __init__(self, proposal_id: int, staff: str | None = None) -> None:
        super().__init__(message=f"proposal #{proposal_id} is being invited right now: not closed")
        if staff and is_slack_user_id(staff):
            self.code = "proposal_close_inviting_by"
            self.values = {"staff": staff}  # a mention in Slack, a name on the command line (``error_text``)


class NoShareableWording(WieweetError):
    """The topic has only private or anonymous questions: nothing may be shown to people outside them."""

    code = "needs_no_label"
    refusal = True


@dataclass(frozen=True, slots=True)
class NeedsConfig:
    min_organisations: int = 3
    window_weeks: int = 8
    similarity: float = DEFAULT_THRESHOLD  # joining a topic by words alone
    meaning_similarity: float = DEFAULT_MEANING_THRESHOLD  # ... by words and meaning (see bot.needs.grouping)
    meaning_weight: float = DEFAULT_MEANING_WEIGHT
    refit_growth: float = REFIT_GROWTH  # refit the grouping's statistics after this growth (bot.needs.state)
    movable_weeks: int = 8  # a topic this young, small and untouched by staff may still join another (grouping)
    movable_size: int = MOVABLE_SIZE  # ... as a unit when this small (0: no earlier topic ever changes)
    replace_size: int = REPLACE_SIZE  # ... its earlier members placed again one by one when this small with the
    # run's first placements into it (bot.needs.grouping: a wording that joined a neighbour before its need was asked)
    trend_periods: int = TREND_PERIODS
    experts: int = 3  # experts proposed to lead a session
    practices: int = 3
    language: str = DEFAULT_LANGUAGE  # the network's: what is written for everyone (a work session's practice)

    @classmethod
    def from_settings(cls, settings: Settings) -> NeedsConfig:
        return cls(
            min_organisations=settings.needs_min_organisations,
            window_weeks=settings.needs_window_weeks,
            similarity=settings.needs_similarity,
            language=settings.default_language,
        )


# --- who asked, who may be named -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asker:
    organisation: str
    city: str


AskerDirectory = Callable[[Session, Iterable[str]], Mapping[str, Asker]]


def register_directory(session: Session, slack_user_ids: Iterable[str]) -> Mapping[str, Asker]:
    """Askers' organisations from the expert register (an asker who is an expert); others are unknown."""
    return {
        sid: Asker(e.organisation.strip(), e.city.strip())
        for sid, e in people.list_experts_by_slack_ids(session, slack_user_ids=slack_user_ids).items()
    }


def may_be_quoted(item: repo.NeedSource | repo.LabelItem) -> bool:
    """Whether an item's words may be quoted (proposals, labels, a session channel's name and intro) and its asker
    named as having asked in public: only text that stood in a public channel for its members to read (a gap left by
    a search typed to the bot alone is stored private), and not a question its asker withdrew, nor one staff closed
    unanswered (still counted: ``no_longer_quoted``). Read of a source or of a label's item (without its text)."""
    if no_longer_quoted(item.status, item.answered_at):
        return False
    return is_public_content(
        visibility=item.visibility, channel_id=item.channel_id, channel_is_private=item.channel_is_private
    )


def shown_label(topic: NeedTopic, sources: Mapping[str, repo.NeedSource]) -> str:
    """The label a topic may be shown (and sent, and added to a profile) with: its stored label, unless the item it
    was made from may not be quoted any more (withdrawn, closed unanswered, or its channel turned private since):
    the label is made of that item's words, so the topic shows without one. An erasure blanks the stored label
    itself (``bot.privacy``); a grouping run blanks the others (``Topics._drop_unshown_labels``) and labels such
    a topic again from what may be quoted. ``sources``
    must hold the label's item (``label_sources`` reads just that one)."""
    source = sources.get(topic.label_item) if topic.label_item else None
    return "" if source is not None and not may_be_quoted(source) else topic.label


def label_sources(session: Session, topic: NeedTopic) -> dict[str, repo.NeedSource]:
    """The one item a topic's label was made from (none for a topic without one), for ``shown_label`` when the
    needs' whole state is not read."""
    keys = [topic.label_item] if topic.label_item and topic.label_item[:2] in {"q:", "g:"} else []
    return {s.key: s for s in repo.list_need_sources(session, keys=keys)} if keys else {}


def may_be_named(expert: Expert | None) -> bool:
    """Named in needs, proposals and reports: listed with confirmed consent, not opted out."""
    return (
        expert is not None and expert.consent is Consent.CONFIRMED and expert.availability is not Availability.OPTED_OUT
    )


def asker_key(source: repo.NeedSource) -> str:
    """Who asked, for counting distinct askers only (never shown); items without a known asker count as one."""
    return source.asker_slack_id or ""


def need_key(source: repo.NeedSource) -> str:
    """What a need is counted by: each question (they are rate-limited and routed), but a gap once per asker and
    wording (``storage.models.gap_key``), so one source repeating a search makes one need, not hundreds (the digest
    and the report count gaps the same way)."""
    if not source.key.startswith("g:"):
        return source.key
    return f"g|{asker_key(source)}|{source.wording or gap_key(None, source.text) or ''}"


def count_needs(sources: Iterable[repo.NeedSource]) -> int:
    return len({need_key(s) for s in sources})


def source_order(source: repo.NeedSource) -> tuple[object, ...]:
    return (source.created_at, source.key)


def median_hours(values: Sequence[float]) -> float | None:
    return round(statistics.median(values) / 3600.0, 1) if values else None


def trend_of(current: int, previous: Sequence[int]) -> str:
    """new: nothing before; rising / falling: a quarter more / less than the previous periods' mean (and at least
    two questions apart); stable otherwise."""
    if not any(previous):
        return TREND_NEW if current else TREND_STABLE
    mean = sum(previous) / len(previous)
    if current >= mean * 1.25 and current - mean >= 2:
        return TREND_RISING
    if current <= mean * 0.75 and mean - current >= 2:
        return TREND_FALLING
    return TREND_STABLE


# --- one read of the needs ---------------------------------------------------------------------------------------


@dataclass
class NeedsState:
    """One read of everything grouping and the figures need."""

    sources: dict[str, repo.NeedSource]
    assigned: dict[str, int]
    labels: dict[int, str]
    askers: Mapping[str, Asker]
    _members: dict[int, list[repo.NeedSource]] | None = field(default=None, init=False, repr=False, compare=False)

    def members(self) -> dict[int, list[repo.NeedSource]]:
        """Each topic's members, oldest first (made once: a pass proposing many topics asks for each; read only)."""
        if self._members is not None:
            return self._members
        out: dict[int, list[repo.NeedSource]] = {}
        for key, topic_id in self.assigned.items():
            source = self.sources.get(key)
            if source is not None:
                out.setdefault(topic_id, []).append(source)
        for items in out.values():
            items.sort(key=source_order)
        self._members = out
        return out

    def asker(self, source: repo.NeedSource) -> Asker | None:
        """Who asked, when they may be resolved (never an anonymous asker)."""
        if source.visibility == "anonymous" or not source.asker_slack_id:
            return None
        return self.askers.get(source.asker_slack_id)


class NeedsCore:
    """The knowledge base, the configuration and the meaning signal, and the reads every use case composes."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        *,
        config: NeedsConfig,
        meaning: QuestionMeaning | None,
        directory: AskerDirectory,
    ) -> None:
        self.knowledge = knowledge
        self.config = config
        self.meaning = meaning
        self.directory = directory
        self.vectoriser = Vectoriser(knowledge.analyse, phrase_words=knowledge.phrase_words())

    def state(self, session: Session, *, topic_ids: Collection[int] | None = None) -> NeedsState:
        """Every question and gap, or only the members of ``topic_ids`` (what a proposal's view reads)."""
        if topic_ids is None:
            sources = {s.key: s for s in repo.list_need_sources(session)}
            assigned = repo.list_need_assignments(session)
        else:
            assigned = repo.list_need_assignments(session, topic_ids=topic_ids)
            sources = {s.key: s for s in repo.list_need_sources(session, topic_ids=topic_ids)}
        askers = {s.asker_slack_id for s in sources.values() if s.asker_slack_id and s.visibility != "anonymous"}
        return NeedsState(
            sources=sources,
            assigned=assigned,
            labels={t.id: shown_label(t, sources) for t in repo.list_need_topics(session, ids=topic_ids)},
            askers=self.directory(session, askers),
        )

    def query(self, items: Sequence[repo.NeedSource], label: str) -> str:
        """What "who knows" is asked for a topic: its label, else its most used words (never shown)."""
        if label:
            return label
        counts: Counter[str] = Counter()
        for source in items:
            counts.update(set(self.vectoriser.concepts(source.text).words))
        return " ".join(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4])

    def search(self, query: str, *, now: datetime, limit: int = 5) -> SearchResult | None:
        if not query.strip():
            return None
        try:
            return self.knowledge.search(query, now=now, limit=limit)
        except QueryError:
            return None

    def coverage_of(self, result: SearchResult | None) -> str:
        """covered: a strong match who is available and confirmed; weak: only strong matches who are away, opted out
        or unconfirmed, or only partial matches (at least half the matcher's gap threshold); none: a gap."""
        if result is None or not result.experts:
            return NOT_COVERED
        strong = [h for h in result.experts if not h.weak]
        if any(h.available and not h.stale for h in strong):
            return COVERED
        if strong:
            return WEAK
        matcher = self.knowledge.matcher
        threshold = matcher.config.gap_threshold if matcher is not None else 0.0
        return WEAK if result.confidence >= 0.5 * threshold > 0.0 else NOT_COVERED


# --- the audit of proposals ----------------------------------------------------------------------------------------


def proposal_audit(proposal: NeedProposal) -> dict[str, Any]:
    return {
        "topic_id": proposal.topic_id,
        "status": proposal.status.value,
        "channel_id": proposal.channel_id,
        "notes_url": proposal.notes_url,
        "practice_id": proposal.practice_id,
        "note": proposal.note,
    }


def audit_proposal(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    proposal: NeedProposal,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    now: datetime,
) -> None:
    """An audit row for a proposal (``actor`` None: the system, e.g. the job that proposes)."""
    register_repo.create_audit_log(
        session,
        actor=actor.audit_label if actor is not None else "system",
        action=action,
        entity_type="need_proposal",
        entity_key=str(proposal.id),
        before=before,
        after=after,
        now=now,
    )
