"""Staff's actions on a proposed work session: ``plan_invite`` (which reserves the invitation for one submission,
for ``INVITE_HOLD``, naming the staff member), ``release_invite``, ``record_invite``, ``dismiss_proposal`` and
``complete_proposal`` (both refused while an invitation is under way: ``CloseWhileInviting``) — staff only, every
change audited, and the proposal's posts recorded to be rendered again (``bot.needs.proposal_refresh``). Each
returns the proposal rendered from the stored state at that moment (``bot.needs.proposals``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.i18n import local_day, t
from bot.needs.core import (
    LIVE,
    AlreadyInvited,
    CloseWhileInviting,
    InviteUnderWay,
    NoShareableWording,
    ProposalClosed,
    audit_proposal,
    proposal_audit,
)
from bot.needs.model import InvitePlan, ProposalView
from bot.needs.proposal_refresh import posts_refreshed
from bot.needs.proposals import Proposals, counted_askers, get_proposal
from bot.register.submissions import submit_practice, work_session_title
from storage import proposal_invite_repo, proposal_repo
from storage.models import NeedProposal, ProposalStatus

# How long an invite submission holds a proposal's invitation (``plan_invite``): longer than one attempt with its
# Slack calls and the inbox's quick retries; a crashed attempt's hold can be taken over once it ran out.
INVITE_HOLD = timedelta(minutes=10)

_SLUG = re.compile(r"[^a-z0-9]+")


def channel_name(label: str, proposal_id: int) -> str:
    """A Slack channel name for a work session: lower case ASCII, hyphens, at most 80 characters."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    slug = _SLUG.sub("-", ascii_label).strip("-")[:50].strip("-") or f"topic-{proposal_id}"
    return f"werksessie-{slug}-{proposal_id}"[:80]


class ProposalActions:
    """Staff's actions on proposed work sessions (see the module docstring), each rendering the proposal again with
    ``proposals``."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals = proposals
        self.core = proposals.core

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
        proposal = _open(get_proposal(session, proposal_id))
        if holder is None:
            if _held(proposal, now):
                raise InviteUnderWay(proposal.id, proposal.invite_held_for)
        elif not proposal_invite_repo.claim_need_proposal_invite(
            session, proposal_id=proposal.id, holder=holder, now=now, until=now + INVITE_HOLD, staff=actor.slack_id
        ):
            other = _open(get_proposal(session, proposal_id, lock=True))  # read afresh: invited or closed meanwhile
            raise InviteUnderWay(proposal.id, other.invite_held_for)
        view = self.proposals.view(session, self.proposals.state_of(session, proposal), proposal, now=now)
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
        close, the invitation records its posts for the job runner to render again (``posts_refreshed``). When no
        redraw was waiting or under way, none can land a render read before this change: the row is due at once, and
        the invitation's confirmation claims it and draws the posts (``ProposalRefresher.refresh_now``) — once, and
        retried by the job runner when Slack fails. Otherwise it waits, as after a close, for the one under way."""
        actor.require_staff("invite people to a work session")
        before = proposal_audit(get_proposal(session, proposal_id))
        if not proposal_invite_repo.update_need_proposal_invited(
            session, proposal_id=proposal_id, channel_id=channel_id, holder=holder, now=now
        ):
            proposal = get_proposal(session, proposal_id, lock=True)  # read afresh: what the other change left
            if proposal.status != ProposalStatus.INVITED or proposal.channel_id != channel_id:
                _open(proposal)
                raise InviteUnderWay(proposal.id, proposal.invite_held_for)  # open, and held by another submission
            return self.proposals.view(session, self.proposals.state_of(session, proposal), proposal, now=now)
        proposal = get_proposal(session, proposal_id, lock=True)
        after = {**proposal_audit(proposal), "invited": list(invited), "created": created}
        audit_proposal(session, actor=actor, action="invite", proposal=proposal, before=before, after=after, now=now)
        posts_refreshed(session, proposal, now=now)
        return self.proposals.view(session, self.proposals.state_of(session, proposal), proposal, now=now)

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
        posts_refreshed(session, proposal, now=now)
        return self.proposals.view(session, self.proposals.state_of(session, proposal), proposal, now=now)

    def complete_proposal(
        self, session: Session, *, actor: Actor, proposal_id: int, notes_url: str, now: datetime, summary: str = ""
    ) -> ProposalView:
        """The session took place: its notes become a practice submission (staff approve it as usual)."""
        actor.require_staff("mark a work session done")
        proposal = _closable(session, proposal_id, now=now)
        state = self.proposals.state_of(session, proposal)
        view = self.proposals.view(session, state, proposal, now=now)
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
        posts_refreshed(session, proposal, now=now)
        return self.proposals.view(session, state, proposal, now=now)


def _live(session: Session, proposal_id: int) -> NeedProposal:
    proposal = get_proposal(session, proposal_id, lock=True)
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
        proposal = get_proposal(session, proposal_id, lock=True)  # the hold (or status) another transaction committed
        if proposal.status in LIVE:
            raise CloseWhileInviting(proposal.id, proposal.invite_held_for)
        raise ProposalClosed(message=f"proposal #{proposal_id} is {proposal.status.value} already")
    return get_proposal(session, proposal_id, lock=True)  # as the update left it (a hold that ran out, cleared)


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


def _session_summary(label: str, questions: int, organisations: int, lang: str) -> str:
    """A finished work session's practice summary when staff wrote none, in the network's language ``lang``."""
    return t("needs.session_summary", lang, label=label, **counted_askers(questions, organisations, lang))
