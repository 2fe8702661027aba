"""The whole product's schema as typed SQLAlchemy 2 models.

Designed up front so that later features (routing, digests, self-service, privacy) add behaviour, not tables.
Conventions:

* every timestamp is a timezone-aware UTC ``datetime`` (``UTCDateTime`` stores naive UTC, returns aware UTC, the
  same on SQLite and PostgreSQL);
* enumerations are stored as short strings with a CHECK constraint (``native_enum=False``), portable and
  readable in plain SQL;
* list-valued register fields (expertise topics, tags, languages) are JSON arrays; themes are real rows linked by
  association tables so they can be renamed and counted.

The tables live in ``storage.schema``, one module per area (``register``: themes, experts, practices and the audit
log; ``questions``: questions and their routing; ``search``: gaps, result sets, feedback and stored vectors;
``digests``; ``needs``: the knowledge needs; ``delivery``: outbox, inbox and the Slack caches). This module gathers
them with the enumerations (``storage.enums``) and the base and column types (``storage.base``): import the schema
from here. Alembic's environment reads ``Base.metadata`` from here, with every table on it.
"""

from __future__ import annotations

from storage.base import Base, UTCDateTime, utcnow
from storage.enums import (
    Availability,
    Consent,
    DigestRunStatus,
    EscalationReason,
    EventKind,
    OutboxKind,
    Outcome,
    ProposalStatus,
    QuestionStatus,
    RecordStatus,
    RoutingStatus,
    TimerKind,
    Visibility,
)
from storage.schema.delivery import InboxRequest, OutboxMessage, ProcessedEvent, SlackUser
from storage.schema.digests import DigestRun, DigestSubscription
from storage.schema.needs import NeedFit, NeedItem, NeedProposal, NeedProposalRefresh, NeedTopic
from storage.schema.questions import Answer, ExpertDecline, Question, QuestionEvent, Routing, Timer, question_themes
from storage.schema.register import (
    AuditLog,
    ErasedIdentity,
    ErasureKey,
    Expert,
    Practice,
    Theme,
    expert_themes,
    is_stopped,
    practice_themes,
)
from storage.schema.search import Embedding, Feedback, KnowledgeGap, SearchLog, gap_key

__all__ = [
    "Answer",
    "AuditLog",
    "Availability",
    "Base",
    "Consent",
    "DigestRun",
    "DigestRunStatus",
    "DigestSubscription",
    "Embedding",
    "ErasedIdentity",
    "ErasureKey",
    "EscalationReason",
    "EventKind",
    "Expert",
    "ExpertDecline",
    "Feedback",
    "InboxRequest",
    "KnowledgeGap",
    "NeedFit",
    "NeedItem",
    "NeedProposal",
    "NeedProposalRefresh",
    "NeedTopic",
    "OutboxKind",
    "OutboxMessage",
    "Outcome",
    "Practice",
    "ProcessedEvent",
    "ProposalStatus",
    "Question",
    "QuestionEvent",
    "QuestionStatus",
    "RecordStatus",
    "Routing",
    "RoutingStatus",
    "SearchLog",
    "SlackUser",
    "Theme",
    "Timer",
    "TimerKind",
    "UTCDateTime",
    "Visibility",
    "expert_themes",
    "gap_key",
    "is_stopped",
    "practice_themes",
    "question_themes",
    "utcnow",
]
