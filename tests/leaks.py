"""Test support: knowledge bases a test loaded and left open (``tests/conftest.py`` checks every test with it).

A loaded ``KnowledgeBase`` follows the commits of its database's sessions until it is closed. One left open on the
PostgreSQL database the tests share kept following later tests' commits, and those tests once stopped seeing their
own commits in their index."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from bot.knowledge import KnowledgeBase


@contextmanager
def no_knowledge_base_left_open() -> Iterator[None]:
    """Track every knowledge base built inside the block; at its end, close those still open and fail."""
    built: weakref.WeakSet[KnowledgeBase] = weakref.WeakSet()
    init = KnowledgeBase.__init__

    def tracked(kb: KnowledgeBase, *args: Any, **kwargs: Any) -> None:
        init(kb, *args, **kwargs)
        built.add(kb)

    with mock.patch.object(KnowledgeBase, "__init__", tracked):
        yield
    left = [kb for kb in built if kb.listening]
    for kb in left:
        kb.close()  # no later test pays for it
    if left:
        pytest.fail(
            f"{len(left)} knowledge base(s) loaded here still follow their database's commits: close them "
            "(``with KnowledgeBase(db) as kb``, or ``kb.close()`` in a ``finally``)",
            pytrace=False,
        )
