"""``wieweet audit`` and every ``wieweet privacy`` command speak the operator's language (``WIEWEET_LANGUAGE``, Dutch
unless set): the lines, the confirmation, the refusals (nobody given, no such person, an unknown entity); the kinds
of records stay their codes, and ``privacy export`` and ``audit --json`` print the same JSON in every language."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from storage.models import ProcessedEvent
from tests.cli import wieweet, wieweet_in
from tests.privacy.conftest import LIEVE, LIEVE_EMAIL, Ids
from tests.routing.conftest import World


def test_audit_in_dutch_and_english(world: World) -> None:
    assert wieweet(world.db, "audit").output == "het auditlog is leeg\n"
    assert wieweet_in(world.db, "en", "audit").output == "the audit log is empty\n"
    assert wieweet(world.db, "audit", "--entity", "practice").output == "het auditlog is leeg voor practice\n"
    assert wieweet_in(world.db, "en", "audit", "--entity", "practice").output == "the audit log is empty for practice\n"
    typo = wieweet(world.db, "audit", "--entity", "experts")
    assert typo.exit_code == 2 and "error: onbekend soort record 'experts'; bekend: " in typo.output, typo.output
    assert "expert, " in typo.output
    typo = wieweet_in(world.db, "en", "audit", "--entity", "experts")
    assert typo.exit_code == 2 and "error: unknown entity 'experts'; known: " in typo.output, typo.output


def test_export_and_audit_json_are_the_same_in_every_language(world: World, lieve: Ids) -> None:
    exports = [
        json.loads(wieweet_in(world.db, lang, "privacy", "export", "--slack-id", LIEVE).output) for lang in ["nl", "en"]
    ]
    assert exports[0]["person"] == exports[1]["person"] and exports[0]["person"]["slack_user_id"] == LIEVE
    lines = [wieweet_in(world.db, lang, "audit", "--json", "--limit", "3").output for lang in ("nl", "en")]
    assert lines[0] == lines[1] and json.loads(lines[0].splitlines()[0])["action"] == "export"


def test_who_to_look_for_and_no_such_person_in_both_languages(world: World, lieve: Ids) -> None:
    nobody = wieweet(world.db, "privacy", "export")
    assert nobody.exit_code == 2 and "geef --email of --slack-id" in nobody.output, nobody.output
    nobody = wieweet_in(world.db, "en", "privacy", "erase")
    assert nobody.exit_code == 2 and "give --email or --slack-id" in nobody.output, nobody.output
    unknown = wieweet(world.db, "privacy", "export", "--email", "niemand@example.org")
    assert unknown.exit_code == 2
    assert "error: niemand gevonden: over 'niemand@example.org' is niets opgeslagen" in unknown.output, unknown.output
    unknown = wieweet_in(world.db, "en", "privacy", "erase", "--slack-id", "U0NOBODY1", "--yes")
    assert unknown.exit_code == 2
    assert "error: no such person: nothing is stored about 'U0NOBODY1'" in unknown.output, unknown.output


def test_erase_asks_and_reports_in_dutch(world: World, lieve: Ids) -> None:
    args = ["--database", world.db.url, "privacy", "erase", "--email", LIEVE_EMAIL]
    refused = CliRunner().invoke(main, args, input="n\n")
    assert refused.exit_code == 1
    assert f"Alles over '{LIEVE_EMAIL}' wissen? Dit kan niet ongedaan worden gemaakt" in refused.output
    erased = CliRunner().invoke(main, args, input="y\n")
    assert erased.exit_code == 0, erased.output
    assert f"'{LIEVE_EMAIL}' gewist:\n" in erased.output and "  expert_profiles_deleted: 1\n" in erased.output


def test_erase_in_english(world: World, lieve: Ids) -> None:
    erased = wieweet_in(world.db, "en", "privacy", "erase", "--slack-id", LIEVE, "--yes")
    assert erased.exit_code == 0, erased.output
    assert erased.output.startswith(f"erased '{LIEVE}':\n") and "  expert_profiles_deleted: 1\n" in erased.output


def test_erase_json_is_codes_and_counts_in_every_language(world: World, lieve: Ids) -> None:
    """What a script reads of an erasure: one JSON object on standard output, its keys the kinds of records as codes,
    no translated word, and nobody's address or id in it (it may go to a log, as the audit entry does);
    the confirmation, without --yes, goes to standard error."""
    args = ["--database", world.db.url, "privacy", "erase", "--email", LIEVE_EMAIL, "--json"]
    asked = CliRunner().invoke(main, args, input="y\n", env={"WIEWEET_LANGUAGE": "nl"})
    assert asked.exit_code == 0, asked.output
    assert "wissen?" in asked.stderr and len(asked.stdout.splitlines()) == 1, asked.stdout
    erased = json.loads(asked.stdout)
    assert erased["erased"] is True and erased["counts"]["expert_profiles_deleted"] == 1
    assert all(isinstance(n, int) for n in erased["counts"].values())
    assert LIEVE_EMAIL not in asked.stdout and LIEVE not in asked.stdout and "gewist" not in asked.stdout
    unknown = wieweet_in(world.db, "en", "privacy", "erase", "--slack-id", LIEVE, "--yes", "--json")
    assert unknown.exit_code == 2 and unknown.stdout == "", unknown.output  # gone: "no such person", said on stderr
    assert "no such person" in unknown.stderr


def test_purge_in_dutch_and_english(world: World) -> None:
    dry = wieweet(world.db, "privacy", "purge", "--dry-run")
    assert dry.exit_code == 0 and "op te ruimen request_events: 0\n" in dry.output, dry.output
    assert "would purge" not in dry.output
    assert "would purge request_events: 0\n" in wieweet_in(world.db, "en", "privacy", "purge", "--dry-run").output
    done = wieweet(world.db, "privacy", "purge")
    assert done.exit_code == 0 and "opgeruimd sent_messages: 0\n" in done.output, done.output
    assert "purged sent_messages: 0\n" in wieweet_in(world.db, "en", "privacy", "purge").output


def test_purge_json_is_the_same_in_every_language(world: World, lieve: Ids) -> None:
    """What a retention cron reads: one JSON object, its keys the kinds of records as codes, in every language."""
    with world.db.session() as session:  # a Slack delivery id past its 30 days
        session.query(ProcessedEvent).update({ProcessedEvent.received_at: datetime.now(UTC) - timedelta(days=40)})
    dry = [wieweet_in(world.db, lang, "privacy", "purge", "--dry-run", "--json").output for lang in ("nl", "en")]
    assert dry[0] == dry[1] and len(dry[0].splitlines()) == 1, dry
    would = json.loads(dry[0])
    assert would["dry_run"] is True and would["counts"]["request_events"] >= 1
    assert "inbox_requests" not in would["counts"]  # counted only when it goes
    done = wieweet(world.db, "privacy", "purge", "--json")
    assert done.exit_code == 0 and len(done.output.splitlines()) == 1, done.output
    purged = json.loads(done.output)
    assert purged["dry_run"] is False and purged["counts"]["request_events"] == would["counts"]["request_events"]
    assert purged["counts"]["inbox_requests"] == 0
    again = json.loads(wieweet_in(world.db, "en", "privacy", "purge", "--json").output)
    assert again["counts"]["request_events"] == 0


def test_the_erasure_ledger_in_dutch_and_english(world: World, lieve: Ids, tmp_path: Path) -> None:
    assert wieweet(world.db, "privacy", "erase", "--slack-id", LIEVE, "--yes").exit_code == 0
    ledger = tmp_path / "erasures.json"
    exported = wieweet(world.db, "privacy", "erasures", "export", str(ledger))
    assert exported.exit_code == 0 and f"2 gewiste identiteiten geëxporteerd naar {ledger}\n" in exported.output
    english = wieweet_in(world.db, "en", "privacy", "erasures", "export", str(ledger))
    assert f"exported 2 erased identities to {ledger}\n" in english.output, english.output
    again = wieweet(world.db, "privacy", "erasures", "reapply", str(ledger))
    assert again.exit_code == 0, again.output
    assert "gewiste identiteiten: 2 (0 opnieuw opgeslagen)\n" in again.output
    assert "opnieuw gewiste personen: 0\n" in again.output
    again = wieweet_in(world.db, "en", "privacy", "erasures", "reapply", str(ledger))
    assert "erased identities: 2 (0 stored again)\npeople erased again: 0\n" in again.output, again.output
