"""What the audit log records besides changes to a record: reads that copy data about people out of wieweet (files
and machine-readable output) and what the retention purge deleted. A person's file exported is recorded by
``export_personal_data`` itself; here the steering-group report (expert names, topics from questions' wording), the
questions waiting for staff listed with their whole texts (``--json``), and a purge. What staff see on screen in
their work (the triage channel, the Home tab, ``/wieweet beheer``, the plain ``wieweet escalated`` table) is not
recorded. Ids and counts only: never a question's text or anyone's data.

Part of ``bot.privacy`` (import from there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bot.actors import Actor
from storage import register_repo
from storage.enums import ESCALATED_ENTITY, PURGE_ENTITY, REPORT_ENTITY


def record_purge(session: Session, *, actor: Actor, counts: Mapping[str, int], now: datetime) -> None:
    """A retention purge (not a dry run; by hand, or the daily one as the system): how many rows of each kind
    went."""
    record_counts(
        session, actor=actor, action="purge", entity_type=PURGE_ENTITY, key="expired", after=dict(counts), now=now
    )


class ReportFigures(Protocol):
    """What the audit log counts of a knowledge-needs report (``bot.needs.report.ReportData``)."""

    @property
    def period(self) -> str: ...
    @property
    def asked(self) -> int: ...
    @property
    def answered(self) -> int: ...
    @property
    def topics(self) -> Sequence[object]: ...
    @property
    def experts(self) -> Sequence[object]: ...


def record_report(session: Session, *, actor: Actor, report: ReportFigures, now: datetime) -> None:
    """A knowledge-needs report was made for ``actor`` (Slack ``rapport`` or ``wieweet report``): its period, and
    how many questions, topics and named experts it shows."""
    counts = {
        "asked": report.asked,
        "answered": report.answered,
        "topics": len(report.topics),
        "experts_named": len(report.experts),
    }
    record_counts(
        session, actor=actor, action="report", entity_type=REPORT_ENTITY, key=report.period, after=counts, now=now
    )


def record_escalated_list(
    session: Session, *, actor: Actor, shown: Sequence[int], questions: int, held: int, now: datetime
) -> None:
    """The questions waiting for staff were listed with their texts (``wieweet escalated --json``): which questions'
    texts were shown (``shown``: ids), and how many were listed."""
    after = {"questions": questions, "held": held, "texts_shown": len(shown), "question_ids": sorted(shown)}
    record_counts(session, actor=actor, action="list", entity_type=ESCALATED_ENTITY, key="json", after=after, now=now)


def record_counts(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    key: str,
    after: Mapping[str, object],
    now: datetime,
) -> None:
    """One audit row of ids and counts only (no ``before``): what a read, a purge or the erasure ledger did."""
    register_repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=action,
        entity_type=entity_type,
        entity_key=key,
        before=None,
        after=dict(after),
        now=now,
    )
