"""A proposed work session's posts (the triage channel's, and staff's DM copies) updated after a question of its
topic was withdrawn or its channel turned private: rendered again from the stored state
(``NeedsService.live_views_quoting``), the question is counted, no longer quoted, and its asker no longer named;
and after staff closed it (on the command line too): its status line says so and names who, its buttons gone.

Every such change is recorded in its own transaction (``NeedsService.mark_for_refresh``; a dismissal or a session
done records itself), and ``ProposalRefresher.refresh_due`` — every job pass, in any process — renders each recorded
proposal once, however many changes came in (a flood of deactivated accounts, a channel turned private, the daily
channel-privacy reconcile). Only the asker's own withdraw button also updates the posts at once, once committed: a
person waits for that. An invitation's confirmation, and a dismissal's or a session marked done's from Slack, make
their own recorded refresh at once (``refresh_now``), when the record found none waiting (else the one waiting or
under way draws the new state); one from the command line is made by the job runner's next pass. A post in a
channel shared with another organisation by then shows the neutral stand-in, as every staff post update does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.actors import CLI_LABEL_PREFIX
from bot.i18n import t
from bot.needs.model import ProposalView
from handlers.blocks.needs import (
    build_needs_proposal,
    proposal_payload,
    status_dismissed,
    status_done,
    status_invited_to,
)
from handlers.kit import Rendered, build_shared_stand_in, escape_truncate, user_mention
from handlers.services import Services
from handlers.turn import PostUpdates, Turn, update_post
from storage.session import Session

log = logging.getLogger(__name__)


# A proposal's status line in its posts, for a language (``status_line``, or the invitation's own)
StatusLine = Callable[[ProposalView, str], str]


@dataclass(frozen=True, slots=True)
class ProposalUpdate:
    refs: Sequence[Mapping[str, Any]]  # where the proposal was posted (``channel_id``, ``message_ts``)
    shown: Rendered
    stand_in: Rendered  # in a channel shared with another organisation by then


def proposal_updates(
    services: Services, session: Session, *, question_ids: Sequence[int], gap_ids: Sequence[int], now: datetime
) -> list[ProposalUpdate]:
    """What the posts of the live proposals holding these questions or gaps show now (none without needs here)."""
    needs = services.needs
    if needs is None or not (question_ids or gap_ids):
        return []
    updates: list[ProposalUpdate] = []
    for view in needs.live_views_quoting(session, question_ids=question_ids, gap_ids=gap_ids, now=now):
        update = _update_of(services, session, view)
        if update is not None:  # else not posted yet: the outbox renders it when it goes out
            updates.append(update)
    return updates


def _update_of(
    services: Services, session: Session, view: ProposalView, line: StatusLine | None = None
) -> ProposalUpdate | None:
    """What the posts of ``view``'s proposal show now, with ``line`` as its status (None: not posted yet)."""
    assert services.needs is not None
    refs = services.needs.proposal_message_refs(session, proposal_id=view.id)
    if not refs:
        return None
    lang = services.settings.default_language
    shown = build_needs_proposal(proposal_payload(view.to_json(), status_line=(line or status_line)(view, lang)), lang)
    return ProposalUpdate(refs, shown, shared_stand_in(shown, lang, proposal_id=view.id))


def status_line(view: ProposalView, lang: str) -> str:
    """What a post rendered by the bot says the proposal's state is: dismissed or done by whom, invited to where."""
    if view.status == "dismissed":
        return status_dismissed(lang, staff=decided_by(view.decided_by, lang))
    if view.status == "done":
        return status_done(lang, staff=decided_by(view.decided_by, lang), notes_url=view.notes_url)
    return status_invited_to(lang, channel_id=view.channel_id) if view.channel_id else ""


def decided_by(label: str, lang: str) -> str:
    """Who closed a proposal, as its posts name them (safe mrkdwn): a Slack user as a mention; on the command line
    the name the operator gave (``--by``), else staff from the command line (never the server's account, as
    ``question close`` shows it)."""
    mention = user_mention(label)
    if mention:
        return mention
    account, _, name = label.partition(" by ")
    if not name.strip() and account.startswith(CLI_LABEL_PREFIX):
        return t("needs.decided_by_cli", lang)
    return escape_truncate(name or account or "?", 100)


def shared_stand_in(shown: Rendered, lang: str, *, proposal_id: int) -> Rendered:
    """What a proposal's triage post shows instead of ``shown`` in a channel shared with another organisation."""
    return build_shared_stand_in(t("needs.proposal_shared", lang, proposal_id=proposal_id), shown)


def record_refresh(turn: Turn, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = ()) -> None:
    """Within a request nobody waits on (Slack's event): the proposals are recorded with the change, and the job
    runner renders their posts once (``ProposalRefresher.refresh_due``), however many such changes come in."""
    if turn.services.needs is not None and (question_ids or gap_ids):
        turn.services.needs.mark_for_refresh(turn.session, question_ids=question_ids, gap_ids=gap_ids, now=turn.now)


def refresh_in_turn(turn: Turn, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = ()) -> None:
    """Within a request someone waits on (the withdraw button): the posts are updated once its transaction is
    committed (the turn's effects), and recorded as well (``record_refresh``): an update that fails, or that a
    restart cuts off, is not lost."""
    record_refresh(turn, question_ids=question_ids, gap_ids=gap_ids)
    show_proposal_updates(turn, question_ids=question_ids, gap_ids=gap_ids, now=turn.now)


def show_proposal_updates(
    target: PostUpdates, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = (), now: datetime
) -> None:
    """The posts of the live proposals holding these questions or gaps, updated by ``target`` once its transaction
    is committed (the caller recorded the change for the job runner: ``mark_for_refresh``)."""
    for update in proposal_updates(
        target.services, target.session, question_ids=question_ids, gap_ids=gap_ids, now=now
    ):
        for ref in update.refs:
            target.update_message(
                ref,
                update.shown.text,
                update.shown.blocks,
                if_shared=(update.stand_in.text, update.stand_in.blocks),
            )


class ProposalRefresher:
    """``refresh_due`` for the job runner. A post gone is logged; a network or Slack-side failure puts the refresh
    off (``refresh_later``): the proposals were recorded with the change, rendered from the stored state then."""

    def __init__(self, services: Services, client: WebClient) -> None:
        self.services = services
        self.client = client

    def refresh_due(self) -> int:
        """The posts of the proposals recorded as waiting (``NeedsService.mark_for_refresh``) rendered again from
        the stored state, each once however many changes it waited for: each is first claimed for this process
        (``claim_refresh``: one taken by another process, a replica, is left to it), and its posts are updated
        while that claim stands, so a render read earlier never lands after a later one. Each done is forgotten;
        one that fails (or is not posted yet) is tried again later, up to ``REFRESH_ATTEMPTS`` times; a closed
        proposal's posts show who closed it, without buttons. An error on one row (reading or rendering it, not only
        the Slack update) is logged with its id and that row is tried again later the same way: the rows after it
        still run. A change that came in meanwhile keeps the row: rendered again once the claim runs out. Returns
        how many were updated."""
        needs = self.services.needs
        if needs is None:
            return 0
        now = self.services.clock()
        with self.services.db.session() as session:
            due = needs.due_refreshes(session, now=now)
        updated = 0
        for proposal_id, _, _ in due:
            with self.services.db.session() as session:  # committed before anything is rendered
                claimed = needs.claim_refresh(session, proposal_id=proposal_id, now=now)
            if claimed is None:  # another process took it (or did it) meanwhile
                continue
            mark, tries, until = claimed
            try:
                updated += self._refresh(proposal_id, mark, tries, until, now)
            except Exception as exc:
                log.exception("proposal %s: rendering its posts again failed", proposal_id)
                try:
                    self._later(proposal_id, mark, tries, now, repr(exc))
                except Exception:  # the database as well: the row is due again once the claim runs out
                    log.exception("proposal %s: its refresh could not be put off", proposal_id)
        return updated

    def refresh_now(self, proposal_id: int, *, line: StatusLine | None = None) -> bool:
        """The posts of one proposal whose refresh is due (an invitation's, at once: ``record_invite``) rendered from
        the stored state now, with ``line`` as its status, as a pass would: claimed first, so when a pass of any
        process took it already, that pass draws them (once); a failure is left to the job runner the same way.
        Whether they were updated here."""
        needs = self.services.needs
        if needs is None:
            return False
        now = self.services.clock()
        with self.services.db.session() as session:
            claimed = needs.claim_refresh(session, proposal_id=proposal_id, now=now)
        if claimed is None:
            return False
        mark, tries, until = claimed
        try:
            return self._refresh(proposal_id, mark, tries, until, now, line=line)
        except Exception as exc:  # reading or rendering: the row is tried again by a pass
            log.warning("proposal %s: its posts were not drawn at once (%r): left to the job runner", proposal_id, exc)
            self._later(proposal_id, mark, tries, now, repr(exc))
            return False

    def _refresh(
        self, proposal_id: int, mark: int, tries: int, until: datetime, now: datetime, *, line: StatusLine | None = None
    ) -> bool:
        """One claimed row of ``refresh_due``: whether its posts were updated."""
        needs = self.services.needs
        assert needs is not None
        with self.services.db.session() as session:
            view = needs.current_view(session, proposal_id=proposal_id, now=now)
            update = _update_of(self.services, session, view, line) if view is not None else None
        if update is None and view is not None and view.is_live:  # not posted yet
            self._later(proposal_id, mark, tries, now, "not posted yet")
            return False
        try:
            if update is not None:
                for ref in update.refs:
                    if not self._holds(proposal_id, until):
                        log.warning("proposal %s: its refresh was taken over by another process", proposal_id)
                        return False
                    self._update(ref, update)
        except Exception as exc:  # a passing failure: tried again later
            self._later(proposal_id, mark, tries, now, repr(exc))
            return False
        with self.services.db.session() as session:
            needs.refreshed(session, proposal_id=proposal_id, mark=mark)
        return update is not None

    def _holds(self, proposal_id: int, until: datetime) -> bool:
        assert self.services.needs is not None
        with self.services.db.session() as session:
            return self.services.needs.holds_refresh(session, proposal_id=proposal_id, until=until)

    def _update(self, ref: Mapping[str, Any], update: ProposalUpdate) -> None:
        channel, ts = str(ref.get("channel_id") or ""), str(ref.get("message_ts") or "")
        if channel and ts:
            update_post(
                self.services,
                self.client,
                channel=channel,
                ts=ts,
                shown=(update.shown.text, update.shown.blocks),
                if_shared=(update.stand_in.text, update.stand_in.blocks),
            )

    def _later(self, proposal_id: int, mark: int, tries: int, now: datetime, why: str) -> None:
        assert self.services.needs is not None
        with self.services.db.session() as session:
            kept = self.services.needs.refresh_later(session, proposal_id=proposal_id, mark=mark, tries=tries, now=now)
        if kept:
            log.info("proposal %s: posts not rendered again (%s): tried again later", proposal_id, why)
        else:
            log.warning(
                "proposal %s: rendering its posts again given up after %d tries (%s)", proposal_id, tries + 1, why
            )
