"""Topics: the grouping run that places new questions and gaps, and the figures of a period's topics.

* ``update_topics`` places the questions and gaps not yet in a topic (``bot.needs.grouping``) and stores the
  placement: a topic keeps its id and its label as questions join it. A run is incremental (only new items are
  placed) and serialised across processes. A topic whose label may no longer be shown (``shown_label``: its item
  withdrawn, closed unanswered or moved to a private channel) is labelled again, as one without a label.
* ``overview`` — staff only — the topics of a period with their figures (``TopicView``).
"""

from __future__ import annotations

import gc
import threading
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.needs.analysis import Concepts, QuestionVocabulary, detect_language
from bot.needs.core import (
    LIVE,
    NeedsCore,
    NeedsState,
    asker_key,
    count_needs,
    may_be_quoted,
    median_hours,
    source_order,
    trend_of,
)
from bot.needs.grouping import Grouper, GroupingResult, GroupItem, Vector
from bot.needs.model import NeedsOverview, TopicView, UpdateReport
from bot.needs.periods import Period
from bot.needs.state import GroupingCache, needs_refit
from storage import needs_repo as repo
from storage import proposal_repo
from storage.models import NeedFit

QUOTED_MAX = 5
NO_LABEL = "-"  # label_item of a topic none of whose members has shareable words
_PENDING_CACHE = "wieweet.needs.pending_cache"  # session.info: the state a run left, kept once the run commits


class Topics:
    """The grouping run and the topics' figures (see the module docstring)."""

    def __init__(self, core: NeedsCore) -> None:
        self.core = core
        self._languages: dict[str, str] = {}
        self._cache: GroupingCache | None = None  # the state the last committed run left (``bot.needs.state``)
        self.rebuilds = 0  # how often the state was rebuilt from the database / caught up with another replica's
        self.catch_ups = 0
        # one run at a time in this process: the database lock does not serialise threads on SQLite, and a request
        # thread (``overview``) may run while the job runner does
        self._lock = threading.Lock()

    # --- grouping -------------------------------------------------------------------------------------------------

    def concepts(self, sources: Sequence[repo.NeedSource]) -> dict[str, Concepts]:
        return self._analyse(sources)[1]

    def _analyse(
        self, sources: Sequence[repo.NeedSource], *, basis: Collection[str] | None = None
    ) -> tuple[QuestionVocabulary, dict[str, Concepts]]:
        """Each source's analysis, compounds split with the vocabulary of the ``basis`` items' words (all of
        ``sources`` when None); returns the vocabulary too."""
        vectoriser = self.core.vectoriser
        base = {s.key: vectoriser.concepts(s.text) for s in sources}
        words = list(base.values()) if basis is None else [base[k] for k in sorted(basis) if k in base]
        vocabulary = QuestionVocabulary(words, weight=vectoriser.weights.compound)
        return vocabulary, {key: vocabulary.extend(c) for key, c in base.items()}

    def language(self, text: str) -> str:
        got = self._languages.get(text)
        if got is None:
            if len(self._languages) >= 200_000:
                self._languages.clear()
            got = self._languages[text] = detect_language(text)
        return got

    def grouper(self) -> Grouper:
        meaning, config = self.core.meaning, self.core.config
        return Grouper(
            threshold=config.similarity,
            meaning_threshold=config.meaning_similarity,
            meaning_weight=config.meaning_weight,
            meaning_prior=meaning.prior if meaning is not None else None,
            movable_size=config.movable_size,
            replace_size=config.replace_size,
        )

    def forget(self) -> None:
        """An erasure: the kept state and the texts' languages go; the next run rebuilds them from the database."""
        self._cache = None
        self._languages = {}

    def update_topics(self, session: Session, *, now: datetime, wait: bool = True) -> UpdateReport:
        """Place the questions and gaps not yet in a topic; label topics that have no label yet.

        Serialised across processes (``wait=False``: return ``busy`` at once when another process is grouping).
        With the meaning signal on, a question whose vector is not computed yet waits for the needs pass
        (``bot.needs.jobs``) that computes it; it is counted in ``waiting``."""
        if not self._lock.acquire(blocking=wait):
            return UpdateReport(items=0, placed=0, new_topics=0, joined=0, labelled=0, busy=True)
        try:
            return self._locked_update(session, now=now, wait=wait)
        finally:
            self._lock.release()

    def _locked_update(self, session: Session, *, now: datetime, wait: bool) -> UpdateReport:
        if not repo.claim_needs_lock(session, wait=wait):
            return UpdateReport(items=0, placed=0, new_topics=0, joined=0, labelled=0, busy=True)
        # The cyclic garbage collector is paused meanwhile (as in the matcher's build): a first run makes hundreds of
        # thousands of small dicts and tuples (no cycles), and the collections their allocation triggers each scan
        # the process's millions of live objects (about a tenth of a first run at 50,000 questions).
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._update_topics(session, now=now)
        finally:
            if paused:
                gc.enable()

    def _update_topics(self, session: Session, *, now: datetime) -> UpdateReport:
        fit = repo.get_last_need_fit(session)
        if self._cache is not None and (fit is None or self._cache.fit_id != fit.id):
            self._cache = None  # a refit elsewhere or an erasure (``bot.privacy``): nothing of the old state is kept
        self._drop_unshown_labels(session, now=now)
        unplaced = repo.list_unplaced_need_sources(session)
        meaning = self.core.meaning
        vectors: Mapping[str, Vector] = meaning.vectors(s.text for s in unplaced) if meaning else {}
        if not repo.count_unlabelled_need_topics(session):
            if not unplaced:
                return UpdateReport(items=0, placed=0, new_topics=0, joined=0, labelled=0)
            if meaning is not None and not vectors:
                # Everything new still waits for its vector: a run would place nothing and label nothing, so
                # nothing is read, analysed or grouped (the report is the one that run would give).
                return UpdateReport(
                    items=repo.count_need_sources(session),
                    placed=0,
                    new_topics=0,
                    joined=0,
                    labelled=0,
                    waiting=len(unplaced),
                )
        waiting = {s.key for s in unplaced if meaning is not None and s.text not in vectors}
        ready = [s for s in unplaced if s.key not in waiting]
        extent = repo.get_need_items_extent(session)
        grouper = self.grouper()
        first_new = repo.get_next_need_topic_id(session)  # the ids the new topics get (under the needs lock)
        movable = (
            repo.list_movable_need_topic_ids(
                session,
                created_since=now - timedelta(weeks=self.core.config.movable_weeks),
                max_items=grouper.movable_max,
            )
            if ready and grouper.movable_max > 0
            else []
        )
        if needs_refit(fit.items if fit else None, extent[0] + len(ready), growth=self.core.config.refit_growth):
            cache, result, sources = self._refit(
                session, grouper, unplaced=unplaced, vectors=vectors, first_new=first_new, movable=movable
            )
        else:
            assert fit is not None
            kept = self._cache
            self._cache = None  # until this run is stored
            with_meaning = meaning is not None
            if kept is not None and (
                kept.valid(fit_id=fit.id, extent=extent, with_meaning=with_meaning)
                or self._catch_up(session, grouper, kept, extent, with_meaning=with_meaning)
            ):
                cache = kept
            else:
                cache = self._rebuild(session, grouper, fit)
            concepts = {s.key: cache.vocabulary.extend(self.core.vectoriser.concepts(s.text)) for s in ready}
            cache.concepts.update((s.text, concepts[s.key]) for s in ready)
            items = [self._item(s, concepts[s.key], vectors) for s in ready]
            result = grouper.place(cache.state, items, next_topic_id=first_new, movable=movable)
            sources = {s.key: s for s in ready}
        real = _store_placements(session, result, sources, first_new=first_new, now=now)
        cache.extent = repo.get_need_items_extent(session)
        if fit is None or cache.fit_id != fit.id:  # this run refitted: recorded on the items it was fitted on
            cache.fit_id = repo.create_need_fit(
                session, last_item_id=cache.extent[1], items=len(cache.state.rank), now=now
            ).id
        labelled = self._label_topics(session, cache, real=real, read=sources, now=now)
        # kept for the next run unless a new topic got another database id than the grouping gave it (a gap in
        # the ids, e.g. after a rolled-back run on PostgreSQL): the next run then rebuilds under the stored ids
        if all(db_id == topic_id for topic_id, db_id in real.items()):
            self._keep_after_commit(session, cache)
        return UpdateReport(
            items=extent[0] + len(unplaced),
            placed=len(result.placements),
            new_topics=len(real),
            joined=sum(1 for p in result.placements if p.topic_id < first_new),
            labelled=labelled,
            waiting=len(waiting),
        )

    def _keep_after_commit(self, session: Session, cache: GroupingCache) -> None:
        """Keep ``cache`` for the next run once this run's transaction commits (a rolled-back run leaves nothing:
        its placements never happened)."""
        if _PENDING_CACHE not in session.info:
            event.listen(session, "after_commit", self._publish)
            event.listen(session, "after_rollback", _forget_cache)
        session.info[_PENDING_CACHE] = cache

    def _publish(self, session: Session) -> None:
        cache = session.info.pop(_PENDING_CACHE, None)
        if cache is not None:
            with self._lock:
                self._cache = cache

    def _item(self, source: repo.NeedSource, concepts: Concepts, vectors: Mapping[str, Vector]) -> GroupItem:
        return GroupItem(
            source.key,
            source_order(source),
            concepts,
            source.text,
            vectors.get(source.text),
            self.language(source.text),
        )

    def _refit(
        self,
        session: Session,
        grouper: Grouper,
        *,
        unplaced: Sequence[repo.NeedSource],
        vectors: Mapping[str, Vector],
        first_new: int,
        movable: Collection[int],
    ) -> tuple[GroupingCache, GroupingResult, dict[str, repo.NeedSource]]:
        """The full run: the statistics fitted on every question and gap that is placed or can be placed now
        (a question still waiting for its vector is left for a later run), every topic summed under them.
        ``unplaced`` and their ``vectors`` are this run's, read already: only the placed items are read here."""
        meaning = self.core.meaning
        placed = repo.list_need_sources(session, placed=True)
        sources = sorted([*placed, *unplaced], key=source_order)
        assigned = repo.list_need_assignments(session)
        if meaning and placed:
            vectors = {**vectors, **meaning.vectors(s.text for s in placed)}
        sources = [s for s in sources if not meaning or s.key in assigned or s.text in vectors]
        vocabulary, concepts = self._analyse(sources)
        items = [self._item(s, concepts[s.key], vectors) for s in sources]
        state = grouper.start(items, assigned=assigned, fit=grouper.fit(items))
        new = [i for i in items if i.key not in assigned]
        result = grouper.place(state, new, next_topic_id=first_new, movable=movable)
        by_text = {s.text: concepts[s.key] for s in sources}
        cache = GroupingCache(-1, (0, 0), meaning is not None, vocabulary, state, by_text)
        return cache, result, {s.key: s for s in sources}

    def _catch_up(
        self, session: Session, grouper: Grouper, kept: GroupingCache, extent: tuple[int, ...], *, with_meaning: bool
    ) -> bool:
        """Bring the kept state up to the database when the only change since is items placed after its last item
        (another replica's runs under the same refit): their extent added to the kept one gives the database's;
        anything else (a move, a deletion, an id reused) does not, and the state is rebuilt. The items are added
        as ``_rebuild`` sums them (``Grouper.add_placed``)."""
        if kept.with_meaning != with_meaning or len(kept.extent) != len(extent) or len(extent) != 5:
            return False
        rows = repo.list_need_item_rows_after(session, after_id=kept.extent[1])
        if not rows:
            return False
        count, _, by_topic, questions, gaps = kept.extent
        added = (
            count + len(rows),
            rows[-1][0],
            by_topic + sum(item_id * topic for item_id, _, topic, _, _ in rows),
            questions + sum(q for *_, q, _ in rows),
            gaps + sum(g for *_, g in rows),
        )
        assigned = {key: topic for _, key, topic, _, _ in rows}
        if added != extent or any(key in kept.state.rank for key in assigned):
            return False
        sources = repo.list_need_sources(session, keys=list(assigned))
        if len(sources) != len(assigned):
            return False
        meaning = self.core.meaning
        vectors: Mapping[str, Vector] = meaning.vectors(s.text for s in sources) if meaning else {}
        concepts = {s.key: kept.vocabulary.extend(self.core.vectoriser.concepts(s.text)) for s in sources}
        grouper.add_placed(kept.state, [self._item(s, concepts[s.key], vectors) for s in sources], assigned=assigned)
        kept.concepts.update((s.text, concepts[s.key]) for s in sources)
        kept.extent = extent
        self.catch_ups += 1
        return True

    def _rebuild(self, session: Session, grouper: Grouper, fit: NeedFit) -> GroupingCache:
        """The state of the last refit and the runs since, from the stored placements: the statistics fitted on
        the items placed up to the refit, every topic summed from its members (what the runs since left)."""
        self.rebuilds += 1
        meaning = self.core.meaning
        rows = repo.list_need_item_rows(session)
        assigned = {key: topic for _, key, topic in rows}
        basis = {key for item_id, key, _ in rows if item_id <= fit.last_item_id}
        sources = [s for s in repo.list_need_sources(session) if s.key in assigned]
        vectors: Mapping[str, Vector] = meaning.vectors(s.text for s in sources) if meaning else {}
        vocabulary, concepts = self._analyse(sources, basis=basis)
        items = [self._item(s, concepts[s.key], vectors) for s in sources]
        fitted = grouper.fit([i for i in items if i.key in basis])
        state = grouper.start(items, assigned=assigned, fit=fitted)
        extent = repo.get_need_items_extent(session)
        by_text = {s.text: concepts[s.key] for s in sources}
        return GroupingCache(fit.id, extent, meaning is not None, vocabulary, state, by_text)

    def _drop_unshown_labels(self, session: Session, *, now: datetime) -> int:
        """Blank the stored label of each topic with members whose label may no longer be shown (its item withdrawn,
        closed unanswered, or moved to a private channel: ``shown_label``'s rule), so that ``_label_topics`` labels it
        again from the members that may be quoted, as a topic without a label. That item is not shareable, so its
        words are not chosen again; a topic with no such member is marked ``NO_LABEL``. Only the labels' items are
        read, without their texts. Returns how many were blanked."""
        gone = [item.topic_id for item in repo.list_need_label_items(session) if not may_be_quoted(item)]
        for topic in repo.list_need_topics(session, ids=gone) if gone else []:
            topic.label, topic.label_item, topic.updated_at = "", "", now
        if gone:
            session.flush()
        return len(gone)

    def _label_topics(
        self,
        session: Session,
        cache: GroupingCache,
        *,
        real: Mapping[int, int],
        read: Mapping[str, repo.NeedSource],
        now: datetime,
    ) -> int:
        """Label the topics without one from their most central shareable member (``NO_LABEL``: none has
        shareable words yet); returns how many were labelled. Only the unlabelled topics' members are read, and of
        those only the ones this run has not read already (``read``: a first run reads nothing more)."""
        topics = cache.state.topics
        ids = {real.get(t, t): t for t in topics}  # database id -> the grouping's id (new topics: provisional)
        rows = [row for row in repo.list_unlabelled_need_topics(session) if row.id in ids]
        members = {row.id: topics[ids[row.id]].members for row in rows}
        keys = [k for row in rows for k in members[row.id]]
        sources = {k: read[k] for k in keys if k in read}
        sources.update((s.key, s) for s in repo.list_need_sources(session, keys=[k for k in keys if k not in read]))
        # each member's words from the text just read (an erasure may have redacted it since it was placed)
        known, analyse = cache.concepts, self.core.vectoriser.concepts
        concepts: dict[str, Concepts] = {}
        for key, source in sources.items():
            got = known.get(source.text)
            concepts[key] = got if got is not None else cache.vocabulary.extend(analyse(source.text))
        labelled = 0
        for row in rows:
            chosen = _label(members[row.id], sources, concepts)
            if chosen is not None:
                row.label, row.label_item = chosen[1][:200], chosen[0]
                labelled += 1
            elif row.label_item == NO_LABEL:
                continue
            else:
                row.label_item = NO_LABEL
            row.updated_at = now
        session.flush()
        return labelled

    # --- figures ----------------------------------------------------------------------------------------------------

    def topic_view(
        self,
        state: NeedsState,
        topic_id: int,
        items: Sequence[repo.NeedSource],
        period: Period,
        *,
        now: datetime,
        live: Mapping[int, int],
    ) -> TopicView:
        inside = [s for s in items if period.contains(s.created_at)]
        questions = [s for s in inside if s.key.startswith("q:")]
        organisations: set[str] = set()
        cities: set[str] = set()
        for source in inside:
            asker = state.asker(source)
            if asker is not None:
                if asker.organisation:
                    organisations.add(asker.organisation.casefold())
                if asker.city:
                    cities.add(asker.city.casefold())
        answered = [s for s in questions if s.answered_at is not None]
        durations = [max(0.0, (s.answered_at - s.created_at).total_seconds()) for s in answered if s.answered_at]
        earlier = [period.previous(k) for k in range(1, self.core.config.trend_periods + 1)]
        previous = tuple(count_needs(s for s in items if p.contains(s.created_at)) for p in earlier)
        shareable = [s for s in inside if may_be_quoted(s)]
        themes = Counter(k for s in inside for k in s.themes)
        label = state.labels.get(topic_id, "")
        result = self.core.search(self.core.query(inside or items, label), now=now)
        return TopicView(
            id=topic_id,
            label=label,
            themes=tuple(k for k, _ in sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]),
            questions=len(questions),
            gaps=count_needs(s for s in inside if not s.key.startswith("q:")),
            askers=len({asker_key(s) for s in inside}),
            organisations=len(organisations),
            cities=len(cities),
            answered=len(answered),
            median_answer_hours=median_hours(durations),
            coverage=self.core.coverage_of(result),
            trend=trend_of(count_needs(inside), previous),
            previous=previous,
            quoted=tuple(dict.fromkeys(s.text.strip() for s in reversed(shareable)))[:QUOTED_MAX],
            not_quoted=len(inside) - len(shareable),
            first_asked=inside[0].created_at if inside else None,
            last_asked=inside[-1].created_at if inside else None,
            proposal_id=live.get(topic_id),
        )

    def overview(
        self,
        session: Session,
        *,
        actor: Actor,
        period: Period,
        now: datetime,
        update: bool = True,
        min_items: int = 1,
        limit: int | None = None,
    ) -> NeedsOverview:
        """The topics asked about in ``period``, the most asked first (staff only)."""
        actor.require_staff("see knowledge needs")
        if update:  # never waits behind a needs pass of another process: shows what is placed so far
            self.update_topics(session, now=now, wait=False)
        state = self.core.state(session)
        members = state.members()
        live = {p.topic_id: p.id for p in proposal_repo.list_need_proposals(session, statuses=LIVE)}
        in_period = [s for s in state.sources.values() if period.contains(s.created_at)]
        by_topic: dict[int, list[repo.NeedSource]] = {}
        for source in in_period:
            if source.key in state.assigned:
                by_topic.setdefault(state.assigned[source.key], []).append(source)
        # the most asked first: by distinct askers, then needs (one source's repeats weigh as one)
        counts = {t: count_needs(items) for t, items in by_topic.items()}
        askers = {t: len({asker_key(s) for s in items}) for t, items in by_topic.items()}
        chosen = sorted((t for t, n in counts.items() if n >= min_items), key=lambda t: (-askers[t], -counts[t], t))
        if limit is not None:
            chosen = chosen[:limit]
        views = tuple(self.topic_view(state, t, members.get(t, []), period, now=now, live=live) for t in chosen)
        return NeedsOverview(
            period=period.label,
            start=period.start,
            end=period.end,
            topics=views,
            items=len(in_period),
            unassigned=sum(1 for s in in_period if s.key not in state.assigned),
        )


def _forget_cache(session: Session) -> None:
    session.info.pop(_PENDING_CACHE, None)


def _store_placements(
    session: Session,
    result: GroupingResult,
    sources: Mapping[str, repo.NeedSource],
    *,
    first_new: int,
    now: datetime,
) -> dict[int, int]:
    """Write the run's placements; returns the database id of each new topic (by the grouping's provisional id).
    New topics are created in order, so database ids keep their order."""
    real: dict[int, int] = {}
    for placement in result.placements:
        if placement.topic_id >= first_new and placement.topic_id not in real:
            real[placement.topic_id] = repo.create_need_topic(session, label="", label_item="", now=now).id
    rows: list[dict[str, Any]] = []
    for placement in result.placements:
        kind, ident = placement.key.split(":", 1)
        rows.append(
            {
                "topic_id": real.get(placement.topic_id, placement.topic_id),
                "question_id": int(ident) if kind == "q" else None,
                "gap_id": int(ident) if kind == "g" else None,
                "asked_at": sources[placement.key].created_at,
                "similarity": placement.similarity,
                "assigned_at": now,
            }
        )
    repo.create_need_items(session, rows=rows)
    # earlier questions whose small topic joined another, or placed again out of a pair (``Grouper.place``'s
    # ``movable``): a topic they leave empty keeps its row and label (ids are never reused; topics are read
    # through their items)
    moves = [(m.key, real.get(m.topic_id, m.topic_id), m.similarity) for m in result.moved]
    repo.update_need_item_topics(session, moves=moves)
    # a topic that keeps members but whose label came from one that left (an earlier pair's member placed again)
    # is labelled again from the members it keeps (``_label_topics``, this run); an emptied one keeps its label
    gone = {key: topic_id for key, topic_id, _ in moves}
    for row in repo.list_need_topics_labelled_from(session, item_keys=list(gone)):
        if row.id != gone[row.label_item] and row.id in result.topics:
            row.label, row.label_item = "", ""
    return real


def _label(
    member_keys: Sequence[str], sources: Mapping[str, repo.NeedSource], concepts: Mapping[str, Concepts]
) -> tuple[str, str] | None:
    """(item key, label): the content words of the shareable member whose words the topic uses most."""
    frequency: Counter[str] = Counter()
    for key in member_keys:
        if key in concepts:
            frequency.update(set(concepts[key].folded))
    best: tuple[float, str, str] | None = None
    shared = len(member_keys) >= 3  # words only one member uses are left out of a larger topic's label
    for key in member_keys:
        source = sources.get(key)
        c = concepts.get(key)
        if source is None or c is None or not c.words or not may_be_quoted(source):
            continue
        score = sum(frequency[w] for w in c.folded) / len(c.folded)
        words = [r for r, w in zip(c.words, c.folded, strict=False) if not shared or frequency[w] > 1]
        text = " ".join((words or list(c.words))[:6])
        label = text[:1].upper() + text[1:]
        if best is None or score > best[0]:
            best = (score, key, label)
    return (best[1], best[2]) if best else None
