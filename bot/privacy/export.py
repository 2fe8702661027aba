"""The export: everything wieweet stores about one person, across every table, as plain JSON values.

Part of ``bot.privacy`` (import from there).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor
from bot.privacy.person import find_person, require_known
from storage import needs_repo, outbox_repo, proposal_repo, register_repo, slack_repo
from storage import privacy_repo as repo
from storage.enums import PERSONAL_DATA_ENTITY, REFUSED_PICK_ENTITY, REFUSED_PICK_REASON
from storage.models import AuditLog, Base, OutboxMessage

EXPORT_FORMAT = "wieweet-personal-data/1"
EXPORT_ACTION = "export"  # the audit log's action of an export


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _columns(obj: Base, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    skip = set(leave_out)
    mapper = obj.__mapper__
    return {prop.key: _plain(getattr(obj, prop.key)) for prop in mapper.column_attrs if prop.key not in skip}


def export_personal_data(
    *, session: Session, actor: Actor, slack_user_id: str | None = None, email: str | None = None, now: datetime
) -> dict[str, Any]:
    """Everything stored about the person, as JSON-ready values (one section per kind of data). Audited: who asked,
    when, about whom, and how many records of each kind (the caller's transaction commits it with the export)."""
    person = find_person(session, slack_user_id=slack_user_id, email=email)
    actor.require_self_or_staff(person.slack_user_id, "export personal data", target=f"person:{person.slack_user_id}")
    require_known(session, person)
    sid = person.slack_user_id
    expert = person.expert
    expert_id = expert.id if expert is not None else None
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": now.isoformat(),
        "person": {"slack_user_id": sid, "email": person.email},
        "expert_profile": None,
    }
    if expert is not None:
        data["expert_profile"] = {**_columns(expert), "themes": [t.key for t in expert.themes]}
        data["expert_declines"] = [_columns(d) for d in repo.list_expert_declines(session, expert_id=expert.id)]
        data["expert_timers"] = [_columns(t) for t in repo.list_expert_timers(session, expert_id=expert.id)]
    cached = slack_repo.get_slack_user(session, slack_user_id=sid) if sid else None
    data["slack_user_cache"] = _columns(cached) if cached is not None else None
    data["questions_asked"] = (
        [
            {
                **_columns(q),
                "themes": [t.key for t in q.themes],
                "answers": [_columns(a, leave_out=("expert_id",)) for a in q.answers],
            }
            for q in repo.list_questions_asked(session, slack_user_id=sid)
        ]
        if sid
        else []
    )
    data["answers_given"] = [
        {**_columns(a), "question": a.question.text}
        for a in repo.list_answers_given(session, slack_user_id=sid, expert_id=expert_id)
    ]
    data["questions_routed_to_you"] = [
        {**_columns(r), "question": r.question.text}
        for r in repo.list_routings_to(session, slack_user_id=sid, expert_id=expert_id)
    ]
    data["question_events_by_you"] = (
        [_columns(e) for e in repo.list_question_events_by(session, slack_user_id=sid)] if sid else []
    )
    data["searches"] = [_columns(s) for s in repo.list_search_logs(session, slack_user_id=sid)] if sid else []
    data["feedback"] = [_columns(f) for f in repo.list_feedback(session, slack_user_id=sid)] if sid else []
    gaps = repo.list_knowledge_gaps_by_asker(session, slack_user_id=sid) if sid else []
    data["knowledge_gaps"] = [_columns(g) for g in gaps]
    # Knowledge needs: the topic each of their questions and gaps was grouped into, proposals they decided on.
    placements = needs_repo.list_need_items_of(
        session, question_ids=[q["id"] for q in data["questions_asked"]], gap_ids=[g.id for g in gaps]
    )
    data["knowledge_need_topics"] = [
        {**_columns(item), "topic_label": topic.label}  # a public question's wording (shareable) or empty
        for item, topic in placements
    ]
    data["work_session_proposals_decided"] = (
        [_columns(p) for p in proposal_repo.list_need_proposals_decided_by(session, actor=sid)] if sid else []
    )
    data["messages_to_you"] = (
        [_message(m) for m in outbox_repo.list_outbox_messages_to(session, slack_user_id=sid)] if sid else []
    )
    data["digest_subscriptions_created"] = (
        [_columns(d) for d in repo.list_digest_subscriptions_by(session, slack_user_id=sid)] if sid else []
    )
    data["practices"] = [
        {**_columns(p), "themes": [t.key for t in p.themes]}
        for p in repo.list_practices_of(session, emails=person.emails, slack_user_id=sid, expert_id=expert_id)
    ]
    data["audit_log"] = _audit_rows(session, emails=person.emails, slack_user_id=sid)
    # who read the file, and when: one audit row (how many records of each kind, never their content), about the
    # person by Slack id or address — made anonymous by a later erasure like every audit row about them
    register_repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=EXPORT_ACTION,
        entity_type=PERSONAL_DATA_ENTITY,
        entity_key=sid or person.email or "",
        before=None,
        after=_counts(data),
        now=now,
    )
    return data


def _message(message: OutboxMessage) -> dict[str, Any]:
    """A message queued or sent to the person; the redraw of a sent recruiting DM (an erasure took its label) shows
    as what it is, ``expertise_redraw`` of that DM (``redraws_message``), not as a second request."""
    row = _columns(message)
    redrawn = outbox.redraw_of(message)
    if redrawn is not None:
        row.update(kind=outbox.shown_kind(message), redraws_message=redrawn)
    return row


def _audit_rows(session: Session, *, emails: set[str], slack_user_id: str | None) -> list[dict[str, Any]]:
    """Audit rows by or about them (keyed by an address of theirs or their Slack id), whole; and rows about something
    else that name their Slack id in what they record (staff assigned them a question while they were away, asked
    them to add expertise, invited them to a work session): of those only that they name them — which record, what
    was done, when, and the fields that name them holding just their id (never who did it, the other people named
    beside them, or staff's own words)."""
    about = repo.list_audit_entries_about(session, emails=emails, slack_user_id=slack_user_id)
    rows = {e.id: _own_row(e) for e in about}
    if slack_user_id:
        pattern = re.compile(rf"(?<!\w){re.escape(slack_user_id)}(?!\w)")
        for entry in repo.list_audit_entries_naming(session, slack_user_id=slack_user_id):
            if entry.id in rows or not any(_names(value, pattern) for value in (entry.before, entry.after)):
                continue
            rows[entry.id] = {
                **_columns(entry, leave_out=("actor", "before", "after")),
                "before": _naming(entry.before, pattern, slack_user_id),
                "after": _naming(entry.after, pattern, slack_user_id),
            }
    return [rows[i] for i in sorted(rows)]


def _own_row(entry: AuditLog) -> dict[str, Any]:
    """An audit row by or about them, whole; of a pick refused to them, what they were told and not the reason
    behind it (``REFUSED_PICK_REASON``: that the one they chose withdrew or opted out; a refusal on an anonymous
    question is audited without any reason, as ``wieweet audit`` shows it)."""
    row = _columns(entry)
    if entry.entity_type == REFUSED_PICK_ENTITY and isinstance(row.get("after"), dict):
        row["after"] = {k: v for k, v in row["after"].items() if k != REFUSED_PICK_REASON}
    return row


def _naming(value: Any, pattern: re.Pattern[str], slack_user_id: str) -> Any:
    """Only what in ``value`` names ``slack_user_id``, each such text given as the id itself (None: nothing does)."""
    if isinstance(value, dict):
        kept = {
            (slack_user_id if _names(k, pattern) else str(k)): _naming(v, pattern, slack_user_id)
            for k, v in value.items()
            if _names(k, pattern) or _names(v, pattern)
        }
        return kept or None
    if isinstance(value, list | tuple):
        return [_naming(v, pattern, slack_user_id) for v in value if _names(v, pattern)] or None
    return slack_user_id if _names(value, pattern) else None


def _names(value: Any, pattern: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return pattern.search(value) is not None
    if isinstance(value, list | tuple):
        return any(_names(v, pattern) for v in value)
    if isinstance(value, dict):
        return any(_names(k, pattern) or _names(v, pattern) for k, v in value.items())
    return False


def _counts(data: dict[str, Any]) -> dict[str, int]:
    """How many records each section of an export holds (a single record: 1 or 0)."""
    counts: dict[str, int] = {}
    for key, value in data.items():
        if isinstance(value, list):
            counts[key] = len(value)
        elif key not in {"format", "generated_at", "person"}:
            counts[key] = 0 if value is None else 1
    return counts


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
