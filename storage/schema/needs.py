"""The network's knowledge needs (``bot.needs``): topics, the questions and gaps placed in them, the grouping's
refits, and proposed work sessions.

Part of the schema (``storage.models`` gathers every table; import the models from there).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import NEVER_REUSED_IDS, Base, utcnow
from storage.base import enum_column as _enum  # every enumeration column below
from storage.enums import ProposalStatus


class NeedTopic(Base):
    """A topic of the network's knowledge needs: questions and gaps that ask about the same thing.

    Topics are made by ``bot.needs`` and never renumbered: a topic keeps its id and label as questions join it.
    ``label`` is taken from a shareable (public) question only; it stays empty while the topic has none.
    """

    __tablename__ = "need_topics"
    __table_args__ = NEVER_REUSED_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    label_item: Mapped[str] = mapped_column(String(40), default="")  # the item the label came from, e.g. "q:12"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NeedItem(Base):
    """One question or knowledge gap placed in a topic (once; only a young topic of one question, never proposed
    nor acted on by staff, may later join a larger one: ``bot.needs.grouping``)."""

    __tablename__ = "need_items"
    __table_args__ = NEVER_REUSED_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("need_topics.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), unique=True)
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_gaps.id", ondelete="CASCADE"), unique=True)
    asked_at: Mapped[datetime] = mapped_column(index=True)  # the question's or gap's created_at
    similarity: Mapped[float] = mapped_column(Float, default=1.0)  # to the topic when it joined (1 for a seed)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class NeedFit(Base):
    """A full refit of the grouping's collection statistics (the terms' IDF, the centre of the meaning vectors, the
    compound vocabulary): they are fitted on the items placed up to ``last_item_id`` (``items`` of them) and kept
    until the collection has grown by a set share (``bot.needs.state``), so any process rebuilds the same ones."""

    __tablename__ = "need_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_item_id: Mapped[int] = mapped_column(default=0)  # need_items.id of the last item fitted on
    items: Mapped[int] = mapped_column(default=0)  # how many items were fitted on
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NeedProposal(Base):
    """A proposed work session on a topic. ``open_topic_id`` is the topic's id while the proposal is open or
    invited and NULL afterwards: unique, so there is at most one live proposal per topic, whoever claims it.
    ``invite_held_by`` is the invite submission (its inbox request key) that reserved the invitation of an open
    proposal until ``invite_held_until``, before any channel was made: another submission is refused meanwhile, the
    same one (a retry) keeps it, and an expired hold (a crashed attempt) can be taken over; ``invite_held_for`` is the
    staff member who submitted it (a Slack user id), so whoever is refused meanwhile is told whom; all three are NULL
    otherwise."""

    __tablename__ = "need_proposals"
    __table_args__ = NEVER_REUSED_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("need_topics.id", ondelete="CASCADE"), index=True)
    open_topic_id: Mapped[int | None] = mapped_column(unique=True)
    status: Mapped[ProposalStatus] = mapped_column(_enum(ProposalStatus, "proposal_status"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    organisations: Mapped[int] = mapped_column(default=0)  # distinct organisations when proposed
    questions: Mapped[int] = mapped_column(default=0)  # questions and gaps in the window when proposed
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    channel_id: Mapped[str | None] = mapped_column(String(32))  # where staff invited the people
    invite_held_by: Mapped[str | None] = mapped_column(String(200))
    invite_held_until: Mapped[datetime | None]
    invite_held_for: Mapped[str | None] = mapped_column(String(64))
    notes_url: Mapped[str] = mapped_column(String(2000), default="")
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practices.id", ondelete="SET NULL"))
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")  # staff's reason when dismissing
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NeedProposalRefresh(Base):
    """A proposal whose posts (the triage post, staff's DM copies) are to be rendered again from the stored state:
    a question or gap of its topic was withdrawn or made private. Written in the transaction of that change, so the
    update is tried until it is made (by any process, after a restart too); ``mark`` grows with each change, and a
    refresh removes the row only when no change came in meanwhile."""

    __tablename__ = "need_proposal_refreshes"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("need_proposals.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    mark: Mapped[int] = mapped_column(default=1)
    tries: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(index=True)
