"""``wieweet question show`` of a question staff may not see in full (``payloads.is_shareable``): asked in a private
channel, it shows neither its text and asker nor where it was asked (the channel's id, its thread); ``queued list``
names whom a message goes to by the same rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import outbox_repo
from storage.db import Database
from storage.models import EscalationReason, OutboxKind, Visibility
from tests.cli import wieweet, wieweet_in
from tests.factories import add_question, seed_themes
from tests.routing.conftest import ASKER, NOW, World, seed_housing, world_fixture  # noqa: F401 (the fixture)

PRIVATE_CHANNEL, THREAD = "C0GEHEIM1", "1700000000.000900"


def test_show_does_not_say_where_a_private_channel_question_was_asked(world: World) -> None:
    seed_housing(world)
    qid = world.ask(
        text="Een vraag uit een besloten kanaal over leegstandsheffing",
        channel_id=PRIVATE_CHANNEL,
        channel_is_private=True,
        thread_ts=THREAD,
    )
    with world.db.session() as s:
        question = world.service.core.lock_question(s, qid)
        world.service.core.escalate(s, question, EscalationReason.DEADLINE, now=NOW + timedelta(hours=1))
    done = wieweet(world.db, "question", "show", str(qid))
    assert done.exit_code == 0, done.output
    assert PRIVATE_CHANNEL not in done.output and THREAD not in done.output
    assert "besloten kanaal" not in done.output and ASKER not in done.output
    assert "draad: (niet getoond" in done.output  # the operator's language: Dutch unless WIEWEET_LANGUAGE says English
    english = wieweet_in(world.db, "en", "question", "show", str(qid))
    assert "thread: (not shown" in english.output and PRIVATE_CHANNEL not in english.output

    public = world.ask(text="Wie kent de leegstandsheffing in Gent?")
    done = wieweet(world.db, "question", "show", str(public))
    assert "draad: C0WONEN01 1700000000.000100" in done.output  # a public channel's is shown


def test_queued_list_names_no_asker_nor_channel_that_question_show_hides(database: Database) -> None:
    """``queued list`` shows whom a message goes to by ``question show``'s rule: an anonymous question's asker and
    a private channel are not named; a public question's asker is."""
    now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    with database.session() as session:
        seed_themes(session, [("wonen", "Wonen", "Housing", [])])
        anonymous = add_question(session, "a", asker="U0ANONYM01", created_at=now, visibility=Visibility.ANONYMOUS)
        private = add_question(
            session, "b", asker="U0BESLOT1", created_at=now, channel_id=PRIVATE_CHANNEL, channel_is_private=True
        )
        public = add_question(session, "c", asker="U0OPENBAAR", created_at=now)
        session.flush()
        for key, question, to, channel in [
            ("anon", anonymous, "U0ANONYM01", None),
            ("private-dm", private, "U0BESLOT1", None),
            ("private-thread", private, None, PRIVATE_CHANNEL),
            ("public", public, "U0OPENBAAR", None),
        ]:
            outbox_repo.create_outbox_message(
                session,
                kind=OutboxKind.ASKER_UPDATE,
                dedupe_key=key,
                now=now,
                payload={},
                recipient_slack_id=to,
                channel_id=channel,
                question_id=question.id,
            )
        session.commit()
    for lang, asker, thread in [("nl", "de vrager", "haar draad"), ("en", "the asker", "its thread")]:
        listed = wieweet_in(database, lang, "queued", "list", "--now", now.isoformat())
        assert listed.exit_code == 0, listed.output
        lines = [line for line in listed.output.splitlines() if "asker_update" in line]
        assert len(lines) == 4, listed.output
        assert "U0ANONYM01" not in listed.output and "U0BESLOT1" not in listed.output
        assert PRIVATE_CHANNEL not in listed.output
        assert [asker in lines[0], asker in lines[1], thread in lines[2]] == [True, True, True], lines
        assert "U0OPENBAAR" in lines[3]  # a public question's asker is shown, as `question show` does
