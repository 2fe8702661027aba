"""Knowledge needs without Slack: topics of the network's questions, proposed work sessions, recruiting experts.

``NeedsService`` is made once per process with the process's ``KnowledgeBase`` (the matcher: its analysis groups
the questions, its "who knows" search tells whether anyone covers a topic and who could lead a session). Every
function takes the session of the caller's unit of work and never commits.

* ``update_topics`` places the questions and gaps not yet in a topic (``bot.needs.grouping``) and stores the
  placement: a topic keeps its id and its label as questions join it. A run is incremental (only new items are
  placed) and serialised across processes.
* ``overview`` — staff only — the topics of a period with their figures (``TopicView``).
* ``propose_sessions`` — the job — claims a proposal for every topic that reached the threshold (by default 3
  organisations in 8 weeks), at most one live proposal per topic across processes, and queues it for the triage
  channel (outbox ``needs_proposal``). After a dismissal or a session the topic is proposed again only when the
  questions asked *since* reach the threshold again.
* ``proposal``, ``list_proposals``, ``plan_invite``, ``record_invite``, ``dismiss_proposal``, ``complete_proposal``
  — staff only, every change audited.
* ``recruiting`` and ``ask_to_add_expertise`` — staff only — who might cover a topic nobody covers, and a DM
  (outbox ``expertise_request``) asking them to add it to their profile.

Privacy: a question is *shareable* when it is public and was asked in a public channel (the digest's rule);
only shareable wording is quoted or used for a label, the rest is counted. Anonymous askers are never resolved to
an organisation or named; askers of private questions are never named. People who opted out or withdrew consent
are never named; erased people have no rows left to name (``bot.privacy``).
"""

from __future__ import annotations

import logging
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.config import Settings
from bot.errors import NotFoundError, QueryError, WieweetError
from bot.knowledge import DatabaseVectorStore, KnowledgeBase
from bot.matching.results import SearchResult
from bot.needs.analysis import Concepts, QuestionVocabulary, Vectoriser, detect_language
from bot.needs.grouping import (
    DEFAULT_MEANING_THRESHOLD,
    DEFAULT_MEANING_WEIGHT,
    DEFAULT_THRESHOLD,
    Grouper,
    GroupItem,
    Vector,
)
from bot.needs.meaning import QuestionMeaning
from bot.needs.model import (
    COVERED,
    NOT_COVERED,
    TREND_FALLING,
    TREND_NEW,
    TREND_RISING,
    TREND_STABLE,
    WEAK,
    InvitePlan,
    NeedsOverview,
    PersonRef,
    PracticeRef,
    ProposalView,
    RecruitPlan,
    RecruitRequest,
    TopicView,
    UpdateReport,
)
from bot.needs.periods import Period
from bot.register.submissions import submit_practice
from digests.model import is_public_content
from storage import needs_repo as repo
from storage import outbox_repo, register_repo
from storage.models import (
    Availability,
    Consent,
    Expert,
    NeedProposal,
    OutboxMessage,
    ProposalStatus,
)

log = logging.getLogger(__name__)

QUOTED_MAX = 5
TREND_PERIODS = 3
LIVE = (ProposalStatus.OPEN, ProposalStatus.INVITED)
_SLUG = re.compile(r"[^a-z0-9]+")


class ProposalClosed(WieweetError):
    """The proposal was already dismissed or marked done (by someone else, or a second click)."""

    code = "proposal_closed"


class NoShareableWording(WieweetError):
    """The topic has only private or anonymous questions: nothing may be shown to people outside them."""

    code = "needs_no_label"


@dataclass(frozen=True, slots=True)
class NeedsConfig:
    min_organisations: int = 3
    window_weeks: int = 8
    similarity: float = DEFAULT_THRESHOLD  # joining a topic by words alone
    meaning_similarity: float = DEFAULT_MEANING_THRESHOLD  # ... by words and meaning (see bot.needs.grouping)
    meaning_weight: float = DEFAULT_MEANING_WEIGHT
    trend_periods: int = TREND_PERIODS
    experts: int = 3  # experts proposed to lead a session
    practices: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> NeedsConfig:
        return cls(
            min_organisations=settings.needs_min_organisations,
            window_weeks=settings.needs_window_weeks,
            similarity=settings.needs_similarity,
        )


# --- who asked ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asker:
    organisation: str
    city: str


AskerDirectory = Callable[[Session, Iterable[str]], Mapping[str, Asker]]


def register_directory(session: Session, slack_user_ids: Iterable[str]) -> Mapping[str, Asker]:
    """Askers' organisations from the expert register (an asker who is an expert); others are unknown."""
    return {
        sid: Asker(e.organisation.strip(), e.city.strip())
        for sid, e in repo.list_experts_by_slack_ids(session, slack_user_ids=slack_user_ids).items()
    }


def is_shareable(source: repo.NeedSource) -> bool:
    return is_public_content(
        visibility=source.visibility, channel_id=source.channel_id, channel_is_private=source.channel_is_private
    )


def may_be_named(expert: Expert | None) -> bool:
    """Named in needs, proposals and reports: listed with confirmed consent, not opted out."""
    return (
        expert is not None and expert.consent is Consent.CONFIRMED and expert.availability is not Availability.OPTED_OUT
    )


def channel_name(label: str, proposal_id: int) -> str:
    """A Slack channel name for a work session: lower case ASCII, hyphens, at most 80 characters."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    slug = _SLUG.sub("-", ascii_label).strip("-")[:50].strip("-") or f"topic-{proposal_id}"
    return f"werksessie-{slug}-{proposal_id}"[:80]


def _order(source: repo.NeedSource) -> tuple[object, ...]:
    return (source.created_at, source.key)


def _median_hours(values: Sequence[float]) -> float | None:
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


# --- the service -------------------------------------------------------------------------------------------------


@dataclass
class _State:
    """One read of everything grouping and the figures need."""

    sources: dict[str, repo.NeedSource]
    assigned: dict[str, int]
    labels: dict[int, str]
    askers: Mapping[str, Asker]

    def members(self) -> dict[int, list[repo.NeedSource]]:
        out: dict[int, list[repo.NeedSource]] = {}
        for key, topic_id in self.assigned.items():
            source = self.sources.get(key)
            if source is not None:
                out.setdefault(topic_id, []).append(source)
        for items in out.values():
            items.sort(key=_order)
        return out


class NeedsService:
    """Topics, proposals and recruiting (see the module docstring)."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        *,
        config: NeedsConfig | None = None,
        meaning: QuestionMeaning | None = None,
        directory: AskerDirectory = register_directory,
    ) -> None:
        """``meaning``: questions' vectors for grouping by meaning as well as words (``from_settings`` gives the
        knowledge base's embedder one when the meaning signal is on); None groups by words alone."""
        self.knowledge = knowledge
        self.config = config or NeedsConfig()
        self.meaning = meaning
        self.directory = directory
        matcher = knowledge.matcher or knowledge.load()
        self._vectoriser = Vectoriser(knowledge.analyse, phrase_words=matcher.phrase_words())
        self._languages: dict[str, str] = {}

    @classmethod
    def from_settings(cls, knowledge: KnowledgeBase, settings: Settings) -> NeedsService:
        """The service as ``wieweet run`` and the CLI make it: grouping by meaning too when ``Settings.semantic``
        is on and the embedder is installed (``KnowledgeBase.embedder``), else by words."""
        embedder = knowledge.embedder if settings.semantic else None
        meaning = QuestionMeaning(embedder, DatabaseVectorStore(knowledge.database)) if embedder is not None else None
        return cls(knowledge, config=NeedsConfig.from_settings(settings), meaning=meaning)

    def words_only(self, reason: str) -> None:
        """Group by words from now on (the embedder failed); logged once."""
        if self.meaning is not None:
            log.error("knowledge needs: grouping by words only from now on: %s", reason)
            self.meaning = None

    # --- grouping -------------------------------------------------------------------------------------------------

    def concepts(self, sources: Sequence[repo.NeedSource]) -> dict[str, Concepts]:
        base = {s.key: self._vectoriser.concepts(s.text) for s in sources}
        vocabulary = QuestionVocabulary(list(base.values()), weight=self._vectoriser.weights.compound)
        return {key: vocabulary.extend(c) for key, c in base.items()}

    def language(self, text: str) -> str:
        got = self._languages.get(text)
        if got is None:
            if len(self._languages) >= 200_000:
                self._languages.clear()
            got = self._languages[text] = detect_language(text)
        return got

    def grouper(self) -> Grouper:
        meaning = self.meaning
        return Grouper(
            threshold=self.config.similarity,
            meaning_threshold=self.config.meaning_similarity,
            meaning_weight=self.config.meaning_weight,
            meaning_prior=meaning.prior if meaning is not None else None,
        )

    def update_topics(self, session: Session, *, now: datetime, wait: bool = True) -> UpdateReport:
        """Place the questions and gaps not yet in a topic; label topics that have no label yet.

        Serialised across processes (``wait=False``: return ``busy`` at once when another process is grouping).
        With the meaning signal on, a question whose vector is not computed yet waits for the needs pass
        (``bot.needs.jobs``) that computes it; it is counted in ``waiting``."""
        if not repo.claim_needs_lock(session, wait=wait):
            return UpdateReport(items=0, placed=0, new_topics=0, joined=0, labelled=0, busy=True)
        if not repo.list_unplaced_need_texts(session) and not repo.count_unlabelled_need_topics(session):
            return UpdateReport(items=0, placed=0, new_topics=0, joined=0, labelled=0)
        sources = repo.list_need_sources(session)
        assigned = repo.list_need_assignments(session)
        vectors: Mapping[str, Vector] = self.meaning.vectors(s.text for s in sources) if self.meaning else {}
        waiting = {s.key for s in sources if self.meaning and s.key not in assigned and s.text not in vectors}
        sources = [s for s in sources if s.key not in waiting]
        concepts = self.concepts(sources)
        items = [
            GroupItem(s.key, _order(s), concepts[s.key], s.text, vectors.get(s.text), self.language(s.text))
            for s in sources
        ]
        first_new = repo.get_last_need_topic_id(session) + 1
        result = self.grouper().run(items, assigned=assigned, next_topic_id=first_new)
        by_key = {s.key: s for s in sources}
        real: dict[int, int] = {}
        for placement in result.placements:  # new topics in order, so database ids keep their order
            if placement.topic_id >= first_new and placement.topic_id not in real:
                real[placement.topic_id] = repo.create_need_topic(session, label="", label_item="", now=now).id
        rows: list[dict[str, Any]] = []
        for placement in result.placements:
            source = by_key[placement.key]
            kind, ident = placement.key.split(":", 1)
            rows.append(
                {
                    "topic_id": real.get(placement.topic_id, placement.topic_id),
                    "question_id": int(ident) if kind == "q" else None,
                    "gap_id": int(ident) if kind == "g" else None,
                    "asked_at": source.created_at,
                    "similarity": placement.similarity,
                    "assigned_at": now,
                }
            )
        repo.create_need_items(session, rows=rows)
        # labels: for topics without one, from their most central shareable member ("-": none has shareable words)
        members: dict[int, list[str]] = {}
        for topic_id, topic in result.topics.items():
            members[real.get(topic_id, topic_id)] = topic.members
        labelled = 0
        for row in repo.list_need_topics(session, ids=[t for t in members if t]):
            if row.label:
                continue
            chosen = self._label(members.get(row.id, []), by_key, concepts)
            if chosen is not None:
                row.label, row.label_item = chosen[1][:200], chosen[0]
                labelled += 1
            elif row.label_item == "-":
                continue
            else:
                row.label_item = "-"
            row.updated_at = now
        session.flush()
        joined = sum(1 for p in result.placements if p.topic_id < first_new)
        return UpdateReport(
            items=len(sources) + len(waiting),
            placed=len(result.placements),
            new_topics=len(real),
            joined=joined,
            labelled=labelled,
            waiting=len(waiting),
        )

    @staticmethod
    def _label(
        member_keys: Sequence[str], sources: Mapping[str, repo.NeedSource], concepts: Mapping[str, Concepts]
    ) -> tuple[str, str] | None:
        """(item key, label): the content words of the shareable member whose words the topic uses most."""
        frequency: Counter[str] = Counter()
        for key in member_keys:
            frequency.update(set(concepts[key].folded))
        best: tuple[float, str, str] | None = None
        shared = len(member_keys) >= 3  # words only one member uses are left out of a larger topic's label
        for key in member_keys:
            source = sources.get(key)
            c = concepts.get(key)
            if source is None or c is None or not c.words or not is_shareable(source):
                continue
            score = sum(frequency[w] for w in c.folded) / len(c.folded)
            words = [r for r, w in zip(c.words, c.folded, strict=False) if not shared or frequency[w] > 1]
            text = " ".join((words or list(c.words))[:6])
            label = text[:1].upper() + text[1:]
            if best is None or score > best[0]:
                best = (score, key, label)
        return (best[1], best[2]) if best else None

    # --- reading --------------------------------------------------------------------------------------------------

    def _state(self, session: Session) -> _State:
        sources = {s.key: s for s in repo.list_need_sources(session)}
        askers = {s.asker_slack_id for s in sources.values() if s.asker_slack_id and s.visibility != "anonymous"}
        return _State(
            sources=sources,
            assigned=repo.list_need_assignments(session),
            labels={t.id: t.label for t in repo.list_need_topics(session)},
            askers=self.directory(session, askers),
        )

    def _asker(self, state: _State, source: repo.NeedSource) -> Asker | None:
        if source.visibility == "anonymous" or not source.asker_slack_id:
            return None
        return state.askers.get(source.asker_slack_id)

    def _query(self, items: Sequence[repo.NeedSource], label: str) -> str:
        """What "who knows" is asked for a topic: its label, else its most used words (never shown)."""
        if label:
            return label
        counts: Counter[str] = Counter()
        for source in items:
            counts.update(set(self._vectoriser.concepts(source.text).words))
        return " ".join(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4])

    def _search(self, query: str, *, now: datetime, limit: int = 5) -> SearchResult | None:
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

    def topic_view(
        self,
        state: _State,
        topic_id: int,
        items: Sequence[repo.NeedSource],
        period: Period,
        *,
        now: datetime,
        live: Mapping[int, int],
    ) -> TopicView:
        inside = [s for s in items if period.contains(s.created_at)]
        questions = [s for s in inside if s.key.startswith("q:")]
        organisations: set[str] = set()
        cities: set[str] = set()
        for source in inside:
            asker = self._asker(state, source)
            if asker is not None:
                if asker.organisation:
                    organisations.add(asker.organisation.casefold())
                if asker.city:
                    cities.add(asker.city.casefold())
        answered = [s for s in questions if s.answered_at is not None]
        durations = [max(0.0, (s.answered_at - s.created_at).total_seconds()) for s in answered if s.answered_at]
        earlier = [period.previous(k) for k in range(1, self.config.trend_periods + 1)]
        previous = tuple(sum(1 for s in items if p.contains(s.created_at)) for p in earlier)
        shareable = [s for s in inside if is_shareable(s)]
        themes = Counter(k for s in inside for k in s.themes)
        label = state.labels.get(topic_id, "")
        result = self._search(self._query(inside or items, label), now=now)
        return TopicView(
            id=topic_id,
            label=label,
            themes=tuple(k for k, _ in sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]),
            questions=len(questions),
            gaps=len(inside) - len(questions),
            organisations=len(organisations),
            cities=len(cities),
            answered=len(answered),
            median_answer_hours=_median_hours(durations),
            coverage=self.coverage_of(result),
            trend=trend_of(len(inside), previous),
            previous=previous,
            quoted=tuple(dict.fromkeys(s.text.strip() for s in reversed(shareable)))[:QUOTED_MAX],
            not_quoted=len(inside) - len(shareable),
            first_asked=inside[0].created_at if inside else None,
            last_asked=inside[-1].created_at if inside else None,
            proposal_id=live.get(topic_id),
        )

    def overview(
        self,
        session: Session,
        *,
        actor: Actor,
        period: Period,
        now: datetime,
        update: bool = True,
        min_items: int = 1,
        limit: int | None = None,
    ) -> NeedsOverview:
        """The topics asked about in ``period``, the most asked first (staff only)."""
        actor.require_staff("see knowledge needs")
        if update:  # never waits behind a needs pass of another process: shows what is placed so far
            self.update_topics(session, now=now, wait=False)
        state = self._state(session)
        members = state.members()
        live = {p.topic_id: p.id for p in repo.list_need_proposals(session, statuses=LIVE)}
        in_period = [s for s in state.sources.values() if period.contains(s.created_at)]
        counts = Counter(state.assigned[s.key] for s in in_period if s.key in state.assigned)
        chosen = sorted((t for t, n in counts.items() if n >= min_items), key=lambda t: (-counts[t], t))
        if limit is not None:
            chosen = chosen[:limit]
        views = tuple(self.topic_view(state, t, members.get(t, []), period, now=now, live=live) for t in chosen)
        return NeedsOverview(
            period=period.label,
            start=period.start,
            end=period.end,
            topics=views,
            items=len(in_period),
            unassigned=sum(1 for s in in_period if s.key not in state.assigned),
        )

    # --- proposals ------------------------------------------------------------------------------------------------

    def propose_sessions(self, session: Session, *, now: datetime, worker_id: str) -> list[ProposalView]:
        """Claim a proposal for every topic at the threshold and queue it for the triage channel (the job)."""
        self.update_topics(session, now=now)
        state = self._state(session)
        window_start = now - timedelta(weeks=self.config.window_weeks)
        closed_at: dict[int, datetime] = {}
        for proposal in repo.list_need_proposals(session):
            if proposal.status not in LIVE and proposal.decided_at is not None:
                closed_at[proposal.topic_id] = max(
                    closed_at.get(proposal.topic_id, proposal.decided_at), proposal.decided_at
                )
        live = {p.topic_id for p in repo.list_need_proposals(session, statuses=LIVE)}
        created: list[ProposalView] = []
        for topic_id, items in sorted(state.members().items()):
            if topic_id in live:
                continue
            since = max(window_start, closed_at.get(topic_id, window_start))
            recent = [s for s in items if since <= s.created_at < now]
            organisations = {
                a.organisation.casefold() for s in recent if (a := self._asker(state, s)) is not None and a.organisation
            }
            if len(organisations) < self.config.min_organisations:
                continue
            claimed = repo.claim_need_proposal(
                session,
                topic_id=topic_id,
                window_start=since,
                window_end=now,
                organisations=len(organisations),
                questions=len(recent),
                worker_id=worker_id,
                now=now,
            )
            if claimed is None:
                continue  # another process claimed it
            proposal = claimed
            view = self._proposal_view(session, state, proposal, now=now)
            outbox.enqueue(
                session,
                outbox.NeedsProposal(proposal=view.to_json()),
                dedupe_key=f"needs_proposal:{proposal.id}",
                now=now,
            )
            register_repo.create_audit_log(
                session,
                actor="system",
                action="propose",
                entity_type="need_proposal",
                entity_key=str(proposal.id),
                before=None,
                after=_proposal_audit(proposal),
                now=now,
            )
            created.append(view)
        return created

    def _proposal_view(self, session: Session, state: _State, proposal: NeedProposal, *, now: datetime) -> ProposalView:
        items = [
            s
            for s in state.members().get(proposal.topic_id, [])
            if proposal.window_start <= s.created_at < proposal.window_end
        ]
        label = state.labels.get(proposal.topic_id, "")
        shareable = [s for s in items if is_shareable(s)]
        result = self._search(self._query(items, label), now=now, limit=8)
        experts: list[PersonRef] = []
        practices: list[PracticeRef] = []
        if result is not None:
            found = repo.list_experts_by_ids(session, expert_ids=[h.doc.id for h in result.experts])
            for hit in result.experts:
                expert = found.get(hit.doc.id)
                if hit.weak or not hit.available or not may_be_named(expert):
                    continue
                assert expert is not None
                experts.append(PersonRef(expert.name, expert.slack_user_id, expert.id, expert.organisation))
                if len(experts) >= self.config.experts:
                    break
            for p in result.practices[: self.config.practices]:
                practices.append(
                    PracticeRef(p.doc.id, p.doc.title, p.doc.city, p.doc.organisation, p.doc.outcome, p.doc.url)
                )
        # askers: people who asked in public (not anonymously, not in a private channel), not erased, not hidden
        asker_ids = sorted({s.asker_slack_id for s in shareable if s.asker_slack_id})
        registered = repo.list_experts_by_slack_ids(session, slack_user_ids=asker_ids)
        lead_ids = {e.slack_user_id for e in experts}
        askers: list[PersonRef] = []
        for sid in asker_ids:
            expert = registered.get(sid)
            if expert is not None and not may_be_named(expert):
                continue
            if sid in lead_ids:
                continue
            asker = state.askers.get(sid)
            askers.append(
                PersonRef(
                    expert.name if expert is not None else "",
                    sid,
                    expert.id if expert is not None else None,
                    asker.organisation if asker else "",
                )
            )
        return ProposalView(
            id=proposal.id,
            topic_id=proposal.topic_id,
            label=label,
            status=proposal.status.value,
            created_at=proposal.created_at,
            window_start=proposal.window_start,
            window_end=proposal.window_end,
            organisations=proposal.organisations,
            questions=proposal.questions,
            quoted=tuple(dict.fromkeys(s.text.strip() for s in shareable))[:10],
            not_quoted=len(items) - len(shareable),
            experts=tuple(experts),
            askers=tuple(askers),
            practices=tuple(practices),
            channel_id=proposal.channel_id,
            notes_url=proposal.notes_url,
            practice_id=proposal.practice_id,
        )

    def proposal(self, session: Session, *, actor: Actor, proposal_id: int, now: datetime) -> ProposalView:
        actor.require_staff("see a work session proposal")
        return self._proposal_view(session, self._state(session), self._get(session, proposal_id), now=now)

    def list_proposals(
        self, session: Session, *, actor: Actor, now: datetime, statuses: Sequence[ProposalStatus] | None = LIVE
    ) -> list[ProposalView]:
        actor.require_staff("see work session proposals")
        state = self._state(session)
        return [
            self._proposal_view(session, state, p, now=now)
            for p in repo.list_need_proposals(session, statuses=statuses)
        ]

    @staticmethod
    def _get(session: Session, proposal_id: int, *, lock: bool = False) -> NeedProposal:
        proposal = repo.get_need_proposal(session, proposal_id=proposal_id, lock=lock)
        if proposal is None:
            raise NotFoundError("no_proposal", f"no work session proposal #{proposal_id}")
        return proposal

    def _live(self, session: Session, proposal_id: int) -> NeedProposal:
        proposal = self._get(session, proposal_id, lock=True)
        if proposal.status not in LIVE:
            raise ProposalClosed(message=f"proposal #{proposal_id} is {proposal.status.value} already")
        return proposal

    def plan_invite(
        self, session: Session, *, actor: Actor, proposal_id: int, now: datetime, channel_id: str | None = None
    ) -> InvitePlan:
        """Whom to invite (the proposed experts and askers who may be named and have a Slack account), to
        ``channel_id`` or to a new channel. Changes nothing: the Slack layer creates the channel and invites, then
        ``record_invite`` stores what was done (so a failed Slack call leaves the proposal as it was)."""
        actor.require_staff("invite people to a work session")
        proposal = self._live(session, proposal_id)
        view = self._proposal_view(session, self._state(session), proposal, now=now)
        invite = tuple(dict.fromkeys(p.slack_user_id for p in (*view.experts, *view.askers) if p.slack_user_id))
        return InvitePlan(
            proposal_id=proposal.id,
            create=not channel_id,
            channel_id=channel_id,
            channel_name=channel_name(view.label or "topic", proposal.id),
            invite=invite,
            without_slack=tuple(p for p in view.experts if not p.slack_user_id),
            intro=view.label,
        )

    def record_invite(
        self,
        session: Session,
        *,
        actor: Actor,
        proposal_id: int,
        channel_id: str,
        invited: Sequence[str],
        created: bool,
        now: datetime,
    ) -> ProposalView:
        """The people were invited to ``channel_id`` (created for the session when ``created``): the proposal is
        marked invited and remembers the channel (audited with who was invited)."""
        actor.require_staff("invite people to a work session")
        proposal = self._live(session, proposal_id)
        before = _proposal_audit(proposal)
        proposal.status = ProposalStatus.INVITED
        proposal.channel_id = channel_id
        proposal.updated_at = now
        session.flush()
        after = {**_proposal_audit(proposal), "invited": list(invited), "created": created}
        _audit(session, actor, "invite", proposal, before, after, now)
        return self._proposal_view(session, self._state(session), proposal, now=now)

    def dismiss_proposal(
        self, session: Session, *, actor: Actor, proposal_id: int, now: datetime, reason: str = ""
    ) -> ProposalView:
        actor.require_staff("dismiss a work session proposal")
        proposal = self._live(session, proposal_id)
        before = _proposal_audit(proposal)
        repo.update_need_proposal_closed(session, proposal=proposal, status=ProposalStatus.DISMISSED)
        proposal.note = reason.strip()[:2000]
        proposal.decided_by = actor.audit_label
        proposal.decided_at = now
        proposal.updated_at = now
        session.flush()
        _audit(session, actor, "dismiss", proposal, before, _proposal_audit(proposal), now)
        return self._proposal_view(session, self._state(session), proposal, now=now)

    def complete_proposal(
        self, session: Session, *, actor: Actor, proposal_id: int, notes_url: str, now: datetime, summary: str = ""
    ) -> ProposalView:
        """The session took place: its notes become a practice submission (staff approve it as usual)."""
        actor.require_staff("mark a work session done")
        proposal = self._live(session, proposal_id)
        state = self._state(session)
        view = self._proposal_view(session, state, proposal, now=now)
        if not view.label:
            raise NoShareableWording(message="this topic has no public wording to publish a practice under")
        items = state.members().get(proposal.topic_id, [])
        themes = Counter(k for s in items for k in s.themes)
        values = {
            "title": f"Werksessie: {view.label}"[:300],
            "summary": summary.strip()
            or (
                f"Verslag van de werksessie van het netwerk over '{view.label}', voorgesteld na "
                f"{proposal.questions} vragen uit {proposal.organisations} organisaties."
            ),
            "city": "",
            "organisation": "",
            "themes": "; ".join(k for k, _ in themes.most_common(3)),
            "url": notes_url.strip(),
        }
        practice = submit_practice(session, actor=actor, values=values, now=now)
        before = _proposal_audit(proposal)
        repo.update_need_proposal_closed(session, proposal=proposal, status=ProposalStatus.DONE)
        proposal.notes_url = notes_url.strip()[:2000]
        proposal.practice_id = practice.id
        proposal.decided_by = actor.audit_label
        proposal.decided_at = now
        proposal.updated_at = now
        session.flush()
        _audit(session, actor, "done", proposal, before, _proposal_audit(proposal), now)
        return self._proposal_view(session, state, proposal, now=now)

    # --- recruiting -----------------------------------------------------------------------------------------------

    def recruiting(self, session: Session, *, actor: Actor, topic_id: int, now: datetime) -> RecruitPlan:
        """Who might cover a topic: people who answered its or related questions, contacts of related practices."""
        actor.require_staff("see who might cover a topic")
        topic = repo.get_need_topic(session, topic_id=topic_id)
        if topic is None:
            raise NotFoundError("no_topic", f"no topic #{topic_id}")
        state = self._state(session)
        items = state.members().get(topic_id, [])
        result = self._search(self._query(items, topic.label), now=now, limit=8)
        reasons: dict[int, str] = {}
        named_by_slack: dict[str, str] = {}
        question_ids = [int(s.key[2:]) for s in items if s.key.startswith("q:")]
        for answer in repo.list_answers_to(session, question_ids=question_ids):
            source = state.sources.get(f"q:{answer.question_id}")
            public = source is not None and is_shareable(source)
            why = f"answered: {source.text.strip()[:80]}" if public and source else "answered a question on this topic"
            if answer.expert_id is not None:
                reasons.setdefault(answer.expert_id, why)
            elif answer.answered_by_slack_id:
                named_by_slack.setdefault(answer.answered_by_slack_id, why)
        if result is not None:
            for hit in result.answers:
                if hit.doc.expert_id is not None:
                    reasons.setdefault(hit.doc.expert_id, f"answered: {hit.doc.question.strip()[:80]}")
            for p in result.practices:
                if p.doc.contact_expert_id is not None:
                    reasons.setdefault(p.doc.contact_expert_id, f"contact for the practice: {p.doc.title[:80]}")
        experts = repo.list_experts_by_ids(session, expert_ids=reasons)
        by_slack = repo.list_experts_by_slack_ids(session, slack_user_ids=named_by_slack)
        for sid, why in named_by_slack.items():
            if sid in by_slack:
                experts[by_slack[sid].id] = by_slack[sid]
                reasons.setdefault(by_slack[sid].id, why)
        strong = {h.doc.id for h in result.experts if not h.weak} if result is not None else set()
        candidates = [
            PersonRef(e.name, e.slack_user_id, e.id, e.organisation, reasons[e.id])
            for e in sorted(experts.values(), key=lambda e: (e.name.casefold(), e.id))
            if may_be_named(e) and e.id not in strong
        ]
        return RecruitPlan(topic_id, topic.label, self.coverage_of(result), tuple(candidates))

    def ask_to_add_expertise(
        self, session: Session, *, actor: Actor, topic_id: int, expert_ids: Sequence[int], now: datetime
    ) -> list[RecruitRequest]:
        """Queue a DM to each chosen candidate asking them to add the topic to their profile (audited). Only the
        candidates ``recruiting`` offers may be asked, whatever ids a (forged) request names."""
        plan = self.recruiting(session, actor=actor, topic_id=topic_id, now=now)
        if not plan.label:
            raise NoShareableWording(message="this topic has only private questions: there is nothing to ask about")
        allowed = {p.expert_id: p for p in plan.candidates if p.expert_id is not None and p.slack_user_id}
        refused = [i for i in expert_ids if i not in allowed]
        if refused:
            raise NotFoundError("not_a_candidate", f"not a candidate for topic #{topic_id}: {refused}")
        requests: list[RecruitRequest] = []
        for expert_id in dict.fromkeys(expert_ids):
            person = allowed[expert_id]
            assert person.slack_user_id is not None
            message = outbox.enqueue(
                session,
                outbox.ExpertiseRequest(topic_id=topic_id, label=plan.label, reason=person.reason, expert_id=expert_id),
                dedupe_key=f"expertise_request:{topic_id}:{person.slack_user_id}",
                now=now,
                recipient_slack_id=person.slack_user_id,
            )
            requests.append(RecruitRequest(topic_id, person.slack_user_id, message is not None))
        register_repo.create_audit_log(
            session,
            actor=actor.audit_label,
            action="recruit",
            entity_type="need_topic",
            entity_key=str(topic_id),
            before=None,
            after={"asked": [r.slack_user_id for r in requests if r.queued], "label": plan.label},
            now=now,
        )
        return requests

    def expertise_request_refs(self, session: Session, *, actor: Actor, topic_id: int) -> list[dict[str, str]]:
        """The DMs asking ``actor`` to add this topic to their profile (``channel_id``, ``message_ts``): tied to the
        topic and the person by the database, so a click is checked against them."""
        sent = self._expertise_request(session, actor=actor, topic_id=topic_id)
        return [{"channel_id": sent.sent_channel_id or "", "message_ts": sent.sent_ts or ""}] if sent else []

    @staticmethod
    def _expertise_request(session: Session, *, actor: Actor, topic_id: int) -> OutboxMessage | None:
        if not actor.slack_id:
            return None
        sent = outbox_repo.get_sent_outbox_message(session, dedupe_key=f"expertise_request:{topic_id}:{actor.slack_id}")
        return sent if sent is not None and sent.recipient_slack_id == actor.slack_id else None

    def add_topic_to_profile(self, session: Session, *, actor: Actor, topic_id: int, now: datetime) -> str:
        """The person asked by DM adds the topic to their own profile's expertise (audited); returns the label.

        Only someone the knowledge centre asked about this very topic may (an expertise request was sent to their
        Slack id); the label added is the one they were asked about, never text from the request."""
        request = self._expertise_request(session, actor=actor, topic_id=topic_id)
        if request is None or not actor.slack_id:
            raise NotAuthorized("add a topic they were not asked about", target=f"need_topic:{topic_id}")
        label = str(request.payload.get("label") or "").strip()
        expert = register_repo.get_expert_by_slack_id(session, slack_user_id=actor.slack_id)
        if expert is None or not label:
            raise NotFoundError("no_expert", "no expert profile for this Slack account")
        if label.casefold() not in {e.casefold() for e in expert.expertise}:
            before = {"expertise": list(expert.expertise)}
            expert.expertise = [*expert.expertise, label[:200]]
            expert.updated_at = now
            register_repo.create_audit_log(
                session,
                actor=actor.audit_label,
                action="add_topic",
                entity_type="expert",
                entity_key=expert.email,
                before=before,
                after={"expertise": list(expert.expertise), "topic_id": topic_id},
                now=now,
            )
        return label

    @staticmethod
    def proposal_message_ref(session: Session, *, proposal_id: int) -> dict[str, str]:
        """Where the proposal was posted for staff (``channel_id``, ``message_ts``); {} when not (yet)."""
        message = outbox_repo.get_sent_outbox_message(session, dedupe_key=f"needs_proposal:{proposal_id}")
        if message is None or not (message.sent_channel_id and message.sent_ts):
            return {}
        return {"channel_id": message.sent_channel_id, "message_ts": message.sent_ts}


def _proposal_audit(proposal: NeedProposal) -> dict[str, Any]:
    return {
        "topic_id": proposal.topic_id,
        "status": proposal.status.value,
        "channel_id": proposal.channel_id,
        "notes_url": proposal.notes_url,
        "practice_id": proposal.practice_id,
        "note": proposal.note,
    }


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    proposal: NeedProposal,
    before: dict[str, Any],
    after: dict[str, Any],
    now: datetime,
) -> None:
    register_repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=action,
        entity_type="need_proposal",
        entity_key=str(proposal.id),
        before=before,
        after=after,
        now=now,
    )
