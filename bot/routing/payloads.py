"""What each outbox message carries: everything the Slack layer needs to render it, and nothing private.

Rules enforced here, in one place:

* an anonymous question never carries the asker's name or Slack id, to anyone but the asker;
* a message for a channel never carries the content of a private or anonymous question: ``channel_question``
  (the question's own thread) refuses outright; ``staff_question`` (the triage channel) redacts those and
  questions asked in a private channel too.
"""

from __future__ import annotations

from typing import Any

from storage.models import Answer, Expert, Question, Routing, Visibility

AUDIENCE_EXPERT = "expert"  # a person asked to answer (DM)
AUDIENCE_ASKER = "asker"  # the person who asked (DM)
AUDIENCE_CHANNEL = "channel"  # the question's channel thread (public questions only)
AUDIENCE_STAFF = "staff"  # the triage channel


class PrivacyError(AssertionError):
    """A code path tried to put a private question's content in a channel message (a bug, never user input)."""


def _question_core(question: Question) -> dict[str, Any]:
    return {
        "question_id": question.id,
        "text": question.text,
        "context": question.context,
        "themes": [t.key for t in question.themes],
        "theme_labels": {t.key: {"nl": t.label_nl, "en": t.label_en} for t in question.themes},
        "desired_by": question.desired_by.isoformat() if question.desired_by else None,
        "visibility": question.visibility.value,
        "question_language": question.language,
        "asked_at": question.created_at.isoformat() if question.created_at else None,
    }


def _asker_fields(question: Question) -> dict[str, Any]:
    if question.visibility is Visibility.ANONYMOUS:
        return {"asker_name": None, "asker_slack_id": None, "anonymous": True}
    return {"asker_name": question.asker_name or None, "asker_slack_id": question.asker_slack_id, "anonymous": False}


def is_public(question: Question) -> bool:
    """May be answered in its own channel thread (the audience that saw the question)."""
    return question.visibility is Visibility.PUBLIC


def is_shareable(question: Question) -> bool:
    """May be shown beyond the people involved: public, and not asked in a private channel."""
    return question.visibility is Visibility.PUBLIC and not question.channel_is_private


def expert_question(question: Question, additions: list[str]) -> dict[str, Any]:
    """The question as the people asked to answer it see it (no asker when anonymous)."""
    return {**_question_core(question), **_asker_fields(question), "additions": list(additions)}


def asker_question(question: Question) -> dict[str, Any]:
    """The question as its asker sees it (in DMs to the asker: their own words)."""
    return {**_question_core(question), "anonymous": question.visibility is Visibility.ANONYMOUS}


def channel_question(question: Question) -> dict[str, Any]:
    """The question for its channel thread. Only ever for public questions."""
    if not is_public(question):
        raise PrivacyError(f"question {question.id} is {question.visibility.value}: no channel message")
    return {**_question_core(question), **_asker_fields(question)}


def staff_question(question: Question) -> dict[str, Any]:
    """The question for the staff triage channel: content only when shareable, else redacted."""
    core = _question_core(question)
    if is_shareable(question):
        return {**core, **_asker_fields(question), "redacted": False}
    core.update(text=None, context=None)
    return {**core, "asker_name": None, "asker_slack_id": None, "anonymous": True, "redacted": True}


def person(expert: Expert | None, slack_user_id: str | None, fallback_name: str | None = None) -> dict[str, Any]:
    return {
        "expert_id": expert.id if expert else None,
        "name": (expert.name if expert else fallback_name) or None,
        "organisation": expert.organisation if expert else None,
        "slack_user_id": slack_user_id,
        "in_register": expert is not None,
    }


def routing_fields(routing: Routing) -> dict[str, Any]:
    return {
        "routing_id": routing.id,
        "routing_status": routing.status.value,
        "score": routing.score,
        "reasons": list(routing.reasons),
        "language": routing.language,
        "volunteered": routing.volunteered,
    }


def answer_fields(answer: Answer) -> dict[str, Any]:
    return {
        "answer_id": answer.id,
        "answer_text": answer.text,
        "answered_by": {
            "expert_id": answer.expert_id,
            "name": answer.answered_by_name or None,
            "organisation": answer.organisation or None,
            "slack_user_id": answer.answered_by_slack_id,
        },
        "answered_at": answer.created_at.isoformat() if answer.created_at else None,
    }
