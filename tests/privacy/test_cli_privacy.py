"""``wieweet audit`` and ``wieweet privacy export|erase|purge`` in-process, against both databases."""

from __future__ import annotations

import json
import os
import pwd

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from storage.models import AuditLog, Expert, SearchLog
from tests.privacy.conftest import LIEVE, LIEVE_EMAIL, LIEVE_NAME, Ids
from tests.routing.conftest import NOW, World

EXPORT = ("privacy", "export", "--slack-id", LIEVE)


def wieweet(world: World, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", world.db.url, *args])


def test_export_prints_the_persons_data_as_json(world: World, lieve: Ids) -> None:
    result = wieweet(world, "privacy", "export", "--email", LIEVE_EMAIL)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["expert_profile"]["name"] == LIEVE_NAME
    assert data["person"]["slack_user_id"] == LIEVE
    by_id = json.loads(wieweet(world, "privacy", "export", "--slack-id", LIEVE).output)
    assert by_id["expert_profile"] == data["expert_profile"]


def test_export_needs_someone(world: World) -> None:
    result = wieweet(world, "privacy", "export")
    assert result.exit_code == 2 and "--email of --slack-id" in result.output


def test_erase_asks_for_confirmation_then_erases_and_audits(world: World, lieve: Ids) -> None:
    refused = CliRunner().invoke(
        main,
        ["--database", world.db.url, "privacy", "erase", "--email", LIEVE_EMAIL],
        input="n\n",
    )
    assert refused.exit_code == 1
    with world.db.session() as s:
        assert s.get(Expert, lieve.expert) is not None
    result = wieweet(world, "privacy", "erase", "--email", LIEVE_EMAIL, "--yes")
    assert result.exit_code == 0, result.output
    assert "expert_profiles_deleted: 1" in result.output
    with world.db.session() as s:
        assert s.get(Expert, lieve.expert) is None
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
        assert entry.actor.startswith("cli:")
    audit = wieweet(world, "audit", "--entity", "person")
    assert audit.exit_code == 0
    assert "erase" in audit.output and "person:erased" in audit.output
    assert LIEVE_EMAIL not in wieweet(world, "audit", "--limit", "1000").output
    lines = wieweet(world, "audit", "--json").output.splitlines()
    assert json.loads(lines[0])["action"] == "erase"


def test_purge_dry_run_changes_nothing(world: World, lieve: Ids) -> None:
    dry = wieweet(world, "privacy", "purge", "--dry-run")
    assert dry.exit_code == 0 and "op te ruimen request_events: 0" in dry.output
    done = wieweet(world, "privacy", "purge")
    assert done.exit_code == 0 and "opgeruimd sent_messages: 0" in done.output


def test_audit_on_an_empty_log(world: World) -> None:
    result = wieweet(world, "audit", "--entity", "practice")
    assert result.exit_code == 0 and "het auditlog is leeg voor practice" in result.output


def _audit_rows(world: World) -> int:
    with world.db.session() as s:
        return len(list(s.scalars(select(AuditLog))))


@pytest.mark.parametrize(
    "args",
    [
        ["privacy", "erase", "--slack-id", "U0123ABCD", "--yes"],  # the README's old example (issue 16)
        ["privacy", "erase", "--email", "nobody@example.org", "--yes"],
        ["privacy", "erase", "--email", "nobody@example.org"],  # said before asking to confirm
        ["privacy", "export", "--email", "nobody@example.org"],
        ["privacy", "export", "--slack-id", "U0NOBODY1"],
    ],
)
def test_no_such_person_exits_non_zero_and_audits_nothing(world: World, lieve: Ids, args: list[str]) -> None:
    before = _audit_rows(world)
    result = CliRunner().invoke(main, ["--database", world.db.url, *args], input="y\n")
    assert result.exit_code == 2, result.output
    assert "error: niemand gevonden: over " in result.output and " is niets opgeslagen" in result.output
    assert "gewist" not in result.output and "Alles over" not in result.output and "{" not in result.output
    assert _audit_rows(world) == before
    with world.db.session() as s:
        assert s.get(Expert, lieve.expert) is not None


def test_someone_known_only_by_their_searches_is_a_person(world: World) -> None:
    """No profile and no cached Slack profile: their Slack id in a search log is enough to be found (and erased)."""
    with world.db.session() as s:
        s.add(SearchLog(user_slack_id="U0SEARCH1", query="leegstand", created_at=NOW))
    exported = wieweet(world, "privacy", "export", "--slack-id", "U0SEARCH1")
    assert exported.exit_code == 0 and json.loads(exported.output)["searches"][0]["query"] == "leegstand"
    erased = wieweet(world, "privacy", "erase", "--slack-id", "U0SEARCH1", "--yes")
    assert erased.exit_code == 0 and "searches_depersonalised: 1" in erased.output


def _actors(world: World, action: str) -> list[str]:
    with world.db.session() as s:
        return [a.actor for a in s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))]


def test_the_actor_is_the_system_account_not_what_logname_says(
    world: World, lieve: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "mayor-of-gent")
    monkeypatch.setenv("USER", "mayor-of-gent")
    monkeypatch.setenv("USERNAME", "mayor-of-gent")
    account = pwd.getpwuid(os.getuid()).pw_name
    assert wieweet(world, "privacy", "export", "--slack-id", LIEVE).exit_code == 0
    assert CliRunner().invoke(main, ["--database", world.db.url, "--by", "Anna  Smet", *EXPORT]).exit_code == 0
    assert _actors(world, "export") == [f"cli:{account}", f"cli:{account} by Anna Smet"]
    assert "mayor-of-gent" not in wieweet(world, "audit", "--json").output


@pytest.mark.parametrize("name", ["anna\nroot", "x" * 61, "anna\x1b[2J"])
def test_by_takes_a_plain_name_only(world: World, lieve: Ids, name: str) -> None:
    result = CliRunner().invoke(main, ["--database", world.db.url, "--by", name, *EXPORT])
    assert result.exit_code == 2 and "--by" in result.output
    assert _actors(world, "export") == []


def test_export_and_purge_are_audited_with_counts_only(world: World, lieve: Ids) -> None:
    assert wieweet(world, "--by", "anna", "privacy", "export", "--email", LIEVE_EMAIL).exit_code == 0
    assert wieweet(world, "privacy", "purge", "--dry-run").exit_code == 0
    assert _actors(world, "purge") == []  # a dry run changes nothing, so it is not recorded
    assert wieweet(world, "privacy", "purge").exit_code == 0
    with world.db.session() as s:
        export = s.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
        purge = s.scalars(select(AuditLog).where(AuditLog.action == "purge")).one()
        assert (export.entity_type, export.entity_key, export.actor.endswith(" by anna")) == (
            "personal_data",
            LIEVE,
            True,
        )
        assert export.after is not None and export.after["questions_asked"] == 2
        assert LIEVE_NAME not in json.dumps(export.after) and LIEVE_EMAIL not in json.dumps(export.after)
        assert purge.entity_type == "retention" and purge.after is not None and "searches" in purge.after
    shown = wieweet(world, "audit", "--entity", "personal_data").output
    assert f"export       personal_data:{LIEVE}" in shown
