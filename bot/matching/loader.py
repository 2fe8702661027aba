"""Turn database rows into matching documents (the only place where matching meets storage; the queries are
``storage.index_repo``'s)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from importlib import resources

from sqlalchemy.orm import Session

from bot.matching.documents import AnswerDoc, ExpertDoc, PlaceDoc, PracticeDoc, ThemeDoc
from bot.matching.embedding import content_keys
from storage import index_repo, register_repo
from storage.index_repo import SEARCHABLE_QUESTION_STATUSES
from storage.models import Answer, Consent, Expert, Practice, Question, RecordStatus, Theme, Visibility, is_stopped


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace("|", ";").split(";") if part.strip())


def theme_doc(theme: Theme) -> ThemeDoc:
    return ThemeDoc(key=theme.key, label_nl=theme.label_nl, label_en=theme.label_en, synonyms=tuple(theme.synonyms))


def expert_doc(expert: Expert) -> ExpertDoc:
    return ExpertDoc(
        id=expert.id,
        email=expert.email,
        name=expert.name,
        organisation=expert.organisation,
        city=expert.city,
        role=expert.role,
        expertise=tuple(expert.expertise),
        themes=tuple(t.key for t in expert.themes),
        languages=tuple(expert.languages),
        bio=expert.bio,
        slack_user_id=expert.slack_user_id,
        availability=expert.availability.value,
        away_until=expert.away_until,
        consent=expert.consent.value,
        last_confirmed_at=expert.last_confirmed_at,
    )


def practice_doc(practice: Practice) -> PracticeDoc:
    return PracticeDoc(
        id=practice.id,
        title=practice.title,
        summary=practice.summary,
        city=practice.city,
        organisation=practice.organisation,
        themes=tuple(t.key for t in practice.themes),
        tags=tuple(practice.tags),
        outcome=practice.outcome.value if practice.outcome else None,
        lessons=practice.lessons,
        url=practice.url,
        year=practice.year,
        contact_expert_id=practice.contact_expert_id,
        contact_email=practice.contact_email,
    )


def answer_doc(question: Question, *, by_slack: Mapping[str, Expert]) -> AnswerDoc | None:
    """The searchable knowledge of one question, or None when it must not be shown to everyone. ``by_slack``: the
    register entries of the Slack ids its answers are tied to (``index_repo.list_answerers_by_slack_id``)."""
    if question.visibility is not Visibility.PUBLIC or question.channel_is_private:
        return None
    if question.status not in SEARCHABLE_QUESTION_STATUSES or not question.answers:
        return None
    first: Answer = question.answers[0]
    unnamed = is_unnamed(first, by_slack)
    return AnswerDoc(
        id=question.id,
        question=question.text,
        answer="\n\n".join(a.text for a in question.answers),
        expert_id=first.expert_id,
        answered_by="" if unnamed else first.answered_by_name,
        organisation="" if unnamed else first.organisation,
        answered_at=first.created_at,
        themes=tuple(t.key for t in question.themes),
        url=first.permalink,
    )


def is_unnamed(answer: Answer, by_slack: Mapping[str, Expert]) -> bool:
    """An earlier answer shown without its person (no name, no organisation): the person said stop ("never shown or
    asked again", ``storage.models.is_stopped``), found as the digest finds them: by the answer's expert, or by the
    register entry of its Slack id (``by_slack``; an answer chosen by hand or given in the thread has no expert id).
    The index re-reads these answers when the expert changes (``bot.knowledge``)."""
    expert = answer.expert
    slack_id = answer.answered_by_slack_id or (expert.slack_user_id if expert is not None else None)
    return is_stopped(expert) or (slack_id is not None and is_stopped(by_slack.get(slack_id)))


def is_expert_searchable(expert: Expert) -> bool:
    return expert.consent is not Consent.WITHDRAWN and expert.status is RecordStatus.PUBLISHED


def is_practice_searchable(practice: Practice) -> bool:
    return practice.status is RecordStatus.PUBLISHED


def document_vector_keys(session: Session) -> set[str]:
    """The keys of the vectors the register's experts and practices would use (``semantic.content_keys``: the
    whole text's and its parts'), whatever their state: what an erasure compares before and after to find the
    vectors of texts no record has any more. Only the embedded fields are read."""
    keys: set[str] = set()
    for kind, head, items, body in index_repo.list_document_texts(session):
        doc: ExpertDoc | PracticeDoc
        if kind == "expert":
            doc = ExpertDoc(id=0, email="", name="", organisation="", role=head, expertise=tuple(items), bio=body)
        else:
            doc = PracticeDoc(id=0, title=head, summary=body, city="", organisation="", tags=tuple(items))
        keys.update(content_keys(doc))
    return keys


def load_themes(session: Session) -> list[ThemeDoc]:
    return [theme_doc(t) for t in register_repo.list_themes(session)]


def iter_experts(session: Session) -> Iterator[ExpertDoc]:
    for expert in index_repo.list_all_experts(session):
        if is_expert_searchable(expert):
            yield expert_doc(expert)


def iter_practices(session: Session) -> Iterator[PracticeDoc]:
    for practice in index_repo.list_published_practices(session):
        yield practice_doc(practice)


def iter_answers(session: Session) -> Iterator[AnswerDoc]:
    by_slack = index_repo.list_answerers_by_slack_id(session)
    for question in index_repo.list_answered_public_questions(session):
        doc = answer_doc(question, by_slack=by_slack)
        if doc is not None:
            yield doc


def shipped_places() -> list[PlaceDoc]:
    """Cities and organisations wieweet recognises in questions (``bot/data/places.csv``)."""
    places: list[PlaceDoc] = []
    with resources.files("bot").joinpath("data/places.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            places.append(
                PlaceDoc(
                    name=row["name"].strip(),
                    kind=row["kind"].strip(),
                    aliases=_split(row.get("aliases") or ""),
                    city=(row.get("city") or "").strip(),
                )
            )
    return places


def load_places(session: Session) -> list[PlaceDoc]:
    """The shipped places plus every city and organisation that occurs in the register."""
    places = shipped_places()
    known = {p.name.casefold() for p in places}
    for alias_list in (p.aliases for p in places):
        known.update(a.casefold() for a in alias_list)
    for city, organisation in index_repo.list_register_places(session):
        if city and city.casefold() not in known:
            places.append(PlaceDoc(name=city, kind="city"))
            known.add(city.casefold())
        if organisation and organisation.casefold() not in known:
            places.append(PlaceDoc(name=organisation, kind="organisation", city=city or ""))
            known.add(organisation.casefold())
    return places
