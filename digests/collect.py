"""Gather what a digest shows, from the database, into a frozen ``DigestData`` (the only DB-touching part).

Privacy is applied here *and* again in the builder: only public questions from public channels, knowledge gaps
from public channels, and nobody who opted out or withdrew consent (they are collected without name or Slack id).
"""

from __future__ import annotations

import bisect
import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.matching import loader
from bot.matching.analysis import question_topic
from digests.model import (
    OTHER_THEME,
    QUOTE_MIN_ASKERS,
    AnsweredItem,
    DigestData,
    GapItem,
    NewExpertItem,
    OpenQuestionItem,
    Person,
    PracticeItem,
    PrivateChannel,
    ThemeDigest,
    ThemeInfo,
    WeekFigures,
    is_public_content,
)
from digests.period import TIMEZONE, local_to_utc, to_local
from storage import digest_repo, register_repo
from storage.models import Answer, Availability, Expert, KnowledgeGap, Question, is_stopped

HISTORY_WEEKS = 8
OPEN_MAX_AGE = timedelta(weeks=4)  # older open questions are the triage's business, not the digest's


def is_unreachable(expert: Expert) -> bool:
    """Away without a date: Slack cannot reach them (their account deactivated, ``unreachable.mark_unreachable``), so
    the digest does not offer them as a new expert (a person's own "away" always has a date)."""
    return expert.availability is Availability.AWAY and expert.away_until is None


def week_bounds(
    period_start: datetime, period_end: datetime, *, weeks: int = HISTORY_WEEKS, tz: ZoneInfo = TIMEZONE
) -> tuple[datetime, ...]:
    """``weeks + 1`` boundaries: the digest's own window last, earlier ones a local wall-clock week apart."""
    wall = to_local(period_start, tz).replace(tzinfo=None)
    earlier = [local_to_utc(wall - timedelta(weeks=k), tz) for k in range(weeks - 1, 0, -1)]
    return (*earlier, period_start, period_end)


def _theme_keys(keys: Sequence[str], wanted: set[str]) -> list[str]:
    """The wanted themes among ``keys``; an item without any theme goes to the "other" group (if wanted)."""
    if not keys:
        return [OTHER_THEME] if OTHER_THEME in wanted else []
    return [k for k in keys if k in wanted]


def _keys(themes: Iterable[object]) -> list[str]:
    return [str(getattr(t, "key", t)) for t in themes]


def _person(answer: Answer, by_slack: dict[str, Expert]) -> Person:
    expert = answer.expert
    slack_id = answer.answered_by_slack_id or (expert.slack_user_id if expert else None)
    if expert is None and slack_id:
        expert = by_slack.get(slack_id)
    key = f"s:{slack_id}" if slack_id else f"e:{expert.id}" if expert else f"n:{answer.answered_by_name.casefold()}"
    if loader.is_unnamed(answer, by_slack):  # the one rule for naming an answer's person: search shows the same
        return Person(key=key, hidden=True)
    name = answer.answered_by_name or (expert.name if expert else "")
    return Person(key=key, name=name, slack_user_id=slack_id)


def _answered_item_people(question: Question, by_slack: dict[str, Expert]) -> tuple[Person, ...]:
    answerers: list[Person] = []
    seen: set[str] = set()
    for answer in question.answers:
        person = _person(answer, by_slack)
        if person.key not in seen:
            seen.add(person.key)
            answerers.append(person)
    return tuple(answerers)


def _answered_item(question: Question, by_slack: dict[str, Expert]) -> AnsweredItem:
    answerers = _answered_item_people(question, by_slack)
    stored = next((a.permalink for a in question.answers if a.permalink), "")
    posts = tuple((a.posted_channel_id, a.posted_ts) for a in question.answers if a.posted_channel_id and a.posted_ts)
    assert question.answered_at is not None
    return AnsweredItem(
        question_id=question.id,
        text=question.text,
        asked_at=question.created_at,
        answered_at=question.answered_at,
        answerers=answerers,
        permalink=stored,
        channel_id=question.channel_id,
        thread_ts=question.thread_ts,
        answer_posts=posts,
        visibility=question.visibility.value,
        channel_is_private=question.channel_is_private,
    )


def window_figures(
    facts: Sequence[digest_repo.QuestionFact],
    bounds: Sequence[datetime],
    wanted: set[str],
    private_channel: PrivateChannel | None = None,
    *,
    public_only: bool = True,
) -> dict[str, tuple[WeekFigures, ...]]:
    """Per theme and window (``bounds``: window boundaries, oldest first): questions asked in it, questions answered
    in it and the median time to answer of those. The digest's weekly figures, and the report's monthly ones
    (``bot.needs.report``, which also counts non-public questions with ``public_only=False``)."""
    weeks = len(bounds) - 1
    asked: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    answered: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    durations: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in range(weeks)])

    def window(moment: datetime) -> int | None:
        index = bisect.bisect_right(bounds, moment) - 1
        return index if 0 <= index < weeks else None

    for fact in facts:
        if public_only and not is_public_content(
            visibility="public", channel_id=fact.channel_id, channel_is_private=False, private_channel=private_channel
        ):
            continue
        key = fact.theme_key if fact.theme_key is not None else OTHER_THEME
        if key not in wanted:
            continue
        asked_in = window(fact.created_at)
        if asked_in is not None:
            asked[key][asked_in] += 1
        if fact.answered_at is not None:
            answered_in = window(fact.answered_at)
            if answered_in is not None:
                answered[key][answered_in] += 1
                durations[key][answered_in].append(max(0.0, (fact.answered_at - fact.created_at).total_seconds()))
    result: dict[str, tuple[WeekFigures, ...]] = {}
    for key in wanted:
        result[key] = tuple(
            WeekFigures(
                asked=asked[key][i] if key in asked else 0,
                answered=answered[key][i] if key in answered else 0,
                median_answer_seconds=(
                    statistics.median(durations[key][i]) if key in durations and durations[key][i] else None
                ),
            )
            for i in range(weeks)
        )
    return result


def _group_gaps(
    gaps: Sequence[KnowledgeGap], wanted: set[str], private_channel: PrivateChannel | None = None
) -> tuple[dict[str, tuple[GapItem, ...]], dict[str, int]]:
    """Per theme: gaps grouped by their normalised query, with the topic of the latest wording and the number of
    distinct askers; and per theme, how many groups only one person asked (counted, not quoted: one member
    repeating a question, or many, cannot put words in the public digest). Gaps without a known asker count as one
    unknown person together."""
    wording: dict[tuple[str, str], str] = {}
    askers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for gap in gaps:  # newest first: the first wording seen is the latest
        if not is_public_content(
            visibility="public",
            channel_id=gap.channel_id,
            channel_is_private=gap.channel_is_private,
            private_channel=private_channel,
        ):
            continue
        group = gap.key
        if group is None:  # no word in it: not counted (``gap_key``, as the needs and the report)
            continue
        for key in _theme_keys(list(gap.themes or []), wanted):
            wording.setdefault((key, group), question_topic(gap.query))
            askers[(key, group)].add(gap.asker_slack_id or "")
    grouped: dict[str, list[GapItem]] = defaultdict(list)
    unquoted: dict[str, int] = defaultdict(int)
    for (key, group), people in askers.items():
        if len(people) >= QUOTE_MIN_ASKERS:
            grouped[key].append(GapItem(query=wording[(key, group)], count=len(people)))
        else:
            unquoted[key] += 1
    quoted = {
        key: tuple(sorted(items, key=lambda g: (-g.count, g.query.casefold(), g.query)))
        for key, items in grouped.items()
    }
    return quoted, dict(unquoted)


def collect_digest_data(
    session: Session,
    *,
    themes: Sequence[str] | None,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    bounds: Sequence[datetime] | None = None,
    open_max_age: timedelta = OPEN_MAX_AGE,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
) -> DigestData:
    """Everything new in ``[period_start, period_end)`` (cut at ``now``) on ``themes`` (None or empty: all themes,
    plus an "other" group for items without a theme), with ``HISTORY_WEEKS`` weeks of figures.

    ``bounds`` are the week boundaries for the figures (oldest first, ending with ``period_start, period_end``);
    by default weeks a wall-clock week apart. ``private_channel`` (Slack's current answer, when there is a Slack
    connection) also leaves out what was asked in a channel that has turned private since.
    """
    end = min(period_end, now)
    start = min(period_start, end)
    bounds = tuple(bounds) if bounds is not None else week_bounds(period_start, period_end, tz=tz)
    bounds = (*bounds[:-1], max(bounds[-2], min(bounds[-1], end)))

    all_themes = not themes
    rows = register_repo.list_themes(session, keys=None if all_themes else list(themes or ()))
    infos = [ThemeInfo(key=t.key, label_nl=t.label_nl, label_en=t.label_en) for t in rows]
    if all_themes:
        infos.append(ThemeInfo(key=OTHER_THEME, label_nl="", label_en=""))
    wanted = {i.key for i in infos}

    practices = _practices(session, start=start, end=end, wanted=wanted)
    answered = _answered(session, start=start, end=end, wanted=wanted, private_channel=private_channel)
    open_questions = _open_questions(
        session, since=end - open_max_age, end=end, wanted=wanted, private_channel=private_channel
    )
    experts = _new_experts(session, start=start, end=end, wanted=wanted)
    gaps, unquoted_gaps = _group_gaps(
        digest_repo.list_public_knowledge_gaps(session, start=start, end=end), wanted, private_channel
    )
    facts = digest_repo.list_question_facts(session, since=bounds[0], until=bounds[-1])
    figures = window_figures(facts, bounds, wanted, private_channel)

    return DigestData(
        window_start=period_start,
        window_end=period_end,
        timezone=tz.key,
        themes=tuple(
            ThemeDigest(
                theme=info,
                practices=tuple(practices.get(info.key, ())),
                answered=tuple(answered.get(info.key, ())),
                open_questions=tuple(open_questions.get(info.key, ())),
                new_experts=tuple(experts.get(info.key, ())),
                gaps=gaps.get(info.key, ()),
                unquoted_gaps=unquoted_gaps.get(info.key, 0),
                weeks=figures[info.key],
            )
            for info in infos
        ),
    )


def _practices(session: Session, *, start: datetime, end: datetime, wanted: set[str]) -> dict[str, list[PracticeItem]]:
    practices: dict[str, list[PracticeItem]] = defaultdict(list)
    for practice in digest_repo.list_practices_changed(session, start=start, end=end):
        is_new = start <= practice.created_at < end
        item = PracticeItem(
            id=practice.id,
            title=practice.title,
            city=practice.city,
            organisation=practice.organisation,
            outcome=practice.outcome.value if practice.outcome else None,
            url=practice.url,
            is_new=is_new,
            changed_at=practice.created_at if is_new else practice.updated_at,
        )
        for key in _theme_keys(_keys(practice.themes), wanted):
            practices[key].append(item)
    return practices


def _is_public(question: Question, private_channel: PrivateChannel | None) -> bool:
    return is_public_content(
        visibility=question.visibility.value,
        channel_id=question.channel_id,
        channel_is_private=question.channel_is_private,
        private_channel=private_channel,
    )


def _answered(
    session: Session, *, start: datetime, end: datetime, wanted: set[str], private_channel: PrivateChannel | None
) -> dict[str, list[AnsweredItem]]:
    questions = [
        q for q in digest_repo.list_questions_answered(session, start=start, end=end) if _is_public(q, private_channel)
    ]
    slack_ids = {a.answered_by_slack_id for q in questions for a in q.answers if a.answered_by_slack_id}
    by_slack = digest_repo.get_experts_by_slack_ids(session, slack_user_ids=slack_ids)
    answered: dict[str, list[AnsweredItem]] = defaultdict(list)
    for question in questions:
        answered_item = _answered_item(question, by_slack)
        for key in _theme_keys(_keys(question.themes), wanted):
            answered[key].append(answered_item)
    return answered


def _open_questions(
    session: Session, *, since: datetime, end: datetime, wanted: set[str], private_channel: PrivateChannel | None
) -> dict[str, list[OpenQuestionItem]]:
    open_questions: dict[str, list[OpenQuestionItem]] = defaultdict(list)
    for question in digest_repo.list_questions_open(session, asked_since=since, asked_before=end):
        if not _is_public(question, private_channel):
            continue
        open_item = OpenQuestionItem(
            question_id=question.id,
            text=question.text,
            asked_at=question.created_at,
            channel_id=question.channel_id,
            thread_ts=question.thread_ts,
            visibility=question.visibility.value,
            channel_is_private=question.channel_is_private,
        )
        for key in _theme_keys(_keys(question.themes), wanted):
            open_questions[key].append(open_item)
    return open_questions


def _new_experts(
    session: Session, *, start: datetime, end: datetime, wanted: set[str]
) -> dict[str, list[NewExpertItem]]:
    experts: dict[str, list[NewExpertItem]] = defaultdict(list)
    for expert in digest_repo.list_experts_created(session, start=start, end=end):
        if is_stopped(expert) or is_unreachable(expert):
            continue
        expert_item = NewExpertItem(
            id=expert.id,
            person=Person(key=f"e:{expert.id}", name=expert.name, slack_user_id=expert.slack_user_id),
            organisation=expert.organisation,
            city=expert.city,
            role=expert.role,
        )
        for key in _theme_keys(_keys(expert.themes), wanted):
            experts[key].append(expert_item)
    return experts


def without_gone(session: Session, data: DigestData) -> DigestData:
    """``data`` as it may still be posted now: collected a while ago (a pass over many channels, another replica's
    erasure or a "stop" committing meanwhile), it is checked again just before it is posted. An answer whose person
    may no longer be named shows them as "a colleague" (``_person`` again, on the answer as it is now), and a
    new expert the database no longer has, or who said stop, is left out. So is a question the collection would no
    longer take (the same queries): gone, withdrawn or no longer open, or from a channel now known to be private.
    ``data`` itself when nothing changed."""
    answered = {item.question_id for digest in data.themes for item in digest.answered}
    asked = {item.question_id for digest in data.themes for item in digest.open_questions}
    questions = digest_repo.list_questions_still_answered(session, question_ids=answered)
    still_open = digest_repo.list_question_ids_still_open(session, question_ids=asked)
    slack_ids = {a.answered_by_slack_id for i in answered if i in questions for a in questions[i].answers}
    by_slack = digest_repo.get_experts_by_slack_ids(session, slack_user_ids={s for s in slack_ids if s})
    new_ids = {item.id for digest in data.themes for item in digest.new_experts}
    experts = register_repo.get_experts_by_ids(session, expert_ids=new_ids) if new_ids else {}
    named = {i for i, e in experts.items() if not is_stopped(e) and not is_unreachable(e)}

    def answered_now(item: AnsweredItem) -> AnsweredItem | None:
        question = questions.get(item.question_id)
        if question is None or not question.answers:
            return None
        fresh = _answered_item_people(question, by_slack)
        if all(p.hidden or p in fresh for p in item.answerers):
            return item
        return dataclasses.replace(item, answerers=fresh)

    themes: list[ThemeDigest] = []
    for digest in data.themes:
        kept_answered = tuple(a for a in map(answered_now, digest.answered) if a is not None)
        themes.append(
            dataclasses.replace(
                digest,
                answered=kept_answered,
                open_questions=tuple(q for q in digest.open_questions if q.question_id in still_open),
                new_experts=tuple(e for e in digest.new_experts if e.id in named),
            )
        )
    if all(new == old for new, old in zip(themes, data.themes, strict=True)):
        return data
    return dataclasses.replace(data, themes=tuple(themes))
