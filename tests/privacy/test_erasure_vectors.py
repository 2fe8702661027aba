"""An erasure deletes the stored meaning vectors of the questions it deletes or redacts, in its own transaction.

A vector is stored under the SHA-256 of the question's ``meaning_text``: the hash lets anyone with the database
confirm a guessed question, and a vector can be partly inverted. They go with the erasure, not a day later with the
needs pass's purge; a vector whose wording a remaining question shares stays (identical wordings share one)."""

from __future__ import annotations

from sqlalchemy import select

from bot.actors import Actor
from bot.knowledge import DatabaseVectorStore
from bot.needs.jobs import run_needs_pass
from bot.needs.meaning import QuestionMeaning
from bot.needs.service import NeedsService
from bot.privacy import erase_person
from bot.question_keys import text_key
from storage.models import Embedding, KnowledgeGap, Question, Visibility
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
