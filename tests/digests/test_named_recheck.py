"""A digest collected before another replica's erasure (or someone's "stop") committed is checked again just before
it is posted: nobody erased or stopped since is named (``collect.without_gone``). Two ``Database`` objects: the
digest's process and the erasing one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.actors import Actor
from bot.privacy import erase_person
from bot.register import consent
from digests.collect import without_gone
from digests.model import DigestData, SubscriptionView
from digests.sender import SendStatus, collect_for
from handlers.digest_post import send_digest
from storage.db import Database
from storage.models import DigestSubscription
from tests.digests.conftest import NOW, PERIOD, add_expert, add_question, blocks_json, local, seed_themes
from tests.digests.test_sending import FakeSlack

CHANNEL = "C0DIGEST1"
STAFF = Actor.cli("ops")


@pytest.fixture
def other_replica(database: Database) -> Iterator[Database]:
    second = Database(database.url)
    yield second
    second.dispose()


def _seed(database: Database) -> dict[str, int]:
    with database.session() as s:
        seed_themes(s)
        s.add(DigestSubscription(channel_id=CHANNEL, weekday=0, hour=9, minute=0, themes=[], language="nl"))
        an = add_expert(s, "An Peeters", slack="U0AN", created_at=local(2026, 1, 1))
        bo = add_expert(s, "Bo Vertrekt", slack="U0BO", created_at=local(2026, 1, 1))
        nieuw = add_expert(s, "Nora Nieuw", slack="U0NORA")
        done = local(2026, 11, 20, 11)
        add_question(s, "Hoe werkt de leegstandsheffing?", answered_at=done, answers=[(an, "An Peeters", "U0AN")])
        add_question(s, "Wie kent de huurpremie?", answered_at=done, answers=[(bo, "Bo Vertrekt", "U0BO")])
        return {"an": an.id, "bo": bo.id, "nora": nieuw.id}


def _send(database: Database, data: DigestData) -> tuple[SendStatus, str]:
    slack = FakeSlack()
    result = send_digest(
        database, channel_id=CHANNEL, period=PERIOD, now=NOW, worker_id="w1", post=slack.post, data=data
    )
    return result.status, blocks_json([blocks for _, blocks, _ in slack.posts])


def test_an_erasure_after_collecting_is_not_posted(database: Database, other_replica: Database) -> None:
    _seed(database)
    data = collect_for(database, SubscriptionView(channel_id=CHANNEL), PERIOD, now=NOW, all_themes=True)
    assert "Bo Vertrekt" in repr(data) and "Nora Nieuw" in repr(data)
    for sid in ("U0BO", "U0NORA"):  # another replica forgets them, after the digest was collected
        with other_replica.session() as s:
            erase_person(session=s, actor=STAFF, slack_user_id=sid, now=NOW)
    status, posted = _send(database, data)
    assert status is SendStatus.SENT
    for leak in ("U0BO", "Bo Vertrekt", "U0NORA", "Nora Nieuw"):
        assert leak not in posted
    assert "<@U0AN>" in posted  # the others are still named
    assert "Wie kent de huurpremie?" in posted  # public and answered: it stays, as anonymous knowledge


def test_a_stop_after_collecting_is_not_posted(database: Database, other_replica: Database) -> None:
    ids = _seed(database)
    data = collect_for(database, SubscriptionView(channel_id=CHANNEL), PERIOD, now=NOW, all_themes=True)
    with other_replica.session() as s:
        consent.withdraw_listing(s, actor=Actor.slack("U0BO", is_staff=False), expert_id=ids["bo"], now=NOW)
        consent.withdraw_listing(s, actor=Actor.slack("U0NORA", is_staff=False), expert_id=ids["nora"], now=NOW)
    status, posted = _send(database, data)
    assert status is SendStatus.SENT
    for leak in ("U0BO", "Bo Vertrekt", "U0NORA", "Nora Nieuw"):
        assert leak not in posted
    assert "<@U0AN>" in posted and "Wie kent de huurpremie?" in posted


def test_nothing_changed_it_is_the_same_digest(database: Database) -> None:
    _seed(database)
    data = collect_for(database, SubscriptionView(channel_id=CHANNEL), PERIOD, now=NOW, all_themes=True)
    with database.session() as s:
        assert without_gone(s, data) is data
