"""An e-mail address is an identity claim: nobody takes over an official's register entry by typing their address
first (SQLite + PostgreSQL; Slack's side through the emulator).

A member's own profile keeps only the address Slack holds for their account; an import that finds a profile made in
Slack under one of its addresses keeps that account only when Slack confirms the address for it, and otherwise
reports a conflict and imports the entry without the account; consent belongs to the account that gave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.actors import Actor
from bot.cli import main
from bot.errors import ImportFailed
from bot.register import consent, identity, profiles
from bot.register.profiles import InvalidRecord
from bot.register.report import ImportReport
from bot.register.service import import_experts
from bot.register.themes import ensure_default_themes
from storage.db import Database
from storage.models import AuditLog, Availability, Consent, Expert, OutboxMessage
from tests.emulator import SlackEmulator

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
SQUATTER = Actor.slack("U0SQUAT01", is_staff=False)  # any member of the workspace
JAN = Actor.slack("U0JAN0001", is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)
JAN_EMAIL = "jan.peeters@stad.gent"
SQUATTER_EMAIL = "squatter@example.org"
FORM = {
    "name": "J. Peeters",
    "email": JAN_EMAIL,
    "organisation": "Stad Gent",
    "city": "Gent",
    "role": "x",
    "expertise": "huisvesting",
    "themes": "wonen",
    "languages": "nl",
    "bio": "",
}
# the knowledge centre's official register, without a slack_user_id column (optional per the README)
OFFICIAL = (
    "name,email,organisation,city,role,expertise,themes,languages\n"
    "Jan Peeters,jan.peeters@stad.gent,Stad Gent,Gent,jurist wonen,leegstandsheffing,wonen,nl\n"
)


@pytest.fixture
def db(database: Database) -> Database:
    with database.session() as session:
        ensure_default_themes(session, now=NOW)
    return database


def the_expert(db: Database) -> Expert:
    with db.session() as session:
        expert = session.scalars(select(Expert)).one()
        session.expunge(expert)
        return expert


def squatted(db: Database) -> None:
    """A profile made in Slack by the squatter under Jan's address, as a database from before the address was
    checked holds it (the squatter's profile saved with their own address, then its address changed)."""
    with db.session() as session:
        saved = profiles.save_profile(
            session, actor=SQUATTER, values={**FORM, "email": SQUATTER_EMAIL}, now=NOW, slack_email=SQUATTER_EMAIL
        )
        saved.expert.email = JAN_EMAIL


def import_official(db: Database, tmp_path: Path, text: str = OFFICIAL, **kwargs: object) -> ImportReport:
    path = tmp_path / "experts.csv"
    path.write_text(text, encoding="utf-8")
    with db.session() as session:
        return import_experts(session, path=path, actor="cli:admin", now=NOW, **kwargs)  # type: ignore[arg-type]


def lookup_from(emails: dict[str, str | None]) -> identity.SlackEmailLookup:
    return lambda user_id: emails.get(user_id, "")


# --- a member's own profile --------------------------------------------------------------------------------------


def test_a_member_cannot_give_their_profile_someone_elses_address(db: Database) -> None:
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        profiles.save_profile(session, actor=SQUATTER, values=FORM, now=NOW, slack_email=SQUATTER_EMAIL)
    assert [(e.column, e.code, e.suggestion) for e in err.value.errors] == [
        ("email", "email_not_yours", SQUATTER_EMAIL)
    ]
    with db.session() as session:
        assert session.scalars(select(Expert)).all() == []


@pytest.mark.parametrize(
    ("slack_email", "code"),
    [("", "email_unchecked"), (None, "email_check_failed")],  # none held; Slack not reached
)
def test_without_an_address_from_slack_a_new_profile_is_refused(
    db: Database, slack_email: str | None, code: str
) -> None:
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        profiles.save_profile(session, actor=SQUATTER, values=FORM, now=NOW, slack_email=slack_email)
    assert [(e.column, e.code) for e in err.value.errors] == [("email", code)]
    with db.session() as session:
        assert session.scalars(select(Expert)).all() == []


def test_the_address_slack_holds_is_accepted_in_any_case_and_a_change_must_be_it_too(db: Database) -> None:
    with db.session() as session:
        saved = profiles.save_profile(
            session, actor=JAN, values={**FORM, "email": "Jan.Peeters@Stad.Gent"}, now=NOW, slack_email=JAN_EMAIL
        )
        expert_id = saved.expert.id
    assert the_expert(db).email == JAN_EMAIL
    # editing without changing the address: fine, whatever Slack says now (an imported entry, Slack scope gone)
    with db.session() as session:
        values = {**FORM, "role": "jurist"}
        profiles.save_profile(session, actor=JAN, values=values, now=NOW, expert_id=expert_id, slack_email=None)
    # another address: only the one Slack holds
    other = {**FORM, "email": "jan@elders.be"}
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        profiles.save_profile(session, actor=JAN, values=other, now=NOW, expert_id=expert_id, slack_email=JAN_EMAIL)
    assert err.value.errors[0].code == "email_not_yours"
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        profiles.save_profile(session, actor=JAN, values=other, now=NOW, expert_id=expert_id, slack_email="")
    assert err.value.errors[0].code == "email_unchecked"
    assert (the_expert(db).email, the_expert(db).role) == (JAN_EMAIL, "jurist")


def test_staff_set_someone_elses_address_audited(db: Database) -> None:
    with db.session() as session:
        expert_id = profiles.save_profile(session, actor=JAN, values=FORM, now=NOW, slack_email=JAN_EMAIL).expert.id
    with db.session() as session:
        values = {**FORM, "email": "j.peeters@stad.gent"}
        profiles.save_profile(session, actor=STAFF, values=values, now=NOW, expert_id=expert_id, slack_email=None)
    assert (the_expert(db).email, the_expert(db).slack_user_id) == ("j.peeters@stad.gent", JAN.slack_id)
    with db.session() as session:
        last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert last is not None and last.actor == STAFF.slack_id
        assert (last.before or {})["email"] == JAN_EMAIL and (last.after or {})["email"] == "j.peeters@stad.gent"


# --- imports -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("emails", "why"),
    [
        ({SQUATTER.slack_id or "": SQUATTER_EMAIL}, f"its Slack e-mail address is {SQUATTER_EMAIL}"),
        ({SQUATTER.slack_id or "": ""}, "Slack holds no e-mail address for that account"),
    ],
)
def test_an_import_does_not_hand_an_official_entry_to_the_account_that_claimed_its_address_first(
    db: Database, tmp_path: Path, emails: dict[str, str | None] | None, why: str
) -> None:
    squatted(db)
    report = import_official(db, tmp_path, slack_emails=lookup_from(emails) if emails is not None else None)
    jan = the_expert(db)
    assert jan.name == "Jan Peeters" and jan.slack_user_id is None, "Jan's questions would go to the squatter"
    assert jan.consent is Consent.PENDING and jan.last_confirmed_at is None  # the squatter's consent is not Jan's
    assert jan.availability is Availability.AVAILABLE
    [conflict] = report.conflicts
    assert "experts.csv: row 2: jan.peeters@stad.gent" in conflict and "U0SQUAT01" in conflict and why in conflict
    with db.session() as session:  # nothing lost: the profile the squatter made is in the audit log
        last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert last is not None and last.action == "import"
        assert (last.before or {})["slack_user_id"] == "U0SQUAT01" and (last.before or {})["name"] == "J. Peeters"


@pytest.mark.parametrize(
    ("emails", "why"),
    [({SQUATTER.slack_id or "": None}, "Slack could not be asked"), (None, "no Slack bot token to check it with")],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_an_import_slack_cannot_check_changes_nobody_and_says_what_to_do(
    db: Database, tmp_path: Path, emails: dict[str, str | None] | None, why: str, dry_run: bool
) -> None:
    squatted(db)
    before = the_expert(db)
    with pytest.raises(ImportFailed) as failed:  # unlinking on a guess resets consent where the token is missing
        import_official(db, tmp_path, slack_emails=lookup_from(emails) if emails is not None else None, dry_run=dry_run)
    [line] = failed.value.errors
    assert "experts.csv: row 2: jan.peeters@stad.gent" in line and "U0SQUAT01" in line and why in line
    assert "SLACK_BOT_TOKEN" in line and "slack_user_id" in line
    after = the_expert(db)
    assert (after.name, after.slack_user_id, after.consent) == (before.name, before.slack_user_id, before.consent)


def test_a_dry_run_shows_the_conflict_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    squatted(db)
    report = import_official(
        db, tmp_path, dry_run=True, slack_emails=lookup_from({SQUATTER.slack_id or "": SQUATTER_EMAIL})
    )
    assert len(report.conflicts) == 1 and report.changed == 1
    assert "slack_user_id" in report.changes[0].fields and "consent" in report.changes[0].fields
    assert the_expert(db).slack_user_id == SQUATTER.slack_id


def test_an_account_slack_confirms_for_the_address_is_kept(db: Database, tmp_path: Path) -> None:
    with db.session() as session:
        profiles.save_profile(session, actor=JAN, values=FORM, now=NOW, slack_email=JAN_EMAIL)
    report = import_official(db, tmp_path, slack_emails=lookup_from({JAN.slack_id or "": "Jan.Peeters@stad.gent"}))
    jan = the_expert(db)
    assert report.conflicts == [] and (jan.name, jan.slack_user_id, jan.consent) == (
        "Jan Peeters",
        JAN.slack_id,
        Consent.CONFIRMED,
    )


def test_an_account_the_knowledge_centre_linked_is_not_questioned(db: Database, tmp_path: Path) -> None:
    import_official(
        db, tmp_path, "name,email,slack_user_id,organisation\nJan Peeters,jan.peeters@stad.gent,U0JAN0001,Gent\n"
    )
    report = import_official(db, tmp_path)  # no slack_user_id column, no token: the earlier import's link stays
    assert report.conflicts == [] and the_expert(db).slack_user_id == JAN.slack_id


def test_consent_given_by_one_account_is_not_carried_over_to_another(db: Database, tmp_path: Path) -> None:
    squatted(db)
    with_id = "name,email,slack_user_id,organisation\nJan Peeters,jan.peeters@stad.gent,U0JAN0001,Stad Gent\n"
    report = import_official(db, tmp_path, with_id)
    jan = the_expert(db)
    assert report.conflicts == [] and jan.slack_user_id == JAN.slack_id
    assert jan.consent is Consent.PENDING and jan.consent_requested_at is None  # Jan is asked himself
    with db.session() as session:
        assert consent.request_confirmations(session, now=NOW, reconfirm_days=365) == 1
        [asked] = session.scalars(select(OutboxMessage)).all()
        assert asked.recipient_slack_id == JAN.slack_id


def test_the_check_lists_accounts_whose_slack_address_differs(db: Database) -> None:
    squatted(db)
    with db.session() as session:
        profiles.save_profile(
            session, actor=JAN, values={**FORM, "email": "jan@gent.be"}, now=NOW, slack_email="jan@gent.be"
        )
        emails = {SQUATTER.slack_id or "": SQUATTER_EMAIL, JAN.slack_id or "": "jan@gent.be"}
        checked, problems = identity.check_slack_emails(session, lookup=lookup_from(emails))
    assert checked == 2
    assert [(p.email, p.slack_user_id, p.problem) for p in problems] == [
        (JAN_EMAIL, "U0SQUAT01", f"its Slack e-mail address is {SQUATTER_EMAIL}")
    ]
    assert [(p.code, p.held) for p in problems] == [(identity.OTHER_ADDRESS, SQUATTER_EMAIL)]  # for the reader's words


# --- the command line, asking the Slack emulator -----------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_token="xoxb-claims-test")
    emu.start()
    emu.add_user(SQUATTER.slack_id or "", name="squatter", email=SQUATTER_EMAIL)
    emu.add_user(JAN.slack_id or "", name="jan", email=JAN_EMAIL)
    emu.add_user("U0NOMAIL1", name="nomail")  # users.info without an e-mail address
    yield emu
    emu.stop()


def wieweet(db: Database, slack: SlackEmulator, *args: str, language: str | None = None) -> Result:
    env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.api_url}
    if language is not None:
        env["WIEWEET_LANGUAGE"] = language
    return CliRunner().invoke(main, ["--database", db.url, *args], env=env)


def test_the_import_command_asks_slack_and_prints_the_conflict(
    db: Database, tmp_path: Path, slack: SlackEmulator
) -> None:
    squatted(db)
    path = tmp_path / "experts.csv"
    path.write_text(OFFICIAL, encoding="utf-8")
    dry = wieweet(db, slack, "import", "experts", str(path), "--dry-run")  # the operator's language: Dutch
    assert dry.exit_code == 0, dry.output
    assert f"CONFLICT: experts.csv: rij 2: {JAN_EMAIL} werd in Slack opgeëist door het account U0SQUAT01" in dry.output
    assert f"Slack kent voor dat account het e-mailadres {SQUATTER_EMAIL}: ingelezen zonder dat account" in dry.output
    assert "0 toegevoegd, 1 gewijzigd, 0 ongewijzigd, 1 conflict (zie hierboven)" in dry.output
    result = wieweet(db, slack, "import", "experts", str(path), language="en")
    assert result.exit_code == 0, result.output
    assert f"CONFLICT: experts.csv: row 2: {JAN_EMAIL} was claimed in Slack by account U0SQUAT01" in result.output
    assert f"its Slack e-mail address is {SQUATTER_EMAIL}" in result.output
    assert "0 added, 1 changed, 0 unchanged, 1 conflict (see above)" in result.output
    assert any(c.params.get("user") == "U0SQUAT01" for c in slack.calls_to("users.info"))
    assert the_expert(db).slack_user_id is None


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_import_command_refuses_a_malformed_token_before_asking_slack(
    db: Database, tmp_path: Path, slack: SlackEmulator, language: str
) -> None:
    """As ``wieweet run`` does: sent as it was, a token with a line break was quoted whole by the HTTP client's error
    (review47 finding 1)."""
    squatted(db)
    path = tmp_path / "experts.csv"
    path.write_text(OFFICIAL, encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-1-S3cret\nxoxb-2-S3cret", "SLACK_API_URL": slack.api_url}
    env["WIEWEET_LANGUAGE"] = language
    result = CliRunner().invoke(main, ["--database", db.url, "import", "experts", str(path)], env=env)
    said = {"nl": "error: SLACK_BOT_TOKEN bevat 1 regeleinde ", "en": "error: SLACK_BOT_TOKEN holds 1 line break "}
    assert result.exit_code == 2 and result.output.startswith(said[language]), result.output
    assert "S3cret" not in result.output and slack.calls_to("users.info") == []
    assert the_expert(db).slack_user_id == SQUATTER.slack_id  # nothing changed


def test_the_import_command_keeps_an_account_slack_confirms(db: Database, tmp_path: Path, slack: SlackEmulator) -> None:
    with db.session() as session:
        profiles.save_profile(session, actor=JAN, values=FORM, now=NOW, slack_email=JAN_EMAIL)
    path = tmp_path / "experts.csv"
    path.write_text(OFFICIAL, encoding="utf-8")
    result = wieweet(db, slack, "import", "experts", str(path))
    assert result.exit_code == 0 and "CONFLICT" not in result.output, result.output
    assert the_expert(db).slack_user_id == JAN.slack_id


def test_register_check_slack_lists_what_slack_does_not_confirm(db: Database, slack: SlackEmulator) -> None:
    squatted(db)
    with db.session() as session:
        for actor, email in ((JAN, "jan@gent.be"), (Actor.slack("U0NOMAIL1", is_staff=False), "nomail@gent.be")):
            values = {**FORM, "email": email}
            profiles.save_profile(session, actor=actor, values=values, now=NOW, slack_email=email)
    result = wieweet(db, slack, "register", "check-slack")  # the operator's language: Dutch unless set
    assert result.exit_code == 1, result.output
    assert sorted(result.output.splitlines()) == sorted(
        [
            f"{JAN_EMAIL}  U0SQUAT01  (J. Peeters, bron slack): het e-mailadres in Slack is {SQUATTER_EMAIL}",
            "jan@gent.be  U0JAN0001  (J. Peeters, bron slack): het e-mailadres in Slack is jan.peeters@stad.gent",
            "nomail@gent.be  U0NOMAIL1  (J. Peeters, bron slack): Slack heeft geen e-mailadres voor dat account",
            "3 Slack-accounts nagekeken, 3 niet bevestigd door Slack",
        ]
    )
    assert result.output.splitlines()[-1] == "3 Slack-accounts nagekeken, 3 niet bevestigd door Slack"
    result = wieweet(db, slack, "register", "check-slack", language="en")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert f"{JAN_EMAIL}  U0SQUAT01  (J. Peeters, source slack): its Slack e-mail address is {SQUATTER_EMAIL}" in lines
    assert "jan@gent.be  U0JAN0001  (J. Peeters, source slack): its Slack e-mail address is jan.peeters@stad.gent" in (
        lines
    )
    assert "nomail@gent.be  U0NOMAIL1  (J. Peeters, source slack): Slack holds no e-mail address for that account" in (
        lines
    )
    assert lines[-1] == "3 Slack accounts checked, 3 not confirmed by Slack"
    no_token = CliRunner().invoke(main, ["--database", db.url, "register", "check-slack"], env={"SLACK_BOT_TOKEN": ""})
    assert no_token.exit_code != 0 and "SLACK_BOT_TOKEN" in no_token.output
