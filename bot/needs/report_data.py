"""The figures of the steering-group report of a period, gathered once (``collect_report``); ``bot.needs.report``
writes them as a workbook, an HTML page or a chart.

Definitions are the digest's (``digests.collect.window_figures``): a question counts in the month it was asked
in (and under each of its themes); "answered" counts the questions answered in the month, whenever they were
asked, and the median time to answer is over those. The answered share is not the digest's: of the questions asked
in the period (or month), the part answered before the period's end (for a period still running: so far), so it
never exceeds 100 % and a later answer does not change a finished period's share. The public figures are exactly
the digest's (public questions from public channels); the totals also count private and anonymous questions, which
are never quoted or attributed. People are named only when they may be (confirmed listing, not opted out or
withdrawn); erased people have no rows left to count under their name.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.i18n import local_day, theme_label
from bot.i18n import t as catalogue_text
from bot.needs.core import may_be_named, may_be_quoted, shown_label
from bot.needs.model import TopicView
from bot.needs.periods import Period
from bot.needs.service import NeedsService
from digests.collect import window_figures
from digests.model import OTHER_THEME
from storage import digest_repo, question_repo, register_repo
from storage import needs_people_repo as people
from storage import needs_repo as repo
from storage.db import Database

OTHER_PEOPLE = "—"  # the row of answers by people who may not be named


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: str
    theme: str  # theme key, or digests' OTHER_THEME for questions without a theme
    asked: int  # every question (public, private, anonymous)
    answered: int
    median_hours: float | None
    asked_public: int  # the digest's figures: public questions from public channels
    answered_public: int
    median_hours_public: float | None


@dataclass(frozen=True, slots=True)
class MonthShare:
    """One month's questions, each once whatever its themes: asked in the month, and of those answered before the
    period's end (the monthly answered share)."""

    month: str
    asked: int
    answered: int

    @property
    def share(self) -> float | None:
        return round(self.answered / self.asked, 3) if self.asked else None


@dataclass(frozen=True, slots=True)
class Helper:
    name: str  # OTHER_PEOPLE for the people who may not be named (counted together)
    organisation: str
    answers: int


@dataclass(frozen=True, slots=True)
class PracticeUse:
    id: int
    title: str
    city: str
    added: date  # the day it was added, in the period's zone
    shown: int  # times shown in "who knows" answers in the period


@dataclass(frozen=True, slots=True)
class ReportData:
    period: str
    start: datetime
    end: datetime
    generated_at: datetime
    months: tuple[str, ...]
    themes: tuple[tuple[str, str], ...]  # (key, label) in vocabulary order; OTHER_THEME last
    figures: tuple[MonthFigures, ...]
    asked: int  # distinct questions asked in the period
    answered: int  # distinct questions answered in the period, whenever asked (the digest's figure)
    asked_answered: int  # of the questions asked in the period, those answered before its end
    month_shares: tuple[MonthShare, ...]
    median_hours: float | None
    gaps: int
    topics: tuple[TopicView, ...]
    experts: tuple[Helper, ...]
    organisations: tuple[tuple[str, int], ...]
    practices_added: tuple[PracticeUse, ...]
    practices_used: tuple[PracticeUse, ...]

    @property
    def answered_share(self) -> float | None:
        """Of the questions asked in the period, the part answered before its end (0 to 1)."""
        return round(self.asked_answered / self.asked, 3) if self.asked else None

    def theme_total(self, key: str) -> int:
        return sum(f.asked for f in self.figures if f.theme == key)


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600.0, 1) if seconds is not None else None


def _answered_before(facts: Sequence[digest_repo.QuestionFact], end: datetime) -> int:
    """How many of these questions were answered before ``end``."""
    return sum(1 for f in facts if f.answered_at is not None and f.answered_at < end)


def collect_report(
    session: Session,
    *,
    service: NeedsService,
    actor: Actor,
    period: Period,
    now: datetime,
    lang: str = "nl",
    update: bool = True,
) -> ReportData:
    """Everything the report shows for ``period`` (staff only); ``update``: place the new questions first, in
    ``session`` (``NeedsService.overview``)."""
    actor.require_staff("make a knowledge-needs report")
    months = period.months()
    bounds = [m.start for m in months] + [period.end]
    themes = [(theme.key, theme_label(theme, lang)) for theme in register_repo.list_themes(session)]
    themes.append((OTHER_THEME, catalogue_text("digest.other_theme", lang)))
    wanted = {k for k, _ in themes}
    every = window_figures(
        digest_repo.list_question_facts(session, since=period.start, until=period.end, public_only=False),
        bounds,
        wanted,
        public_only=False,
    )
    public = window_figures(
        digest_repo.list_question_facts(session, since=period.start, until=period.end), bounds, wanted
    )
    figures = tuple(
        MonthFigures(
            month=month.label,
            theme=key,
            asked=every[key][i].asked,
            answered=every[key][i].answered,
            median_hours=_hours(every[key][i].median_answer_seconds),
            asked_public=public[key][i].asked,
            answered_public=public[key][i].answered,
            median_hours_public=_hours(public[key][i].median_answer_seconds),
        )
        for key, _ in themes
        for i, month in enumerate(months)
    )
    facts = {
        f.question_id: f
        for f in digest_repo.list_question_facts(session, since=period.start, until=period.end, public_only=False)
    }
    asked = [f for f in facts.values() if period.contains(f.created_at)]
    answered = [f for f in facts.values() if f.answered_at is not None and period.contains(f.answered_at)]
    durations = [max(0.0, (f.answered_at - f.created_at).total_seconds()) for f in answered if f.answered_at]
    month_shares = tuple(
        MonthShare(month.label, len(inside), _answered_before(inside, period.end))
        for month in months
        for inside in [[f for f in asked if month.contains(f.created_at)]]
    )
    # topics asked at least twice (a single question is no agenda item), the 200 most asked
    overview = service.overview(session, actor=actor, period=period, now=now, min_items=2, limit=200, update=update)
    gaps = question_repo.count_knowledge_gaps(session, start=period.start, end=period.end)

    helpers, organisations = _helpers(session, period)
    shown: Counter[int] = Counter()
    zone = ZoneInfo(period.timezone)  # the days a practice was added, as the period's own days
    for result in people.list_search_results_between(session, start=period.start, end=period.end):
        shown.update(int(p) for p in result.get("practices", []) if isinstance(p, int))
    added = [
        PracticeUse(p.id, p.title, p.city, local_day(p.created_at, zone), shown[p.id])
        for p in people.list_practices_created(session, start=period.start, end=period.end)
    ]
    used_ids = [pid for pid, _ in sorted(shown.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]
    used_rows = {p.id: p for p in register_repo.list_practices(session) if p.id in set(used_ids)}
    used = [
        PracticeUse(
            pid, used_rows[pid].title, used_rows[pid].city, local_day(used_rows[pid].created_at, zone), shown[pid]
        )
        for pid in used_ids
        if pid in used_rows
    ]
    return ReportData(
        period=period.label,
        start=period.start,
        end=period.end,
        generated_at=now,
        months=tuple(m.label for m in months),
        themes=tuple(themes),
        figures=figures,
        asked=len(asked),
        answered=len(answered),
        asked_answered=_answered_before(asked, period.end),
        month_shares=month_shares,
        median_hours=_hours(statistics.median(durations)) if durations else None,
        gaps=gaps,
        topics=overview.topics,
        experts=helpers,
        organisations=organisations,
        practices_added=tuple(added),
        practices_used=tuple(used),
    )


def _helpers(session: Session, period: Period) -> tuple[tuple[Helper, ...], tuple[tuple[str, int], ...]]:
    """The most helpful: answers given in the period, by person (named only when they may be) and by organisation."""
    helpers: Counter[tuple[str, str]] = Counter()
    organisations: Counter[str] = Counter()
    answers = people.list_answers_between(session, start=period.start, end=period.end)
    experts = people.list_experts_by_ids(session, expert_ids=[a.expert_id for a in answers if a.expert_id is not None])
    by_slack = people.list_experts_by_slack_ids(
        session, slack_user_ids=[a.answered_by_slack_id for a in answers if a.answered_by_slack_id]
    )
    for answer in answers:
        expert = experts.get(answer.expert_id) if answer.expert_id is not None else None
        if expert is None and answer.answered_by_slack_id:
            expert = by_slack.get(answer.answered_by_slack_id)
        if expert is not None and may_be_named(expert):
            helpers[(expert.name, expert.organisation)] += 1
        else:
            helpers[(OTHER_PEOPLE, "")] += 1
        organisation = answer.organisation or (expert.organisation if expert is not None else "")
        if organisation:
            organisations[organisation] += 1
    ranked_helpers = sorted(helpers.items(), key=lambda kv: (kv[0][0] == OTHER_PEOPLE, -kv[1], kv[0]))
    return (
        tuple(Helper(name, org, n) for (name, org), n in ranked_helpers[:20]),
        tuple(sorted(organisations.items(), key=lambda kv: (-kv[1], kv[0]))[:20]),
    )


def collect_report_to_share(
    session: Session,
    *,
    database: Database,
    service: NeedsService,
    actor: Actor,
    period: Period,
    now: datetime,
    lang: str = "nl",
) -> ReportData:
    """The report of ``period`` as it may be shared now (staff only): collected in ``session`` (the caller's unit of
    work), then read again in a short unit of work of its own on ``database`` (``without_gone``), which sees what
    committed since the caller's began — an erasure or a "stop" on another replica while the figures were gathered.
    What the Slack layer uploads and what ``wieweet report`` writes to a file.

    The new questions are placed first in a unit of work of its own, committed before: the grouping holds its lock
    (on SQLite the database's write lock) only for that step, never while the caller uploads the report; it is
    skipped at once when another process (or the caller's own transaction, on SQLite) holds the lock."""
    actor.require_staff("make a knowledge-needs report")
    with database.session() as grouping:
        service.update_topics(grouping, now=now, wait=False)
    data = collect_report(session, service=service, actor=actor, period=period, now=now, lang=lang, update=False)
    with database.session() as fresh:
        return without_gone(fresh, data, period=period)


def without_gone(session: Session, data: ReportData, *, period: Period) -> ReportData:
    """``data`` as it may still be posted now: read again just before it is uploaded (an erasure, a withdrawal or a
    "stop" may have committed on another replica since it was collected; ``collect_report_to_share`` does both).
    When someone it names may no longer be named, the people are counted again (they join the unnamed row; an erased
    person's answers are anonymous by then). A topic's label and quoted wordings are read again too
    (``shareable_topics``). Else ``data`` itself."""
    topics = shareable_topics(session, data.topics, period=period)
    helpers, organisations = _helpers(session, period)
    named = {(h.name, h.organisation) for h in helpers if h.name != OTHER_PEOPLE}
    if all(h.name == OTHER_PEOPLE or (h.name, h.organisation) in named for h in data.experts):
        helpers, organisations = data.experts, data.organisations
    if topics == data.topics and helpers == data.experts:
        return data
    return replace(data, topics=topics, experts=helpers, organisations=organisations)


def shareable_topics(session: Session, views: Sequence[TopicView], *, period: Period) -> tuple[TopicView, ...]:
    """``views`` with only the words that may still be quoted: the label as ``shown_label`` allows it now (none for
    a topic deleted since, or whose label an erasure blanked or whose label's question was withdrawn, closed
    unanswered or made private), and of the quoted wordings only those a member of the topic asked in ``period``
    still has and may be quoted by (``may_be_quoted``): an erased asker's questions are gone, a withdrawn one is no
    longer quoted. The counts stay as collected."""
    ids = [v.id for v in views]
    rows = {t.id: t for t in repo.list_need_topics(session, ids=ids)} if ids else {}
    where = repo.list_need_assignments(session, topic_ids=ids) if ids else {}
    keys = {*where, *(t.label_item for t in rows.values() if t.label_item[:2] in {"q:", "g:"})}
    sources = {s.key: s for s in repo.list_need_sources(session, keys=keys)} if keys else {}
    quotable: dict[int, set[str]] = {}
    for key, topic_id in where.items():
        source = sources.get(key)
        if source is not None and period.contains(source.created_at) and may_be_quoted(source):
            quotable.setdefault(topic_id, set()).add(source.text.strip())
    out = []
    for view in views:
        row = rows.get(view.id)
        label = shown_label(row, sources) if row is not None else ""
        quoted = tuple(q for q in view.quoted if q in quotable.get(view.id, set()))
        out.append(view if (label, quoted) == (view.label, view.quoted) else replace(view, label=label, quoted=quoted))
    return tuple(out)
