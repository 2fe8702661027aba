"""The guard against knowledge bases left open (``tests.leaks``): it fails the test, the module or the session whose
fixtures leaked one, and closes it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase
from storage.db import Database
from tests.leaks import no_knowledge_base_left_open

pytest_plugins = ["pytester"]


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


# A run of its own (a subprocess: the guard patches ``KnowledgeBase`` for a whole session) with the suite's guard and
# one fixture per scope that loads a knowledge base; ``LEAK`` says whether the fixture closes it after its ``yield``.
CONFTEST = """
    import pytest

    from bot.knowledge import KnowledgeBase
    from storage.db import Database

    pytest_plugins = ["tests.leaks"]
    LEAK = {leak}


    @pytest.fixture(scope="session")
    def database(tmp_path_factory):
        database = Database(f"sqlite:///{{tmp_path_factory.mktemp('db') / 'w.db'}}")
        yield database
        database.dispose()


    def loaded(database):
        kb = KnowledgeBase(database)
        kb.load()
        yield kb
        if not LEAK:
            kb.close()


    by_session = pytest.fixture(scope="session")(loaded)
    by_module = pytest.fixture(scope="module")(loaded)
    by_class = pytest.fixture(scope="class")(loaded)
    by_test = pytest.fixture(loaded)
"""
TESTS = {
    "test_session.py": """
        def test_one(by_session):
            assert by_session.listening

        def test_two(by_session):
            assert by_session.listening
    """,
    "test_module.py": """
        def test_one(by_module):
            assert by_module.listening

        def test_two(by_module):
            assert by_module.listening
    """,
    "test_class.py": """
        class TestIt:
            def test_one(self, by_class):
                assert by_class.listening
    """,
    "test_function.py": """
        def test_one(by_test):
            assert by_test.listening
    """,
}


# The inner run is a subprocess started in a temporary folder: it imports ``tests.leaks`` from this checkout, which
# is on its path only when PYTHONPATH says so (``python -m pytest`` puts the checkout on this process's path only).
CHECKOUT = str(Path(__file__).resolve().parent.parent)


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *, leak: bool) -> pytest.RunResult:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [CHECKOUT, os.environ.get("PYTHONPATH", "")])))
    pytester.makeconftest(textwrap.dedent(CONFTEST.format(leak=leak)))
    for name, body in TESTS.items():
        pytester.makepyfile(**{name.removesuffix(".py"): textwrap.dedent(body)})
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rE")


def test_a_fixture_of_each_scope_that_leaves_one_open_fails_where_its_scope_ends(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, leak=True)
    result.assert_outcomes(passed=6, errors=4)
    errors = {line for line in result.outlines if line.startswith("ERROR ")}
    # each leak is reported once, at the teardown that ends the scope of the fixture that made it
    assert {e.split(" - ")[0] for e in errors} == {
        "ERROR test_function.py::test_one",
        "ERROR test_class.py::TestIt::test_one",
        "ERROR test_module.py::test_two",
        "ERROR test_session.py::test_two",  # the session's last test, in the last file run
    }
    text = "\n".join(result.outlines)
    for where in ("here", "by a module- or class-scoped fixture", "by a session- or package-scoped fixture"):
        assert f"1 knowledge base(s) loaded {where} still follow" in text
    # the class's and the module's, in the error sections (the short summary repeats them in full where pytest knows
    # it runs in CI, truncated elsewhere)
    sections = "\n".join(line for line in result.outlines if not line.startswith("ERROR "))
    assert sections.count("loaded by a module- or class-scoped fixture") == 2


def test_fixtures_that_close_what_they_loaded_pass(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(pytester, monkeypatch, leak=False).assert_outcomes(passed=6)
