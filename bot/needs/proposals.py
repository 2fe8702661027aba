"""Work sessions proposed for topics many organisations ask about (staff invite to them, dismiss them or mark them
done: ``bot.needs.proposal_actions``; their posts rendered again after a change: ``bot.needs.proposal_refresh``).

* ``propose_due`` — the job's step after the grouping (``propose_sessions``: the grouping first) — claims a
  proposal for every topic that reached the threshold (by default 3 organisations in 8 weeks), at most one live
  proposal per topic across processes, and queues it for the triage channel (outbox ``needs_proposal``). After a
  dismissal or a session the topic is proposed again only when the questions asked *since* reach the threshold
  again. A pass reads only what it counts (``due``: the askers of the
  questions in the window of the topics without a live proposal, no texts) and the members of what it proposes.
* ``proposal``, ``list_proposals`` — staff only; ``view`` renders a proposal from the stored state at that moment
  (the questions of its window, who could lead it, who asked in public).
* ``live_views_quoting`` — the live proposals a withdrawn (or now private) question belongs to, rendered again: their
  posts are updated so the question is counted, not quoted; ``current_view`` — one proposal rendered again for a post
  of it that waited in the outbox (the sender shows that, not what was queued).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import outbox, staffdm
from bot.actors import Actor
from bot.errors import NotFoundError
from bot.i18n import format_number, tn
from bot.matching.results import SearchResult
from bot.needs.core import (
    LIVE,
    NeedsCore,
    NeedsState,
    audit_proposal,
    may_be_named,
    may_be_quoted,
    proposal_audit,
)
from bot.needs.model import PersonRef, PracticeRef, ProposalView
from bot.needs.topics import Topics
from storage import needs_people_repo as people
from storage import needs_repo as repo
from storage import outbox_repo, proposal_repo
from storage.models import NeedProposal, ProposalStatus


@dataclass(frozen=True, slots=True)
class Proposed:
    """What one ``propose_due`` claimed and queued, and the first topic due it left for a next unit of work."""

    views: list[ProposalView]
    next_topic: int | None  # None: no topic due is left
    busy: bool = False  # another process held the grouping lock (``wait=False``): nothing was read or claimed


class Proposals:
    """Proposed work sessions (see the module docstring). The job's run places new questions first (``topics``)."""

    def __init__(self, core: NeedsCore, topics: Topics) -> None:
        self.core = core
        self.topics = topics

    def propose_sessions(self, session: Session, *, now: datetime, worker_id: str) -> list[ProposalView]:
        """Place the new questions, then claim a proposal for every topic at the threshold and queue it for the
        triage channel (``propose_due``), in ``session``'s one unit of work."""
        self.topics.update_topics(session, now=now)
        return self.propose_due(session, now=now, worker_id=worker_id).views

    def propose_due(
        self,
        session: Session,
        *,
        now: datetime,
        worker_id: str,
        from_topic: int = 0,
        limit: int | None = None,
        wait: bool = True,
    ) -> Proposed:
        """Claim a proposal for every topic at the threshold (those from topic id ``from_topic`` on, at most
        ``limit`` of them) and queue it for the triage channel, without grouping (the needs pass's units of work
        after the grouping's: ``bot.needs.jobs``). It takes the grouping lock first (on SQLite the write lock,
        before its first read), so what it counts and quotes is read afresh after whatever committed since the
        grouping or the unit before — an erasure, a closed question, a proposal dismissed — and no grouping changes
        the topics while it reads them. ``wait=False`` (the needs pass): when another process holds the lock, return
        at once ``busy``, having read and claimed nothing (``next_topic`` is ``from_topic``); ``wait=True`` waits
        for it (on SQLite up to the busy timeout, then "database is locked")."""
        if not repo.claim_needs_lock(session, wait=wait):
            return Proposed([], from_topic, busy=True)
        due = self.due(session, now=now)
        topic_ids = sorted(t for t in due if t >= from_topic)
        rest = topic_ids[limit:] if limit is not None else []
        due = {t: due[t] for t in topic_ids[:limit]}
        if not due:
            return Proposed([], None)
        state = self.core.state(session, topic_ids=due)  # only the members of the topics to propose
        created: list[ProposalView] = []
        for topic_id, (since, organisations, questions) in sorted(due.items()):
            claimed = proposal_repo.claim_need_proposal(
                session,
                topic_id=topic_id,
                window_start=since,
                window_end=now,
                organisations=organisations,
                questions=questions,
                worker_id=worker_id,
                now=now,
            )
            if claimed is None:
                continue  # another process claimed it
            proposal = claimed
            view = self.view(session, state, proposal, now=now)
            outbox.enqueue(
                session,
                outbox.NeedsProposal(proposal=view.to_json()),
                dedupe_key=f"needs_proposal:{proposal.id}",
                now=now,
            )
            audit_proposal(
                session,
                actor=None,
                action="propose",
                proposal=proposal,
                before=None,
                after=proposal_audit(proposal),
                now=now,
            )
            created.append(view)
        return Proposed(created, rest[0] if rest else None)

    def due(self, session: Session, *, now: datetime) -> dict[int, tuple[datetime, int, int]]:
        """The topics to propose at ``now``: topic id -> (window start, organisations, questions and gaps).

        A topic without a live proposal is due when the questions and gaps asked in its window come from at least
        ``min_organisations`` organisations (an anonymous asker is never resolved); its window is the last
        ``window_weeks`` weeks, or what was asked since its last proposal was closed, when later. Only what this
        counts is read (``needs_repo.list_need_window_rows``: no texts, no topic with a live proposal), and the
        organisations of the askers in it: nothing is kept between passes, so a change anywhere (another
        replica's placements, an asker's organisation in the register, a proposal closed, an erasure) counts at
        once."""
        config = self.core.config
        window_start = now - timedelta(weeks=config.window_weeks)
        closed_at: dict[int, datetime] = {}
        for proposal in proposal_repo.list_need_proposals(session):
            if proposal.status not in LIVE and proposal.decided_at is not None:
                closed_at[proposal.topic_id] = max(
                    closed_at.get(proposal.topic_id, proposal.decided_at), proposal.decided_at
                )
        rows = repo.list_need_window_rows(session, since=window_start, before=now, skip_statuses=LIVE)
        askers = self.core.directory(session, {a for *_, a, v in rows if a and v != "anonymous"})
        organisations: dict[int, set[str]] = {}
        questions: Counter[int] = Counter()
        for topic_id, created_at, asker_id, visibility in rows:
            closed = closed_at.get(topic_id)
            if closed is not None and created_at < closed:
                continue
            questions[topic_id] += 1
            asker = askers.get(asker_id) if asker_id and visibility != "anonymous" else None
            if asker is not None and asker.organisation:
                organisations.setdefault(topic_id, set()).add(asker.organisation.casefold())
        return {
            topic_id: (max(window_start, closed_at.get(topic_id, window_start)), len(found), questions[topic_id])
            for topic_id, found in organisations.items()
            if len(found) >= config.min_organisations
        }

    def view(self, session: Session, state: NeedsState, proposal: NeedProposal, *, now: datetime) -> ProposalView:
        """The proposal as staff see it: the questions of its window, who could lead it, who asked in public."""
        items = [
            s
            for s in state.members().get(proposal.topic_id, [])
            if proposal.window_start <= s.created_at < proposal.window_end
        ]
        label = state.labels.get(proposal.topic_id, "")
        shareable = [s for s in items if may_be_quoted(s)]
        result = self.core.search(self.core.query(items, label), now=now, limit=8)
        experts, practices = self._leads(session, result)
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
            askers=tuple(self._askers(session, state, shareable, leads={e.slack_user_id for e in experts})),
            practices=tuple(practices),
            channel_id=proposal.channel_id,
            notes_url=proposal.notes_url,
            practice_id=proposal.practice_id,
            decided_by=proposal.decided_by,
        )

    def state_of(self, session: Session, proposal: NeedProposal) -> NeedsState:
        """What the proposal's view reads: its topic's members."""
        return self.core.state(session, topic_ids=[proposal.topic_id])

    def _leads(self, session: Session, result: SearchResult | None) -> tuple[list[PersonRef], list[PracticeRef]]:
        """Who could lead the session (strong, available matches who may be named) and the practices to read."""
        experts: list[PersonRef] = []
        practices: list[PracticeRef] = []
        if result is None:
            return experts, practices
        config = self.core.config
        found = people.list_experts_by_ids(session, expert_ids=[h.doc.id for h in result.experts])
        for hit in result.experts:
            expert = found.get(hit.doc.id)
            if hit.weak or not hit.available or not may_be_named(expert):
                continue
            assert expert is not None
            experts.append(PersonRef(expert.name, expert.slack_user_id, expert.id, expert.organisation))
            if len(experts) >= config.experts:
                break
        for p in result.practices[: config.practices]:
            practices.append(
                PracticeRef(p.doc.id, p.doc.title, p.doc.city, p.doc.organisation, p.doc.outcome, p.doc.url)
            )
        return experts, practices

    @staticmethod
    def _askers(
        session: Session, state: NeedsState, shareable: Sequence[repo.NeedSource], *, leads: set[str | None]
    ) -> list[PersonRef]:
        """People who asked in public (not anonymously, not in a private channel), not erased, not hidden, not
        already proposed to lead."""
        asker_ids = sorted({s.asker_slack_id for s in shareable if s.asker_slack_id})
        registered = people.list_experts_by_slack_ids(session, slack_user_ids=asker_ids)
        askers: list[PersonRef] = []
        for sid in asker_ids:
            expert = registered.get(sid)
            if (expert is not None and not may_be_named(expert)) or sid in leads:
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
        return askers

    def proposal(self, session: Session, *, actor: Actor, proposal_id: int, now: datetime) -> ProposalView:
        actor.require_staff("see a work session proposal")
        proposal = get_proposal(session, proposal_id)
        return self.view(session, self.state_of(session, proposal), proposal, now=now)

    def list_proposals(
        self, session: Session, *, actor: Actor, now: datetime, statuses: Sequence[ProposalStatus] | None = LIVE
    ) -> list[ProposalView]:
        actor.require_staff("see work session proposals")
        proposals = proposal_repo.list_need_proposals(session, statuses=statuses)
        state = self.core.state(session, topic_ids={p.topic_id for p in proposals})
        return [self.view(session, state, p, now=now) for p in proposals]

    def live_views_quoting(
        self, session: Session, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = (), now: datetime
    ) -> list[ProposalView]:
        """The live proposals whose topic holds one of these questions or gaps, as the stored state shows them now:
        what their posts are updated to after a question was withdrawn or its channel turned private (counted, no
        longer quoted, its asker no longer named). No actor: nothing is shown to whoever caused the change."""
        topics = repo.list_need_topic_ids_of_items(session, question_ids=question_ids, gap_ids=gap_ids)
        proposals = [p for p in proposal_repo.list_need_proposals(session, statuses=LIVE) if p.topic_id in topics]
        if not proposals:
            return []
        state = self.core.state(session, topic_ids={p.topic_id for p in proposals})
        return [self.view(session, state, p, now=now) for p in proposals]

    def current_view(self, session: Session, *, proposal_id: int, now: datetime) -> ProposalView | None:
        """The proposal as the stored state shows it now (None: there is none): what a post of it still waiting in
        the outbox shows when it goes out, so a question withdrawn (or whose channel turned private) while it waited
        is counted, not quoted, as in the posts updated then. No actor: nothing is shown to whoever caused it."""
        proposal = proposal_repo.get_need_proposal(session, proposal_id=proposal_id)
        if proposal is None:
            return None
        return self.view(session, self.state_of(session, proposal), proposal, now=now)

    @staticmethod
    def proposal_message_ref(session: Session, *, proposal_id: int) -> dict[str, str]:
        """Where the proposal was posted for staff (``channel_id``, ``message_ts``); {} when not (yet)."""
        message = outbox_repo.get_sent_outbox_message(session, dedupe_key=f"needs_proposal:{proposal_id}")
        if message is None or not (message.sent_channel_id and message.sent_ts):
            return {}
        return {"channel_id": message.sent_channel_id, "message_ts": message.sent_ts}

    @staticmethod
    def proposal_message_refs(session: Session, *, proposal_id: int) -> list[dict[str, str]]:
        """The proposal's triage post and each staff member's DM copy (the channel was not reached: ``bot.staffdm``)."""
        ref = Proposals.proposal_message_ref(session, proposal_id=proposal_id)
        copies = staffdm.staff_copies(session, original_key_prefix=f"needs_proposal:{proposal_id}:")
        return [*([ref] if ref else []), *outbox.sent_refs(copies)]


def get_proposal(session: Session, proposal_id: int, *, lock: bool = False) -> NeedProposal:
    proposal = proposal_repo.get_need_proposal(session, proposal_id=proposal_id, lock=lock)
    if proposal is None:
        raise NotFoundError("no_proposal", f"no work session proposal #{proposal_id}", values={"proposal": proposal_id})
    return proposal


def counted_askers(questions: int, organisations: int, lang: str) -> dict[str, str]:
    """ "12 vragen", "3 organisaties" in ``lang`` (grouped, plural by the number): the ``questions`` and
    ``organisations`` of a proposal's and a work session's texts."""
    return {
        "questions": tn(
            "needs.n_questions", "needs.n_questions_plural", questions, lang, n=format_number(questions, lang)
        ),
        "organisations": tn(
            "needs.n_organisations",
            "needs.n_organisations_plural",
            organisations,
            lang,
            n=format_number(organisations, lang),
        ),
    }
