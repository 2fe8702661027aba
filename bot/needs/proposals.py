"""Work sessions: proposed for topics many organisations ask about, then invited to, dismissed or marked done.

* ``propose_sessions`` — the job — claims a proposal for every topic that reached the threshold (by default 3
  organisations in 8 weeks), at most one live proposal per topic across processes, and queues it for the triage
  channel (outbox ``needs_proposal``). After a dismissal or a session the topic is proposed again only when the
  questions asked *since* reach the threshold again. A pass reads only what it counts (``due``: the askers of the
  questions in the window of the topics without a live proposal, no texts) and the members of what it proposes.
* ``proposal``, ``list_proposals``, ``plan_invite`` (which reserves the invitation for one submission, for
  ``INVITE_HOLD``, naming the staff member), ``release_invite``, ``record_invite``, ``dismiss_proposal``,
  ``complete_proposal`` (both refused while an invitation is under way: ``CloseWhileInviting``) — staff only, every
  change audited. Each renders the proposal from the stored state at that moment.
* ``live_views_quoting`` — the live proposals a withdrawn (or now private) question belongs to, rendered again: their
  posts are updated so the question is counted, not quoted; ``current_view`` — one proposal rendered again for a post
  of it that waited in the outbox (the sender shows that, not what was queued).
* ``mark_for_refresh``, ``due_refreshes``, ``claim_refresh``, ``holds_refresh``, ``refreshed``, ``refresh_later`` —
  those posts' updates recorded in the change's transaction (a dismissal's or a session done's too) and made by the
  job runner of any process until they got through (``bot.privacy``'s ``REFRESH_DELAY``, ``REFRESH_ATTEMPTS``): a
  failure on the chat platform's side, or a restart, loses none. Each is claimed by one process for
  ``REFRESH_LEASE`` before its posts are rendered, so replicas do not update the same posts at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import outbox, staffdm
from bot.actors import Actor
from bot.errors import NotFoundError
from bot.i18n import format_number, local_day, t, tn
from bot.matching.results import SearchResult
from bot.needs.core import (
    LIVE,
    AlreadyInvited,
    CloseWhileInviting,
    InviteUnderWay,
    NeedsCore,
    NeedsState,
    NoShareableWording,
    ProposalClosed,
    audit_proposal,
    may_be_named,
    may_be_quoted,
    proposal_audit,
)
from bot.needs.model import InvitePlan, PersonRef, PracticeRef, ProposalView
from bot.needs.topics import Topics
from bot.privacy import MarkedItems, mark_for_refresh
from bot.privacy.channels import REFRESH_ATTEMPTS, REFRESH_DELAY
from bot.register.submissions import submit_practice, work_session_title
from storage import needs_people_repo as people
from storage import needs_repo as repo
from storage import outbox_repo, proposal_invite_repo, proposal_refresh_repo, proposal_repo
from storage.models import NeedProposal, ProposalStatus

# How long a process holds a refresh it claimed (``claim_refresh``) while it renders the posts; never longer than
# ``REFRESH_DELAY``, so a change recorded meanwhile does not make the row due before the claim runs out.
REFRESH_LEASE = REFRESH_DELAY

# How long an invite submission holds a proposal's invitation (``plan_invite``): longer than one attempt with its
# Slack calls and the inbox's quick retries; a crashed attempt's hold can be taken over once it ran out.
INVITE_HOLD = timedelta(minutes=10)

_SLUG = re.compile(r"[^a-z0-9]+")


def channel_name(label: str, proposal_id: int) -> str:
    """A Slack channel name for a work session: lower case ASCII, hyphens, at most 80 characters."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    slug = _SLUG.sub("-", ascii_label).strip("-")[:50].strip("-") or f"topic-{proposal_id}"
    return f"werksessie-{slug}-{proposal_id}"[:80]


class Proposals:
    """Proposed work sessions (see the module docstring). The job's run places new questions first (``topics``)."""

    def __init__(self, core: NeedsCore, topics: Topics) -> None:
        self.core = core
        self.topics = topics

    def propose_sessions(self, session: Session, *, now: datetime, worker_id: str) -> list[ProposalView]:
        """Claim a proposal for every topic at the threshold and queue it for the triage channel (the job)."""
        self.topics.update_topics(session, now=now)
        due = self.due(session, now=now)
        if not due:
            return []
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
        return created

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

    def _state(self, session: Session, proposal: NeedProposal) -> NeedsState:
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
        proposal = _get(session, proposal_id)
        return self.view(session, self._state(session, proposal), proposal, now=now)

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
        return self.view(session, self._state(session, proposal), proposal, now=now)

    @staticmethod
    def mark_for_refresh(
        session: Session, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = (), now: datetime
    ) -> list[int]:
        """In the transaction withdrawing these questions (or making them and gaps private): the live proposals
        quoting them are recorded as waiting for their posts to be rendered again (``due_refreshes``)."""
        return mark_for_refresh(session, items=MarkedItems(list(question_ids), list(gap_ids)), now=now)

    @staticmethod
    def due_refreshes(session: Session, *, now: datetime) -> list[tuple[int, int, int]]:
        """The proposals whose posts are due to be rendered again: (proposal id, mark, tries)."""
        return proposal_refresh_repo.list_due_need_proposal_refreshes(session, now=now)

    @staticmethod
    def claim_refresh(session: Session, *, proposal_id: int, now: datetime) -> tuple[int, int, datetime] | None:
        """Take the due refresh of ``proposal_id`` for this process for ``REFRESH_LEASE``: (mark, tries, lease end),
        or None when another process took it or it is no longer due."""
        until = now + REFRESH_LEASE
        claimed = proposal_refresh_repo.claim_need_proposal_refresh(
            session, proposal_id=proposal_id, now=now, until=until
        )
        return None if claimed is None else (*claimed, until)

    @staticmethod
    def holds_refresh(session: Session, *, proposal_id: int, until: datetime) -> bool:
        """Whether the claim ending ``until`` still stands (no other process took the refresh over since)."""
        return proposal_refresh_repo.get_need_proposal_refresh_claim_held(session, proposal_id=proposal_id, until=until)

    @staticmethod
    def refreshed(session: Session, *, proposal_id: int, mark: int) -> None:
        """Its posts show the state after change ``mark``."""
        proposal_refresh_repo.delete_need_proposal_refresh(session, proposal_id=proposal_id, mark=mark)

    @staticmethod
    def refresh_later(session: Session, *, proposal_id: int, mark: int, tries: int, now: datetime) -> bool:
        """Its posts could not be updated (or were not posted yet): tried again later, the delay doubling each
        time; False when given up after ``REFRESH_ATTEMPTS`` tries (the row goes)."""
        if tries + 1 >= REFRESH_ATTEMPTS:
            proposal_refresh_repo.delete_need_proposal_refresh(session, proposal_id=proposal_id, mark=mark)
            return False
        due_at = now + min(REFRESH_DELAY * 2**tries, timedelta(hours=6))
        proposal_refresh_repo.update_need_proposal_refresh_later(
            session, proposal_id=proposal_id, mark=mark, due_at=due_at
        )
        return True

    def plan_invite(
        self,
        session: Session,
        *,
        actor: Actor,
        proposal_id: int,
        now: datetime,
        channel_id: str | None = None,
        holder: str | None = None,
    ) -> InvitePlan:
        """Whom to invite (the proposed experts and askers who may be named and have a Slack account), to
        ``channel_id`` or to a new channel. Only an open proposal is invited (one already invited: ``AlreadyInvited``,
        naming its channel; one another submission is inviting now: ``InviteUnderWay``). With ``holder`` (the
        submission's request key) the invitation is reserved for it for ``INVITE_HOLD`` by one conditional update —
        the same submission again (a retry) keeps and extends its hold, an expired one is taken over — so of two
        submissions at once only one goes on to Slack; commit it before calling Slack. Without (the invite button
        opening the modal) it only reads. No lock is taken: the Slack layer creates the channel and invites with no
        transaction open, then ``record_invite`` stores what was done (so a failed Slack call leaves the proposal
        open; ``release_invite`` gives a refused submission's hold up)."""
        actor.require_staff("invite people to a work session")
        proposal = _open(_get(session, proposal_id))
        if holder is None:
            if _held(proposal, now):
                raise InviteUnderWay(proposal.id, proposal.invite_held_for)
        elif not proposal_invite_repo.claim_need_proposal_invite(
            session, proposal_id=proposal.id, holder=holder, now=now, until=now + INVITE_HOLD, staff=actor.slack_id
        ):
            other = _open(_get(session, proposal_id, lock=True))  # read afresh: invited or closed meanwhile
            raise InviteUnderWay(proposal.id, other.invite_held_for)
        view = self.view(session, self._state(session, proposal), proposal, now=now)
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

    @staticmethod
    def release_invite(session: Session, *, proposal_id: int, holder: str) -> None:
        """The invitation ``holder`` reserved was refused (by Slack, a channel check): its hold goes, so another
        submission need not wait for it to run out."""
        proposal_invite_repo.update_need_proposal_invite_released(session, proposal_id=proposal_id, holder=holder)

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
        holder: str | None = None,
    ) -> ProposalView:
        """The people were invited to ``channel_id`` (created for the session when ``created``): the proposal is
        marked invited and remembers the channel (audited with who was invited); its hold ends. One conditional
        update, so of two invitations planned while it was open only one is recorded: the other is refused
        (``AlreadyInvited``, naming the first one's channel; ``InviteUnderWay`` while another submission holds it —
        this one's hold ran out and was taken over). The same invitation recorded again (a retry whose first record
        committed: the proposal invited to this very channel) changes nothing and is not audited twice. Like a
        close, the invitation records its posts for the job runner to render again (``_posts_refreshed``). When no
        redraw was waiting or under way, none can land a render read before this change: the row is due at once, and
        the invitation's confirmation claims it and draws the posts (``ProposalRefresher.refresh_now``) — once, and
        retried by the job runner when Slack fails. Otherwise it waits, as after a close, for the one under way."""
        actor.require_staff("invite people to a work session")
        before = proposal_audit(_get(session, proposal_id))
        if not proposal_invite_repo.update_need_proposal_invited(
            session, proposal_id=proposal_id, channel_id=channel_id, holder=holder, now=now
        ):
            proposal = _get(session, proposal_id, lock=True)  # read afresh: what the other change left
            if proposal.status != ProposalStatus.INVITED or proposal.channel_id != channel_id:
                _open(proposal)
                raise InviteUnderWay(proposal.id, proposal.invite_held_for)  # open, and held by another submission
            return self.view(session, self._state(session, proposal), proposal, now=now)
        proposal = _get(session, proposal_id, lock=True)
        after = {**proposal_audit(proposal), "invited": list(invited), "created": created}
        audit_proposal(session, actor=actor, action="invite", proposal=proposal, before=before, after=after, now=now)
        _posts_refreshed(session, proposal, now=now)
        return self.view(session, self._state(session, proposal), proposal, now=now)

    def dismiss_proposal(
        self, session: Session, *, actor: Actor, proposal_id: int, now: datetime, reason: str = ""
    ) -> ProposalView:
        actor.require_staff("dismiss a work session proposal")
        proposal = _closable(session, proposal_id, now=now)
        before = proposal_audit(proposal)
        proposal_repo.update_need_proposal_closed(session, proposal=proposal, status=ProposalStatus.DISMISSED)
        proposal.note = reason.strip()[:2000]
        _decided(session, proposal, actor=actor, now=now)
        after = proposal_audit(proposal)
        audit_proposal(session, actor=actor, action="dismiss", proposal=proposal, before=before, after=after, now=now)
        _posts_refreshed(session, proposal, now=now)
        return self.view(session, self._state(session, proposal), proposal, now=now)

    def complete_proposal(
        self, session: Session, *, actor: Actor, proposal_id: int, notes_url: str, now: datetime, summary: str = ""
    ) -> ProposalView:
        """The session took place: its notes become a practice submission (staff approve it as usual)."""
        actor.require_staff("mark a work session done")
        proposal = _closable(session, proposal_id, now=now)
        state = self._state(session, proposal)
        view = self.view(session, state, proposal, now=now)
        if not view.label:
            raise NoShareableWording(message="this topic has no public wording to publish a practice under")
        items = state.members().get(proposal.topic_id, [])
        themes = Counter(k for s in items for k in s.themes)
        lang = self.core.config.language  # a practice for the whole network: in its language
        zone = self.core.knowledge.timezone  # the network's day bounds the practice's year, as in its title
        values = {
            # its own title per session (the register's key is title and city): a topic proposed again after its
            # first session gets a practice of its own; members may not use such a title (``submissions``)
            "title": work_session_title(proposal.id, local_day(now, zone), view.label, lang),
            "summary": summary.strip()
            or _session_summary(view.label, proposal.questions, proposal.organisations, lang),
            "city": "",
            "organisation": "",
            "themes": "; ".join(k for k, _ in themes.most_common(3)),
            "url": notes_url.strip(),
        }
        practice = submit_practice(session, actor=actor, values=values, now=now, zone=zone)
        before = proposal_audit(proposal)
        proposal_repo.update_need_proposal_closed(session, proposal=proposal, status=ProposalStatus.DONE)
        proposal.notes_url = notes_url.strip()[:2000]
        proposal.practice_id = practice.id
        _decided(session, proposal, actor=actor, now=now)
        after = proposal_audit(proposal)
        audit_proposal(session, actor=actor, action="done", proposal=proposal, before=before, after=after, now=now)
        _posts_refreshed(session, proposal, now=now)
        return self.view(session, state, proposal, now=now)

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


def _get(session: Session, proposal_id: int, *, lock: bool = False) -> NeedProposal:
    proposal = proposal_repo.get_need_proposal(session, proposal_id=proposal_id, lock=lock)
    if proposal is None:
        raise NotFoundError("no_proposal", f"no work session proposal #{proposal_id}", values={"proposal": proposal_id})
    return proposal


def _live(session: Session, proposal_id: int) -> NeedProposal:
    proposal = _get(session, proposal_id, lock=True)
    if proposal.status not in LIVE:
        raise ProposalClosed(message=f"proposal #{proposal_id} is {proposal.status.value} already")
    return proposal


def _held(proposal: NeedProposal, now: datetime) -> bool:
    """Whether a submission holds the proposal's invitation (its time limit not run out)."""
    return bool(proposal.invite_held_by and proposal.invite_held_until and proposal.invite_held_until > now)


def _closable(session: Session, proposal_id: int, *, now: datetime) -> NeedProposal:
    """A live proposal that nobody is inviting, for a dismissal or a session done: while a staff member's invitation
    is under way (its hold stands) the close is refused (``CloseWhileInviting``, naming them) and nothing changes —
    never a closed proposal with a channel made and people invited after it. One conditional update decides (a hold
    that ran out is cleared by it): an invitation reserved at the same moment on another replica either held it
    first, or finds the proposal closed at its plan and makes nothing."""
    proposal = _live(session, proposal_id)
    if not proposal_invite_repo.update_need_proposal_unheld_for_close(session, proposal_id=proposal.id, now=now):
        proposal = _get(session, proposal_id, lock=True)  # the hold (or status) another transaction committed
        if proposal.status in LIVE:
            raise CloseWhileInviting(proposal.id, proposal.invite_held_for)
        raise ProposalClosed(message=f"proposal #{proposal_id} is {proposal.status.value} already")
    return _get(session, proposal_id, lock=True)  # as the update left it (a hold that ran out, cleared)


def _open(proposal: NeedProposal) -> NeedProposal:
    """``proposal`` when it is open; refused when it was invited (``AlreadyInvited``: where to) or closed."""
    if proposal.status == ProposalStatus.INVITED:
        raise AlreadyInvited(proposal.id, proposal.channel_id)
    if proposal.status != ProposalStatus.OPEN:
        raise ProposalClosed(message=f"proposal #{proposal.id} is {proposal.status.value} already")
    return proposal


def _decided(session: Session, proposal: NeedProposal, *, actor: Actor, now: datetime) -> None:
    proposal.decided_by = actor.audit_label
    proposal.decided_at = now
    proposal.updated_at = now
    session.flush()


def _posts_refreshed(session: Session, proposal: NeedProposal, *, now: datetime) -> None:
    """Staff closed ``proposal`` (in Slack or on the command line) or invited people to it: its posts are recorded
    for the job runner to render in that state in any case (closed without buttons; invited without the invite
    button, naming the channel) — also over a render of the open proposal that a refresh under way, read before the
    change, may still make: that one's row waits ``REFRESH_DELAY`` more. When none was waiting nor under way (the
    row's mark is 1), no older render can land later: the row is due at once, and the action's confirmation in
    Slack claims it and draws the posts (``ProposalRefresher.refresh_now``) — once, retried by the job runner when
    Slack fails; a close on the command line leaves it to the job runner's next pass."""
    mark = proposal_refresh_repo.upsert_need_proposal_refresh(
        session, proposal_id=proposal.id, due_at=now + REFRESH_DELAY
    )
    if mark == 1:
        proposal_refresh_repo.update_need_proposal_refresh_due(session, proposal_id=proposal.id, mark=1, due_at=now)


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


def _session_summary(label: str, questions: int, organisations: int, lang: str) -> str:
    """A finished work session's practice summary when staff wrote none, in the network's language ``lang``."""
    return t("needs.session_summary", lang, label=label, **counted_askers(questions, organisations, lang))
