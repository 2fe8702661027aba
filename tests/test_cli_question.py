"""``wieweet question show|close|assign``: one question settled by hand from the command line, through the very
service functions the triage channel's buttons call (``staff_close``, ``staff_assign``), so with the same rules and
the same messages — queued in the outbox, for the bot to send when it runs. And ``wieweet queued discard`` by due
time beside creation time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.i18n import format_date
from bot.outbox import AskerUpdateKind, CloseReason
from storage import outbox_repo, question_repo, routing_repo
from storage.db import Database
from storage.models import (
    AuditLog,
    Availability,
    Consent,
    EscalationReason,
    OutboxKind,
    OutboxMessage,
    Question,
    QuestionEvent,
    QuestionStatus,
    RoutingStatus,
    TimerKind,
    Visibility,
)
from tests.cli import wieweet, wieweet_in
from tests.routing.conftest import (
    ASKER,
    NOW,
    QUESTION,
    World,
    add_expert,
    seed_housing,
    seed_themes,
    world_fixture,  # noqa: F401 (the fixture)
)

LATER = NOW + timedelta(days=1)
AT_LATER = ("--now", LATER.isoformat())


def _escalated(world: World, **kw: object) -> int:
    """A question asked of experts (requests open, timers pending), then handed to staff."""
    qid = world.ask(**kw)  # type: ignore[arg-type]
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.DEADLINE, now=NOW + timedelta(hours=1))
    return qid


def _question(db: Database, qid: int) -> Question:
    with db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        _ = [(r.status, r.recipient_slack_id) for r in question.routings]
        return question


def _snapshot(world: World, qid: int) -> tuple[object, ...]:
    """Everything a close or an assignment changes: the question, its requests, timers, queue and the audit log."""
    question = _question(world.db, qid)
    with world.db.session() as s:
        events = len(list(s.scalars(select(QuestionEvent).where(QuestionEvent.question_id == qid))))
        audits = len(list(s.scalars(select(AuditLog))))
    return (
        question.status,
        sorted((r.id, r.status) for r in question.routings),
        [t.id for t in world.pending_timers()],
        [m.id for m in world.outbox()],
        events,
        audits,
    )


def _new(world: World, before: list[int]) -> list[OutboxMessage]:
    return [m for m in world.outbox() if m.id not in before]


def test_show_gives_status_requests_timers_and_hides_a_private_asker(world: World) -> None:
    seed_housing(world)
    qid = _escalated(world)
    done = wieweet(world.db, "question", "show", str(qid))  # the operator's language: Dutch by default
    assert done.exit_code == 0, done.output
    assert f"vraag {qid}: escalated (deadline), public, gesteld " in done.output
    assert ASKER in done.output and QUESTION in done.output and "draad: C0WONEN01 1700000000.000100" in done.output
    assert "verzoeken (2):" in done.output and "asked" in done.output and "timers (" in done.output
    assert "remind" in done.output and "triage" in done.output and " gepland " in done.output
    english = wieweet_in(world.db, "en", "question", "show", str(qid))
    assert f"question {qid}: escalated (deadline), public, asked " in english.output
    assert "thread: C0WONEN01 1700000000.000100" in english.output and "requests (2):" in english.output
    assert "queued (" in english.output and " due " in english.output

    private = _escalated(world, text="Een vertrouwelijke vraag over leegstandsheffing", visibility=Visibility.PRIVATE)
    done = wieweet(world.db, "question", "show", str(private))
    assert done.exit_code == 0, done.output
    assert ASKER not in done.output and "vertrouwelijke" not in done.output
    assert "vrager: (privé of anoniem)" in done.output and "asker_update           aan de vrager" in done.output
    english = wieweet_in(world.db, "en", "question", "show", str(private))
    assert "asker: (private or anonymous)" in english.output and "asker_update           to the asker" in english.output

    done = wieweet(world.db, "question", "show", "999999")
    assert done.exit_code == 2 and "error: vraag 999999 bestaat niet" in done.output  # an unknown id: bad input
    english = wieweet_in(world.db, "en", "question", "show", "999999")
    assert english.exit_code == 2 and "error: question 999999 not found" in english.output


def test_close_tells_the_asker_ends_requests_and_timers_and_is_audited(world: World) -> None:
    seed_housing(world)
    qid = _escalated(world)
    asked = {r.recipient_slack_id for r in _question(world.db, qid).routings}
    before = [m.id for m in world.outbox()]
    done = wieweet(world.db, "--by", "Anna Smet", "question", "close", str(qid), "--reason", "Beantwoord", *AT_LATER)
    assert done.exit_code == 0, done.output
    assert f"vraag {qid} afgesloten" in done.output  # WIEWEET_LANGUAGE: Dutch unless set

    question = _question(world.db, qid)
    assert question.status is QuestionStatus.CLOSED and question.staff_note == "Beantwoord"
    assert {r.status for r in question.routings} == {RoutingStatus.EXPIRED}
    assert not [t for t in world.pending_timers() if t.question_id == qid]
    new = _new(world, before)
    updates = [m for m in new if m.kind is OutboxKind.ASKER_UPDATE]
    assert [(m.recipient_slack_id, m.payload["update"], m.payload["note"]) for m in updates] == [
        (ASKER, AskerUpdateKind.CLOSED.value, "Beantwoord")
    ]
    closed = [m for m in new if m.kind is OutboxKind.ROUTING_CLOSED]
    assert {m.recipient_slack_id for m in closed} == asked
    assert {m.payload["reason"] for m in closed} == {CloseReason.CLOSED.value}
    assert f"in de wachtrij: asker_update aan {ASKER}" in done.output
    with world.db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "close")).one()
        assert audit.entity_type == "question" and audit.entity_key == str(qid)
        assert audit.actor.startswith("cli:") and audit.actor.endswith(" by Anna Smet")
        event = s.scalars(select(QuestionEvent).where(QuestionEvent.to_status == "closed")).one()
        assert event.actor.startswith("staff:cli:")

    again = wieweet(world.db, "question", "close", str(qid), "--reason", "x", *AT_LATER)
    # in the operator's language (WIEWEET_LANGUAGE: Dutch unless set), with the question's state
    assert again.exit_code == 1, again.output
    assert (
        f"error: Deze vraag is afgesloten of geannuleerd. (vraag {qid} is afgesloten) Er is niets gewijzigd."
        in again.output
    )
    in_english = wieweet_in(world.db, "en", "question", "close", str(qid), "--reason", "x", *AT_LATER)
    assert in_english.exit_code == 1 and f"(question {qid} is closed) Nothing was changed." in in_english.output


def test_close_a_question_still_with_experts_ends_each_request_once(world: World) -> None:
    """Its asker gone quiet, its experts silent: staff close it by hand as a withdrawal ends it for the experts."""
    seed_housing(world)
    qid = world.ask()
    question = _question(world.db, qid)
    asked = [r.recipient_slack_id for r in question.routings]
    assert question.status is QuestionStatus.ROUTED and len(asked) == 2
    assert {r.status for r in question.routings} == {RoutingStatus.ASKED}
    assert [t for t in world.pending_timers() if t.question_id == qid]
    before = [m.id for m in world.outbox()]
    done = wieweet(world.db, "--by", "Anna Smet", "question", "close", str(qid), "--reason", "Stil gevallen", *AT_LATER)
    assert done.exit_code == 0, done.output
    assert f"vraag {qid} afgesloten" in done.output  # WIEWEET_LANGUAGE: Dutch unless set

    question = _question(world.db, qid)
    assert question.status is QuestionStatus.CLOSED and question.staff_note == "Stil gevallen"
    assert {r.status for r in question.routings} == {RoutingStatus.EXPIRED}
    assert not [t for t in world.pending_timers() if t.question_id == qid]
    new = _new(world, before)
    closed = [m for m in new if m.kind is OutboxKind.ROUTING_CLOSED]
    assert sorted(m.recipient_slack_id for m in closed) == sorted(asked)  # each expert told once
    assert {m.payload["reason"] for m in closed} == {CloseReason.CLOSED.value}
    updates = [m for m in new if m.kind is OutboxKind.ASKER_UPDATE]
    assert [(m.recipient_slack_id, m.payload["update"], m.payload["note"]) for m in updates] == [
        (ASKER, AskerUpdateKind.CLOSED.value, "Stil gevallen")
    ]
    with world.db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "close")).one()
        assert audit.entity_key == str(qid) and audit.actor.endswith(" by Anna Smet")
        event = s.scalars(select(QuestionEvent).where(QuestionEvent.to_status == "closed")).one()
        assert event.from_status == "routed" and event.actor.startswith("staff:cli:")

    again = wieweet(world.db, "question", "close", str(qid), "--reason", "x", *AT_LATER)
    assert again.exit_code == 1 and f"(vraag {qid} is afgesloten)" in again.output
    assert len([m for m in world.outbox(OutboxKind.ROUTING_CLOSED) if m.question_id == qid]) == 2


def test_close_refusals_and_dry_run_change_nothing(world: World) -> None:
    seed_housing(world)
    withdrawn = world.ask()
    with world.db.session() as s:
        world.service.cancel(s, question_id=withdrawn, actor_slack_id=ASKER, now=NOW)
    snapshot = _snapshot(world, withdrawn)
    done = wieweet(world.db, "question", "close", str(withdrawn), "--reason", "x", *AT_LATER)
    assert done.exit_code == 1, done.output
    assert f"(vraag {withdrawn} is geannuleerd) Er is niets gewijzigd." in done.output
    assert _snapshot(world, withdrawn) == snapshot

    done = wieweet(world.db, "question", "close", "999999", "--reason", "x")
    assert done.exit_code == 2 and "error: vraag 999999 bestaat niet" in done.output  # an unknown id: bad input

    qid = _escalated(world, text="Wie kent de leegstandsheffing in Gent?")
    snapshot = _snapshot(world, qid)
    done = wieweet(world.db, "question", "close", str(qid), "--reason", "Beantwoord", "--dry-run", *AT_LATER)
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0] == f"zou vraag {qid} afsluiten" and f"  zou in de wachtrij komen: asker_update aan {ASKER}" in lines
    assert "  zou in de wachtrij komen: routing_closed aan" in done.output
    assert lines[-1] == "(proefrit: er is niets gewijzigd)"
    done = wieweet_in(world.db, "en", "question", "close", str(qid), "--reason", "Beantwoord", "--dry-run", *AT_LATER)
    assert done.exit_code == 0, done.output
    assert f"would close question {qid}" in done.output and f"would queue: asker_update to {ASKER}" in done.output
    assert "would queue: routing_closed to" in done.output and "(dry run: nothing changed)" in done.output
    assert _snapshot(world, qid) == snapshot


def test_assign_by_email_asks_them_as_staff_do_and_is_audited(world: World) -> None:
    seed_housing(world)
    qid = _escalated(world)
    with world.db.session() as s:
        add_expert(s, "Fien", organisation="Stad Leuven", expertise=["leegstandsheffing"])
    before = [m.id for m in world.outbox()]
    by = "Anna-Maria Van den Broeck, kenniscentrum Vlaamse steden"  # the event log keeps 64 characters of it
    done = wieweet(world.db, "--by", by, "question", "assign", str(qid), "--expert", "FIEN@example.org", *AT_LATER)
    assert done.exit_code == 0, done.output
    assert f"UFIEN gevraagd om vraag {qid} te beantwoorden" in done.output  # WIEWEET_LANGUAGE: nl

    question = _question(world.db, qid)
    assert question.status is QuestionStatus.ROUTED
    assert ("UFIEN", RoutingStatus.ASKED) in {(r.recipient_slack_id, r.status) for r in question.routings}
    new = _new(world, before)
    requests = [m for m in new if m.kind is OutboxKind.EXPERT_REQUEST]
    assert [m.recipient_slack_id for m in requests] == ["UFIEN"]
    assert requests[0].payload["assigned_by_staff"] is True
    told = [m for m in new if m.kind is OutboxKind.ASKER_UPDATE]
    assert [(m.recipient_slack_id, m.payload["update"]) for m in told] == [(ASKER, AskerUpdateKind.ROUTED.value)]
    escalations = [t for t in world.pending_timers() if t.question_id == qid and t.kind is TimerKind.ESCALATE]
    assert len(escalations) == 1  # staff get it back if nobody answers, as after a hand-pick in Slack
    with world.db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "assign")).one()
        assert audit.after is not None and audit.after["slack_user_id"] == "UFIEN" and audit.actor.endswith(f" by {by}")

    # a question no longer waiting for staff: refused
    done = wieweet(world.db, "question", "assign", str(qid), "--expert", "UFIEN", *AT_LATER)
    assert done.exit_code == 1, done.output
    assert (
        f"(vraag {qid} is gesteld aan experts) Alleen een vraag die op de medewerkers wacht (bij het kenniscentrum) "
        "wordt met de hand toegewezen. Er is niets gewijzigd."
    ) in done.output
    done = wieweet_in(world.db, "en", "question", "assign", str(qid), "--expert", "UFIEN", *AT_LATER)
    assert done.exit_code == 1 and "not (or no longer) waiting for staff" in done.output
    assert "Only a question waiting for staff (escalated) is assigned by hand. Nothing was changed." in done.output


def test_a_refused_pick_says_why_and_keeps_only_its_audit_row_as_in_slack(world: World) -> None:
    seed_housing(world)
    with world.db.session() as s:
        add_expert(s, "Gust", organisation="Stad Gent", expertise=["x"], away_until=LATER.date() + timedelta(days=7))
        add_expert(s, "Hanne", organisation="Stad Gent", expertise=["x"], consent=Consent.WITHDRAWN)
        add_expert(s, "Ilse", organisation="Stad Gent", expertise=["x"], availability=Availability.OPTED_OUT)
        add_expert(s, "Asker", organisation="Stad Gent", expertise=["x"], slack=ASKER)
        add_expert(s, "Jos", organisation="Stad Gent", expertise=["x"], slack=None)
        add_expert(s, "Karel", organisation="Stad Gent", expertise=["x"], consent=Consent.PENDING)  # never confirmed
    qid = _escalated(world)
    snapshot = _snapshot(world, qid)
    until = format_date(LATER.date() + timedelta(days=7), "en", year=True)  # the house date style
    refusals = {
        "UGUST": f"Gust is away until {until}",  # by their name where Slack shows a mention
        "UHANNE": "This person cannot be given this question",
        "UILSE": "This person cannot be given this question",
        "karel@example.org": "Karel has not confirmed their listing in the register yet",
        ASKER: "cannot forward the question to the person who asked it",
        "jos@example.org": "has no Slack account in the register",
        "U0NOBODY1": "not in the expert register",
        "someone": "neither an e-mail address nor a Slack user id",
    }
    # refusals Slack audits too (and counts towards ``too_many_picks``)
    recorded = {"UGUST", "UHANNE", "UILSE", "karel@example.org"}
    dry = wieweet(world.db, "question", "assign", str(qid), "--expert", "UILSE", "--dry-run", *AT_LATER)
    assert dry.exit_code == 1 and "Er is niets gewijzigd." in dry.output, dry.output  # WIEWEET_LANGUAGE: nl
    assert _snapshot(world, qid) == snapshot
    unknown = {"U0NOBODY1", "someone"}  # nobody in the register: bad input (2); the others are refusals (1)
    for expert, why in refusals.items():
        done = wieweet_in(world.db, "en", "question", "assign", str(qid), "--expert", expert, *AT_LATER)
        assert done.exit_code == (2 if expert in unknown else 1), (expert, done.output)
        assert why.lower() in done.output.lower(), (expert, done.output)
        assert "<@" not in done.output and "UGUST is" not in done.output and "UKAREL" not in done.output
        said = "The refused pick is recorded." if expert in recorded else "Nothing was changed."
        assert said in done.output, (expert, done.output)
        now = _snapshot(world, qid)
        assert now[:-1] == snapshot[:-1] and now[-1] == snapshot[-1] + (expert in recorded), expert
        snapshot = now
    dutch = {  # the operator's language (WIEWEET_LANGUAGE: Dutch unless set), the exit codes the same; none recorded
        "jos@example.org": (1, "jos@example.org heeft geen Slack-account in het register", "Er is niets gewijzigd."),
        "U0NOBODY1": (2, "U0NOBODY1 staat niet in het expertregister", "Er is niets gewijzigd."),
        "someone": (2, "someone is geen e-mailadres en geen Slack-gebruikers-id.", "Er is niets gewijzigd."),
    }
    for expert, (code, why, said) in dutch.items():
        done = wieweet(world.db, "question", "assign", str(qid), "--expert", expert, *AT_LATER)
        assert done.exit_code == code and why in done.output and said in done.output, (expert, done.output)
    with world.db.session() as s:
        refused = list(s.scalars(select(AuditLog).where(AuditLog.action == "refuse")))
    assert len(refused) == len(recorded) and {r.entity_key for r in refused} == {f"question:{qid}"}

    done = wieweet(world.db, "question", "assign", "999999", "--expert", "UGUST")
    assert done.exit_code == 2 and "error: vraag 999999 bestaat niet" in done.output  # an unknown id: bad input

    dry = wieweet(
        world.db, "question", "assign", str(qid), "--expert", "UGUST", "--even-if-away", "--dry-run", *AT_LATER
    )
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[0] == f"zou UGUST vragen om vraag {qid} te beantwoorden"
    assert "zou in de wachtrij komen: expert_request aan UGUST" in dry.output
    assert dry.output.splitlines()[-1] == "(proefrit: er is niets gewijzigd)"
    args = ("question", "assign", str(qid), "--expert", "UGUST", "--even-if-away", "--dry-run", *AT_LATER)
    dry = wieweet_in(world.db, "en", *args)
    assert dry.output.splitlines()[0] == f"would ask UGUST to answer question {qid}"
    assert "would queue: expert_request to UGUST" in dry.output and "(dry run: nothing changed)" in dry.output
    assert _snapshot(world, qid) == snapshot

    done = wieweet(world.db, "question", "assign", str(qid), "--expert", "UGUST", "--even-if-away", *AT_LATER)
    assert done.exit_code == 0, done.output
    with world.db.session() as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "assign_away")).one().entity_key == str(qid)


def test_what_a_running_process_queues_before_the_lock_is_not_counted_as_this_close(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that commits a message for the question just before the close locks it: that message was there
    before, so the close neither prints it nor counts it in its audit row."""
    seed_housing(world)
    qid = _escalated(world)
    real = question_repo.get_question

    def replica_first(session: Session, *, question_id: int, lock: bool = False) -> Question | None:
        if lock and question_id == qid and not replica:
            with world.db.session() as other:
                replica.append(
                    outbox_repo.create_outbox_message(
                        other,
                        kind=OutboxKind.EXPERT_REMINDER,
                        dedupe_key="replica",
                        now=NOW,
                        recipient_slack_id="U0REPLICA",
                        payload={},
                        question_id=qid,
                    ).id
                )
                other.commit()
        return real(session, question_id=question_id, lock=lock)

    replica: list[int] = []
    earlier = [m.id for m in world.outbox() if m.question_id == qid]
    monkeypatch.setattr(question_repo, "get_question", replica_first)
    done = wieweet(world.db, "question", "close", str(qid), "--reason", "x", *AT_LATER)
    assert done.exit_code == 0 and replica, done.output
    assert "U0REPLICA" not in done.output and f"in de wachtrij: asker_update aan {ASKER}" in done.output, done.output
    with world.db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "close")).one()
        queued = len(list(s.scalars(select(OutboxMessage).where(OutboxMessage.question_id == qid))))
    assert audit.after is not None and audit.after["queued"] == queued - 1 - len(earlier), audit.after


def test_assign_writes_to_an_expert_of_unknown_language_in_the_networks_language(world: World) -> None:
    """No Slack locale and only French in the register: the request is in WIEWEET_LANGUAGE's language."""
    seed_housing(world)
    qid = _escalated(world)
    with world.db.session() as s:
        add_expert(s, "Claire", organisation="Stad Brussel", expertise=["leegstandsheffing"], languages=["fr"])
    done = wieweet_in(world.db, "en", "question", "assign", str(qid), "--expert", "UCLAIRE", *AT_LATER)
    assert done.exit_code == 0, done.output
    routings = {r.recipient_slack_id: r for r in _question(world.db, qid).routings}
    assert routings["UCLAIRE"].language == "en"


def test_assign_help_says_what_is_checked() -> None:
    done = CliRunner().invoke(main, ["question", "assign", "--help"])
    assert done.exit_code == 0
    text = " ".join(done.output.split())
    assert "consent not withdrawn and not opted out" in text and "consent given" not in text
    assert "listing confirmed when WIEWEET_REQUIRE_CONSENT is on" in text


def test_discard_by_due_time_beside_creation_time(database: Database) -> None:
    created = NOW - timedelta(days=2)  # everything queued long before the outage
    outage = NOW
    with database.session() as s:
        seed_themes(s)
        question = Question(text="q", status=QuestionStatus.ROUTED, asker_slack_id=ASKER, created_at=created)
        s.add(question)
        s.flush()
        due = {"early": outage - timedelta(hours=2), "late": outage + timedelta(hours=2)}
        made = {
            name: routing_repo.create_timer(s, kind=TimerKind.REMIND, due_at=at, question_id=question.id, now=created)
            for name, at in due.items()
        }
        s.flush()
        timers = {name: timer.id for name, timer in made.items()}
        messages = {}
        for name, at in due.items():
            message = outbox_repo.create_outbox_message(
                s,
                kind=OutboxKind.EXPERT_REMINDER,
                dedupe_key=f"due-{name}",
                now=created,
                recipient_slack_id="U0X1",
                payload={},
            )
            assert message is not None
            message.next_attempt_at = at
            s.flush()
            messages[name] = message.id
    cut = outage.isoformat()

    done = wieweet(database, "queued", "discard", "--messages-due-before", cut, "--dry-run")
    assert done.exit_code == 0, done.output
    assert f"zou 1 bericht ({messages['early']}) en 0 timers weggooien" in done.output

    # the question's other timer is due later: discarding the early one leaves it one
    done = wieweet(database, "queued", "discard", "--messages-due-before", cut, "--timers-due-before", cut)
    assert done.exit_code == 0, done.output
    assert "1 bericht en 1 timer weggegooid" in done.output
    with database.session() as s:
        left = [t.id for t in routing_repo.list_pending_timers(s)]
        queued = [m.id for m in outbox_repo.list_queued_outbox_messages(s)]
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "discard")).one()
    assert left == [timers["late"]] and queued == [messages["late"]]
    assert audit.after is not None and audit.after["timers_due_before"] == outage.isoformat()
    assert audit.after["timer_ids"] == [timers["early"]] and audit.after["timers_before"] is None

    # the last timer of a question still open: refused without --force, as by creation time
    later = (outage + timedelta(days=1)).isoformat()
    done = wieweet(database, "queued", "discard", "--timers-due-before", later)
    assert done.exit_code == 1 and "Open vragen die dan geen timer meer hebben" in done.output  # WIEWEET_LANGUAGE: nl
    done = wieweet(database, "queued", "discard", "--timers-due-before", later, "--force")
    assert done.exit_code == 0 and "0 berichten en 1 timer weggegooid" in done.output


def test_help_tells_creation_time_from_due_time() -> None:
    done = CliRunner().invoke(main, ["queued", "discard", "--help"])
    assert done.exit_code == 0
    text = " ".join(done.output.split())
    assert "--messages-before ISO Every queued message created (queued) before this time." in text
    assert "--timers-due-before ISO Every pending timer due to run before this time." in text
