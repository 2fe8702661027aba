"""Who is asked: the best matches for a question, minus everyone who cannot or should not be asked.

``select_experts`` searches the knowledge base with the question's text and context (more candidates than
needed), re-reads the candidates from the database (availability, consent and limits change all the time), drops
everyone who must not be asked, lowers the score of experts who recently declined a question on the same themes,
and picks the best — spreading over organisations while a good candidate from another organisation exists.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.errors import QueryError
from bot.i18n import DEFAULT_LANGUAGE, language_of, locale_language
from bot.knowledge import KnowledgeBase, normalise_gap_query, searchable_start
from bot.matching.results import ExpertHit, SearchResult
from bot.routing.policy import RoutingPolicy
from storage import question_repo, register_repo, slack_repo
from storage import routing_repo as repo
from storage.models import Availability, Consent, Expert, Question, RecordStatus, Visibility

# Why a candidate was left out (for tests, logs and the staff view).
SKIP_ASKER = "asker"
SKIP_NOT_IN_DB = "not_in_register"
SKIP_UNPUBLISHED = "unpublished"
SKIP_AWAY = "away"
SKIP_OPTED_OUT = "opted_out"
SKIP_CONSENT = "consent"
SKIP_NO_SLACK = "no_slack_id"
SKIP_WEAK = "weak"
SKIP_ALREADY_ROUTED = "already_routed"
SKIP_AT_LIMIT = "at_limit"
SKIP_BEING_CHANGED = "being_changed"  # their row was being changed by another transaction (``skip_locked`` only)
SKIP_EXCLUDED = "excluded"


@dataclass(frozen=True, slots=True)
class Candidate:
    expert: Expert
    hit: ExpertHit
    score: float  # after the decline penalty: what ranking and the routing use
    match_score: float  # the search score
    penalty: float  # the factor applied (1.0: none)
    language: str
    reasons: tuple[str, ...]  # rendered in ``language``


@dataclass(slots=True)
class Selection:
    chosen: list[Candidate]
    result: SearchResult | None  # None when the text could not be searched at all
    skipped: dict[int, str] = field(default_factory=dict)  # expert id -> SKIP_* reason

    hits: list[ExpertHit] = field(default_factory=list)

    @property
    def gap(self) -> bool:
        """Nobody matched well (whether or not they could be asked)."""
        return all(h.weak for h in self.hits)


def search_query(question: Question, additions: Iterable[str] = ()) -> str:
    parts = [question.text, question.context, *additions]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def expert_language(session: Session, expert: Expert | None, slack_user_id: str | None, *, default: str) -> str:
    """The language to write to someone in: their Slack locale's if it has a catalogue, else their register
    languages (Dutch when it is among them), else English when their Slack locale is another language ("fr-FR"),
    else ``default``: the network's language (WIEWEET_LANGUAGE, ``RoutingPolicy.default_language``)."""
    locale = None
    if slack_user_id:
        user = slack_repo.get_slack_user(session, slack_user_id=slack_user_id)
        locale = user.locale if user is not None and user.locale else None
        language = language_of(locale)
        if language:
            return language
    if expert is not None and expert.languages:
        langs = [language for language in map(language_of, expert.languages) if language]
        if langs:
            return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in langs else langs[0]
    return locale_language(locale, default)


def is_away(expert: Expert, today: date) -> bool:
    if expert.away_until is not None and expert.away_until >= today:
        return True
    # "away" without a date is away until they say otherwise; with a date in the past they are back
    return expert.availability is Availability.AWAY and expert.away_until is None


def skip_reason(
    expert: Expert,
    *,
    policy: RoutingPolicy,
    today: date,
    asker_slack_id: str | None,
) -> str | None:
    """Why this expert must not be asked at all (None: they may be)."""
    if expert.status is not RecordStatus.PUBLISHED:
        return SKIP_UNPUBLISHED
    if asker_slack_id and expert.slack_user_id == asker_slack_id:
        return SKIP_ASKER
    if expert.availability is Availability.OPTED_OUT:
        return SKIP_OPTED_OUT
    if is_away(expert, today):
        return SKIP_AWAY
    if expert.consent is Consent.WITHDRAWN or (
        policy.require_confirmed_consent and expert.consent is not Consent.CONFIRMED
    ):
        return SKIP_CONSENT
    if not expert.slack_user_id:
        return SKIP_NO_SLACK
    return None


def _org_key(expert: Expert) -> str:
    return expert.organisation.strip().casefold()


def spread_over_organisations(
    ranked: list[Candidate], count: int, *, spread_ratio: float, taken_organisations: Collection[str] = ()
) -> list[Candidate]:
    """Pick ``count`` from ``ranked`` (best first), avoiding a second pick from one organisation.

    Each pick is the best remaining candidate, unless its organisation is already represented and a candidate
    from a new organisation scores at least ``spread_ratio`` of it — then that one is picked instead.
    """
    remaining = list(ranked)
    taken = {o for o in taken_organisations if o}
    chosen: list[Candidate] = []
    while remaining and len(chosen) < count:
        best = remaining[0]
        pick = best
        if _org_key(best.expert) in taken:
            fresh = next((c for c in remaining if _org_key(c.expert) not in taken), None)
            if fresh is not None and fresh.score >= spread_ratio * best.score:
                pick = fresh
        chosen.append(pick)
        remaining.remove(pick)
        org = _org_key(pick.expert)
        if org:
            taken.add(org)
    return chosen


def _search(
    knowledge: KnowledgeBase, question: Question, additions: Iterable[str], *, now: datetime, limit: int
) -> tuple[SearchResult | None, list[ExpertHit]]:
    """Search with text + context (+ additions), and with the text alone when there is more than the text.

    A long context adds words nobody matches and dilutes every score; the second search makes sure context can
    only add candidates, never lose the ones the question itself finds. Per expert the better hit is kept.
    """
    # each matched on its start when longer than a search takes (a detailed question is still routed)
    wanted = (search_query(question, additions), question.text)
    queries = list(dict.fromkeys(q for q in (searchable_start(w) for w in wanted) if q))
    first: SearchResult | None = None
    best: dict[int, ExpertHit] = {}
    for query in queries:
        try:
            result = knowledge.search(query, now=now, limit=limit)
        except QueryError:
            continue
        first = first or result
        for hit in result.experts:
            known = best.get(hit.doc.id)
            if known is None or (known.weak, -known.score) > (hit.weak, -hit.score):
                best[hit.doc.id] = hit
    hits = sorted(best.values(), key=lambda h: (h.weak, -h.score, h.doc.id))
    return first, hits


def _hit_skip_reason(
    hit: ExpertHit,
    expert: Expert,
    *,
    excluded: bool,
    routed: bool,
    policy: RoutingPolicy,
    today: date,
    asker_slack_id: str | None,
) -> str | None:
    """Why a search hit is not asked (None: it may be): excluded, already asked, weak, or ``skip_reason``."""
    if excluded:
        return SKIP_EXCLUDED
    if routed:
        return SKIP_ALREADY_ROUTED
    if hit.weak:
        return SKIP_WEAK
    return skip_reason(expert, policy=policy, today=today, asker_slack_id=asker_slack_id)


def select_experts(
    session: Session,
    *,
    knowledge: KnowledgeBase,
    policy: RoutingPolicy,
    question: Question,
    count: int,
    now: datetime,
    additions: Iterable[str] = (),
    exclude_expert_ids: Collection[int] = (),
    skip_locked: bool = False,
) -> Selection:
    """The ``count`` best experts to ask ``question`` now (possibly fewer, possibly none).

    ``skip_locked``: for a caller whose transaction already holds an expert row (a withdrawal, an opt-out, someone
    marked away: ``TimerReactions._move_on``). Waiting there for a candidate's row could deadlock with another such
    transaction holding that candidate's row and waiting for this one's (two people stopping at once, each a
    candidate for the other's question). So on PostgreSQL a candidate whose row another transaction is changing at
    this moment (``SKIP LOCKED``) is passed over (``SKIP_BEING_CHANGED``) for this selection only: not asked this
    question now, but still a candidate for the next expert asked when someone stays silent, for staff choosing by
    hand, and for every other question. When nobody else can be asked, the question goes to staff as always when
    nobody is left. Ordinary routing (default off) waits for the change and reads it."""
    result, hits = _search(knowledge, question, additions, now=now, limit=policy.candidate_pool)
    if result is None or count <= 0:
        return Selection(chosen=[], result=result, hits=hits)
    today = now.astimezone(knowledge.timezone).date()
    # Their rows held until commit (``FOR SHARE``): a withdrawal or opt-out starting now waits for this routing and
    # then moves it on; a change in progress (a withdrawal, an edit, an import) is waited for and then read. No
    # deadlock: who locks an expert row and then questions locks those questions first (``bot.register.stop_locks``),
    # and who holds an expert row already reads the others without waiting (``skip_locked``, above).
    wanted = {h.doc.id for h in hits}
    experts = register_repo.get_experts_by_ids(session, expert_ids=wanted, share=True, skip_locked=skip_locked)
    missing = wanted - experts.keys()  # not in the register or, with ``skip_locked``, being changed
    busy = set(register_repo.get_experts_by_ids(session, expert_ids=missing)) if skip_locked and missing else set()
    routed_ids = {r.expert_id for r in question.routings if r.expert_id is not None}
    routed_slack = {r.recipient_slack_id for r in question.routings if r.recipient_slack_id}
    skipped: dict[int, str] = {}
    eligible: list[tuple[ExpertHit, Expert]] = []
    for hit in hits:
        expert = experts.get(hit.doc.id)
        if expert is None:
            skipped[hit.doc.id] = SKIP_BEING_CHANGED if hit.doc.id in busy else SKIP_NOT_IN_DB
            continue
        reason = _hit_skip_reason(
            hit,
            expert,
            excluded=expert.id in exclude_expert_ids,
            routed=expert.id in routed_ids or bool(expert.slack_user_id and expert.slack_user_id in routed_slack),
            policy=policy,
            today=today,
            asker_slack_id=question.asker_slack_id,
        )
        if reason is not None:
            skipped[hit.doc.id] = reason
            continue
        eligible.append((hit, expert))

    counts = repo.count_open_routings(session, expert_ids=[e.id for _, e in eligible])
    within_limit: list[tuple[ExpertHit, Expert]] = []
    for hit, expert in eligible:
        limit = expert.max_open_questions or policy.max_open_per_expert  # 0/unset: the policy's default
        if counts.get(expert.id, 0) >= limit:
            skipped[expert.id] = SKIP_AT_LIMIT
        else:
            within_limit.append((hit, expert))

    theme_keys = {t.key for t in question.themes} or set(result.themes)
    since = now - timedelta(days=policy.decline_window_days)
    declines = repo.count_declines(
        session, expert_ids=[e.id for _, e in within_limit], theme_keys=theme_keys, since=since
    )
    ranked: list[Candidate] = []
    for hit, expert in within_limit:
        penalty = policy.decline_penalty ** declines.get(expert.id, 0)
        lang = expert_language(session, expert, expert.slack_user_id, default=policy.default_language)
        ranked.append(
            Candidate(
                expert=expert,
                hit=hit,
                score=round(hit.score * penalty, 4),
                match_score=hit.score,
                penalty=penalty,
                language=lang,
                reasons=tuple(r.render(lang) for r in hit.reasons),
            )
        )
    ranked.sort(key=lambda c: (-c.score, c.expert.id))
    taken = {_org_key(r.expert) for r in question.routings if r.expert is not None}
    chosen = spread_over_organisations(ranked, count, spread_ratio=policy.spread_ratio, taken_organisations=taken)
    return Selection(chosen=chosen, result=result, skipped=skipped, hits=hits)


def record_gap(session: Session, question: Question, selection: Selection, *, now: datetime) -> None:
    """Nobody fits: the knowledge centre wants to know (a knowledge gap, private text flagged as such)."""
    result = selection.result
    private = question.channel_is_private or question.visibility is not Visibility.PUBLIC
    question_repo.create_knowledge_gap(
        session,
        query=question.text[:2000],
        normalized=normalise_gap_query(result) if result is not None else question.text.casefold()[:500],
        themes=[th.key for th in question.themes] or (list(result.themes) if result is not None else []),
        asker_slack_id=None if question.visibility is Visibility.ANONYMOUS else question.asker_slack_id,
        channel_id=question.channel_id,
        channel_is_private=private,
        source="routing",
        now=now,
        question_id=question.id,
    )
