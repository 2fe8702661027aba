"""The erasure: forgetting a person (``erase_person``, see ``bot.privacy``), and what follows once it has committed
(``finish_erasure``: their requests leave the inbox, no copy of the erased rows stays on disk).

Part of ``bot.privacy`` (import from there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bot import outbox
from bot.actors import Actor
from bot.errors import WieweetError
from bot.matching.loader import document_vector_keys
from bot.outbox import LABEL_GONE
from bot.privacy.person import Person, _pattern, _query_variants, _scrub, _sweep, find_person, require_known
from bot.question_keys import QUESTION_MODEL_SUFFIX, text_key
from storage import (
    embedding_repo,
    erased_repo,
    inbox_repo,
    needs_repo,
    outbox_repo,
    proposal_invite_repo,
    proposal_repo,
    question_repo,
    register_repo,
)
from storage import privacy_repo as repo
from storage.db import Database
from storage.enums import ERASURE_ENTITY
from storage.models import OutboxKind, OutboxMessage, Question, QuestionStatus, Routing, RoutingStatus, Visibility

ERASED_ACTOR = "erased"  # what logs name instead of an erased person
# the inbox request an erasure outside Slack (the command line) queues: the running bot publishes the erased person's
# Home tab and the staff's (``handlers.privacy``); its payload names the erased Slack id until it is done
ERASED_HOMES_KIND = "erased_homes"
SELF_LABEL = "self"  # the audit label of "the person erased themselves" (their id would be personal data)
ANSWERED_STATES = frozenset({QuestionStatus.ANSWERED, QuestionStatus.RESOLVED, QuestionStatus.CLOSED})
OPEN_ROUTING_STATES = frozenset({RoutingStatus.ASKED, RoutingStatus.CLAIMED})
MIN_SINGLE_WORD_NAME = 8  # shorter one-word names ("An", "griet") are too common to replace in free text


class ErasureIncomplete(WieweetError):
    """The final check still found the person's data: nothing is committed (the caller's transaction rolls back)."""

    code = "erasure_incomplete"
    refusal = True


@dataclass
class ErasureReport:
    """What an erasure did (counts only: this is what the audit log keeps)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n


def _is_public(question: Question) -> bool:
    return question.visibility is Visibility.PUBLIC and not question.channel_is_private


def _is_public_answered(question: Question) -> bool:
    return _is_public(question) and question.status in ANSWERED_STATES and bool(question.answers)


def erase_person(
    *,
    session: Session,
    actor: Actor,
    slack_user_id: str | None = None,
    email: str | None = None,
    now: datetime,
    db: Database | None = None,
) -> ErasureReport:
    """Forget the person (see the module docstring). Raises ``NotAuthorized`` before anything is changed, and
    ``NotFoundError`` (nothing erased, nothing audited) when nothing is stored about them. ``db``: where the inbox
    is when it is not in ``session``'s database (SQLite), for other people's waiting requests naming the person
    (``_redact_inbox``)."""
    person = find_person(session, slack_user_id=slack_user_id, email=email)
    actor.require_self_or_staff(person.slack_user_id, "erase personal data", target=f"person:{person.slack_user_id}")
    require_known(session, person)
    report = ErasureReport()
    texts_before = {source.text for source in needs_repo.list_need_sources(session)}
    labels_before = {topic.id: topic.label for topic in needs_repo.list_need_topics(session)}
    documents_before = document_vector_keys(session)
    sid = person.slack_user_id
    expert = person.expert
    expert_id = expert.id if expert is not None else None
    _erase_questions_asked(session, person, report)
    _erase_answers_given(session, person, report)

    # Questions routed to them: the routing stays (the question's history), without them.
    routings = repo.list_routings_to(session, slack_user_id=sid, expert_id=expert_id)
    open_ids = [r.id for r in routings if r.status in OPEN_ROUTING_STATES]
    report.add("timers_cancelled", repo.update_timers_erased(session, routing_ids=open_ids, now=now))
    for routing in routings:
        _depersonalise_routing(routing, now=now)
        report.add("routings_depersonalised")

    if sid:
        _erase_slack_traces(session, sid, report)
    _unlink_practices(session, person, report)
    _depersonalise_audit(session, person, report)

    session.flush()
    if expert is not None:
        register_repo.delete_expert(session, expert=expert)  # its themes, declines and timers go with it (CASCADE)
        report.add("expert_profiles_deleted")
    if sid:
        report.add("slack_cache_deleted", repo.delete_slack_user(session, slack_user_id=sid))
    # what stays: a keyed hash of each address and the Slack id, so no import lists them again (``erased_repo``)
    emails, sids = sorted(person.emails), [sid] if sid else []
    report.add(
        "erased_identities_kept",
        erased_repo.create_erased_identities(session, emails=emails, slack_user_ids=sids, now=now),
    )
    session.flush()

    needles = _needles(session, person, report)
    _drop_need_labels_naming(session, needles, report)
    _settle_recruiting_dms(session, needles, _labels_dropped(session, labels_before), report, now=now)
    report.add("values_swept", _sweep(session, needles, replace=True))
    session.flush()
    left = _sweep(session, needles, replace=False)
    if left:
        raise ErasureIncomplete("erasure_incomplete", f"{left} values still hold the person's data")
    _delete_question_vectors(session, texts_before, report)
    _delete_document_vectors(session, documents_before, report)
    _redact_inbox(session, db, needles, report)
    # texts were redacted or deleted: every process rebuilds its kept needs state (``bot.needs.state``)
    needs_repo.create_need_fit_generation(session, now=now)
    register_repo.create_audit_log(
        session,
        actor=SELF_LABEL if actor.is_self(sid) else actor.audit_label,
        action="erase",
        entity_type=ERASURE_ENTITY,
        entity_key=ERASED_ACTOR,
        before=None,
        after=dict(report.counts),
        now=now,
    )
    session.flush()
    return report


def _erase_questions_asked(session: Session, person: Person, report: ErasureReport) -> None:
    """Questions they asked: public answered ones stay as anonymous knowledge, the others go."""
    sid = person.slack_user_id
    deleted_items: list[str] = []
    private_texts: set[str] = set()
    for question in repo.list_questions_asked(session, slack_user_id=sid) if sid else []:
        person.names.add(question.asker_name)
        if _is_public_answered(question):
            question.asker_slack_id = None
            question.asker_name = ""
            report.add("questions_anonymised")
        else:
            if not _is_public(question):  # its gap (if nobody fitted) holds the text as it was recorded
                private_texts.update((question.text[:2000], question.text.strip()[:2000]))
            deleted_items.append(f"q:{question.id}")
            question_repo.delete_question(session, question=question)
            report.add("questions_deleted")
    # a gap recorded from private text goes with the person: its text was theirs and never shown to others
    # (a gap from public text stays, without its asker: ``_erase_slack_traces``)
    for gap in repo.list_private_knowledge_gaps(session, slack_user_id=sid, queries=private_texts):
        repo.delete_knowledge_gap(session, gap=gap)
        report.add("private_gaps_deleted")
    session.flush()
    _erase_need_traces(session, sid, deleted_items, report)


def _erase_need_traces(session: Session, sid: str | None, deleted_items: list[str], report: ErasureReport) -> None:
    """Knowledge-need topics: a deleted question leaves its topic (ON DELETE CASCADE); a topic whose label was taken
    from it loses the label (a new one is taken from the remaining public questions at the next grouping run)."""
    for topic in needs_repo.list_need_topics_labelled_from(session, item_keys=deleted_items):
        topic.label = ""
        topic.label_item = ""
        report.add("need_topics_relabelled")
    report.add("need_topics_deleted", needs_repo.delete_empty_need_topics(session))
    if sid:
        for proposal in proposal_repo.list_need_proposals_decided_by(session, actor=sid):
            proposal.decided_by = ERASED_ACTOR
            report.add("proposals_depersonalised")
        report.add(
            "proposals_depersonalised",
            proposal_invite_repo.update_need_proposal_invite_holder_erased(session, slack_user_id=sid),
        )


def _delete_question_vectors(session: Session, texts_before: set[str], report: ErasureReport) -> None:
    """The stored meaning vectors (``bot.question_keys``) of the question and gap texts the erasure deleted or
    redacted go now, in this transaction: their key is the hash of the text, which confirms a guessed question, and a
    vector can be partly inverted. A vector whose wording a remaining text shares stays (one vector per wording)."""
    texts_after = {source.text for source in needs_repo.list_need_sources(session)}
    gone = {text_key(t) for t in texts_before - texts_after}
    if gone:
        gone -= {text_key(t) for t in texts_after}
    report.add(
        "question_vectors_deleted",
        embedding_repo.delete_embeddings(session, hashes=gone, model_suffix=QUESTION_MODEL_SUFFIX),
    )


def _delete_document_vectors(session: Session, keys_before: set[str], report: ErasureReport) -> None:
    """The same for the documents' vectors (``bot.matching.semantic``: an expert's or practice's whole text and its
    parts, stored under the embedder's own model id): her deleted profile's, and those of texts the sweep redacted
    (a practice's summary that named her). They would otherwise wait for the embedding pass's purge. A vector whose
    text a remaining expert or practice still has (a shared expertise item) stays."""
    gone = keys_before - document_vector_keys(session)
    report.add(
        "document_vectors_deleted",
        embedding_repo.delete_embeddings(session, hashes=gone, except_suffix=QUESTION_MODEL_SUFFIX),
    )


def _drop_need_labels_naming(session: Session, needles: list[str], report: ErasureReport) -> None:
    """A topic's label is made of the content words of a question (``bot.needs.topics``): it may hold a surname
    without the first name the sweep looks for. A label with any word of the person's names loses it; the next
    grouping run labels the topic again from the redacted texts."""
    words = _name_words(needles)
    if not words:
        return
    for topic in needs_repo.list_need_topics(session):
        if _holds_any(topic.label, words):
            topic.label = ""
            topic.label_item = ""
            report.add("need_topics_relabelled")


def _name_words(needles: list[str]) -> set[str]:
    """The words of the person's names (three letters or more), compared without case."""
    return {w.casefold() for n in needles if "@" not in n for w in re.findall(r"\w+", n) if len(w) >= 3}


def _holds_any(text: str, words: set[str]) -> bool:
    return bool(text) and bool(words & {w.casefold() for w in re.findall(r"\w+", text)})


def _labels_dropped(session: Session, labels_before: dict[int, str]) -> dict[int, str]:
    """The labels this erasure took away (by topic id): a topic relabelled or deleted since ``labels_before``."""
    now_labels = {topic.id: topic.label for topic in needs_repo.list_need_topics(session)}
    return {i: label for i, label in labels_before.items() if label and now_labels.get(i) != label}


def _settle_recruiting_dms(
    session: Session, needles: list[str], dropped: dict[int, str], report: ErasureReport, *, now: datetime
) -> None:
    """Recruiting DMs (``bot.needs.recruiting``) carry a topic's label, made of a question's words, which the sweep
    does not find when it holds a surname alone. Those about the person: a DM whose label or reason holds a word of
    their names, or which carries a label this erasure took from its topic (``dropped``: ``_erase_need_traces``,
    ``_drop_need_labels_naming``). A queued one ends unsent (settled, as the sender would end it: ``LABEL_GONE``),
    its label and reason blanked, under its row lock; one a sender holds (claimed: it may be posting it right now)
    is the sender's to post or end, as everywhere in the outbox: its label and reason are blanked, so its sender's
    check before posting (``end_if_label_gone``) ends it, and a DM already posted is recorded as sent, without a
    label (its button then adds nothing: ``TopicLabelGone``). A sent one keeps no label either, and is drawn again
    in Slack without it and its button (``outbox.enqueue_expertise_redraw``); so is one its sender marks sent after
    this (``bot.needs.redraw_if_label_erased``). Queued DMs of topics relabelled for other reasons are left
    to that check. Its recipient's own messages went with ``_erase_slack_traces``."""
    words = _name_words(needles)
    for listed in outbox_repo.list_outbox_messages(session, kind=OutboxKind.EXPERTISE_REQUEST):
        if not _about_the_person(listed, words, dropped):
            continue
        message = outbox_repo.get_outbox_message(session, message_id=listed.id, lock=True)  # re-read, held
        if message is None or not _about_the_person(message, words, dropped):
            continue
        queued = message.sent_at is None and message.failed_at is None and message.ended_at is None
        payload = dict(message.payload) if isinstance(message.payload, dict) else {}
        message.payload = {**payload, "label": "", "reason": ""}
        if queued and message.claimed_by is None:
            message.ended_at = now
            message.ended_reason = LABEL_GONE
            message.claimed_at = None
            report.add("recruiting_messages_settled")
        else:
            report.add("recruiting_messages_redacted")
        if message.sent_channel_id and message.sent_ts:  # drawn again without its label and button
            outbox.enqueue_expertise_redraw(session, message, now=now)


def _about_the_person(message: OutboxMessage, words: set[str], dropped: dict[int, str]) -> bool:
    """A recruiting DM about the erased person (``_settle_recruiting_dms``): its label or reason holds a word of their
    names, or it carries the label this erasure took from its topic (queued or sent: the deleted question's words)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    label, topic_id = str(payload.get("label") or ""), payload.get("topic_id")
    if _holds_any(label, words) or _holds_any(str(payload.get("reason") or ""), words):
        return True
    taken = dropped.get(topic_id) if isinstance(topic_id, int) else None
    return bool(label.strip()) and taken is not None and taken.strip().casefold() == label.strip().casefold()


def _erase_answers_given(session: Session, person: Person, report: ErasureReport) -> None:
    """Answers they gave: kept without their name where the question is public, else deleted."""
    expert_id = person.expert.id if person.expert is not None else None
    for answer in repo.list_answers_given(session, slack_user_id=person.slack_user_id, expert_id=expert_id):
        person.names.add(answer.answered_by_name)
        # the question's ``updated_at`` moves too: other processes follow an answer's changes through its question
        # (``KnowledgeBase.sync``), whose searchable document names the answerer
        flag_modified(answer.question, "status")
        if _is_public(answer.question):
            answer.answered_by_name = ""
            answer.answered_by_slack_id = None
            answer.expert = None
            report.add("answers_anonymised")
        else:
            question_repo.delete_answer(session, answer=answer)
            report.add("answers_deleted")
    session.flush()


def _erase_slack_traces(session: Session, sid: str, report: ErasureReport) -> None:
    """What is kept by Slack id only: question events, searches, gaps, subscriptions, feedback, messages to them."""
    for event in repo.list_question_events_by(session, slack_user_id=sid):
        event.actor = ERASED_ACTOR
        report.add("events_depersonalised")
    for log in repo.list_search_logs(session, slack_user_id=sid):
        log.user_slack_id = None
        report.add("searches_depersonalised")
    for gap in repo.list_knowledge_gaps_by_asker(session, slack_user_id=sid):
        gap.asker_slack_id = None
        report.add("gaps_depersonalised")
    for subscription in repo.list_digest_subscriptions_by(session, slack_user_id=sid):
        subscription.created_by = None
    report.add("feedback_deleted", repo.delete_feedback_of(session, slack_user_id=sid))
    report.add("messages_deleted", outbox_repo.delete_outbox_messages_to(session, slack_user_id=sid))


def _unlink_practices(session: Session, person: Person, report: ErasureReport) -> None:
    """Practices they are the contact or submitter of stay, without them."""
    sid = person.slack_user_id
    expert_id = person.expert.id if person.expert is not None else None
    for practice in repo.list_practices_of(session, emails=person.emails, slack_user_id=sid, expert_id=expert_id):
        if practice.contact_email.lower() in person.emails:
            practice.contact_email = ""
        if sid and practice.submitted_by == sid:
            practice.submitted_by = None
        if expert_id is not None and practice.contact_expert_id == expert_id:
            practice.contact_expert = None
        report.add("practices_unlinked")


def _depersonalise_audit(session: Session, person: Person, report: ErasureReport) -> None:
    """Audit entries by or about them (their expert record, an export of their data) keep what happened, not who."""
    sid = person.slack_user_id
    for entry in repo.list_audit_entries_about(session, emails=person.emails, slack_user_id=sid):
        if sid and entry.actor == sid:
            entry.actor = ERASED_ACTOR
        if entry.entity_key.lower() in person.emails or (sid and entry.entity_key == sid):
            entry.entity_key = ERASED_ACTOR
            entry.before = None if entry.before is None else {"erased": True}
            entry.after = None if entry.after is None else {"erased": True}
        report.add("audit_entries_depersonalised")


def _depersonalise_routing(routing: Routing, *, now: datetime) -> None:
    if routing.status in OPEN_ROUTING_STATES:
        routing.status = RoutingStatus.EXPIRED  # nobody to remind any more; the question's escalation still runs
        routing.responded_at = routing.responded_at or now
        routing.snoozed_until = None
    routing.recipient_slack_id = None
    routing.expert = None
    routing.decline_reason = ""
    routing.dm_channel_id = None
    routing.dm_ts = None


def _needles(session: Session, person: Person, report: ErasureReport) -> list[str]:
    """The strings that must not survive: e-mail addresses, the Slack id, and full names.

    A name that someone else in the register (or the Slack cache) also has is left out of the sweep: it cannot be
    told apart from theirs, and their records must not be changed. (The person's own fields are cleared anyway.)
    """
    needles = set(person.emails)
    if person.slack_user_id:
        needles.add(person.slack_user_id)
    expert_id = person.expert.id if person.expert is not None else None
    for raw in person.names:
        name = raw.strip()
        if not ((" " in name and len(name) >= 4) or len(name) >= MIN_SINGLE_WORD_NAME):
            continue
        if repo.list_others_named(session, name=name, slack_user_id=person.slack_user_id, expert_id=expert_id):
            report.add("names_shared_not_swept")
            continue
        needles.add(name)
    return sorted(needles, key=len, reverse=True)


def finish_erasure(db: Database, *, slack_user_id: str | None, keep_request: str | None = None) -> int:
    """Once an erasure has committed: drop the person's requests from the inbox (which may be its own file) — but
    ``keep_request``, the erasing request's own row while it runs (it forgets the person when done) — and redact
    their Slack id in other people's requests still waiting (``_redact_waiting_requests``; on PostgreSQL the erasure
    did that in its own transaction, with every needle: this catches a request recorded while it committed), then
    make sure no copy of the erased rows stays on disk (``Database.compact_after_erasure``: SQLite has zeroed the
    freed pages, ``secure_delete``, and its write-ahead logs are checkpointed and truncated). Returns the number of
    inbox requests removed."""
    removed = 0
    if slack_user_id:
        with db.inbox_session() as session:
            removed = inbox_repo.delete_inbox_requests_of(session, slack_user_id=slack_user_id, keep_key=keep_request)
            _redact_waiting_requests(session, [slack_user_id], keep_request=keep_request)
    db.compact_after_erasure()
    return removed


def _redact_inbox(session: Session, db: Database | None, needles: list[str], report: ErasureReport) -> None:
    """Other people's requests waiting in the inbox that name the person (``_redact_waiting_requests``), before any
    worker can claim one with the person still in it: on PostgreSQL in the erasure's own transaction (the inbox is
    a table of its database); on SQLite, whose inbox is a file of its own that no transaction shares, in a short
    one of the inbox's just before the erasure commits (``db``; without it, only once it committed:
    ``finish_erasure``). Should the erasure then fail, those requests stay redacted: the person asked to be
    forgotten, and staff choose again."""
    if inbox_repo.get_inbox_shared(session):
        report.add("inbox_requests_redacted", _redact_waiting_requests(session, needles, keep_request=None))
    elif db is not None:
        with db.inbox_session() as inbox:
            report.add("inbox_requests_redacted", _redact_waiting_requests(inbox, needles, keep_request=None))


def _redact_waiting_requests(session: Session, needles: list[str], *, keep_request: str | None) -> int:
    """Other people's requests still waiting in the inbox that name the erased person (staff's pick of them from a
    user picker, a list of people chosen by hand, a register form or note with their name or address): each of
    ``needles`` (their Slack id, addresses and names, as the erasure's sweep) is redacted in the payload, so a request
    handled later cannot ask, assign or name them (it is refused as any unknown pick). On PostgreSQL the erasure does
    this in its own transaction, the requests locked until it commits (``inbox_repo.
    list_waiting_inbox_requests_naming``): a worker cannot claim one with the person still in it. Left alone: a
    request being handled now (claimed: its worker holds it) or done (its payload is emptied), the erasing request's
    own (``keep_request``) and the request that publishes the erased person's Home tab (``ERASED_HOMES_KIND``: it
    must name them until it ran). Returns how many were redacted."""
    pattern = _pattern(needles)
    redacted = 0
    rows = inbox_repo.list_waiting_inbox_requests_naming(
        session, needles=_query_variants(needles), skip=(ERASED_HOMES_KIND,), lock=True
    )
    for request in rows:
        if request.request_key == keep_request:
            continue
        payload, n = _scrub(request.payload, pattern)
        if n:
            request.payload = payload  # a new object: the ORM sees the JSON change
            redacted += 1
    session.flush()
    return redacted
