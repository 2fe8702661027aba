"""Recruiting: who might cover a topic nobody covers, and asking them to add it to their profile.

* ``recruiting`` — staff only — the candidates: people who answered the topic's (or related) questions, contacts of
  related practices, who may be named and are not strong matches already.
* ``ask_to_add_expertise`` — staff only — a DM (outbox ``expertise_request``) to each chosen candidate, once per
  topic, person and label (``request_key``; also a DM queued before the key held the label), counting only DMs sent
  or still queued (one that ended unsent or failed is queued again): a topic labelled again may be asked about again.
  Someone Slack cannot reach (``bot.needs.reachability.account_gone``: their register entry marked so, or their
  last recruiting DM refused with an error Slack says of the recipient alone) is not asked while no DM reached them
  since (``RecruitRequest.unreachable``: why), so staff learn they cannot be reached; the audit row names them too.
* ``add_topic_to_profile`` — the person asked adds the topic to their own profile (only the topic they were asked
  about, checked against the request sent to them, and only while the topic may still be shown with the label they
  were asked about: ``TopicLabelGone`` otherwise).
* ``end_if_label_gone`` — the sender, right before it posts such a DM — ends it unsent when its label may no longer
  be shown as queued (settled, not failed: nothing reaches Slack).
* ``redraw_if_label_erased`` — the sender, as it marks such a DM sent — has it drawn again without its label when an
  erasure blanked the label while it was being posted.

The label sent and added is the one ``bot.needs.core.shown_label`` allows, the rule proposals and reports follow: a
label made of a question its asker withdrew, staff closed unanswered, or whose channel turned private is never sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.errors import NotFoundError, WieweetError
from bot.matching.results import SearchResult
from bot.needs import reachability
from bot.needs import recruit_reasons as reasons_text
from bot.needs.core import (
    NeedsCore,
    NeedsState,
    NoShareableWording,
    label_sources,
    may_be_named,
    may_be_quoted,
    shown_label,
)
from bot.needs.model import PersonRef, RecruitPlan, RecruitRequest
from bot.outbox import LABEL_GONE, ExpertiseRequest, PayloadError, read_as
from bot.register.marked import UNKNOWN_ID_ACTIVE
from storage import needs_people_repo as people
from storage import needs_repo as repo
from storage import outbox_repo, register_repo
from storage.models import OutboxKind, OutboxMessage


class TopicLabelGone(WieweetError):
    """The topic a recruiting DM asked about may no longer be added as it was asked: its label's question was
    withdrawn or closed unanswered, or moved to a private channel; an erasure blanked the label; the topic was
    labelled again or deleted. Nothing is added (the words could be a withdrawn or erased person's); the DM loses
    its button."""

    code = "topic_label_gone"
    refusal = True

    def __init__(self, topic_id: int) -> None:
        super().__init__(message=f"topic #{topic_id} may no longer be added with the label asked about")


class Recruiting:
    """Finding and asking people to cover a topic (see the module docstring)."""

    def __init__(self, core: NeedsCore) -> None:
        self.core = core

    def recruiting(self, session: Session, *, actor: Actor, topic_id: int, now: datetime) -> RecruitPlan:
        """Who might cover a topic: people who answered its or related questions, contacts of related practices."""
        actor.require_staff("see who might cover a topic")
        topic = repo.get_need_topic(session, topic_id=topic_id)
        if topic is None:
            raise NotFoundError("no_topic", f"no topic #{topic_id}", values={"topic": topic_id})
        state = self.core.state(session)
        label = shown_label(topic, state.sources)
        items = state.members().get(topic_id, [])
        result = self.core.search(self.core.query(items, label), now=now, limit=8)
        reasons, named_by_slack = _answered(session, state, items)
        for expert_id, why in _found_by_search(result).items():
            reasons.setdefault(expert_id, why)
        experts = people.list_experts_by_ids(session, expert_ids=reasons)
        by_slack = people.list_experts_by_slack_ids(session, slack_user_ids=named_by_slack)
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
        return RecruitPlan(topic_id, label, self.core.coverage_of(result), tuple(candidates))

    def ask_to_add_expertise(
        self, session: Session, *, actor: Actor, topic_id: int, expert_ids: Sequence[int], now: datetime
    ) -> list[RecruitRequest]:
        """Queue a DM to each chosen candidate asking them to add the topic to their profile (audited). Only the
        candidates ``recruiting`` offers may be asked, whatever ids a (forged) request names."""
        plan = self.recruiting(session, actor=actor, topic_id=topic_id, now=now)
        if not plan.label:
            raise NoShareableWording(
                message="this topic has no label that may be shown (only private questions, or its label's question "
                "was withdrawn or closed): there is nothing to ask about"
            )
        allowed = {p.expert_id: p for p in plan.candidates if p.expert_id is not None and p.slack_user_id}
        refused = [i for i in expert_ids if i not in allowed]
        if refused:
            raise NotFoundError(
                "not_a_candidate",
                f"not a candidate for topic #{topic_id}: {refused}",
                values={"topic": topic_id, "experts": ", ".join(map(str, refused))},
            )
        keys = {i: request_key(topic_id, allowed[i].slack_user_id or "", plan.label) for i in dict.fromkeys(expert_ids)}
        # the rows to queue again locked first, in id order (as the erasure locks them), then each person in key
        # order: two asks naming the same people in another order never wait on each other's rows (a deadlock)
        _lock_undelivered(session, dedupe_keys=keys.values())
        asked: dict[int, RecruitRequest] = {}
        for expert_id in sorted(keys, key=keys.__getitem__):
            person = allowed[expert_id]
            assert person.slack_user_id is not None
            if _asked_before_the_key_held_the_label(
                session, topic_id=topic_id, slack_user_id=person.slack_user_id, label=plan.label
            ):
                asked[expert_id] = RecruitRequest(topic_id, expert_id, person.slack_user_id, False)
                continue
            gone = reachability.account_gone(session, expert_id=expert_id, slack_user_id=person.slack_user_id)
            if gone:  # a DM would fail again: staff are told, nothing is queued
                asked[expert_id] = RecruitRequest(topic_id, expert_id, person.slack_user_id, False, unreachable=gone)
                continue
            request = outbox.ExpertiseRequest(
                topic_id=topic_id, label=plan.label, reason=person.reason, expert_id=expert_id
            )
            key = keys[expert_id]
            # another staff member asking them at the same moment queues it once: this ask then says "asked before"
            queued = _queued_again(session, dedupe_key=key, request=request, now=now) or (
                outbox.enqueue(
                    session, request, dedupe_key=key, now=now, recipient_slack_id=person.slack_user_id, concurrent=True
                )
                is not None
            )
            asked[expert_id] = RecruitRequest(topic_id, expert_id, person.slack_user_id, queued)
        requests = [asked[i] for i in keys]  # in the order asked for
        register_repo.create_audit_log(
            session,
            actor=actor.audit_label,
            action="recruit",
            entity_type="need_topic",
            entity_key=str(topic_id),
            before=None,
            after={
                "asked": [r.slack_user_id for r in requests if r.queued],
                "label": plan.label,
                **({"unreachable": unreachable} if (unreachable := _unreachable(requests)) else {}),
            },
            now=now,
        )
        return requests

    def expertise_request_refs(self, session: Session, *, actor: Actor, topic_id: int) -> list[dict[str, str]]:
        """The DMs asking ``actor`` to add this topic to their profile (``channel_id``, ``message_ts``), one per label
        they were asked about, newest first: tied to the topic and the person by the database, so a click is checked
        against them."""
        return [
            {"channel_id": sent.sent_channel_id or "", "message_ts": sent.sent_ts or ""}
            for sent in _expertise_requests(session, actor=actor, topic_id=topic_id)
        ]

    def add_topic_to_profile(self, session: Session, *, actor: Actor, topic_id: int, now: datetime) -> str:
        """The person asked by DM adds the topic to their own profile's expertise (audited); returns the label.

        Only someone the knowledge centre asked about this very topic may (an expertise request was sent to their
        Slack id); the label added is the topic's label as it may be shown now (``shown_label``), and only when it
        is one they were asked about (any DM sent to them about the topic: a topic labelled A, then B, then A again
        may be added as A): ``TopicLabelGone`` when no such label is shown any more (withdrawn, labelled again, or
        the topic is gone)."""
        requests = _expertise_requests(session, actor=actor, topic_id=topic_id)
        if not requests or not actor.slack_id:
            raise NotAuthorized("add a topic they were not asked about", target=f"need_topic:{topic_id}")
        label = next(
            (
                shown
                for request in requests
                if (shown := label_still_shown(session, topic_id=topic_id, asked=_asked_label(request))) is not None
            ),
            None,
        )
        if label is None:
            raise TopicLabelGone(topic_id)
        found = register_repo.get_expert_by_slack_id(session, slack_user_id=actor.slack_id)
        # their row locked and read again: two clicks at once add the topic (and audit it) once
        expert = register_repo.get_expert(session, expert_id=found.id, lock=True) if found is not None else None
        if expert is None:
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


def _unreachable(requests: Sequence[RecruitRequest]) -> dict[str, str]:
    """Those not asked because they cannot be reached, with why (for the audit row)."""
    return {r.slack_user_id: r.unreachable for r in requests if r.unreachable}


def label_still_shown(session: Session, *, topic_id: int, asked: str) -> str | None:
    """The topic's label as it may be shown now (``shown_label``) when it is ``asked`` (compared without case); None
    when it is not shown any more, was labelled again, or the topic is gone."""
    topic = repo.get_need_topic(session, topic_id=topic_id)
    label = shown_label(topic, label_sources(session, topic)).strip() if topic is not None else ""
    return label if label and label.casefold() == asked.strip().casefold() else None


def end_if_label_gone(session: Session, *, message_id: int, worker_id: str, now: datetime) -> bool:
    """Right before a recruiting DM is posted (by the sender holding its claim as ``worker_id``, in the transaction
    that marks the post started): one whose label may no longer be shown as it was queued — its question withdrawn,
    closed unanswered or moved to a private channel, its asker erased, the topic labelled again or deleted — ends
    unposted (True; ``ended_at``, reason ``LABEL_GONE``): the label could be words nobody may be shown any
    more. False: post it (also when the claim is not this sender's, or the payload cannot be read: posting or
    rendering then refuses it)."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.claimed_by != worker_id or message.kind is not OutboxKind.EXPERTISE_REQUEST:
        return False
    if message.sent_at is not None or message.failed_at is not None or message.ended_at is not None:
        return False
    try:
        queued = read_as(ExpertiseRequest, message.payload)
    except PayloadError:
        return False
    if label_still_shown(session, topic_id=queued.topic_id, asked=queued.label) is not None:
        return False
    message.ended_at = now
    message.ended_reason = LABEL_GONE
    message.claimed_by = None
    message.claimed_at = None
    return True


def redraw_if_label_erased(session: Session, *, message_id: int, now: datetime) -> bool:
    """Right after its sender marks a recruiting DM sent (in the same transaction, the row held): an erasure that
    blanked its label while it was being posted (``bot.privacy.erasure``: a DM a sender holds is the sender's to post)
    found no sent DM to draw again, and the post still shows the erased words. A DM is never posted without a label
    (``end_if_label_gone`` ends it), so a sent one whose stored label is blank is drawn again without it (True:
    ``outbox.enqueue_expertise_redraw``, queued once). An erasure after this sees it sent and queues that itself."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.kind is not OutboxKind.EXPERTISE_REQUEST or not message.sent_ts:
        return False
    try:
        sent = read_as(ExpertiseRequest, message.payload)
    except PayloadError:
        return False
    if sent.redraw_ts or sent.label.strip():  # a redraw itself, or the label it carries is still stored
        return False
    return outbox.enqueue_expertise_redraw(session, message, now=now) is not None


def _answered(
    session: Session, state: NeedsState, items: Sequence[repo.NeedSource]
) -> tuple[dict[int, str], dict[str, str]]:
    """Who answered the topic's questions, with why they are listed (a private question is not quoted): by expert
    id, and by Slack id for answers not linked to the register; the first reason kept."""
    reasons: dict[int, str] = {}
    named_by_slack: dict[str, str] = {}
    question_ids = [int(s.key[2:]) for s in items if s.key.startswith("q:")]
    for answer in people.list_answers_to(session, question_ids=question_ids):
        source = state.sources.get(f"q:{answer.question_id}")
        public = source is not None and may_be_quoted(source)
        why = reasons_text.answered(source.text) if public and source else reasons_text.ANSWERED_PRIVATE
        if answer.expert_id is not None:
            reasons.setdefault(answer.expert_id, why)
        elif answer.answered_by_slack_id:
            named_by_slack.setdefault(answer.answered_by_slack_id, why)
    return reasons, named_by_slack


def _found_by_search(result: SearchResult | None) -> dict[int, str]:
    """Experts "who knows" links to the topic: they answered a related question, or are a related practice's
    contact; by expert id, with why, the first reason kept."""
    reasons: dict[int, str] = {}
    if result is None:
        return reasons
    for hit in result.answers:
        if hit.doc.expert_id is not None:
            reasons.setdefault(hit.doc.expert_id, reasons_text.answered(hit.doc.question))
    for p in result.practices:
        if p.doc.contact_expert_id is not None:
            reasons.setdefault(p.doc.contact_expert_id, reasons_text.practice_contact(p.doc.title))
    return reasons


def request_key(topic_id: int, slack_user_id: str, label: str) -> str:
    """The outbox key of a recruiting DM: one per topic, person and label asked about (a short hash of the label,
    case and spacing ignored). Asking again with the same label queues nothing; once the topic is labelled again
    the person can be asked about the new label."""
    normalised = " ".join(label.split()).casefold()
    digest = hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:12]
    return f"{_request_prefix(topic_id, slack_user_id)}{digest}"


def _request_prefix(topic_id: int, slack_user_id: str) -> str:
    return f"expertise_request:{topic_id}:{slack_user_id}:"


def _expertise_requests(session: Session, *, actor: Actor, topic_id: int) -> list[OutboxMessage]:
    """The recruiting DMs sent to ``actor`` about this topic, newest first; a DM queued before the key held the
    label (``expertise_request:<topic>:<user>``) comes last."""
    if not actor.slack_id:
        return []
    sent = outbox_repo.list_sent_outbox_messages(
        session,
        kinds=[OutboxKind.EXPERTISE_REQUEST],
        recipient_slack_id=actor.slack_id,
        dedupe_key_prefix=_request_prefix(topic_id, actor.slack_id),
    )
    legacy = outbox_repo.get_sent_outbox_message(session, dedupe_key=f"expertise_request:{topic_id}:{actor.slack_id}")
    if legacy is not None and legacy.recipient_slack_id == actor.slack_id:
        sent.append(legacy)
    return sent


def _asked_label(message: OutboxMessage) -> str:
    return str(message.payload.get("label") or "") if isinstance(message.payload, dict) else ""


def _asked_before_the_key_held_the_label(session: Session, *, topic_id: int, slack_user_id: str, label: str) -> bool:
    """A DM queued by a release whose key had no label (``expertise_request:<topic>:<user>``), sent or still queued,
    asked this person about this label already (compared without case or spacing): asking again would send the same
    DM. One that ended unsent or failed asked nothing."""
    legacy = outbox_repo.get_outbox_message_keyed(session, dedupe_key=f"expertise_request:{topic_id}:{slack_user_id}")
    if legacy is None or legacy.kind is not OutboxKind.EXPERTISE_REQUEST or legacy.recipient_slack_id != slack_user_id:
        return False
    if _undelivered(legacy):
        return False
    return " ".join(_asked_label(legacy).split()).casefold() == " ".join(label.split()).casefold()


def _undelivered(message: OutboxMessage) -> bool:
    """Ended unsent (its label no longer shown while it waited, or an erasure) or given up: nobody was asked."""
    return message.sent_at is None and (message.ended_at is not None or message.failed_at is not None)


def _lock_undelivered(session: Session, *, dedupe_keys: Iterable[str]) -> None:
    """Hold the rows under ``dedupe_keys`` that ended unsent or failed (``_queued_again`` queues them again under
    their lock), taken in id order."""
    keyed = (outbox_repo.get_outbox_message_keyed(session, dedupe_key=key) for key in dedupe_keys)
    for message_id in sorted(m.id for m in keyed if m is not None and m.id is not None and _undelivered(m)):
        outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)


def _queued_again(session: Session, *, dedupe_key: str, request: ExpertiseRequest, now: datetime) -> bool:
    """The DM under ``dedupe_key`` ended unsent or failed (the topic was labelled B while it waited, then A again):
    nobody was asked, so it is queued again with ``request`` (a fresh payload, its attempts and end cleared; under its
    row lock, so two asks queue it once). False when there is none, or it was sent or is still queued."""
    keyed = outbox_repo.get_outbox_message_keyed(session, dedupe_key=dedupe_key)
    if keyed is None or keyed.id is None or not _undelivered(keyed):
        return False
    message = outbox_repo.get_outbox_message(session, message_id=keyed.id, lock=True)  # re-read, held
    if message is None or message.kind is not OutboxKind.EXPERTISE_REQUEST or not _undelivered(message):
        return False
    # refused before although Slack knows the account (``reachability.record_unknown_id``; twice, then vouched for):
    # kept, so the next such refusal blocks
    refused_once = message.last_error in reachability.REFUSED_ACTIVE or reachability.refused_active(message)
    message.payload = outbox.payload_json(replace(request, refused_active=refused_once))
    message.created_at = now
    message.next_attempt_at = now
    message.ended_at = None
    message.ended_reason = None
    message.failed_at = None
    message.attempts = 0
    message.last_error = UNKNOWN_ID_ACTIVE if message.last_error == UNKNOWN_ID_ACTIVE else ""
    message.claimed_by = None
    message.claimed_at = None
    return True
