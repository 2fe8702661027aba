"""An erased person stays erased: an old register file imported again does not list them again (unless staff say
so, audited); what the erasure keeps for that is a keyed hash, no address or id; joining again oneself is allowed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.actors import Actor
from bot.cli import main
from bot.privacy import erase_person
from bot.register import profiles, service
from storage import erased_repo
from storage.db import Database
from storage.models import AuditLog, Consent, ErasedIdentity, ErasureKey, Expert
from tests.register.conftest import EXPERT_HEADER, EXPERTS, NOW, Write, run_import

AN = "an.peeters@gent.be"
LATER = NOW + timedelta(days=1)
ROW_OF_AN = "experts.csv: row 2: this person asked to be forgotten"


def imported_then_erased(database: Database, path: Path) -> None:
    run_import(database, "experts", path)
    with database.session() as s:
        erase_person(session=s, actor=Actor.slack("U0AN", is_staff=False), slack_user_id="U0AN", now=LATER)


def reimport(database: Database, path: Path, **kwargs: object) -> service.ImportReport:
    with database.session() as s:
        return service.import_experts(
            s,
            path=path,
            actor="cli:test",
            now=LATER,
            consent_on_paper=True,
            **kwargs,  # type: ignore[arg-type]
        )


def an(database: Database) -> Expert | None:
    with database.session() as s:
        return s.scalars(select(Expert).where(Expert.email == AN)).one_or_none()


def test_an_erased_person_is_not_listed_again_by_an_old_file(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)

    report = reimport(database, path)

    assert an(database) is None, "erased person listed and routable again"
    assert report.erased == [f"{ROW_OF_AN}; not imported (--relist-erased lists them again)"]
    assert [(c.key, c.fields) for c in report.changes] == [("bram@vvsg.be", ("consent",))]  # Bram, on paper
    with database.session() as s:
        assert not s.scalars(select(AuditLog).where(AuditLog.entity_key == AN)).all()


def test_the_same_in_a_dry_run_and_in_any_case_of_the_address(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    shouting = write("experts.csv", EXPERTS.replace("An.Peeters@gent.be", "AN.PEETERS@Gent.BE"))

    report = reimport(database, shouting, dry_run=True)

    assert report.erased == [f"{ROW_OF_AN}; not imported (--relist-erased lists them again)"]
    assert [c.key for c in report.changes] == ["bram@vvsg.be"]
    assert an(database) is None


def test_their_slack_id_under_another_address_is_skipped_too(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    other = write("other.csv", f"{EXPERT_HEADER}\nA. Peeters,a.peeters@stad.gent,U0AN,Stad Gent,Gent,,,,,\n")

    report = reimport(database, other)

    assert report.erased == ["other.csv: row 2: this person asked to be forgotten; not imported (--relist-erased "
                             "lists them again)"]  # fmt: skip
    with database.session() as s:
        assert s.scalars(select(Expert).where(Expert.slack_user_id == "U0AN")).one_or_none() is None


def test_staff_may_list_them_again_explicitly_and_it_is_audited(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)

    report = reimport(database, path, relist_erased=True)

    assert report.erased == [f"{ROW_OF_AN}; listed again (--relist-erased)"]
    listed = an(database)
    assert listed is not None and listed.consent is Consent.CONFIRMED and listed.slack_user_id == "U0AN"
    with database.session() as s:
        relisted = s.scalars(select(AuditLog).where(AuditLog.action == "relist_erased")).one()
        assert (relisted.actor, relisted.entity_key) == ("cli:test", AN)
        assert (relisted.before, relisted.after) == ({"erased": True}, {"erased": False})
        assert erased_repo.list_erased(s, emails=[AN], slack_user_ids=["U0AN"]) == set()
    assert reimport(database, path).erased == []  # listed again: a later import treats her as any expert


def test_what_the_erasure_keeps_is_a_keyed_hash_only(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    with database.session() as s:
        digests = set(s.scalars(select(ErasedIdentity.digest)))
        assert len(digests) == 2  # her address and her Slack id
        plain = {hashlib.sha256(v.encode()).hexdigest() for v in (AN, "U0AN", f"email:{AN}", "slack:U0AN")}
        assert not digests & plain  # not a plain hash a list of guessed addresses would find
        assert len(s.scalars(select(ErasureKey.secret)).one()) == 64
        assert erased_repo.list_erased(s, emails=[AN, "bram@vvsg.be"], slack_user_ids=["U0AN"]) == {AN, "U0AN"}


def test_joining_again_oneself_is_a_fresh_consent(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    form = {"name": "An Peeters", "email": AN, "organisation": "Stad Gent", "themes": "wonen"}
    with database.session() as s:
        profiles.save_profile(
            s, actor=Actor.slack("U0AN", is_staff=False), values=form, now=LATER, slack_email="An.Peeters@gent.be"
        )
        assert erased_repo.list_erased(s, emails=[AN], slack_user_ids=["U0AN"]) == set()

    report = reimport(database, path)

    assert report.erased == []
    joined = an(database)
    assert joined is not None and joined.consent is Consent.CONFIRMED and joined.source == "slack"


def test_the_command_line_names_the_row_and_refuses_the_flag_for_practices(
    database: Database, database_url: str, write: Write
) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)

    dry = CliRunner().invoke(main, ["--database", database_url, "import", "experts", str(path), "--dry-run"])
    english = CliRunner().invoke(
        main, ["--database", database_url, "import", "experts", str(path), "--dry-run"], env={"WIEWEET_LANGUAGE": "en"}
    )

    assert dry.exit_code == english.exit_code == 0
    assert f"ERASED: {ROW_OF_AN}; not imported (--relist-erased lists them again)" in english.stderr
    assert english.stdout.splitlines()[-1] == (
        "experts.csv: 0 added, 0 changed, 1 unchanged, 1 erased person (see above) — dry run, nothing written"
    )
    assert (  # the operator's language: Dutch unless WIEWEET_LANGUAGE says otherwise
        "ERASED: experts.csv: rij 2: deze persoon vroeg om vergeten te worden; niet ingelezen "
        "(--relist-erased neemt hen weer op)"
    ) in dry.stderr
    assert dry.stdout.splitlines()[-1] == (
        "experts.csv: 0 toegevoegd, 0 gewijzigd, 1 ongewijzigd, 1 gewiste persoon (zie hierboven) — proefrit, "
        "er is niets geschreven"
    )
    practices = CliRunner().invoke(
        main, ["--database", database_url, "import", "practices", str(path), "--relist-erased"]
    )
    assert practices.exit_code == 2 and "--relist-erased is alleen voor experts" in practices.output


def bram(database: Database) -> Expert:
    with database.session() as s:
        return s.scalars(select(Expert).where(Expert.email == "bram@vvsg.be")).one()


def test_an_erased_slack_id_given_to_an_existing_expert_is_left_out_and_the_rest_imported(
    database: Database, write: Write
) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    # Bram's row now carries An's old Slack id (a copy-paste slip) and a new role
    slip = write("other.csv", f"{EXPERT_HEADER}\nBram De Smet,bram@vvsg.be,U0AN,VVSG,,expert,,financien,nl,\n")

    dry = reimport(database, slip, dry_run=True)
    report = reimport(database, slip)

    dropped = (
        "other.csv: row 2: slack_user_id left out: it belongs to a person who asked to be forgotten; the row's "
        "other fields are imported (--relist-erased imports it too)"
    )
    assert dry.erased == report.erased == [dropped]
    assert [(c.key, "role" in c.fields, "slack_user_id" in c.fields) for c in report.changes] == [
        ("bram@vvsg.be", True, False)
    ]
    listed = bram(database)
    assert (listed.role, listed.slack_user_id) == ("expert", None)  # the rest imported, the erased id not
    with database.session() as s:
        assert erased_repo.list_erased(s, emails=[], slack_user_ids=["U0AN"]) == {"U0AN"}  # still erased


def test_with_relist_erased_the_existing_expert_gets_the_slack_id(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    slip = write("other.csv", f"{EXPERT_HEADER}\nBram De Smet,bram@vvsg.be,U0AN,VVSG,,expert,,financien,nl,\n")

    report = reimport(database, slip, relist_erased=True)

    assert report.erased == ["other.csv: row 2: slack_user_id belongs to a person who asked to be forgotten; "
                             "imported (--relist-erased)"]  # fmt: skip
    assert (report.erased_people, report.erased_slack_ids) == (0, 1)
    assert bram(database).slack_user_id == "U0AN"
    with database.session() as s:  # the entry says Bram was given an erased id, not that Bram was erased
        relisted = s.scalars(select(AuditLog).where(AuditLog.action == "relist_erased")).one()
        assert relisted.entity_key == "bram@vvsg.be"
        assert (relisted.before, relisted.after) == ({"erased_slack_id": True}, {"erased_slack_id": False})
        assert erased_repo.list_erased(s, emails=[], slack_user_ids=["U0AN"]) == set()


def test_the_command_line_counts_a_dropped_slack_id_apart_from_erased_people(
    database: Database, database_url: str, write: Write
) -> None:
    path = write("experts.csv", EXPERTS)
    imported_then_erased(database, path)
    slip = write("other.csv", f"{EXPERT_HEADER}\nBram De Smet,bram@vvsg.be,U0AN,VVSG,,expert,,financien,nl,\n")

    dry = CliRunner().invoke(main, ["--database", database_url, "import", "experts", str(slip), "--dry-run"])
    english = CliRunner().invoke(
        main, ["--database", database_url, "import", "experts", str(slip), "--dry-run"], env={"WIEWEET_LANGUAGE": "en"}
    )

    assert dry.exit_code == english.exit_code == 0
    assert english.stdout.splitlines()[-1] == (
        "other.csv: 0 added, 1 changed, 0 unchanged, 1 Slack id of an erased person (see above) — dry run, "
        "nothing written"
    )
    assert dry.stdout.splitlines()[-1] == (
        "other.csv: 0 toegevoegd, 1 gewijzigd, 0 ongewijzigd, 1 Slack-id van een gewiste persoon (zie hierboven) — "
        "proefrit, er is niets geschreven"
    )
    assert "ERASED: other.csv: rij 2: slack_user_id weggelaten" in dry.stderr
    assert "ERASED: other.csv: row 2: slack_user_id left out" in english.stderr
