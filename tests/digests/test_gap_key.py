"""One way to count knowledge gaps — once per asker and wording, the wording folded (case, spaces, punctuation) —
shared by the weekly digest, the knowledge needs and the needs report."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.demo import load_demo
from bot.jobs import JobRunner
from bot.knowledge import KnowledgeBase, analysis_version, gap_keys, rebuild_gap_keys
from bot.needs.core import count_needs
from bot.routing import RoutingService
from digests.collect import collect_digest_data
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import needs_repo, question_repo
from storage.db import Database
from storage.models import KnowledgeGap
from storage.schema.search import gap_key
from tests.digests.conftest import IN_WEEK, NOW, WINDOW_END, WINDOW_START, seed_themes

BEEHIVES = "wie weet iets over bijenkasten op het dak van het stadhuis?"
ASKED = [  # (asker, normalised key as stored): the same wording folded differently, and askers asking again
    ("U0CITY001", "bijenkasten dak"),
    ("U0CITY001", "Bijenkasten  Dak"),
    ("U0CITY001", "bijenkasten, dak!"),
    ("U0CITY002", " BIJENKASTEN DAK "),
    (None, "bijenkasten dak."),
    ("U0CITY003", "Één loket"),  # not ASCII: the database's lower() folds only A-Z on SQLite
    ("U0CITY003", "één loket"),
    ("U0CITY004", "ÉÉN LOKET"),
    ("U0CITY004", "leegstand"),
]


def test_the_key_folds_case_spaces_and_punctuation() -> None:
    assert gap_key("Bijenkasten,  Dak!", "x") == gap_key(" bijenkasten dak ", "y") == "bijenkasten dak"
    assert gap_key("ÉÉN loket", "") == gap_key("één loket", "") == "één loket"
    assert gap_key("", "Wie weet iets over Leegstand?") == "wie weet iets over leegstand"


def test_a_gap_without_a_word_has_no_key() -> None:
    assert gap_key("", "???") is None and gap_key(None, " 🤷 ") is None and gap_key("?!", "") is None
    assert gap_key("", "wie?") == "wie"


NO_WORDS = [("U0CITY005", "???"), ("U0CITY006", "🤷"), (None, "…")]  # searches with nothing to count


@pytest.mark.parametrize("nothing", [[], NO_WORDS])
def test_digest_needs_and_report_count_the_same_gaps(database: Database, nothing: list[tuple[str, str]]) -> None:
    with database.session() as s:
        seed_themes(s)
        for i, (asker, normalized) in enumerate(ASKED + [(a, "") for a, _ in nothing]):
            question_repo.create_knowledge_gap(
                s,
                query=f"wie weet iets over {normalized}?" if normalized else nothing[i - len(ASKED)][1],
                normalized=normalized,
                themes=["wonen"],
                asker_slack_id=asker,
                channel_id="C0PUBLIC1",
                channel_is_private=False,
                source="slack",
                now=IN_WEEK + timedelta(minutes=i),
            )
    expected = 6  # city1, city2, unknown on beehives; city3, city4 on the one-stop shop; city4 on vacancy
    with database.session() as s:
        data = collect_digest_data(s, themes=["wonen"], period_start=WINDOW_START, period_end=WINDOW_END, now=NOW)
        (theme,) = data.themes
        digest = sum(g.count for g in theme.gaps) + theme.unquoted_gaps
        assert sorted(g.count for g in theme.gaps) == [2, 3]
        needs = count_needs(needs_repo.list_need_sources(s, since=WINDOW_START))
        report = question_repo.count_knowledge_gaps(s, start=WINDOW_START, end=WINDOW_END)
    assert (digest, needs, report) == (expected, expected, expected)


def test_a_gap_keyed_by_an_older_analysis_is_rebuilt_and_groups_with_new_ones(database: Database) -> None:
    with database.session() as s:
        load_demo(s, now=NOW - timedelta(days=30))
    kb = KnowledgeBase(database)
    kb.load()
    try:
        with database.session() as s:
            asked = kb.ask(s, query=BEEHIVES, now=IN_WEEK, source="slack", user_id="U0CITY002", channel_id="C0PUBLIC1")
            assert asked.gap_id is not None
            new = s.get(KnowledgeGap, asked.gap_id)
            assert new is not None
            question_repo.create_knowledge_gap(  # recorded before the analysis changed: its key is not today's
                s,
                query=BEEHIVES,
                normalized="wie weet iets over bijenkasten op het dak van het stadhuis",
                themes=list(new.themes),
                asker_slack_id="U0CITY001",
                channel_id="C0PUBLIC1",
                channel_is_private=False,
                source="slack",
                now=IN_WEEK - timedelta(days=1),
            )
        assert _beehive_counts(database) == [1, 1]  # the same question, two groups: nobody's wording is quoted
        services = Services(settings=Settings(), db=database, knowledge=kb, clock=lambda: NOW)
        client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
        jobs = JobRunner(services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client))
        assert jobs.rebuild_gap_keys() == 1  # the daily pass: only the stale key is written
        assert jobs.rebuild_gap_keys() is None  # once a day
        assert rebuild_gap_keys(database, kb, now=NOW) == 0  # nothing stale is left
    finally:
        kb.close()
    assert _beehive_counts(database) == [2]
    with database.session() as s:
        assert question_repo.count_knowledge_gaps(s, start=WINDOW_START, end=WINDOW_END) == 2


def _beehive_counts(database: Database) -> list[int]:
    with database.session() as s:
        data = collect_digest_data(s, themes=None, period_start=WINDOW_START, period_end=WINDOW_END, now=NOW)
    quoted = [g.count for t in data.themes for g in t.gaps if "bijenkasten" in g.query]
    return quoted or [1] * sum(t.unquoted_gaps for t in data.themes)


def test_a_failing_rebuild_is_tried_again_the_next_day_not_every_pass(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def failing(*args: object, **kwargs: object) -> int:
        calls.append(kwargs.get("now"))
        raise RuntimeError("the analysis broke")

    monkeypatch.setattr("bot.jobs.rebuild_gap_keys", failing)
    today = [NOW]
    kb = KnowledgeBase(database)
    services = Services(settings=Settings(), db=database, knowledge=kb, clock=lambda: today[0])
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
    jobs = JobRunner(services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client))
    try:
        with pytest.raises(RuntimeError):  # the day's rebuild fails (the job runner logs it) ...
            jobs.rebuild_gap_keys()
        today[0] += timedelta(seconds=30)  # ... and the next pass does not redo it
        assert jobs.rebuild_gap_keys() is None and len(calls) == 1
        today[0] = NOW + timedelta(days=1)  # the next day: tried again
        with pytest.raises(RuntimeError):
            jobs.rebuild_gap_keys()
        assert len(calls) == 2
    finally:
        kb.close()


def test_two_processes_sharing_a_database_rebuild_the_keys_once_a_day(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr("bot.jobs.rebuild_gap_keys", lambda *args, **kwargs: calls.append(kwargs["now"]) or 0)
    today = [NOW]
    runners, bases = [], []
    for _ in range(2):  # two services started on one database, each with its own runner
        kb = KnowledgeBase(database)
        services = Services(settings=Settings(), db=database, knowledge=kb, clock=lambda: today[0])
        client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
        bases.append(kb)
        runners.append(JobRunner(services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client)))
    try:
        results = [runner.rebuild_gap_keys() for runner in runners]
        assert results == [0, None] and len(calls) == 1  # the first pass of each: one of them rebuilds
        today[0] += timedelta(hours=1)
        assert [runner.rebuild_gap_keys() for runner in reversed(runners)] == [None, None]
        today[0] = NOW + timedelta(days=1)  # the next day: once again, by whichever comes first
        assert [runner.rebuild_gap_keys() for runner in reversed(runners)] == [0, None] and len(calls) == 2
    finally:
        for kb in bases:
            kb.close()


def test_a_deploy_with_a_changed_analysis_rebuilds_the_same_day(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr("bot.jobs.rebuild_gap_keys", lambda *args, **kwargs: calls.append(kwargs["now"]) or 0)
    version = ["old0000000aa"]
    monkeypatch.setattr("bot.jobs.analysis_version", lambda: version[0])
    runners, bases = [], []
    for _ in range(2):  # the process running the old code, then one started with the new release
        kb = KnowledgeBase(database)
        services = Services(settings=Settings(), db=database, knowledge=kb, clock=lambda: NOW)
        client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
        bases.append(kb)
        runners.append(JobRunner(services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client)))
    try:
        assert runners[0].rebuild_gap_keys() == 0 and len(calls) == 1  # the old code claimed today
        version[0] = "new0000000bb"  # the new release keys gaps differently
        assert runners[1].rebuild_gap_keys() == 0 and len(calls) == 2  # rebuilt today, not tomorrow
    finally:
        for kb in bases:
            kb.close()


@pytest.mark.parametrize("changed", ["matching/data/stopwords_nl.txt", "matching/engine.py", "knowledge/index.py"])
def test_the_analysis_version_changes_with_a_word_list_or_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed: str
) -> None:
    """A copy of the code and word lists the version is computed from, one file of it changed, gives another one."""
    source = Path(gap_keys.__file__).resolve().parent.parent
    for package in ("knowledge", "matching"):
        shutil.copytree(source / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(gap_keys, "__file__", str(tmp_path / "knowledge" / "gap_keys.py"))
    versions = []
    try:
        for edit in (False, True):
            if edit:
                with (tmp_path / changed).open("a", encoding="utf-8") as file:
                    file.write("\n# one more line\n" if changed.endswith(".py") else "\nbeleidsplan\n")
            analysis_version.cache_clear()
            versions.append(analysis_version())
    finally:
        monkeypatch.undo()
        analysis_version.cache_clear()
    assert versions[0] == analysis_version() and len(versions[0]) == 12  # the copy is the code itself
    assert versions[1] != versions[0]


def test_an_older_release_never_writes_its_keys_over_a_newer_ones(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A rolling deploy: the new release rebuilt the keys; an old process still running claims its own analysis's
    day and would write its old keys back. The release that wrote them is recorded: the older one writes nothing."""
    with database.session() as s:
        for n, key in enumerate(["oude sleutel", "nog een oude sleutel"]):
            question_repo.create_knowledge_gap(
                s, query=BEEHIVES, normalized=key, themes=[], asker_slack_id=f"U0CITY00{n}", channel_id="C0PUBLIC1",
                channel_is_private=False, source="slack", now=IN_WEEK,
            )  # fmt: skip
    kb = KnowledgeBase(database)
    kb.load()
    old, new = (20, 0, 1, 0), (20, 0, 2, 0)
    try:
        assert rebuild_gap_keys(database, kb, now=NOW, release=old) == 2  # before the deploy: the old one writes
        today = _keys(database)
        assert rebuild_gap_keys(database, kb, now=NOW, release=new) == 0  # the new release: recorded as the writer
        monkeypatch.setattr(gap_keys, "current_gap_key", lambda knowledge, query: "oude analyse")
        with caplog.at_level("WARNING", logger="bot.knowledge"):
            assert rebuild_gap_keys(database, kb, now=NOW + timedelta(days=1), release=old) == 0
        assert _keys(database) == today  # the old analysis wrote nothing back
        assert "newer release (20.0.2.0" in caplog.text
        assert rebuild_gap_keys(database, kb, now=NOW + timedelta(days=1), release=new) == 2  # the new one still may
    finally:
        kb.close()


# The analysis fingerprint of ``gap_keys.ANALYSIS_GENERATION``. When the analysis changes (a word list, the matching
# code, the searchable start), raise the generation and pin the new fingerprint here with it.
PINNED_GENERATION, PINNED_ANALYSIS = 21, "2deacc88c9fa"


def test_the_analysis_generation_is_raised_with_every_analysis_change() -> None:
    """An analysis-only release needs no migration and keeps the package version: the generation is what makes it
    newer in ``analysis_release``, so a changed fingerprint must come with a raised generation."""
    assert analysis_version() == PINNED_ANALYSIS, (
        f"the analysis changed (fingerprint {analysis_version()}, pinned {PINNED_ANALYSIS}): raise "
        "ANALYSIS_GENERATION in bot/knowledge/gap_keys.py and pin the new generation and fingerprint in this test"
    )
    assert gap_keys.ANALYSIS_GENERATION == PINNED_GENERATION, "pin the new fingerprint with the raised generation"
    assert gap_keys.analysis_release()[1] == gap_keys.ANALYSIS_GENERATION


def test_an_older_analysis_of_the_same_schema_and_version_is_refused(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analysis-only deploy (same schema head, same package version): the old process's analysis, a generation
    lower, never writes over the new one's keys; a writer recorded before the generation existed is older."""
    with database.session() as s:
        assert gap_keys.newer_writer(s, now=NOW, release=(21, 0, 1, 0)) is None  # recorded as "21.0.1.0 …"
    releases = []
    try:
        for generation in (gap_keys.ANALYSIS_GENERATION + 1, gap_keys.ANALYSIS_GENERATION):
            monkeypatch.setattr(gap_keys, "ANALYSIS_GENERATION", generation)
            gap_keys.analysis_release.cache_clear()
            releases.append(gap_keys.analysis_release())
    finally:
        monkeypatch.undo()
        gap_keys.analysis_release.cache_clear()
    new, old = releases
    assert new[0] == old[0] and new[2:] == old[2:] and new > old
    with database.session() as s:
        assert gap_keys.newer_writer(s, now=NOW + timedelta(minutes=1), release=new) is None  # the new analysis
    with database.session() as s:
        assert gap_keys.newer_writer(s, now=NOW + timedelta(minutes=5), release=old) is not None


def _keys(database: Database) -> list[str]:
    with database.session() as s:
        return sorted(g.normalized for g in s.query(KnowledgeGap).all())


CONTEXT_WORDS = "wie weet iets over padel en sport in de binnenstad?"  # "binnenstad": a context word


def test_a_gap_recorded_live_keeps_its_key_at_the_daily_rebuild(database: Database) -> None:
    """A search ranks without the question's context words, but a gap recorded by it keys on the whole question,
    as ``current_gap_key`` and the daily rebuild do (else the key flips the next day and today's askers split)."""
    with database.session() as s:
        load_demo(s, now=NOW - timedelta(days=30))
    with KnowledgeBase(database) as kb:
        kb.load()
        today = gap_keys.current_gap_key(kb, CONTEXT_WORDS)
        assert "binnenstad" in today.split()
        with database.session() as s:
            asked = kb.ask(s, query=CONTEXT_WORDS, now=IN_WEEK, source="slack", user_id="U0CITY002")
            assert asked.gap_id is not None
            stored = s.get(KnowledgeGap, asked.gap_id)
            assert stored is not None and stored.normalized == today
        assert "binnenstad" not in kb.search(CONTEXT_WORDS, now=IN_WEEK).terms  # the ranking leaves it out
        assert rebuild_gap_keys(database, kb, now=NOW) == 0
