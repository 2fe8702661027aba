"""What the asker of a question was told: whom it went to, read back from the updates queued for them.

The asker hears "your question went to X" once per question and person (``RoutingCore.tell_asker_asked``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import outbox
from bot.outbox import AskerUpdateKind, Person
from storage import outbox_repo
from storage.models import OutboxKind


def person_key(someone: Person) -> str:
    """Who a message names, as one key: their Slack id, else their register entry."""
    return someone.slack_user_id or f"x{someone.expert_id}"


def told_asker_of(session: Session, question_id: int) -> set[str]:
    """Everyone the asker of ``question_id`` was told their question went to (``person_key``), from the updates
    queued for them (sent or not: queued is told, the outbox delivers it)."""
    told: set[str] = set()
    for message in outbox_repo.list_outbox_messages(session, question_id=question_id, kind=OutboxKind.ASKER_UPDATE):
        try:
            update = outbox.read_as(outbox.AskerUpdate, message.payload)
        except outbox.PayloadError:
            continue
        if update.update in (AskerUpdateKind.ROUTED, AskerUpdateKind.ADDED):
            told.update(person_key(p) for p in update.experts)
    return told
