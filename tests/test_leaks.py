"""The guard against knowledge bases left open (``tests.leaks``): it fails the test that leaked one, and closes it."""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase
from storage.db import Database
from tests.leaks import no_knowledge_base_left_open


def test_a_knowledge_base_left_open_fails_the_test_and_is_closed(database: Database) -> None:
    with pytest.raises(pytest.fail.Exception, match="1 knowledge base"), no_knowledge_base_left_open():
        leaked = KnowledgeBase(database)
        leaked.load()  # and never closed: a deliberate leak
    assert not leaked.listening


def test_closed_or_never_loaded_knowledge_bases_pass(database: Database) -> None:
    with no_knowledge_base_left_open():
        with KnowledgeBase(database) as kb:
            kb.load()
            assert kb.listening
        assert not kb.listening
        KnowledgeBase(database)  # never loaded: it follows nothing
