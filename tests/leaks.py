"""Test support: knowledge bases a test loaded and left open (``tests/conftest.py`` checks every test, every module
and the session with it).

A loaded ``KnowledgeBase`` follows the commits of its database's sessions until it is closed. One left open on the
PostgreSQL database the tests share kept following later tests' commits, and those tests once stopped seeing their
own commits in their index.

Three checks, one per lifetime:

* a test (its body and its function-scoped fixtures): ``no_knowledge_base_left_open`` around it;
* a module: what a module- or class-scoped fixture built, once the module's fixtures are torn down;
* the session: what a session- or package-scoped fixture built, once the session's fixtures are torn down.

Who built a knowledge base is known from the fixture being set up at the time (``WiderScopes.setting_up``, called
from the ``pytest_fixture_setup`` hook); one built in a test's body belongs to the test."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from bot.knowledge import KnowledgeBase

# a fixture's scope -> the check that covers what it builds (a class ends before its module; a package before the
# session, which is where its leaks are seen)
CHECKED_AT = {"class": "module", "module": "module", "package": "session", "session": "session"}
HOW_TO_CLOSE = "close them (``with KnowledgeBase(db) as kb``, or ``kb.close()`` in a ``finally`` or after a ``yield``)"


def close_and_fail(built: weakref.WeakSet[KnowledgeBase], where: str) -> None:
    """Close the knowledge bases of ``built`` that still follow their database, and fail saying ``where``."""
    left = [kb for kb in built if kb.listening]
    for kb in left:
        kb.close()  # nothing later pays for it
    if left:
        pytest.fail(
            f"{len(left)} knowledge base(s) loaded {where} still follow their database's commits: {HOW_TO_CLOSE}",
            pytrace=False,
        )


@contextmanager
def no_knowledge_base_left_open() -> Iterator[None]:
    """Track every knowledge base built inside the block; at its end, close those still open and fail."""
    built: weakref.WeakSet[KnowledgeBase] = weakref.WeakSet()
    init = KnowledgeBase.__init__

    def tracked(kb: KnowledgeBase, *args: Any, **kwargs: Any) -> None:
        init(kb, *args, **kwargs)
        if WIDER.building is None:  # a wider fixture's knowledge base is checked when that fixture's scope ends
            built.add(kb)

    with mock.patch.object(KnowledgeBase, "__init__", tracked):
        yield
    close_and_fail(built, "here")


class WiderScopes:
    """The knowledge bases built while a fixture wider than a test (module, class, package, session) was set up,
    by the check that covers them (``CHECKED_AT``)."""

    def __init__(self) -> None:
        self._setting_up: list[str] = []  # the scopes of the fixtures being set up, innermost last
        self._built: dict[str, weakref.WeakSet[KnowledgeBase]] = {
            check: weakref.WeakSet() for check in set(CHECKED_AT.values())
        }

    @property
    def building(self) -> str | None:
        """The check covering a knowledge base built now: None for a test's own (its body, a function fixture)."""
        return CHECKED_AT.get(self._setting_up[-1]) if self._setting_up else None

    @contextmanager
    def setting_up(self, scope: str) -> Iterator[None]:
        """A fixture of ``scope`` is being set up (``pytest_fixture_setup``)."""
        self._setting_up.append(scope)
        try:
            yield
        finally:
            self._setting_up.pop()

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Note every knowledge base built inside the block under the check that covers it."""
        init = KnowledgeBase.__init__

        def tracked(kb: KnowledgeBase, *args: Any, **kwargs: Any) -> None:
            init(kb, *args, **kwargs)
            check = self.building
            if check is not None:
                self._built[check].add(kb)

        with mock.patch.object(KnowledgeBase, "__init__", tracked):
            yield

    def check(self, scope: str) -> None:
        """The fixtures of a ``scope`` ("module", "session") are torn down: close and fail on what they left open."""
        built, self._built[scope] = self._built[scope], weakref.WeakSet()
        scopes = sorted((s for s, check in CHECKED_AT.items() if check == scope), key=lambda s: s != scope)
        close_and_fail(built, f"by a {'- or '.join(scopes)}-scoped fixture")


WIDER = WiderScopes()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """Whose knowledge base one built now is: the fixture being set up's scope."""
    with WIDER.setting_up(fixturedef.scope):
        return (yield)


@pytest.fixture(scope="session", autouse=True)
def _no_knowledge_base_left_open_by_the_session() -> Iterator[None]:
    """A session- or package-scoped fixture that left a knowledge base open fails the session's last teardown.
    Autouse and session-scoped: set up before, and torn down after, every other session fixture."""
    with WIDER.tracking():
        yield
    WIDER.check("session")


@pytest.fixture(scope="module", autouse=True)
def _no_knowledge_base_left_open_by_the_module() -> Iterator[None]:
    """A module- or class-scoped fixture that left a knowledge base open fails its module's last teardown (this
    autouse fixture is set up before the module's own fixtures, so it is torn down after them)."""
    yield
    WIDER.check("module")


@pytest.fixture(autouse=True)
def _no_knowledge_base_left_open() -> Iterator[None]:
    """A test that loaded a knowledge base and left it open fails at its teardown. A function fixture that closes
    what it built at its own teardown owns it: that runs before this check."""
    with no_knowledge_base_left_open():
        yield
