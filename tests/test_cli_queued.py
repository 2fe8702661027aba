"""After a restore, what the restored database queued at the backup's time would go out again at the next start:
outbox messages, timers, the week's digest. ``wieweet queued list`` shows them (no message text), ``wieweet queued
discard`` ends the chosen ones so that no sender or timer pass picks them up, and ``wieweet digest mark-posted``
makes a digest that went out already not due again. All audited with counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from digests.schedule import due_digests
from storage import outbox_repo, routing_repo
from storage.db import Database
from storage.models import AuditLog, DigestSubscription, OutboxKind, QuestionStatus, TimerKind
from tests.cli import wieweet, wieweet_in
from tests.factories import add_question, seed_themes

BACKUP = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday, week 2026-W49
NOW = BACKUP + timedelta(hours=5)
SECRET_TEXT = "a private question about the budget of Ghent"
AT_NOW = ("--now", NOW.isoformat())


def _queue(db: Database) -> tuple[list[int], list[int]]:
    with db.session() as session:
        messages = []
        for n, (kind, when) in enumerate(
            [
                (OutboxKind.EXPERT_REQUEST, BACKUP - timedelta(hours=2)),
                (OutboxKind.EXPERT_REMINDER, BACKUP - timedelta(hours=1)),
                (OutboxKind.TRIAGE, BACKUP + timedelta(minutes=1)),
            ]
        ):
            message = outbox_repo.create_outbox_message(
                session,
                kind=kind,
                dedupe_key=f"restore-{n}",
                now=when,
                payload={"text": SECRET_TEXT},
                recipient_slack_id="U0LIEVE01" if kind is not OutboxKind.TRIAGE else None,
                channel_id="C0TRIAGE1" if kind is OutboxKind.TRIAGE else None,
            )
            assert message is not None
            session.flush()
            messages.append(message.id)
        timers = []
        for kind, lag in [(TimerKind.REMIND, timedelta(hours=3)), (TimerKind.ESCALATE, timedelta(hours=1))]:
            timer = routing_repo.create_timer(session, kind=kind, due_at=NOW - timedelta(minutes=5), now=BACKUP - lag)
            session.flush()
            timers.append(timer.id)
        session.add(DigestSubscription(channel_id="C0WONEN01", weekday=1, hour=8, minute=0, themes=[]))
        session.add(DigestSubscription(channel_id="C0EUROPA1", weekday=1, hour=8, minute=0, themes=[]))
        session.commit()
    return messages, timers


def _claimable(db: Database) -> tuple[list[int], list[int]]:
    """What the outbox sender and the timer pass would take at ``NOW``."""
    with db.session() as session:
        stale = NOW - timedelta(minutes=10)
        messages = outbox_repo.claim_outbox_messages(session, now=NOW, worker_id="w", limit=50, stale_before=stale)
        timers = routing_repo.claim_due_timers(session, now=NOW, worker_id="w", limit=50, stale_before=stale)
        session.rollback()
    return sorted(messages), sorted(timers)


def test_list_shows_messages_timers_and_digests_without_text(database: Database) -> None:
    _queue(database)
    english = wieweet_in(database, "en", "queued", "list", "--now", NOW.isoformat())
    assert english.exit_code == 0, english.output
    assert SECRET_TEXT not in english.output
    assert "messages (3):" in english.output and "timers (2):" in english.output and "digests (2):" in english.output
    assert "expert_request" in english.output and "U0LIEVE01" in english.output and "C0TRIAGE1" in english.output
    assert "C0WONEN01" in english.output and "2026-W49" in english.output
    assert "not posted: posts at the next start" in english.output
    headers = [line.split() for line in english.output.splitlines() if line.startswith("  ") and "question" in line]
    assert headers == [
        ["id", "kind", "to", "question", "created", "post", "started"],
        ["id", "kind", "question", "status", "created", "due"],
    ]
    assert "  channel        week      scheduled         state" in english.output

    done = wieweet(database, "queued", "list", "--now", NOW.isoformat())  # the operator's language: Dutch by default
    assert done.exit_code == 0, done.output
    assert SECRET_TEXT not in done.output
    assert "berichten (3):" in done.output and "timers (2):" in done.output and "digests (2):" in done.output
    headers = [line.split() for line in done.output.splitlines() if line.startswith("  ") and "vraag" in line]
    assert headers == [
        ["id", "soort", "aan", "vraag", "aangemaakt", "post", "begonnen"],
        ["id", "soort", "vraag", "status", "aangemaakt", "gepland"],
    ]
    assert "  kanaal         week      gepland           toestand" in done.output
    assert "niet gepost: wordt bij de volgende start gepost" in done.output and " nee" in done.output


def test_discard_before_and_by_id_leaves_nothing_for_the_sender(database: Database) -> None:
    messages, timers = _queue(database)
    assert _claimable(database) == (messages, timers)

    done = wieweet(database, "queued", "discard", "--messages-before", BACKUP.isoformat(), "--timer", str(timers[0]))
    assert done.exit_code == 0, done.output
    assert "2 berichten en 1 timer weggegooid" in done.output  # the operator's language: Dutch by default
    assert _claimable(database) == ([messages[2]], [timers[1]])

    done = wieweet_in(
        database, "en", "queued", "discard", "--message", str(messages[2]), "--timers-before", NOW.isoformat()
    )
    assert "discarded 1 message and 1 timer" in done.output
    assert _claimable(database) == ([], [])
    with database.session() as session:
        entries = session.scalars(select(AuditLog).where(AuditLog.action == "discard").order_by(AuditLog.id)).all()
        assert [(e.after["messages"], e.after["timers"]) for e in entries] == [(2, 1), (1, 1)]
        assert entries[0].after["message_ids"] == messages[:2] and entries[0].after["timer_ids"] == [timers[0]]
        assert entries[0].after["messages_before"] == BACKUP.isoformat() and entries[0].after["timers_before"] is None
        assert entries[1].after["message_ids"] == [messages[2]] and entries[1].after["timer_ids"] == [timers[1]]
        assert entries[1].after["messages_before"] is None and entries[1].after["timers_before"] == NOW.isoformat()
        assert all(e.actor.startswith("cli:") and e.entity_type == "queued" for e in entries)
        ended = outbox_repo.list_outbox_messages(session, ids=messages)
        assert {m.ended_reason for m in ended} == {"discarded"} and all(m.sent_at is None for m in ended)


def _discards(db: Database) -> list[AuditLog]:
    with db.session() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == "discard")))


def test_discard_dry_run_prints_what_would_go_and_changes_nothing(database: Database) -> None:
    messages, timers = _queue(database)
    args = ["queued", "discard", "--messages-before", BACKUP.isoformat(), "--timer", str(timers[1]), "--dry-run"]
    done = wieweet(database, *args)
    assert done.exit_code == 0, done.output
    assert (
        f"zou 2 berichten ({messages[0]}, {messages[1]}) en 1 timer ({timers[1]}) weggooien "
        "(proefrit: er is niets gewijzigd)"
    ) in done.output
    english = wieweet_in(database, "en", *args)
    assert english.exit_code == 0, english.output
    assert (
        f"would discard 2 messages ({messages[0]}, {messages[1]}) and 1 timer ({timers[1]}) (dry run: nothing changed)"
    ) in english.output
    assert _claimable(database) == (messages, timers)
    assert _discards(database) == []


def test_discard_an_unknown_id_exits_2_and_one_not_queued_any_more_exits_1(database: Database) -> None:
    messages, timers = _queue(database)
    done = wieweet(database, "queued", "discard", "--message", "99999", "--timer", str(timers[0]))
    assert done.exit_code == 2, done.output  # an id that does not exist: bad input
    assert "error: Bestaat niet — berichten: 99999; timers: —. Er is niets weggegooid." in done.output  # Dutch
    assert "no such" not in done.output  # the operator's language, not the developer's message
    assert _claimable(database) == (messages, timers)
    done = wieweet(database, "queued", "discard", "--timer", "99998", "--timer", "99999")
    assert done.exit_code == 2 and "Bestaat niet — berichten: —; timers: 99998, 99999." in done.output
    assert wieweet(database, "queued", "discard", "--timer", str(timers[0])).exit_code == 0
    done = wieweet(database, "queued", "discard", "--timer", str(timers[0]))  # discarded already: a refusal
    assert done.exit_code == 1, done.output
    assert (
        "error: Niet meer in de wachtrij (al verstuurd, beëindigd of uitgevoerd) — "
        f"berichten: —; timers: {timers[0]}. Er is niets weggegooid."
    ) in done.output
    in_english = wieweet_in(database, "en", "queued", "discard", "--timer", str(timers[0]))
    assert (
        in_english.exit_code == 1
        and f"No longer queued (sent, ended or run already) — messages: —; timers: {timers[0]}" in in_english.output
    )
    done = wieweet(database, "queued", "discard", "--timer", str(timers[0]), "--message", "99999")
    assert done.exit_code == 2 and "Bestaat niet — berichten: 99999; timers: —." in done.output  # the mistyped id first
    assert len(_discards(database)) == 1


def _question_with_timers(db: Database, status: QuestionStatus, kinds: list[TimerKind]) -> tuple[int, list[int]]:
    with db.session() as session:
        seed_themes(session, [("wonen", "Wonen", "Housing", [])])
        question = add_question(session, "Wie kent leegstand?", created_at=BACKUP, asker="U0ASKER01", status=status)
        session.flush()
        timers = []
        for kind in kinds:
            timer = routing_repo.create_timer(
                session, kind=kind, due_at=NOW + timedelta(hours=1), now=BACKUP, question_id=question.id
            )
            session.flush()
            timers.append(timer.id)
        session.commit()
        return question.id, timers


def test_discarding_an_open_questions_last_timer_is_refused_without_force(database: Database) -> None:
    """A question answered after the backup is still open in the restored copy: its last timers discarded, nothing
    would remind, move on or hand it to staff any more."""
    question, timers = _question_with_timers(database, QuestionStatus.ROUTED, [TimerKind.REMIND, TimerKind.ESCALATE])
    listed = wieweet(database, "queued", "list", *AT_NOW)
    assert f"{question:>8}  routed" in listed.output, listed.output

    assert wieweet(database, "queued", "discard", "--timer", str(timers[0])).exit_code == 0  # the escalation stays
    done = wieweet(database, "queued", "discard", "--timer", str(timers[1]))
    assert done.exit_code == 1, done.output  # understood, refused without --force
    assert (  # which question, its state, and what it would go without, in the operator's language
        f"error: Open vragen die dan geen timer meer hebben: vraag {question} is nog gesteld aan experts en zou geen "
        "timer meer hebben: geen overdracht aan de medewerkers meer. Geef --force om toch weg te gooien; er is niets "
        "weggegooid."
    ) in done.output
    in_english = wieweet_in(database, "en", "queued", "discard", "--timer", str(timers[1]))
    assert (
        in_english.exit_code == 1
        and (
            f"error: Open questions that would have no timer left: question {question} is still sent to experts and "
            "would have no timer left: no more hand-over to staff for it. Give --force to discard anyway; nothing was "
            "discarded."
        )
        in in_english.output
    )
    with database.session() as session:
        assert [t.id for t in routing_repo.list_pending_timers(session)] == [timers[1]]

    done = wieweet(database, "queued", "discard", "--timers-before", NOW.isoformat(), "--dry-run")
    assert (
        done.exit_code == 0
        and (
            f"warning: vraag {question} is nog gesteld aan experts en zou geen timer meer hebben: geen overdracht "
            "aan de medewerkers meer\n"
        )
        in done.output
    )
    done = wieweet_in(database, "en", "queued", "discard", "--timers-before", NOW.isoformat(), "--dry-run")
    assert (
        done.exit_code == 0
        and (
            f"warning: question {question} is still sent to experts and would have no timer left: no more hand-over to "
            "staff for it\n"
        )
        in done.output
    )
    done = wieweet(database, "queued", "discard", "--timer", str(timers[1]), "--force")
    assert done.exit_code == 0 and f"warning: vraag {question} is nog gesteld aan experts" in done.output
    with database.session() as session:
        assert routing_repo.list_pending_timers(session) == []
    assert [e.after["open_questions_left"] for e in _discards(database)] == [[], [question]]


def test_a_stranded_question_names_each_thing_it_would_go_without(database: Database) -> None:
    question, _ = _question_with_timers(database, QuestionStatus.CLAIMED, [TimerKind.REMIND, TimerKind.NEXT_EXPERT])
    done = wieweet(database, "queued", "discard", "--timers-before", NOW.isoformat())
    assert (
        done.exit_code == 1
        and (
            f"vraag {question} is nog opgenomen en zou geen timer meer hebben: geen herinnering en volgende expert meer"
        )
        in done.output
    )
    done = wieweet_in(database, "en", "queued", "discard", "--timers-before", NOW.isoformat(), "--dry-run")
    assert (
        done.exit_code == 0
        and (
            f"warning: question {question} is still taken and would have no timer left: no more reminder and next "
            "expert for it"
        )
        in done.output
    )


def test_discarding_an_answered_questions_timers_needs_no_force(database: Database) -> None:
    _, timers = _question_with_timers(database, QuestionStatus.ANSWERED, [TimerKind.REMIND])
    done = wieweet(database, "queued", "discard", "--timer", str(timers[0]))
    assert done.exit_code == 0, done.output
    assert "warning" not in done.output and "0 berichten en 1 timer weggegooid" in done.output


def test_discard_needs_a_choice(database: Database) -> None:
    done = wieweet(database, "queued", "discard")
    assert done.exit_code == 2 and "geef --message" in done.output  # WIEWEET_LANGUAGE: nl (default)


def test_mark_posted_stops_the_digest_going_out_again(database: Database) -> None:
    _queue(database)
    with database.session() as session:
        assert sorted(s.channel_id for s, _ in due_digests(session, now=NOW)) == ["C0EUROPA1", "C0WONEN01"]

    done = wieweet(database, "digest", "mark-posted", "--week", "2026-W49", "--channel", "C0WONEN01", *AT_NOW)
    assert done.exit_code == 0, done.output
    with database.session() as session:
        assert [s.channel_id for s, _ in due_digests(session, now=NOW)] == ["C0EUROPA1"]

    done = wieweet(database, "digest", "mark-posted", "--week", "2026-w49", *AT_NOW)
    assert "1 digest van 2026-W49 als gepost gemarkeerd; 1 was al gepost; 0 nog niet aan de beurt" in done.output
    with database.session() as session:
        assert due_digests(session, now=NOW) == []
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "mark_posted").order_by(AuditLog.id)).all()
        assert [(e.entity_type, e.entity_key, e.after) for e in entry] == [
            ("digest_run", "2026-W49", {"channels": 1, "marked": 1, "already_sent": 0, "not_due": 0, "posting": 0}),
            ("digest_run", "2026-W49", {"channels": 2, "marked": 1, "already_sent": 1, "not_due": 0, "posting": 0}),
        ]
    done = wieweet(database, "queued", "list", "--now", NOW.isoformat())
    assert done.output.count("verstuurd (sent) 2026-12-") == 2, done.output  # the operator's language: Dutch by default
    english = wieweet_in(database, "en", "queued", "list", "--now", NOW.isoformat())
    assert english.output.count("sent (sent) 2026-12-") == 2, english.output


def test_mark_posted_leaves_a_digest_not_yet_scheduled_that_week(database: Database) -> None:
    """Restored on Tuesday: Tuesday's digest went out, Friday's has not; marking the week leaves Friday's to go."""
    with database.session() as session:
        session.add(DigestSubscription(channel_id="C0TUESDAY", weekday=1, hour=8, minute=0, themes=[]))
        session.add(DigestSubscription(channel_id="C0FRIDAY1", weekday=4, hour=8, minute=0, themes=[]))
        session.commit()
    done = wieweet_in(database, "en", "digest", "mark-posted", "--week", "2026-W49", *AT_NOW)
    assert done.exit_code == 0, done.output
    assert "marked 1 digest of 2026-W49 as posted; 0 were posted already; 1 not due yet" in done.output
    friday = BACKUP + timedelta(days=3, hours=2)
    with database.session() as session:
        assert [s.channel_id for s, _ in due_digests(session, now=friday)] == ["C0FRIDAY1"]
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "mark_posted")).one()
        assert entry.after == {"channels": 1, "marked": 1, "already_sent": 0, "not_due": 1, "posting": 0}


def test_mark_posted_refuses_a_week_after_this_one(database: Database) -> None:
    with database.session() as session:
        session.add(DigestSubscription(channel_id="C0WONEN01", weekday=1, hour=8, minute=0, themes=[]))
        session.commit()
    for args in ([], ["--channel", "C0WONEN01"]):
        done = wieweet(database, "digest", "mark-posted", "--week", "2026-W50", *args, *AT_NOW)
        assert done.exit_code == 2, done.output
        assert "2026-W50 is nog niet begonnen (deze week is 2026-W49)" in done.output
        assert len(done.output.strip().splitlines()) == 1
    with database.session() as session:
        assert session.scalars(select(AuditLog).where(AuditLog.action == "mark_posted")).all() == []


def test_mark_posted_refuses_a_channel_without_subscription(database: Database) -> None:
    done = wieweet(database, "digest", "mark-posted", "--week", "2026-W49", "--channel", "C0NOSUCH1", *AT_NOW)
    assert done.exit_code == 2 and "'C0NOSUCH1' heeft geen actief abonnement" in done.output
