"""What the "who knows" search keeps: knowledge gaps, the result sets shown and the feedback on them, and the
stored meaning vectors of the searched texts.

Part of the schema (``storage.models`` gathers every table; import the models from there).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import NEVER_REUSED_IDS, Base, utcnow

_NOT_A_WORD = re.compile(r"[\W_]+")


def gap_key(normalized: str | None, query: str) -> str | None:
    """What knowledge gaps are grouped and counted by — the one rule of the digest, the knowledge needs and the needs
    report: the stored normalised query — else the query — folded: case (``casefold``, not the database's
    ``lower``, which folds only A-Z on SQLite), spaces and punctuation.

    None for a gap without a single word (``???``, an emoji, a stray ``…``): it is not counted anywhere. Such a
    search says nothing about what the network lacks, cannot be quoted or grouped into a need, and counting it
    would let the report's and the needs' figures grow with noise that no digest or topic can ever show."""
    text = unicodedata.normalize("NFC", normalized or query).casefold()
    return " ".join(_NOT_A_WORD.split(text)).strip() or None


class KnowledgeGap(Base):
    """A question that matched nobody well: what the network lacks knowledge about."""

    __tablename__ = "knowledge_gaps"
    __table_args__ = NEVER_REUSED_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(500), index=True)
    themes: Mapped[list[str]] = mapped_column(default=list)
    asker_slack_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    # private text: not asked where a public channel's members read it (a private conversation, a private or
    # anonymous question, a /wieweet search answered to the asker alone); never quoted, its asker never named
    channel_is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="cli")  # cli | console | slack | routing
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # the question a routing gap was recorded for (revision 0018): withdrawing it makes the gap private too
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL"), default=None, index=True
    )

    @property
    def key(self) -> str | None:
        """``gap_key`` of this gap (None: not counted)."""
        return gap_key(self.normalized, self.query)


class SearchLog(Base):
    """One "who knows" result set as shown, so 👍/👎 feedback and "more results" refer to exactly it.

    It is the asker's: only they may use its buttons, and — once the answer was posted where others see it
    (``posted_channel_id``: a thread answer, or shared) — the members of that conversation.
    """

    __tablename__ = "search_logs"
    __table_args__ = NEVER_REUSED_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    user_slack_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    posted_channel_id: Mapped[str | None] = mapped_column(String(32))  # revision 0003
    gap: Mapped[bool] = mapped_column(Boolean, default=False)
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_log_id: Mapped[int] = mapped_column(ForeignKey("search_logs.id", ondelete="CASCADE"))
    user_slack_id: Mapped[str | None] = mapped_column(String(32))
    vote: Mapped[int]  # +1 or -1
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("search_log_id", "user_slack_id", name="uq_feedback_search_user"),)


class Embedding(Base):
    """A text's vector under one embedding model (the meaning-based matching signal, ``bot.matching.semantic``).

    Keyed by the model id and the SHA-256 of the embedded text, not by a record: computed once in the background,
    reused across restarts, replicas and identical texts. A vector whose text no record has any more is purged by
    the embedding job (``bot.knowledge.KnowledgeBase.embed_pending``)."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("model", "content_hash", name="uq_embeddings_model_content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(80))
    content_hash: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, little-endian
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
