"""The themes vocabulary: seeding the shipped default, staff extensions by file, resolving what people write."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.errors import ImportFailed, NotFoundError
from bot.register import service
from bot.register.report import RecordChange
from bot.register.themes import ThemeResolver, ensure_default_themes, shipped_themes
from storage import register_repo as repo
from storage.db import Database
from storage.models import AuditLog, Expert, Theme
from tests.register.conftest import EXPERT_HEADER, NOW, THEME_HEADER, Write, count, import_errors, run_import


def test_default_vocabulary_is_seeded_once(database: Database) -> None:
    with database.session() as session:
        assert ensure_default_themes(session, now=NOW) == len(shipped_themes()) >= 13
        assert ensure_default_themes(session, now=NOW) == 0
        themes = repo.list_themes(session)
        assert themes[0].key == "wonen" and themes[0].label_en == "Housing" and "huisvesting" in themes[0].synonyms
        assert [t.position for t in themes] == list(range(len(themes)))


def test_themes_import_adds_and_updates_by_key(database: Database, write: Write) -> None:
    text = THEME_HEADER + "\nzorg,Zorg en welzijn,Care,woonzorg;care\nwonen,Wonen,Housing,huisvesting\n"
    report = run_import(database, "themes", write("themes.csv", text))
    assert report.changes == [
        RecordChange("zorg", "added"),
        RecordChange("wonen", "changed", ("label_nl", "synonyms")),
    ]
    assert (report.added, report.changed, report.unchanged) == (1, 1, 0)
    with database.session() as session:
        zorg = session.get(Theme, "zorg")
        assert zorg is not None and zorg.synonyms == ["woonzorg", "care"] and zorg.position == len(shipped_themes())
        wonen = session.get(Theme, "wonen")
        assert wonen is not None and wonen.label_nl == "Wonen" and wonen.updated_at == NOW
        audit = session.scalars(select(AuditLog).where(AuditLog.entity_type == "theme").order_by(AuditLog.id)).all()
        assert [(a.entity_key, a.before is None) for a in audit] == [("zorg", True), ("wonen", False)]
    again = run_import(database, "themes", write("themes.csv", text))
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    # the new theme is accepted in register files by key or label
    run_import(database, "experts", write("e.csv", EXPERT_HEADER + "\nAn,an@x.be,,X,,,,Care;Wonen,,\n"))
    with database.session() as session:
        assert [t.key for t in session.scalars(select(Expert)).one().themes] == ["wonen", "zorg"]


def test_a_file_without_synonyms_keeps_them(database: Database, write: Write) -> None:
    run_import(database, "themes", write("t.csv", "key,label_nl,label_en\nwonen,Wonen,Housing\n"))
    with database.session() as session:
        wonen = session.get(Theme, "wonen")
        assert wonen is not None and wonen.label_nl == "Wonen" and "huisvesting" in wonen.synonyms


def test_theme_rows_are_validated_all_or_nothing(database: Database, write: Write) -> None:
    text = (
        THEME_HEADER + "\nzorg,Zorg,Care,\nZorg Thuis,,Home care,\nzorg,Zorg 2,Care 2,\n"
        "mobiel,Mobiliteit,Housing,\nok,Ok,Ok,\n"
    )
    assert import_errors(database, "themes", write("t.csv", text)) == [
        "t.csv: row 3, column key: 'Zorg Thuis' is not a valid theme key (lower-case letters, digits and dashes, "
        "like publieke-ruimte; did you mean 'zorg-thuis'?)",
        "t.csv: row 3, column label_nl: missing required value",
        "t.csv: row 4, column key: duplicate key 'zorg' (also in row 2)",
        "t.csv: row 5, column label_en: 'Housing' already names theme 'wonen'; names must be unique",
    ]
    assert count(database, Theme) == 0 and count(database, AuditLog) == 0


def test_themes_dry_run_writes_nothing(database: Database, write: Write) -> None:
    report = run_import(
        database, "themes", write("t.csv", THEME_HEADER + "\nzorg,Zorg,Care,\nwonen,Wonen,Housing,\n"), dry_run=True
    )
    assert report.changes == [RecordChange("zorg", "added"), RecordChange("wonen", "changed", ("label_nl", "synonyms"))]
    assert count(database, Theme) == 0


def test_themes_header_is_checked(database: Database, write: Write) -> None:
    with pytest.raises(ImportFailed, match=r"lacks the required column 'label_en'"):
        run_import(database, "themes", write("t.csv", "key,label_nl\nzorg,Zorg\n"))


def test_resolver_suggests_from_labels_and_synonyms() -> None:
    resolver = ThemeResolver(shipped_themes())
    assert resolver.resolve("WONEN") == "wonen" and resolver.resolve("Housing") == "wonen"
    assert resolver.resolve("huisvesting") == "wonen"  # a synonym of one theme resolves to it ...
    assert resolver.resolve("Mobiliteit") == "publieke-ruimte"
    assert resolver.resolve_synonym("mobiliteit") == "publieke-ruimte" and resolver.resolve_synonym("wonen") is None
    assert resolver.resolve("participatie") is None  # ... one of two themes does not
    assert resolver.synonym_owners("participatie") == ["organisatie", "sociaal"]
    assert resolver.suggest("huisvesting") == "wonen"
    assert resolver.suggest("klimat") == "klimaat"
    assert resolver.suggest("qqqqqq") is None


def test_unknown_theme_filter_is_a_clear_error(database: Database) -> None:
    with (
        database.session() as session,
        pytest.raises(NotFoundError, match=r"unknown theme 'woonen' \(did you mean 'wonen'\?\)"),
    ):
        service.list_experts(session, theme="woonen")
