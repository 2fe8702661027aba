"""A proposed work session's posts (the triage channel's, and staff's DM copies) updated after a question of its
topic was withdrawn or its channel turned private: rendered again from the stored state
(``NeedsService.live_views_quoting``), the question is counted, no longer quoted, and its asker no longer named.

In a request (the withdraw button, Slack's channel event) the updates are the turn's effects, made once committed;
after the daily channel-privacy reconcile (no request) they are made once its transaction is committed. A post in a
channel shared with another organisation by then shows the neutral stand-in, as every staff post update does."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.i18n import t
from handlers.blocks.needs import build_needs_proposal, proposal_payload, status_invited_to
from handlers.kit import Rendered, build_shared_stand_in
from handlers.services import Services
from handlers.turn import Turn, update_post
from storage.session import Session

log = logging.getLogger(__name__)


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
    lang = services.settings.default_language
    updates: list[ProposalUpdate] = []
    for view in needs.live_views_quoting(session, question_ids=question_ids, gap_ids=gap_ids, now=now):
        refs = needs.proposal_message_refs(session, proposal_id=view.id)
        if not refs:
            continue  # not posted yet: the outbox renders it when it goes out
        status = status_invited_to(lang, channel_id=view.channel_id) if view.channel_id else ""
        shown = build_needs_proposal(proposal_payload(view.to_json(), status_line=status), lang)
        updates.append(ProposalUpdate(refs, shown, shared_stand_in(shown, lang, proposal_id=view.id)))
    return updates


def shared_stand_in(shown: Rendered, lang: str, *, proposal_id: int) -> Rendered:
    """What a proposal's triage post shows instead of ``shown`` in a channel shared with another organisation."""
    return build_shared_stand_in(t("needs.proposal_shared", lang, proposal_id=proposal_id), shown)


def refresh_in_turn(turn: Turn, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = ()) -> None:
    """Within a request: the posts are updated once its transaction is committed (the turn's effects)."""
    for update in proposal_updates(
        turn.services, turn.session, question_ids=question_ids, gap_ids=gap_ids, now=turn.now
    ):
        for ref in update.refs:
            turn.update_message(
                ref,
                update.shown.text,
                update.shown.blocks,
                if_shared=(update.stand_in.text, update.stand_in.blocks),
            )


class ProposalRefresher:
    """``after_marked(question_ids, gap_ids)`` for the job runner's channel-privacy reconcile. A post gone is
    logged; a network or Slack-side failure raises, and the job runner tries the whole refresh again later (it is
    rendered from the stored state each time)."""

    def __init__(self, services: Services, client: WebClient) -> None:
        self.services = services
        self.client = client

    def __call__(self, question_ids: list[int], gap_ids: list[int]) -> None:
        with self.services.db.session() as session:
            updates = proposal_updates(
                self.services, session, question_ids=question_ids, gap_ids=gap_ids, now=self.services.clock()
            )
        for update in updates:  # after the commit: no Slack call holds a transaction open
            for ref in update.refs:
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
