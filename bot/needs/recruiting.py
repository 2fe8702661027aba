"""Recruiting: who might cover a topic nobody covers, and asking them to add it to their profile.

* ``recruiting`` — staff only — the candidates: people who answered the topic's (or related) questions, contacts of
  related practices, who may be named and are not strong matches already.
* ``ask_to_add_expertise`` — staff only — a DM (outbox ``expertise_request``) to each chosen candidate, once per
  topic, person and label (``request_key``; also a DM queued before the key held the label), counting only DMs sent
  or still queued (one that ended unsent or failed is queued again): a topic labelled again may be asked about again.
  Someone Slack cannot reach (``_account_gone``: their register entry marked so, or their last recruiting DM refused
  with an error Slack says of the recipient alone) is not asked while no DM reached them since
  (``RecruitRequest.unreachable``: why), so staff learn they cannot be reached; the audit row names them too.
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
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.errors import NotFoundError, WieweetError
from bot.matching.results import SearchResult
from bot.needs import recruit_reasons as reasons_text
from bot.needs.core import (
    NeedsCore,
    NeedsState,
    NoShareableWording,
    is_shareable,
    label_sources,
    may_be_named,
    shown_label,
)
from bot.needs.model import PersonRef, RecruitPlan, RecruitRequest
from bot.outbox import LABEL_GONE, ExpertiseRequest, PayloadError, read_as
from bot.register.marked import (
    KEPT_ACTION,
    NO_REASON,
    UNCONFIRMED_REASONS,
    UNKNOWN_ID_ACTIVE,
    UNKNOWN_ID_ACTIVE_AGAIN,
    get_away_mark,
)
from bot.register.profiles import audit_change
from bot.register.service import expert_audit
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
            raise NotFoundError("no_topic", f"no topic #{topic_id}")
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
            raise NotFoundError("not_a_candidate", f"not a candidate for topic #{topic_id}: {refused}")
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
            gone = _account_gone(session, expert_id=expert_id, slack_user_id=person.slack_user_id)
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
        public = source is not None and is_shareable(source)
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


# What Slack says of the recipient alone when it refuses a DM (the account deactivated, unknown to Slack, a bot):
# never ``account_inactive``, which Slack also says of the bot's own token (the app or the workspace disabled, which
# an admin can undo: every DM fails alike then). The person counts as gone after that error only when the sender
# confirmed it (``users.info``: the account deleted) and marked their register entry away (``_account_gone``); a DM
# refused with ``user_not_found`` while ``users.info`` does not say the account is deactivated (``UNCONFIRMED_REASONS``,
# as routing reads it: a mistyped Slack id, another workspace's token) leaves them unmarked, staff told to check the id.
# Refused with ``user_not_found`` while ``users.info`` answers with the account, active, it is recorded as
# ``UNKNOWN_ID_ACTIVE`` (``record_unknown_id``): no block, the next ask tries again; refused so a second time, as
# ``UNKNOWN_ID_ACTIVE_AGAIN``, which blocks as ``user_not_found`` does, with what Slack said in words.
RECIPIENT_GONE_ERRORS = frozenset({"user_disabled", "user_not_found", "cannot_dm_bot", UNKNOWN_ID_ACTIVE_AGAIN})
# Of those, the refusals that doubt the id itself: only a change of the Slack id, or someone vouching for it
# (``ID_VOUCHED_ACTIONS``), clears them
_ID_DOUBTED = UNCONFIRMED_REASONS | {UNKNOWN_ID_ACTIVE_AGAIN}
# A recruiting DM refused with ``user_not_found`` while Slack says the account is active, once or twice: the next
# such refusal is recorded as ``UNKNOWN_ID_ACTIVE_AGAIN`` (also after staff vouched for the id: it did not help)
_REFUSED_ACTIVE = frozenset({UNKNOWN_ID_ACTIVE, UNKNOWN_ID_ACTIVE_AGAIN})
# Audit actions that do not say the person was reached or their entry renewed: the marks themselves
_MARK_ACTIONS = frozenset({"unreachable", KEPT_ACTION})
# The audit action of staff confirming a refused Slack id (``confirm_slack_id``: ``wieweet register check-slack``
# finding Slack's address for the account the register's, ``wieweet register available``)
SLACK_ID_CONFIRMED = "slack_id_confirmed"
# Audit actions that vouch for the Slack id as it is: that confirmation, and the entry's availability set (by staff,
# or by the person on their Home tab, which they reach with that very account)
ID_VOUCHED_ACTIONS = frozenset({SLACK_ID_CONFIRMED, "availability"})


def _account_gone(session: Session, *, expert_id: int, slack_user_id: str) -> str:
    """Why this person cannot be reached (Slack's error, or the reason of their register entry's mark), or empty.

    Gone: their register entry is marked away because Slack cannot reach them (``bot.register.marked``: set by the
    outbox sender once ``users.info`` confirmed the account deleted, by Slack's ``user_change``, or by a DM refused
    with ``user_disabled``, ``user_not_found`` or ``cannot_dm_bot``; cleared when the account is found active again
    or they or staff make them available; a mark kept while the account looks active holds too, as
    ``get_away_mark`` reads it for routing), or the last recruiting DM to this Slack id that ended was given up with
    one of ``RECIPIENT_GONE_ERRORS``, and their register entry has not changed since (re-activated, imported again;
    for ``UNCONFIRMED_REASONS``, Slack not knowing the id, only a change of their Slack id counts, or someone vouching
    for it as it is: ``ID_VOUCHED_ACTIONS``). ``UNKNOWN_ID_ACTIVE`` (``users.info`` knew the account) holds nobody
    back. Either holds
    only while no DM of any kind reached this Slack id after it. A redraw of a DM sent before (``outbox.redraw_of``:
    an update, not a new DM) counts neither as a DM that reached them nor as one that ended."""
    expert = register_repo.get_expert(session, expert_id=expert_id)
    if expert is None or expert.slack_user_id != slack_user_id:
        return ""
    since: datetime | None = None
    why = ""
    mark = get_away_mark(session, expert=expert)  # kept or not: the rule routing holds them away by
    if mark is not None:
        since, why = _utc(mark.kept_at or mark.marked_at), mark.reason or NO_REASON  # shown as no reason recorded
    # a redraw (an update of a DM sent before) is no DM that reached them, nor one that ended: left out
    messages = [
        m
        for m in outbox_repo.list_outbox_messages_to(session, slack_user_id=slack_user_id)
        if outbox.redraw_of(m) is None
    ]
    ended = [
        m
        for m in messages
        if m.kind is OutboxKind.EXPERTISE_REQUEST and (m.sent_at is not None or m.failed_at is not None)
    ]
    if ended and why == "":
        last = max(ended, key=lambda m: (_utc(m.sent_at or m.failed_at), m.id))
        error = (last.last_error or "").strip()
        if last.sent_at is None and last.failed_at is not None and error in RECIPIENT_GONE_ERRORS:
            failed_at = _utc(last.failed_at)
            slack_id_only = error in _ID_DOUBTED  # the id itself was in doubt: only correcting or vouching clears
            if not _entry_changed_since(session, email=expert.email, since=failed_at, slack_id_only=slack_id_only):
                since, why = failed_at, error
    if since is None:
        return ""
    reached = any(m.sent_at is not None and _utc(m.sent_at) > since for m in messages)
    return "" if reached else why


def confirm_slack_id(
    session: Session, *, expert_id: int, actor: Actor, now: datetime, reasons: frozenset[str] = _ID_DOUBTED
) -> bool:
    """Staff say this expert's Slack id is right (``wieweet register check-slack`` found Slack's address for the
    account to be the register's; ``wieweet register available``): when their last recruiting DM was refused for
    the id itself (``user_not_found``: a mistyped id, a token of another workspace, since corrected), the next ask
    sends it again — recorded in the audit log (``SLACK_ID_CONFIRMED``), which ``_account_gone`` reads. False, and
    nothing written, when no such refusal holds them back (a mark of their register entry is cleared its own way);
    ``reasons``: the refusals cleared (``check-slack`` learns nothing new of an account Slack said twice is active)."""
    if not _id_doubted(session, expert_id=expert_id, reasons=reasons):
        return False
    expert = register_repo.get_expert(session, expert_id=expert_id)
    assert expert is not None
    audit_change(session, actor=actor, action=SLACK_ID_CONFIRMED, expert=expert, before=expert_audit(expert), now=now)
    return True


def _id_doubted(session: Session, *, expert_id: int, reasons: frozenset[str]) -> bool:
    """Whether this expert's last recruiting DM was refused for one of ``reasons`` and that still holds them back."""
    expert = register_repo.get_expert(session, expert_id=expert_id)
    if expert is None or not expert.slack_user_id or get_away_mark(session, expert=expert) is not None:
        return False
    return _account_gone(session, expert_id=expert.id, slack_user_id=expert.slack_user_id) in reasons


def list_unknown_ids_confirmed(session: Session, *, unconfirmed: Iterable[str]) -> list[str]:
    """``wieweet register check-slack``, reading only: the experts with a Slack id whose address is not in
    ``unconfirmed`` (Slack holds the register's address for their account) whose last recruiting DM Slack refused
    because ``users.info`` did not know the id either (``UNCONFIRMED_REASONS``; not ``UNKNOWN_ID_ACTIVE_AGAIN``:
    Slack said twice the account is active, so confirming its address tells nothing new): their addresses, in
    register order."""
    doubted = {e.casefold() for e in unconfirmed}
    return [
        expert.email
        for expert in register_repo.list_experts(session)
        if expert.slack_user_id
        and expert.email.casefold() not in doubted
        and _id_doubted(session, expert_id=expert.id, reasons=UNCONFIRMED_REASONS)
    ]


def confirm_slack_ids(session: Session, *, emails: Iterable[str], actor: Actor, now: datetime) -> list[str]:
    """``confirm_slack_id`` for the experts ``list_unknown_ids_confirmed`` found (``wieweet register check-slack``,
    once its report is printed), the same refusals only: the addresses of those no longer held back."""
    experts = (register_repo.get_expert_by_email(session, email=email) for email in emails)
    return [
        expert.email
        for expert in experts
        if expert is not None
        and confirm_slack_id(session, expert_id=expert.id, actor=actor, now=now, reasons=UNCONFIRMED_REASONS)
    ]


def record_unknown_id(session: Session, *, message_id: int, retried: bool) -> str:
    """A recruiting DM refused with ``user_not_found``, while ``users.info`` answers with the account, active (the
    sender asked): Slack knows the id, so it is not said to be unknown. Recorded as ``UNKNOWN_ID_ACTIVE`` (the next
    ask sends it again), or ``UNKNOWN_ID_ACTIVE_AGAIN`` (staff are told, not asked again) when this DM was refused so
    before it was queued again (its payload's ``refused_active``, which a failed attempt in between does not
    overwrite as it does ``last_error``; ``retried``: the sender's copy, as claimed, still said so) or another
    recruiting DM to this account was, with no DM reaching them since. What was recorded; empty when the message no
    longer is such a refusal (sent, queued again)."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.sent_at is not None or message.failed_at is None:
        return ""
    if message.last_error not in UNCONFIRMED_REASONS or not message.recipient_slack_id:
        return ""
    others = [
        m
        for m in outbox_repo.list_outbox_messages_to(session, slack_user_id=message.recipient_slack_id)
        if m.id != message.id and outbox.redraw_of(m) is None
    ]
    refused = [
        _utc(m.failed_at)
        for m in others
        if m.kind is OutboxKind.EXPERTISE_REQUEST and m.failed_at is not None and m.last_error in _REFUSED_ACTIVE
    ]
    reached = [_utc(m.sent_at) for m in others if m.sent_at is not None]
    before = any(not reached or at > max(reached) for at in refused)
    again = retried or _refused_active(message) or before
    message.last_error = UNKNOWN_ID_ACTIVE_AGAIN if again else UNKNOWN_ID_ACTIVE
    # the first such refusal, where a later attempt's passing error (a 5xx, a timeout) cannot overwrite it; the
    # second blocks (``_account_gone``); once cleared (staff vouching for the id) the next one blocks again: the
    # vouching did not help (``_queued_again`` keeps it as a refusal before)
    message.payload = {**_payload(message), "refused_active": not again}
    return message.last_error


def _payload(message: OutboxMessage) -> dict[str, object]:
    return dict(message.payload) if isinstance(message.payload, dict) else {}


def _refused_active(message: OutboxMessage) -> bool:
    """Whether this recruiting DM was refused once already although Slack knew the account (``record_unknown_id``)."""
    return _payload(message).get("refused_active") is True


def _entry_changed_since(session: Session, *, email: str, since: datetime, slack_id_only: bool = False) -> bool:
    """Whether the register entry changed after ``since`` other than by being marked unreachable: made available
    again, edited, imported again (its audit log); ``slack_id_only``: its Slack id changed, or someone vouched for
    it as it is (``ID_VOUCHED_ACTIONS``)."""
    for entry in register_repo.list_audit_log(session, entity_type="expert", entity_key=email, limit=50):
        if _utc(entry.at) <= since:
            return False
        if entry.action in _MARK_ACTIONS:
            continue
        if not slack_id_only or entry.action in ID_VOUCHED_ACTIONS or _slack_id(entry.before) != _slack_id(entry.after):
            return True
    return False


def _slack_id(state: object) -> object:
    return state.get("slack_user_id") if isinstance(state, dict) else None


def _utc(at: datetime | None) -> datetime:
    """A stored time, aware (SQLite gives it back naive, in UTC)."""
    assert at is not None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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
    # refused before although Slack knows the account (``record_unknown_id``; twice, then vouched for): kept, so the
    # next such refusal blocks
    refused_once = message.last_error in _REFUSED_ACTIVE or _refused_active(message)
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
