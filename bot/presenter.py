"""From a search result to what a person reads, independent of where it is shown.

``build_answer_view`` makes a neutral, language-resolved view model; the terminal renderer below, the console and
(later) the Slack Block Kit builders all render that same model, so a staff member in the console sees what an
official sees in chat. ``result_to_json`` is the ``wieweet ask --json`` contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from typing import Any

from bot.i18n import N_, format_date, format_stored_date, local_day, t
from bot.matching.results import ExpertHit, Reason, SearchResult, render_linked


@dataclass(frozen=True, slots=True)
class ExpertItem:
    name: str
    organisation: str
    role: str
    city: str
    email: str
    slack_user_id: str | None
    available: bool
    availability: str  # already in the reader's language
    reasons: tuple[str, ...]
    weak: bool
    score: float


@dataclass(frozen=True, slots=True)
class PracticeItem:
    title: str
    city: str
    organisation: str
    outcome: str | None
    outcome_label: str
    year: int | None
    url: str
    lessons: str
    reasons: tuple[str, ...]
    score: float


@dataclass(frozen=True, slots=True)
class AnswerItem:
    question: str
    answered_by: str
    organisation: str
    answered_on: date | None
    url: str
    byline: str
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnswerView:
    lang: str
    query: str
    gap: bool
    terms: tuple[str, ...]
    experts: tuple[ExpertItem, ...]
    practices: tuple[PracticeItem, ...]
    answers: tuple[AnswerItem, ...]
    notes: tuple[str, ...] = field(default=())
    # whether "nobody fits" was recorded as a knowledge gap (Slack and ``ask --gap`` record it; the console and a
    # plain ``wieweet ask`` only try the question and must not claim they did)
    gap_recorded: bool = True


def _dated(reason: Reason, lang: str, *, confirmed_at: datetime | None, tz: tzinfo | None) -> Reason:
    """A "not confirmed since" reason with its date as users read dates: the local day (``tz``) of the last
    confirmation (the match names its UTC day, in ISO)."""
    if reason.kind != "stale" or not reason.target:
        return reason
    if confirmed_at is not None:
        return replace(reason, target=format_date(confirmed_at, lang, year=True, tz=tz))
    return replace(reason, target=format_stored_date(reason.target, lang))


def availability_label(hit: ExpertHit, lang: str) -> str:
    doc = hit.doc
    if doc.availability == "opted_out":
        return t("availability.opted_out", lang)
    if not hit.available:
        if doc.away_until is not None:
            return t("availability.away_until", lang, date=format_date(doc.away_until, lang, year=True))
        return t("availability.away", lang)
    return t("availability.available", lang)


OUTCOME_KEYS = {"good": N_("outcome.good"), "mixed": N_("outcome.mixed"), "failed": N_("outcome.failed")}


def outcome_label(outcome: str | None, lang: str) -> str:
    return t(OUTCOME_KEYS.get(outcome or "", N_("outcome.none")), lang)


def build_answer_view(
    result: SearchResult, *, lang: str, limit: int | None = None, gap_recorded: bool = True, tz: tzinfo | None = None
) -> AnswerView:
    experts = result.experts[:limit] if limit else result.experts
    practices = result.practices[:limit] if limit else result.practices
    answers = result.answers[:limit] if limit else result.answers
    return AnswerView(
        lang=lang,
        query=result.query.strip(),
        gap=result.gap,
        gap_recorded=gap_recorded,
        terms=tuple(result.terms),
        experts=tuple(
            ExpertItem(
                name=h.doc.name,
                organisation=h.doc.organisation,
                role=h.doc.role,
                city=h.doc.city,
                email=h.doc.email,
                slack_user_id=h.doc.slack_user_id,
                available=h.available,
                availability=availability_label(h, lang),
                reasons=tuple(
                    _dated(r, lang, confirmed_at=h.doc.last_confirmed_at, tz=tz).render(lang) for r in h.reasons
                ),
                weak=h.weak,
                score=h.score,
            )
            for h in experts
        ),
        practices=tuple(
            PracticeItem(
                title=h.doc.title,
                city=h.doc.city,
                organisation=h.doc.organisation,
                outcome=h.doc.outcome,
                outcome_label=outcome_label(h.doc.outcome, lang),
                year=h.doc.year,
                url=h.doc.url,
                lessons=h.doc.lessons,
                reasons=render_linked(h.reasons, lang),
                score=h.score,
            )
            for h in practices
        ),
        answers=tuple(
            AnswerItem(
                question=h.doc.question,
                answered_by=h.doc.answered_by,
                organisation=h.doc.organisation,
                answered_on=local_day(h.doc.answered_at, tz) if h.doc.answered_at else None,
                url=h.doc.url,
                byline=t(
                    "answer.answered_by",
                    lang,
                    date=format_date(h.doc.answered_at, lang, year=True, tz=tz) if h.doc.answered_at else "?",
                    name=" — ".join(x for x in (h.doc.answered_by, h.doc.organisation) if x) or "?",
                ),
                score=h.score,
                reasons=render_linked(h.reasons, lang),
            )
            for h in answers
        ),
    )


def render_text(view: AnswerView, *, width: int = 100) -> str:
    """The answer as plain text for a terminal (the console and ``wieweet ask``)."""
    lang = view.lang
    lines = [t("answer.title", lang, query=view.query)]
    if view.terms:
        lines.append("  " + t("answer.understood", lang, terms=", ".join(view.terms)))
    return "\n".join([*lines, *_expert_lines(view), *_practice_lines(view), *_answer_lines(view)])


def _why(reasons: Sequence[str], lang: str) -> list[str]:
    return [f"     {t('answer.why', lang)}: " + "; ".join(reasons)] if reasons else []


def _heading(title: str, items: Sequence[object], *, none: str) -> list[str]:
    """A list's heading, with ``none`` under it when the list is empty."""
    return ["", title.upper(), *([] if items else ["  " + none])]


def _expert_lines(view: AnswerView) -> list[str]:
    lang = view.lang
    lines = ["", t("answer.experts", lang).upper()]
    if view.gap:
        lines.append("  " + (t("answer.gap", lang) if view.gap_recorded else t("answer.gap_not_recorded", lang)))
        if view.experts:
            lines.append("  " + t("answer.weak", lang))
    for i, e in enumerate(view.experts, 1):
        head = ", ".join(x for x in (e.organisation, e.role) if x)
        lines.append(f"  {i}. {e.name} — {head} [{e.availability}]")
        lines.append(f"     {e.email}")
        lines.extend(_why(e.reasons, lang))
    return lines


def _practice_lines(view: AnswerView) -> list[str]:
    lang = view.lang
    lines = _heading(t("answer.practices", lang), view.practices, none=t("answer.no_practices", lang))
    for i, p in enumerate(view.practices, 1):
        meta = ", ".join(x for x in (p.city or p.organisation, str(p.year) if p.year else "", p.outcome_label) if x)
        lines.append(f"  {i}. {p.title} ({meta})")
        if p.url:
            lines.append(f"     {p.url}")
        lines.extend(_why(p.reasons, lang))
    return lines


def _answer_lines(view: AnswerView) -> list[str]:
    lang = view.lang
    lines = _heading(t("answer.answers", lang), view.answers, none=t("answer.no_answers", lang))
    for i, a in enumerate(view.answers, 1):
        lines.append(f"  {i}. {a.question}")
        lines.append(f"     {a.byline}" + (f" — {a.url}" if a.url else ""))
        lines.extend(_why(a.reasons, lang))
    return lines


def result_to_json(result: SearchResult, *, limit: int, lang: str = "en", gap_recorded: bool = False) -> dict[str, Any]:
    """The documented ``wieweet ask --json`` object (best first, ``limit`` per list). ``gap``: nobody fits;
    ``gap_recorded``: it was also recorded as a knowledge gap (``--gap``)."""
    return {
        "query": result.query,
        "gap": result.gap,
        "gap_recorded": gap_recorded,
        "experts": [
            {
                "email": h.doc.email,
                "name": h.doc.name,
                "organisation": h.doc.organisation,
                "score": round(h.score, 4),
                "available": h.available,
                "weak": h.weak,
                "reasons": [r.render(lang) for r in h.reasons],
            }
            for h in result.experts[:limit]
        ],
        "practices": [
            {
                "title": h.doc.title,
                "city": h.doc.city,
                "outcome": h.doc.outcome,
                "url": h.doc.url,
                "score": round(h.score, 4),
                "reasons": list(render_linked(h.reasons, lang)),
            }
            for h in result.practices[:limit]
        ],
        "answers": [
            {
                "question": h.doc.question,
                "answered_by": h.doc.answered_by,
                "score": round(h.score, 4),
                "reasons": list(render_linked(h.reasons, lang)),
            }
            for h in result.answers[:limit]
        ],
    }
