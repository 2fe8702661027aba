"""The fictional demo register: experts, practices and earlier answers, shipped with the package.

Everything in it is invented (people, addresses, numbers); it exists so that a new installation can be tried in
one command and so the matching evaluation has a realistic register to run on.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from sqlalchemy.orm import Session

from bot.i18n import local_day
from bot.register import service as register_service
from bot.register.themes import ensure_default_themes
from storage import question_repo, register_repo
from storage.models import Availability, Consent, Expert, Question

DEMO_DIR: Traversable = resources.files("bot").joinpath("data/demo")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    experts_added: int
    practices_added: int
    answers_added: int
    experts_total: int
    practices_total: int


def demo_file(name: str) -> Path:
    with resources.as_file(DEMO_DIR.joinpath(name)) as path:
        return Path(path)


def load_demo(session: Session, *, now: datetime, zone: tzinfo | None = None) -> DemoSummary:
    """Load (or refresh) the demo register. Idempotent: running it twice changes nothing the second time. ``zone``:
    the network's (``Settings.timezone``), whose day the away experts' return dates count from."""
    ensure_default_themes(session, now=now)
    experts = register_service.import_experts(
        session, path=demo_file("experts.csv"), dry_run=False, actor="demo", now=now, source="demo"
    )
    practices = register_service.import_practices(
        session, path=demo_file("practices.csv"), dry_run=False, actor="demo", now=now
    )
    _confirm_demo_experts(session, now=now, zone=zone)
    answers_added = load_answer_file(session, path=demo_file("answers.csv"), now=now)
    return DemoSummary(
        experts_added=experts.added,
        practices_added=practices.added,
        answers_added=answers_added,
        experts_total=register_repo.count_experts(session),
        practices_total=register_repo.count_practices(session),
    )


def _confirm_demo_experts(session: Session, *, now: datetime, zone: tzinfo | None) -> None:
    """Demo experts have consented; a few are away or opted out, as in a real register (away until a day counted
    from the network's local day: ``Expert.away_until`` is a local day, as the away picker stores it)."""
    today = local_day(now, zone)
    for index, expert in enumerate(register_repo.list_experts(session)):  # by email
        if expert.consent is Consent.PENDING:
            expert.consent = Consent.CONFIRMED
            expert.consent_changed_at = now
            # confirmed within the last ~5 months: none is due for re-confirmation when the demo starts
            expert.last_confirmed_at = now - timedelta(days=10 + (index * 7) % 140)
            if index % 17 == 5:
                expert.availability = Availability.AWAY
                expert.away_until = today + timedelta(days=10 + index % 20)
            elif index % 29 == 11:
                expert.availability = Availability.OPTED_OUT
    session.flush()


def load_answer_file(session: Session, *, path: Path, now: datetime) -> int:
    """Record the answered questions of an answers file (the demo's format: question, answer, answered_by_email,
    themes, answered_at); a question already stored with the same text is skipped. Returns how many were added."""
    themes = {t.key: t for t in register_repo.list_themes(session)}
    added = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["question"].strip()
            if question_repo.get_question_by_text(session, text=text) is not None:
                continue
            email = row["answered_by_email"].strip().lower()
            expert = register_repo.get_expert_by_email(session, email=email)
            answered_on = date.fromisoformat(row["answered_at"].strip())
            answered_at = datetime(answered_on.year, answered_on.month, answered_on.day, 14, 0, tzinfo=UTC)
            keys = [k.strip() for k in row.get("themes", "").replace("|", ";").split(";") if k.strip()]
            question_repo.create_answered_question(
                session,
                text=text,
                answer_text=row["answer"].strip(),
                expert=expert,
                answered_by_name=expert.name if expert else email,
                themes=[themes[k] for k in keys if k in themes],
                asked_at=answered_at - timedelta(days=2),
                answered_at=answered_at,
            )
            added += 1
    return added


# The demo network's public Slack channels, one per theme (invented ids): where its questions were asked.
DEMO_CHANNEL_PREFIX = "C0DEMO"
DEMO_GENERAL_CHANNEL = "C0DEMOALGEMEEN"


def demo_channel(theme_key: str | None) -> str:
    """The demo's public channel of a theme (the general one without a theme)."""
    if not theme_key:
        return DEMO_GENERAL_CHANNEL
    return (DEMO_CHANNEL_PREFIX + "".join(c for c in theme_key.upper() if c.isalnum()))[:32]


def seed_demo_questions(session: Session, *, now: datetime) -> int:
    """What ``wieweet demo`` adds to the register (``load_demo``) so knowledge needs have something to show: the
    demo's answered questions as asked in Slack — in the public demo channel of their first theme, by a demo member
    of another organisation than the one who answered, several organisations per theme — and a few questions asked
    in the last days (``asked.csv``, from four organisations on one topic: enough for a proposed work session).
    Only the demo's own questions are touched, and only when they have no channel or asker yet; running it again
    changes nothing. Returns how many recent questions were added."""
    _place_answered(session)
    return _add_recent(session, now=now)


def _place_answered(session: Session) -> None:
    """The demo's answered questions that have no channel and no asker get both (see ``seed_demo_questions``)."""
    with demo_file("experts.csv").open(encoding="utf-8", newline="") as handle:
        emails = sorted({row["email"].strip().lower() for row in csv.DictReader(handle)})
    # the demo register's people only: a real register loaded into the same database never asks the demo's questions
    found = (register_repo.get_expert_by_email(session, email=email) for email in emails)
    members = [e for e in found if e is not None and e.slack_user_id]
    if not members:
        return
    with demo_file("answers.csv").open(encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            question = question_repo.get_question_by_text(session, text=row["question"].strip())
            if question is None or question.channel_id or question.asker_slack_id:
                continue
            answerer = register_repo.get_expert_by_email(session, email=row["answered_by_email"])
            asker = _asker_for(members, index, other_than=answerer.organisation if answerer else "")
            _asked_by(question, asker, channel=demo_channel(question.themes[0].key if question.themes else None))
    session.flush()


def _add_recent(session: Session, *, now: datetime) -> int:
    """The demo's recent questions (``asked.csv``, hours before ``now``) not stored yet; returns how many."""
    themes = {t.key: t for t in register_repo.list_themes(session)}
    added = 0
    with demo_file("asked.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["question"].strip()
            if question_repo.get_question_by_text(session, text=text) is not None:
                continue
            answerer = register_repo.get_expert_by_email(session, email=row["answered_by_email"])
            keys = [k.strip() for k in row["themes"].split(";") if k.strip()]
            asked_at = now - timedelta(hours=int(row["hours_ago"]))
            question = question_repo.create_answered_question(
                session,
                text=text,
                answer_text=row["answer"].strip(),
                expert=answerer,
                answered_by_name=answerer.name if answerer else row["answered_by_email"],
                themes=[themes[k] for k in keys if k in themes],
                asked_at=asked_at,
                answered_at=asked_at + timedelta(hours=2),
            )
            asker = register_repo.get_expert_by_email(session, email=row["asked_by_email"])
            if asker is not None:
                _asked_by(question, asker, channel=demo_channel(keys[0] if keys else None))
            added += 1
    session.flush()
    return added


def _asker_for(members: list[Expert], index: int, *, other_than: str) -> Expert:
    """The demo member who asked the ``index``-th demo question: spread over the register, never of the answering
    organisation (the same every run)."""
    for step in range(len(members)):
        candidate = members[(index * 7 + step) % len(members)]
        if candidate.organisation.casefold() != other_than.casefold():
            return candidate
    return members[index % len(members)]


def _asked_by(question: Question, asker: Expert, *, channel: str) -> None:
    question.asker_slack_id = asker.slack_user_id
    question.asker_name = asker.name
    question.channel_id = channel
    question.channel_is_private = False
