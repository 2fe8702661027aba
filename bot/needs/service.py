"""Knowledge needs without Slack: topics of the network's questions, proposed work sessions, recruiting experts.

``NeedsService`` is made once per process with the process's ``KnowledgeBase`` and is the one object the CLI, the
job runner and the Slack layer call. It is a facade, like ``bot.routing.service.RoutingService``: each use case is
a method of the part that owns it, exposed under the names callers use:

* ``bot.needs.topics.Topics`` — update_topics (the grouping run), overview (a period's topics and figures;
  ``overview_after_grouping`` places the new questions first, in a unit of work of its own);
* ``bot.needs.proposals.Proposals`` — propose_due (the job), propose_sessions, proposal, list_proposals,
  proposal_message_ref(s), live_views_quoting, current_view; ``bot.needs.proposal_actions.ProposalActions`` —
  plan_invite, release_invite, record_invite, dismiss_proposal, complete_proposal; ``bot.needs.proposal_refresh``
  — mark_for_refresh and the refreshes of the proposals' posts;
* ``bot.needs.recruiting.Recruiting`` — recruiting, ask_to_add_expertise, expertise_request_refs,
  add_topic_to_profile.

They share one ``bot.needs.core.NeedsCore`` (the knowledge base, the configuration, the meaning signal, one read
of the needs, the search and the privacy rules). Every function takes the session of the caller's unit of work
and never commits, except ``overview_after_grouping``'s grouping step (committed on its own before the overview
reads, as ``bot.needs.report_data.collect_report_to_share``'s; both skip it when the lock is held, on SQLite also by
the caller's own unit when it has written). The needs pass's units of work are ``bot.needs.jobs``. The
steering-group report is ``bot.needs.report``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.config import Settings
from bot.knowledge import DatabaseVectorStore, KnowledgeBase
from bot.needs import proposal_refresh
from bot.needs.core import AskerDirectory, NeedsConfig, NeedsCore, register_directory
from bot.needs.meaning import QuestionMeaning
from bot.needs.model import NeedsOverview
from bot.needs.periods import Period
from bot.needs.proposal_actions import ProposalActions
from bot.needs.proposals import Proposals
from bot.needs.recruiting import Recruiting
from bot.needs.topics import Topics

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class NeedsService:
    """Topics, proposals and recruiting (see the module docstring)."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        *,
        config: NeedsConfig | None = None,
        meaning: QuestionMeaning | None = None,
        directory: AskerDirectory = register_directory,
    ) -> None:
        """``meaning``: questions' vectors for grouping by meaning as well as words (``from_settings`` gives the
        knowledge base's embedder one when the meaning signal is on); None groups by words alone."""
        self.core = NeedsCore(knowledge, config=config or NeedsConfig(), meaning=meaning, directory=directory)
        self.knowledge = knowledge
        knowledge.on_erasure(self._forget_erased)  # once; held weakly (a service no longer used is not kept)
        self.config = self.core.config
        self.topics = Topics(self.core)
        self.proposals = Proposals(self.core, self.topics)
        self.proposal_actions = ProposalActions(self.proposals)
        self.recruits = Recruiting(self.core)

        # topics
        self.update_topics = self._following_erasures(self.topics.update_topics)
        self.overview = self._following_erasures(self.topics.overview)
        # work sessions
        self.propose_sessions = self._following_erasures(self.proposals.propose_sessions)
        self.propose_due = self._following_erasures(self.proposals.propose_due)
        self.proposal = self._following_erasures(self.proposals.proposal)
        self.list_proposals = self._following_erasures(self.proposals.list_proposals)
        self.plan_invite = self._following_erasures(self.proposal_actions.plan_invite)
        self.release_invite = self.proposal_actions.release_invite
        self.record_invite = self._following_erasures(self.proposal_actions.record_invite)
        self.dismiss_proposal = self._following_erasures(self.proposal_actions.dismiss_proposal)
        self.complete_proposal = self._following_erasures(self.proposal_actions.complete_proposal)
        self.proposal_message_ref = self._following_erasures(self.proposals.proposal_message_ref)
        self.proposal_message_refs = self._following_erasures(self.proposals.proposal_message_refs)
        self.live_views_quoting = self._following_erasures(self.proposals.live_views_quoting)
        self.current_view = self._following_erasures(self.proposals.current_view)
        self.mark_for_refresh = proposal_refresh.mark_for_refresh
        self.due_refreshes = proposal_refresh.due_refreshes
        self.claim_refresh = proposal_refresh.claim_refresh
        self.holds_refresh = proposal_refresh.holds_refresh
        self.refreshed = proposal_refresh.refreshed
        self.refresh_later = proposal_refresh.refresh_later
        # recruiting
        self.recruiting = self._following_erasures(self.recruits.recruiting)
        self.ask_to_add_expertise = self._following_erasures(self.recruits.ask_to_add_expertise)
        self.expertise_request_refs = self._following_erasures(self.recruits.expertise_request_refs)
        self.add_topic_to_profile = self._following_erasures(self.recruits.add_topic_to_profile)

    @classmethod
    def from_settings(cls, knowledge: KnowledgeBase, settings: Settings) -> NeedsService:
        """The service as ``wieweet run`` and the CLI make it: grouping by meaning too when ``Settings.semantic``
        is on and the embedder is installed (``KnowledgeBase.embedder``), else by words."""
        embedder = knowledge.embedder if settings.semantic else None
        meaning = QuestionMeaning(embedder, DatabaseVectorStore(knowledge.database)) if embedder is not None else None
        return cls(knowledge, config=NeedsConfig.from_settings(settings), meaning=meaning)

    def _forget_erased(self) -> None:
        """After an erasure (``KnowledgeBase.on_erasure``): the texts, analyses and vectors the grouping remembered go
        (its state is rebuilt from the database at the next run, as after another replica's: ``bot.needs.state``)."""
        self.core.vectoriser.forget()
        self.topics.forget()
        if self.core.meaning is not None:
            self.core.meaning.forget_all()

    @contextmanager
    def erasures_followed(self) -> Iterator[None]:
        """Around a pass over the questions' texts: an erasure followed meanwhile (``KnowledgeBase.erasures``, by
        another thread) dropped the caches, which the pass may have refilled with texts it read before (its own and
        the matcher's analyses): they go again at its end. Every method above runs within it; so does the job's
        pass (``bot.needs.jobs``)."""
        seen = self.knowledge.erasures
        try:
            yield
        finally:
            if self.knowledge.erasures != seen:  # the matcher's memos of analysed words too: all go again
                self.knowledge.forget_derived()

    def _following_erasures(self, run: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(run)
        def within(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.erasures_followed():
                return run(*args, **kwargs)

        return within

    def overview_after_grouping(
        self,
        session: Session,
        *,
        actor: Actor,
        period: Period,
        now: datetime,
        min_items: int = 1,
        limit: int | None = None,
    ) -> NeedsOverview:
        """``overview`` with the new questions placed first, in a unit of work of its own on the knowledge base's
        database, committed before the overview reads in ``session`` (the caller's): the grouping holds its lock (on
        SQLite the whole database's write lock, so every other writer waits) for that step only, never while the
        figures are read and shown. Skipped at once when another process (or, on SQLite, the caller's own
        transaction, when it has written: it holds the write lock until it commits) holds the lock: the overview
        shows what is placed so far, as a report does (``bot.needs.report_data.collect_report_to_share``). No
        Slack request writes before it asks (the user's language is cached in a transaction of its own)."""
        actor.require_staff("see knowledge needs")
        with self.knowledge.database.session() as grouping:
            self.update_topics(grouping, now=now, wait=False)
        return self.overview(
            session, actor=actor, period=period, now=now, update=False, min_items=min_items, limit=limit
        )

    @property
    def meaning(self) -> QuestionMeaning | None:
        """The meaning signal the grouping uses (None: by words alone)."""
        return self.core.meaning

    def words_only(self, reason: str) -> None:
        """Group by words from now on (the embedder failed); logged once."""
        if self.core.meaning is not None:
            log.error("knowledge needs: grouping by words only from now on: %s", reason)
            self.core.meaning = None
