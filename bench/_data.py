"""Read the demo register CSVs and the evaluation set into matching documents, without a database.

Ids are assigned by row order (1-based); a practice's ``contact_email`` and an answer's ``answered_by_email`` are
resolved to expert ids through the experts' e-mail addresses. List fields are ``;``-separated.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# WIEWEET_BENCH_CODE: a directory holding another version of the ``bot`` package (bench/latency_matching.py
# --compare runs the same benchmark on the previous code); the data read here always comes from this tree
CODE = Path(os.environ.get("WIEWEET_BENCH_CODE") or ROOT)
if str(CODE) not in sys.path[:1]:
    sys.path.insert(0, str(CODE))

from bot.matching.documents import AnswerDoc, ExpertDoc, PlaceDoc, PracticeDoc, ThemeDoc  # noqa: E402

DATA = ROOT / "bot" / "data"
DEMO = DATA / "demo"
EVAL = ROOT / "bench" / "eval" / "queries.jsonl"


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (value or "").split(";") if x.strip())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(fh)]


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def load_themes(path: Path = DATA / "themes.csv") -> list[ThemeDoc]:
    return [
        ThemeDoc(r["key"], r.get("label_nl", ""), r.get("label_en", ""), _list(r.get("synonyms")))
        for r in _rows(path)
        if r.get("key")
    ]


def load_places(path: Path = DATA / "places.csv") -> list[PlaceDoc]:
    return [
        PlaceDoc(r["name"], r.get("kind", "city") or "city", _list(r.get("aliases")), r.get("city", ""))
        for r in _rows(path)
        if r.get("name")
    ]


@dataclass
class Register:
    themes: list[ThemeDoc]
    places: list[PlaceDoc]
    experts: list[ExpertDoc]
    practices: list[PracticeDoc]
    answers: list[AnswerDoc]
    expert_by_email: dict[str, ExpertDoc] = field(default_factory=dict)


def load_register(demo: Path = DEMO) -> Register:
    experts: list[ExpertDoc] = []
    for i, r in enumerate(_rows(demo / "experts.csv"), start=1):
        experts.append(
            ExpertDoc(
                id=i,
                email=r.get("email", "").lower(),
                name=r.get("name", ""),
                organisation=r.get("organisation", ""),
                city=r.get("city", ""),
                role=r.get("role", ""),
                expertise=_list(r.get("expertise")),
                themes=_list(r.get("themes")),
                languages=_list(r.get("languages")),
                bio=r.get("bio", ""),
                slack_user_id=r.get("slack_user_id") or None,
                availability=r.get("availability") or "available",
                away_until=_date(r.get("away_until", "")),
                consent=r.get("consent") or "confirmed",
            )
        )
    by_email = {e.email: e for e in experts}
    practices: list[PracticeDoc] = []
    for i, r in enumerate(_rows(demo / "practices.csv"), start=1):
        contact = by_email.get(r.get("contact_email", "").lower())
        year = r.get("year", "")
        practices.append(
            PracticeDoc(
                id=i,
                title=r.get("title", ""),
                summary=r.get("summary", ""),
                city=r.get("city", ""),
                organisation=r.get("organisation", ""),
                themes=_list(r.get("themes")),
                tags=_list(r.get("tags")),
                outcome=r.get("outcome") or None,
                lessons=r.get("lessons", ""),
                url=r.get("url", ""),
                year=int(year) if year.isdigit() else None,
                contact_expert_id=contact.id if contact else None,
                contact_email=r.get("contact_email", ""),
            )
        )
    answers: list[AnswerDoc] = []
    answers_path = demo / "answers.csv"
    for i, r in enumerate(_rows(answers_path) if answers_path.exists() else [], start=1):
        who = by_email.get(r.get("answered_by_email", "").lower())
        answers.append(
            AnswerDoc(
                id=i,
                question=r.get("question", ""),
                answer=r.get("answer", ""),
                expert_id=who.id if who else None,
                answered_by=who.name if who else "",
                organisation=who.organisation if who else "",
                answered_at=_datetime(r.get("answered_at", "")),
                themes=_list(r.get("themes")),
            )
        )
    return Register(load_themes(), load_places(), experts, practices, answers, by_email)


@dataclass(frozen=True)
class EvalQuery:
    id: str
    query: str
    kind: str
    lang: str
    experts: dict[str, int]
    practices: dict[str, int]
    gap: bool
    split: str = "dev"  # "dev" (may be looked at when tuning) or "heldout" (never used for tuning)


HELDOUT_EVERY = 4


def default_split(qid: str) -> str:
    """Every ``HELDOUT_EVERY``-th query by number (q004, q008, …) is held out; a ``split`` field overrides it."""
    digits = "".join(ch for ch in qid if ch.isdigit())
    return "heldout" if digits and int(digits) % HELDOUT_EVERY == 0 else "dev"


def load_queries(path: Path = EVAL) -> list[EvalQuery]:
    out: list[EvalQuery] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = json.loads(line)
            qid = str(d.get("id", len(out) + 1))
            out.append(
                EvalQuery(
                    id=qid,
                    query=d["query"],
                    kind=d.get("kind", "question"),
                    lang=d.get("lang", "nl"),
                    experts={k.lower(): int(v) for k, v in (d.get("experts") or {}).items()},
                    practices={k: int(v) for k, v in (d.get("practices") or {}).items()},
                    gap=bool(d.get("gap", False)),
                    split=str(d.get("split") or default_split(qid)),
                )
            )
    return out


def practice_key(doc: PracticeDoc) -> str:
    return f"{doc.title}|{doc.city}"


def load_register_db(directory: Path = DEMO) -> Register:
    """A register as the product sees it: ``directory``'s experts.csv, practices.csv and answers.csv (each optional)
    imported with the normal import code into a throwaway SQLite database of its own, then read back through the
    matching loader (themes, places, searchable experts, practices and answers). Experts are recorded as confirmed
    (consent on paper) and available, so the evaluation measures matching, not availability."""
    import tempfile  # noqa: PLC0415 - only the evaluation needs these
    from datetime import UTC  # noqa: PLC0415

    from bot.demo import load_answer_file  # noqa: PLC0415
    from bot.matching import loader  # noqa: PLC0415
    from bot.register import service  # noqa: PLC0415
    from bot.register.themes import ensure_default_themes  # noqa: PLC0415
    from storage.db import Database  # noqa: PLC0415

    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="wieweet-eval-") as tmp:
        db = Database(f"sqlite:///{tmp}/register.db")
        try:
            with db.session() as session:
                ensure_default_themes(session, now=now)
                if (directory / "experts.csv").exists():
                    service.import_experts(
                        session, path=directory / "experts.csv", actor="eval", now=now, consent_on_paper=True
                    )
                if (directory / "practices.csv").exists():
                    service.import_practices(session, path=directory / "practices.csv", actor="eval", now=now)
                if (directory / "answers.csv").exists():
                    load_answer_file(session, path=directory / "answers.csv", now=now)
            with db.session() as session:
                themes = loader.load_themes(session)
                places = loader.load_places(session)
                experts = list(loader.iter_experts(session))
                practices = list(loader.iter_practices(session))
                answers = list(loader.iter_answers(session))
        finally:
            db.dispose()
    by_email = {e.email: e for e in experts}
    return Register(themes, places, experts, practices, answers, by_email)
