"""Importing the expert register: upsert by email, all or nothing, every problem located — SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.errors import ImportFailed
from bot.register import service
from bot.register.report import RecordChange
from storage import register_repo as repo
from storage.db import Database
from storage.models import AuditLog, Consent, Expert, Theme
from tests.register.conftest import (
    EXPERT_HEADER,
    EXPERTS,
    NOW,
    Write,
    count,
    import_errors,
    run_import,
    write_xlsx,
)


def experts_by_email(database: Database) -> dict[str, dict[str, object]]:
    with database.session() as session:
        return {
            e.email: {
                "name": e.name,
                "slack_user_id": e.slack_user_id,
                "role": e.role,
                "themes": [t.key for t in e.themes],
                "consent": e.consent,
                "updated_at": e.updated_at,
            }
            for e in session.scalars(select(Expert))
        }


def test_import_adds_experts_normalised_with_pending_consent(database: Database, write: Write) -> None:
    report = run_import(database, "experts", write("experts.csv", EXPERTS))
    assert (report.added, report.changed, report.unchanged) == (2, 0, 0)
    assert report.changes == [RecordChange("an.peeters@gent.be", "added"), RecordChange("bram@vvsg.be", "added")]
    with database.session() as session:
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        assert an.name == "An Peeters" and an.slack_user_id == "U0AN" and an.city == "Gent"
        assert an.expertise == ["leegstandsheffing", "woningkwaliteit"]
        assert [t.key for t in an.themes] == ["europa", "wonen"]  # an English label resolves to its key
        assert an.languages == ["nl", "en"] and an.bio == 'Zei: "leegstand" is duur.'
        assert an.consent is Consent.PENDING and an.source == "import"
        assert an.created_at == NOW and an.updated_at == NOW
        bram = session.scalars(select(Expert).where(Expert.email == "bram@vvsg.be")).one()
        assert bram.slack_user_id is None and bram.expertise == ["financiën", "BBC"]  # "|" separates items too
        # the shipped vocabulary was seeded so that theme keys are accepted on a fresh database
        assert session.get(Theme, "publieke-ruimte") is not None


def test_every_added_record_is_audited(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    with database.session() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert [(a.actor, a.action, a.entity_type, a.entity_key, a.at) for a in rows] == [
            ("cli:test", "import", "expert", "an.peeters@gent.be", NOW),
            ("cli:test", "import", "expert", "bram@vvsg.be", NOW),
        ]
        assert rows[0].before is None and rows[0].after is not None
        assert rows[0].after["themes"] == ["europa", "wonen"] and rows[0].after["consent"] == "pending"


def test_reimport_counts_unchanged_and_changed_fields(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    run_import(database, "experts", path)
    again = run_import(database, "experts", path)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2) and again.changes == []
    assert count(database, AuditLog) == 2  # unchanged records are not audited

    edited = EXPERTS.replace("beleidsmedewerker", "teamleider").replace("wonen;Europe and EU funding", "wonen")
    edited += "Cor Claes,cor@leuven.be,,Stad Leuven,Leuven,,,,,\n"
    report = run_import(database, "experts", write("experts2.csv", edited))
    assert (report.added, report.changed, report.unchanged) == (1, 1, 1)
    assert report.changes == [
        RecordChange("an.peeters@gent.be", "changed", ("role", "themes")),
        RecordChange("cor@leuven.be", "added"),
    ]
    with database.session() as session:
        audit = session.scalars(
            select(AuditLog).where(AuditLog.entity_key == "an.peeters@gent.be").order_by(AuditLog.id)
        ).all()
        assert len(audit) == 2 and audit[1].before is not None and audit[1].after is not None
        assert (audit[1].before["role"], audit[1].after["role"]) == ("beleidsmedewerker", "teamleider")
        assert (audit[1].before["themes"], audit[1].after["themes"]) == (["europa", "wonen"], ["wonen"])


def test_email_is_the_key_in_any_case(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    report = run_import(
        database, "experts", write("upper.csv", EXPERTS.replace("An.Peeters@gent.be", "AN.PEETERS@GENT.BE"))
    )
    assert (report.added, report.unchanged) == (0, 2)


def test_consent_of_existing_experts_is_never_touched(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    with database.session() as session:
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        an.consent = Consent.CONFIRMED
        an.source = "slack"
    report = run_import(database, "experts", write("e2.csv", EXPERTS.replace("beleidsmedewerker", "teamleider")))
    assert report.changed == 1
    with database.session() as session:
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        assert an.consent is Consent.CONFIRMED and an.source == "slack" and an.role == "teamleider"


def test_dry_run_reports_changes_and_writes_nothing(database: Database, write: Write) -> None:
    report = run_import(database, "experts", write("experts.csv", EXPERTS), dry_run=True)
    assert report.dry_run and (report.added, report.changed) == (2, 0)
    assert count(database, Expert) == 0 and count(database, AuditLog) == 0 and count(database, Theme) == 0

    run_import(database, "experts", write("experts.csv", EXPERTS))
    before = experts_by_email(database)
    report = run_import(
        database, "experts", write("e2.csv", EXPERTS.replace("beleidsmedewerker", "teamleider")), dry_run=True
    )
    assert report.changes == [RecordChange("an.peeters@gent.be", "changed", ("role",))]
    assert experts_by_email(database) == before and count(database, AuditLog) == 2


def test_excel_csv_with_bom_and_semicolons(database: Database, write: Write) -> None:
    text = (
        "\ufeff" + EXPERT_HEADER.replace(",", ";") + "\r\n"
        'An Peeters;an@gent.be;;Stad Gent;Gent;;"leegstand;heffing";"wonen;klimaat";nl|fr;"Bio, met komma"\r\n'
    )
    report = run_import(database, "experts", write("excel.csv", text))
    assert report.added == 1
    with database.session() as session:
        an = session.scalars(select(Expert)).one()
        assert an.name == "An Peeters" and an.expertise == ["leegstand", "heffing"]
        assert [t.key for t in an.themes] == ["klimaat", "wonen"] and an.languages == ["nl", "fr"]
        assert an.bio == "Bio, met komma"


def test_xlsx_import(database: Database, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "experts.xlsx",
        [
            EXPERT_HEADER.split(","),
            ["An", "an@gent.be", None, "Stad Gent", "Gent", None, "leegstand", "Housing", "nl", None],
        ],
    )
    assert run_import(database, "experts", path).added == 1
    with database.session() as session:
        assert [t.key for t in session.scalars(select(Expert)).one().themes] == ["wonen"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",x@gent.be,,Stad Gent,,,,,,", "bad.csv: row 2, column name: missing required value"),
        ("An,,,Stad Gent,,,,,,", "bad.csv: row 2, column email: missing required value"),
        ("An,x@gent.be,,,,,,,,", "bad.csv: row 2, column organisation: missing required value"),
        (
            "An,not-an-email,,Stad Gent,,,,,,",
            "bad.csv: row 2, column email: 'not-an-email' is not a valid email address",
        ),
        (
            "An,x@gent.be,,Stad Gent,,,,woonen,,",
            "bad.csv: row 2, column themes: unknown theme 'woonen' (did you mean 'wonen'?)",
        ),
        ("An,x@gent.be,bob,Stad Gent,,,,,,", "bad.csv: row 2, column slack_user_id: 'bob' is not a Slack user id"),
        (
            "An,x@gent.be,,Stad Gent,,,,,dutch,",
            "bad.csv: row 2, column languages: 'dutch' is not a two-letter language code",
        ),
        ("An,x@gent.be,,Stad Gent,,,,,,,surplus", "bad.csv: row 2: 1 cell more than the 10 columns of the header"),
    ],
)
def test_each_bad_row_names_file_row_and_column(database: Database, write: Write, row: str, expected: str) -> None:
    errors = import_errors(
        database, "experts", write("bad.csv", EXPERT_HEADER + "\n" + row + "\nOk,ok@gent.be,,Gent,,,,,,\n")
    )
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert count(database, Expert) == 0


def test_every_problem_is_reported_not_just_the_first(database: Database, write: Write) -> None:
    text = EXPERT_HEADER + "\n,a@b.be,,X,,,,,,\nB,,,X,,,,woonen,,\nC,c@d.be,,,,,,,,\nD,d@d.be,,X,,,,,,\n"
    with pytest.raises(ImportFailed) as info:
        run_import(database, "experts", write("e.csv", text))
    assert info.value.errors == [
        "e.csv: row 2, column name: missing required value",
        "e.csv: row 3, column email: missing required value",
        "e.csv: row 3, column themes: unknown theme 'woonen' (did you mean 'wonen'?)",
        "e.csv: row 4, column organisation: missing required value",
    ]
    assert info.value.message == "e.csv: 4 problems found, nothing was imported"


def test_one_bad_row_leaves_the_database_unchanged(database: Database, write: Write) -> None:
    run_import(database, "experts", write("ok.csv", EXPERTS))
    before = experts_by_email(database)
    bad = EXPERTS.replace("beleidsmedewerker", "teamleider") + "New,new@x.be,,X,,,,,,\nKapot,geen-email,,X,,,,,,\n"
    errors = import_errors(database, "experts", write("bad.csv", bad))
    assert len(errors) == 1 and errors[0].startswith("bad.csv: row 5, column email")
    assert experts_by_email(database) == before and count(database, AuditLog) == 2


def test_duplicate_emails_in_the_file_name_both_rows(database: Database, write: Write) -> None:
    text = EXPERT_HEADER + "\nA,x@gent.be,,Gent,,,,,,\nB,y@gent.be,,Gent,,,,,,\nC,X@Gent.be,,Gent,,,,,,\n"
    assert import_errors(database, "experts", write("e.csv", text)) == [
        "e.csv: row 4, column email: duplicate key 'x@gent.be' (also in row 2)"
    ]


def test_slack_ids_are_unique(database: Database, write: Write) -> None:
    text = EXPERT_HEADER + "\nA,a@x.be,U0SAME,X,,,,,,\nB,b@x.be,U0SAME,X,,,,,,\n"
    assert import_errors(database, "experts", write("e.csv", text)) == [
        "e.csv: row 3, column slack_user_id: U0SAME is also given in row 2 (a Slack user id belongs to one expert)"
    ]
    run_import(database, "experts", write("experts.csv", EXPERTS))
    clash = write("c.csv", EXPERT_HEADER + "\nCor,cor@x.be,U0AN,X,,,,,,\n")
    assert import_errors(database, "experts", clash) == [
        "c.csv: row 2, column slack_user_id: U0AN already belongs to an.peeters@gent.be in the register"
    ]


def test_slack_ids_may_move_between_experts_of_one_file(database: Database, write: Write) -> None:
    run_import(
        database, "experts", write("a.csv", EXPERT_HEADER + "\nA,a@x.be,U0AAA,X,,,,,,\nB,b@x.be,U0BBB,X,,,,,,\n")
    )
    report = run_import(
        database, "experts", write("b.csv", EXPERT_HEADER + "\nA,a@x.be,U0BBB,X,,,,,,\nB,b@x.be,U0AAA,X,,,,,,\n")
    )
    assert report.changed == 2
    assert {k: v["slack_user_id"] for k, v in experts_by_email(database).items()} == {
        "a@x.be": "U0BBB",
        "b@x.be": "U0AAA",
    }
    with database.session() as session:
        last = session.scalars(
            select(AuditLog).where(AuditLog.entity_key == "a@x.be").order_by(AuditLog.id.desc())
        ).first()
        assert last is not None and last.before is not None and last.after is not None
        assert (last.before["slack_user_id"], last.after["slack_user_id"]) == ("U0AAA", "U0BBB")


def test_a_concurrent_change_fails_the_import_cleanly(
    database: Database, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    # As if another process added these experts after this import read the register: a unique key trips on write.
    monkeypatch.setattr(repo, "list_experts", lambda session, **kw: [])
    with pytest.raises(ImportFailed) as info:
        run_import(database, "experts", write("experts.csv", EXPERTS))
    assert info.value.code == "conflict"
    assert "the register was changed by someone else during the import" in info.value.message
    assert count(database, Expert) == 2 and count(database, AuditLog) == 2


def test_header_problems_are_one_clear_error(database: Database, write: Write) -> None:
    with pytest.raises(ImportFailed) as info:
        run_import(database, "experts", write("e.csv", "name,emial,city\nAn,an@x.be,Gent\n"))
    assert info.value.errors == [
        "e.csv: the header (row 1) lacks the required columns 'email' (found 'emial'), 'organisation'; the columns "
        "are: name,email,slack_user_id,organisation,city,role,expertise,themes,languages,bio"
    ]
    with pytest.raises(ImportFailed, match=r"^empty.csv: the file is empty"):
        run_import(database, "experts", write("empty.csv", ""))
    with pytest.raises(ImportFailed, match=r"^h.csv: no data rows below the header; nothing to import$"):
        run_import(database, "experts", write("h.csv", EXPERT_HEADER + "\n\n"))
    with pytest.raises(ImportFailed, match=r"^latin.csv: this file is not UTF-8 text .*CSV UTF-8"):
        run_import(
            database, "experts", write("latin.csv", EXPERT_HEADER + "\nJosé,j@x.be,,Stad,,,,,,\n", encoding="latin-1")
        )
    assert count(database, Expert) == 0


def test_unknown_columns_are_warned_about_and_the_import_goes_on(database: Database, write: Write) -> None:
    text = EXPERT_HEADER + ",telefoon,thema\nAn,an@gent.be,,Stad Gent,,,,,,,09 123,x\n"
    report = run_import(database, "experts", write("e.csv", text))
    assert report.added == 1
    assert report.warnings == ["e.csv: unknown column 'telefoon' ignored", "e.csv: unknown column 'thema' ignored"]


def test_an_older_file_without_optional_columns_leaves_those_fields_alone(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    older = write("old.csv", "email,name,organisation,role\nan.peeters@gent.be,An Peeters,Stad Gent,teamleider\n")
    report = run_import(database, "experts", older)
    assert report.changes == [RecordChange("an.peeters@gent.be", "changed", ("role",))]
    assert report.warnings == [
        "old.csv: no columns slack_user_id, city, expertise, themes, languages, bio: those fields of existing "
        "experts are left as they are (new ones get them empty)"
    ]
    an = experts_by_email(database)["an.peeters@gent.be"]
    assert an["role"] == "teamleider" and an["slack_user_id"] == "U0AN" and an["themes"] == ["europa", "wonen"]


def test_an_import_never_deletes(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    run_import(database, "experts", write("one.csv", EXPERT_HEADER + "\nCor,cor@x.be,,X,,,,,,\n"))
    assert sorted(experts_by_email(database)) == ["an.peeters@gent.be", "bram@vvsg.be", "cor@x.be"]


def test_progress_is_reported_while_writing(database: Database, write: Write) -> None:
    calls: list[tuple[int, int]] = []
    with database.session() as session:
        service.import_experts(
            session, path=write("e.csv", EXPERTS), actor="t", now=NOW, progress=lambda d, t: calls.append((d, t))
        )
    assert calls == [(1, 2), (2, 2)]


def test_a_theme_synonym_is_stored_as_its_key_and_reported(database: Database, write: Write, tmp_path: Path) -> None:
    rows = (
        EXPERT_HEADER
        + "\nAn,an@gent.be,,Stad Gent,,,,mobiliteit;wonen,nl,"
        + "\nBram,bram@gent.be,,Stad Gent,,,,Mobiliteit|huisvesting,nl,"
    )
    dry = run_import(database, "experts", write("e.csv", rows), dry_run=True)
    assert dry.notes == [
        "e.csv: rows 2, 3, column themes: mobiliteit → publieke-ruimte (a synonym, stored as the theme key)",
        "e.csv: row 3, column themes: huisvesting → wonen (a synonym, stored as the theme key)",
    ]
    report = run_import(database, "experts", write("e.csv", rows))
    assert report.added == 2 and report.notes == dry.notes
    assert experts_by_email(database)["an@gent.be"]["themes"] == ["publieke-ruimte", "wonen"]
    assert experts_by_email(database)["bram@gent.be"]["themes"] == ["publieke-ruimte", "wonen"]
    out = tmp_path / "out.csv"
    with database.session() as session:
        service.export_experts(session, path=out)
    again = run_import(database, "experts", out)
    assert (again.changed, again.unchanged, again.notes) == (0, 2, [])


def test_a_synonym_of_two_themes_and_an_unknown_language_are_refused(database: Database, write: Write) -> None:
    errors = import_errors(
        database, "experts", write("e.csv", EXPERT_HEADER + "\nAn,an@gent.be,,Stad Gent,,,,participatie,nl;xx,\n")
    )
    assert errors == [
        "e.csv: row 2, column languages: 'xx' is not an ISO 639-1 language code (nl, en, fr)",
        "e.csv: row 2, column themes: 'participatie' is a synonym of several themes (organisatie, sociaal): write the "
        "one you mean",
    ]
    assert count(database, Expert) == 0
