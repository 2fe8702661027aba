"""An erasure deletes the stored meaning vectors of the questions it deletes or redacts, in its own transaction.

A vector is stored under the SHA-256 of the question's ``meaning_text``: the hash lets anyone with the database
confirm a guessed question, and a vector can be partly inverted. They go with the erasure, not a day later with the
needs pass's purge; a vector whose wording a remaining question shares stays (identical wordings share one)."""

from __future__ import annotations

from sqlalchemy import select

from bot.actors import Actor
from bot.knowledge import DatabaseVectorStore
from bot.matching.embedding import content_key, content_keys, document_text, probe_keys
from bot.matching.loader import expert_doc, practice_doc
from bot.needs.jobs import run_needs_pass
from bot.needs.meaning import QuestionMeaning
from bot.needs.service import NeedsService
from bot.privacy import erase_person
from bot.question_keys import text_key
from storage.models import Embedding, Expert, KnowledgeGap, Practice, Question, Visibility
from tests.factories import add_question
from tests.privacy.conftest import LATER, LIEVE, Ids
from tests.privacy.test_erasure_in_memory import RememberingEmbedder
from tests.routing.conftest import NOW, World

MODEL = f"{RememberingEmbedder.model_id}#question"
SHARED = "Wie weet iets over erfpacht bij sociale woningen?"  # asked by her and, in the same words, by someone else
ONLY_HERS = "Wie weet iets over de leegstandsheffing voor mijn eigen pand in Gent?"  # private, routed: deleted
NAMING = "Leegstandsheffing op winkelpanden: wie heeft ervaring? Vraag het aan Lieve Vermeulen."  # kept, redacted


def stored(world: World) -> set[str]:
    with world.db.session() as s:
        return set(s.scalars(select(Embedding.content_hash).where(Embedding.model == MODEL)))


def test_erasure_deletes_the_vectors_of_the_questions_it_deletes_or_redacts(world: World, lieve: Ids) -> None:
    with world.db.session() as s:  # (asked without routing: a question nobody can be asked about stays as a gap)
        add_question(s, SHARED, created_at=NOW, asker=LIEVE, visibility=Visibility.PRIVATE)
        add_question(s, SHARED, created_at=NOW, asker="U0GRIET01")
        add_question(s, ONLY_HERS, created_at=NOW, asker=LIEVE, visibility=Visibility.PRIVATE)
    kb = world.kb
    kb.close()
    kb.embedder = RememberingEmbedder()
    kb.load()
    needs = NeedsService(kb, meaning=QuestionMeaning(kb.embedder, DatabaseVectorStore(world.db, now=NOW)))
    assert run_needs_pass(world.db, service=needs, now=NOW, worker_id="test").embedded
    before = stored(world)
    assert {text_key(ONLY_HERS), text_key(SHARED), text_key(NAMING)} <= before

    with world.db.session() as s:
        erase_person(session=s, actor=Actor.slack(LIEVE, is_staff=False), slack_user_id=LIEVE, now=LATER)

    after = stored(world)
    assert text_key(ONLY_HERS) not in after  # her private question went: its vector too
    assert text_key(NAMING) not in after  # the kept question no longer has this text (her name is redacted)
    assert text_key(SHARED) in after  # someone else asked the same words: their question still uses it
    with world.db.session() as s:
        remaining = {text_key(q.text) for q in s.scalars(select(Question))}
        remaining |= {text_key(g.query) for g in s.scalars(select(KnowledgeGap))}
    # her routed private question that nobody fitted was a gap too: the gap goes with her, so its vector does
    own_private = "Hoe int je een leegstandsheffing bij een faillissement?"
    assert before - after == {text_key(ONLY_HERS), text_key(NAMING), text_key(own_private)}
    assert after == before & remaining
    assert (before & remaining) <= after  # nothing a remaining question uses was deleted


DOC_MODEL = RememberingEmbedder.model_id  # documents' vectors are stored under the embedder's own id
HER_ITEM = "herbestemming van leegstaande kerken"  # an expertise item only her profile lists
SHARED_ITEM = "leegstandsheffing"  # Bram lists it too


def stored_documents(world: World) -> set[str]:
    with world.db.session() as s:
        return set(s.scalars(select(Embedding.content_hash).where(Embedding.model == DOC_MODEL)))


def register_keys(world: World) -> set[str]:
    """The keys of every vector the register's experts and practices use now."""
    with world.db.session() as s:
        docs = [expert_doc(e) for e in s.scalars(select(Expert))]
        docs += [practice_doc(p) for p in s.scalars(select(Practice))]
        return {key for doc in docs for key in content_keys(doc)}


def test_erasure_deletes_the_document_vectors_of_her_profile_and_of_the_texts_it_redacts(
    world: World, lieve: Ids
) -> None:
    with world.db.session() as s:
        expert = s.get(Expert, lieve.expert)
        assert expert is not None
        expert.expertise = [SHARED_ITEM, HER_ITEM]
        expert.bio = "Twintig jaar leegstandsbeleid in Gent."
    kb = world.kb
    kb.close()
    kb.embedder = RememberingEmbedder()
    kb.load()
    kb.embed_pending(now=NOW)
    with world.db.session() as s:
        her_profile = content_keys(expert_doc(s.get_one(Expert, lieve.expert)))
        practice = s.get_one(Practice, lieve.practice)
        practice_text = content_key(document_text(practice_doc(practice)) or "")
        assert "Lieve Vermeulen" in practice.summary
    before = stored_documents(world)
    assert {*her_profile, practice_text, content_key(HER_ITEM), content_key(SHARED_ITEM)} <= before

    with world.db.session() as s:
        report = erase_person(session=s, actor=Actor.slack(LIEVE, is_staff=False), slack_user_id=LIEVE, now=LATER)

    after = stored_documents(world)
    assert her_profile[0] not in after  # her profile's whole text went with her profile
    assert content_key(HER_ITEM) not in after  # an expertise item only she listed
    assert practice_text not in after  # the practice stays, but its text no longer names her
    assert content_key(SHARED_ITEM) in after  # Bram lists the same item: his profile still uses that vector
    assert content_key("Leegstandsregister") in after  # the practice's title did not change
    assert before - after == {her_profile[0], content_key(HER_ITEM), practice_text}
    # nothing a remaining record (or the calibration's probe questions) uses was deleted
    assert after == before & (register_keys(world) | set(probe_keys()))
    assert report.counts["document_vectors_deleted"] == 3
