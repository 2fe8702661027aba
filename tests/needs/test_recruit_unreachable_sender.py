"""A recruiting DM Slack refuses for good goes through the sender's check of the recipient, as a DM to an asker
does: after ``account_inactive`` (which Slack also says of the bot's own token), ``user_not_found`` or
``cannot_dm_bot``, only ``users.info`` saying the account is deleted marks their register entry away (audited), and
only that mark keeps recruiting from asking them again. With the token refused, ``users.info`` fails too: nobody is
marked, and staff asking again queue the DM again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.register.marked import UNKNOWN_ID_ACTIVE
from bot.register.refusals import LOOKED_UP, Lookup, Verdict
from bot.routing import RoutingService
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import Availability, Expert, OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_invite_retry import FakeSlack, slack_error
from tests.needs.test_recruit_queued_label_gone import _queued
from tests.routing.test_refusal_rule import COMBINATIONS


class RefusingSlack(FakeSlack):
    """Every DM refused with ``account_inactive``; ``users.info`` answers ``deleted`` or, None, fails as a disabled
    app's token does."""

    def __init__(self, deleted: bool | None) -> None:
        super().__init__()
        self.deleted = deleted
        self.fail["chat.postMessage"] = [slack_error("chat.postMessage", "account_inactive")]

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        if self.deleted is None:
            raise slack_error("users.info", "account_inactive")
        return {"ok": True, "user": {"id": kwargs["user"], "deleted": self.deleted}}


@pytest.fixture
def services(network: Network) -> Iterator[Services]:
    yield Services(
        settings=Settings(staff_user_ids=frozenset({STAFF.slack_id or ""})),
        db=network.database,
        knowledge=network.knowledge,
        needs=network.service,
        routing=RoutingService(knowledge=network.knowledge),
        clock=lambda: NOW,
    )


@pytest.mark.parametrize(("deleted", "unreachable"), [(None, ""), (False, ""), (True, "deleted")])
def test_only_an_account_the_sender_found_deleted_is_not_asked_again(
    network: Network, services: Services, deleted: bool | None, unreachable: str
) -> None:
    topic_id, _ = _queued(network)
    slack = RefusingSlack(deleted)
    OutboxSender(services, slack).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        assert (message.sent_at, message.last_error) == (None, "account_inactive") and message.failed_at is not None
        expert = session.query(Expert).filter_by(slack_user_id="UAALST").one()
        assert (expert.availability is Availability.AWAY) is (deleted is True)
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert.id], now=NOW + timedelta(days=1)
        )
    assert (request.queued, request.unreachable) == (not unreachable, unreachable)


class Refusing(FakeSlack):
    """Every DM refused with ``error``; ``users.info`` answering ``lookup``."""

    def __init__(self, error: str, lookup: Lookup) -> None:
        super().__init__()
        self.lookup = lookup
        self.fail["chat.postMessage"] = [slack_error("chat.postMessage", error)]

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        if self.lookup is Lookup.FAILED:
            raise slack_error("users.info", "account_inactive")
        if self.lookup is Lookup.NOT_FOUND:
            raise slack_error("users.info", "user_not_found")
        return {"ok": True, "user": {"id": kwargs["user"], "deleted": self.lookup is Lookup.DEACTIVATED}}


# what the next ask says of the person, by the rule's verdict (``bot.register.refusals``), and what the DM records
HELD_BACK = {Verdict.GONE: "deleted", Verdict.KNOWN_ACTIVE: "", Verdict.OTHER: ""}


# users.info is asked only after a refusal its answer decides: one answer covers the others
ASKED = [c for c in COMBINATIONS if c[0] in LOOKED_UP or c[0] == "user_disabled" or c[1] is Lookup.FAILED]


@pytest.mark.parametrize(("error", "lookup", "expected", "reason"), ASKED)
def test_a_recruiting_dm_follows_the_rule(
    network: Network, services: Services, error: str, lookup: Lookup, expected: Verdict, reason: str
) -> None:
    """Refused with ``account_inactive`` while ``users.info`` does not know the id, a person is held back as after
    ``user_not_found`` (staff check the id), not asked again as if the bot's token had been refused."""
    topic_id, _ = _queued(network)
    OutboxSender(services, Refusing(error, lookup)).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        recorded = {Verdict.KNOWN_ACTIVE: UNKNOWN_ID_ACTIVE, Verdict.UNREACHABLE: reason}.get(expected, error)
        assert (message.sent_at, message.last_error) == (None, recorded)
        expert = session.query(Expert).filter_by(slack_user_id="UAALST").one()
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert.id], now=NOW + timedelta(days=1)
        )
    held = HELD_BACK.get(expected, reason)
    assert (request.queued, request.unreachable) == (not held, held)
