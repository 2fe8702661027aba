"""A digest channel archived, deleted or left by the bot: the subscription is turned off and staff are told once;
the channel is not tried again the next week (it used to fail quietly every week)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from digests.errors import PermanentPostError
from digests.sender import SendStatus
from digests.subscriptions import stop_gone_channel
from handlers.digest_post import send_due_digests
from storage import digest_repo
from storage.db import Database
from storage.models import AuditLog, OutboxKind, OutboxMessage
from tests.digests.conftest import NOW, add_practice, seed_themes
from tests.digests.test_sending import FakeSlack, subscribe


def notices(database: Database) -> list[OutboxMessage]:
    with database.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST_STOPPED)))


def active(database: Database, channel: str = "C0DIGEST1") -> bool:
    with database.session() as s:
        sub = digest_repo.get_subscription(s, channel_id=channel)
        assert sub is not None
        return sub.active


@pytest.mark.parametrize("error", ["is_archived", "not_in_channel", "channel_not_found"])
def test_a_gone_channel_is_turned_off_staff_are_told_once_and_it_is_not_tried_next_week(
    database: Database, error: str
) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk één", url="https://example.org/p/1")
    subscribe(database)
    gone = FakeSlack(error=PermanentPostError(error))
    first = send_due_digests(database, now=NOW, worker_id="w1", post=gone.post)
    assert [r.status for r in first] == [SendStatus.FAILED]
    assert active(database) is False
    [notice] = notices(database)
    assert notice.recipient_slack_id is None and notice.payload == {
        "channel_id": "C0DIGEST1",
        "reason": error,
        "held": False,
        "needed": "",
        "method": "",
        "source": False,
        "questions": 0,
        "refused": False,
        "others": [],
        "more": 0,
        "told_with": "",
    }
    with database.session() as s:
        [entry] = s.scalars(select(AuditLog).where(AuditLog.entity_type == "digest_subscription"))
        assert (entry.actor, entry.action) == ("system", "unsubscribe")
        assert entry.after is not None and entry.after["reason"] == error and entry.after["active"] is False
    with database.session() as s:
        add_practice(s, "Praktijk twee", url="https://example.org/p/2")
    assert send_due_digests(database, now=NOW + timedelta(days=7), worker_id="w2", post=gone.post) == []
    assert len(notices(database)) == 1


def test_another_permanent_error_fails_the_week_only(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk één", url="https://example.org/p/1")
    subscribe(database)
    refused = FakeSlack(error=PermanentPostError("msg_too_long"))
    assert [r.status for r in send_due_digests(database, now=NOW, worker_id="w1", post=refused.post)] == [
        SendStatus.FAILED
    ]
    assert active(database) is True and notices(database) == []


def test_stopping_twice_tells_staff_once_and_a_new_subscription_may_be_stopped_again(database: Database) -> None:
    subscribe(database)
    with database.session() as s:
        assert stop_gone_channel(s, channel_id="C0DIGEST1", reason="channel_archive", now=NOW) is True
    with database.session() as s:  # the event delivered again, or the sender finding it gone too
        assert stop_gone_channel(s, channel_id="C0DIGEST1", reason="is_archived", now=NOW) is False
        assert stop_gone_channel(s, channel_id="C0NOSUB", reason="is_archived", now=NOW) is False
    assert len(notices(database)) == 1
    with database.session() as s:  # staff subscribed it again after it was unarchived; then it is archived again
        sub = digest_repo.get_subscription(s, channel_id="C0DIGEST1")
        assert sub is not None
        sub.active, sub.updated_at = True, NOW + timedelta(days=1)
    with database.session() as s:
        assert stop_gone_channel(s, channel_id="C0DIGEST1", reason="is_archived", now=NOW + timedelta(days=2))
    assert len(notices(database)) == 2
