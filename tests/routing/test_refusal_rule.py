"""One rule for what a DM Slack refused for good says of its recipient (``bot.register.refusals.verdict``), read
from Slack's first refusal and what ``users.info`` then answers, followed alike by a routing's request (whoever
chose the person told, or the next expert asked at once) and a recruiting DM (``tests/needs/
test_recruit_unreachable_sender.py``). Every combination: ``account_inactive`` that ``users.info`` does not know is
an unknown id (Slack answered about the recipient: the token works), not the bot's token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.outbox import claim_outbox
from bot.register.refusals import LOOKED_UP, Lookup, Verdict, verdict
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import OutboxKind, OutboxMessage
from tests.needs.test_invite_retry import slack_error
from tests.routing.conftest import NOW, World, seed_housing

LATER = NOW + timedelta(minutes=5)
V, L = Verdict, Lookup
GONE, UNREACHABLE, KNOWN, OTHER = V.GONE, V.UNREACHABLE, V.KNOWN_ACTIVE, V.OTHER

# Slack's first refusal -> what each answer of users.info makes of it (and the reason recorded)
RULE: dict[str, dict[Lookup, tuple[Verdict, str]]] = {
    "account_inactive": {
        L.ACTIVE: (OTHER, ""),
        L.DEACTIVATED: (GONE, "deleted"),
        L.NOT_FOUND: (UNREACHABLE, "user_not_found"),
        L.FAILED: (OTHER, ""),  # the bot's own token: users.info fails too
    },
    "user_not_found": {
        L.ACTIVE: (KNOWN, "user_not_found"),
        L.DEACTIVATED: (GONE, "deleted"),
        L.NOT_FOUND: (UNREACHABLE, "user_not_found"),
        L.FAILED: (UNREACHABLE, "user_not_found"),
    },
    "cannot_dm_bot": {
        L.ACTIVE: (UNREACHABLE, "cannot_dm_bot"),
        L.DEACTIVATED: (GONE, "deleted"),
        L.NOT_FOUND: (UNREACHABLE, "cannot_dm_bot"),
        L.FAILED: (UNREACHABLE, "cannot_dm_bot"),
    },
    "user_disabled": dict.fromkeys(Lookup, (GONE, "user_disabled")),  # Slack says so itself
    "channel_not_found": dict.fromkeys(Lookup, (OTHER, "")),
    "msg_too_long": dict.fromkeys(Lookup, (OTHER, "")),
    "invalid_auth": dict.fromkeys(Lookup, (OTHER, "")),
}
COMBINATIONS = [(error, lookup, *found) for error, row in RULE.items() for lookup, found in row.items()]


@pytest.mark.parametrize(("error", "lookup", "expected", "reason"), COMBINATIONS)
def test_every_refusal_and_answer_of_users_info(error: str, lookup: Lookup, expected: Verdict, reason: str) -> None:
    assert verdict(error, lookup) == (expected, reason)


def test_users_info_is_asked_only_where_its_answer_decides() -> None:
    for error, row in RULE.items():
        assert (len(set(row.values())) > 1) is (error in LOOKED_UP), error


class Slack:
    """``users.info`` answering ``lookup``; nothing else is called."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        if self.lookup is L.FAILED:
            raise slack_error("users.info", "account_inactive")
        if self.lookup is L.NOT_FOUND:
            raise slack_error("users.info", "user_not_found")
        return {"ok": True, "user": {"id": kwargs["user"], "deleted": self.lookup is L.DEACTIVATED}}


# what routing does with each verdict: the person gone, moved on as unreachable, or whoever chose them told
ROUTING = {GONE: "person_deactivated", UNREACHABLE: "recipient_unreachable", KNOWN: "recipient_unreachable"}


@pytest.mark.parametrize(("error", "lookup", "expected", "reason"), COMBINATIONS)
def test_a_routings_request_follows_the_rule(
    world: World, monkeypatch: pytest.MonkeyPatch, error: str, lookup: Lookup, expected: Verdict, reason: str
) -> None:
    seed_housing(world)
    world.ask()
    claimed = claim_outbox(world.db, now=LATER, worker_id="w1")
    message = next(m for m in claimed if m.kind is OutboxKind.EXPERT_REQUEST and m.routing_id is not None)
    called: list[tuple[str, str]] = []
    for name in ("person_deactivated", "recipient_unreachable", "request_undelivered"):

        def record(*args: object, _name: str = name, **kwargs: Any) -> str:
            called.append((_name, str(kwargs.get("error") or kwargs.get("reason") or "")))
            return "recorded"

        monkeypatch.setattr(world.service, name, record)
    services = Services(
        settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
    )
    OutboxSender(services, Slack(lookup))._failed(message, error, permanent=True)  # type: ignore[arg-type]
    with world.db.session() as s:
        row = s.get(OutboxMessage, message.id)
        assert row is not None and row.last_error == error  # what Slack said stays recorded
    if expected is OTHER:
        assert [name for name, _ in called] == ["request_undelivered"]
    elif expected is GONE:
        assert [name for name, _ in called] == ["person_deactivated"]
    else:
        assert called == [(ROUTING[expected], reason)]


class CountingSlack(Slack):
    """``users.info`` answering ``lookup``, counting the calls per user id."""

    def __init__(self, lookup: Lookup) -> None:
        super().__init__(lookup)
        self.asked: list[str] = []

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.append(kwargs["user"])
        return super().users_info(**kwargs)


@pytest.mark.parametrize("lookup", [L.NOT_FOUND, L.FAILED, L.ACTIVE])
@pytest.mark.parametrize("error", ["user_not_found", "cannot_dm_bot"])
def test_a_storm_of_refusals_for_one_person_asks_users_info_once_per_batch(
    world: World, monkeypatch: pytest.MonkeyPatch, error: str, lookup: Lookup
) -> None:
    """An import whose Slack ids belong to another workspace: every request to the person is refused. ``users.info``
    is asked once for them in a batch (a rate limit would otherwise hold the sender up once per refusal); each
    request still follows the rule; the next batch asks again."""
    seed_housing(world)
    for i in range(3):
        asker = {"asker_slack_id": f"UASKER00{i + 2}", "thread_ts": f"1700000000.00020{i}"}  # three people ask
        world.ask(text=f"Wie weet iets over de leegstandsheffing? ({i})", **asker)
    claimed = claim_outbox(world.db, now=LATER, worker_id="w1", limit=500)
    requests = [m for m in claimed if m.kind is OutboxKind.EXPERT_REQUEST and m.routing_id is not None]
    person = max(
        {m.recipient_slack_id for m in requests}, key=lambda u: sum(m.recipient_slack_id == u for m in requests)
    )
    storm = [m for m in requests if m.recipient_slack_id == person]
    assert len(storm) >= 2, [m.recipient_slack_id for m in requests]
    called: list[str] = []
    monkeypatch.setattr(world.service, "recipient_unreachable", lambda *a, **kw: called.append(kw["error"]) or "moved")
    services = Services(
        settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
    )
    slack = CountingSlack(lookup)
    sender = OutboxSender(services, slack)  # type: ignore[arg-type]
    for message in storm:
        sender._failed(message, error, permanent=True)
    assert slack.asked == [person]
    expected = verdict(error, lookup)[1]
    assert called == [expected] * len(storm)
    sender.send_pending(worker_id="w2")  # a new batch (nothing left to claim) forgets the answers
    other = next(m for m in requests if m.recipient_slack_id != person) if len(storm) < len(requests) else None
    if other is not None:
        sender._failed(other, error, permanent=True)
        assert slack.asked == [person, other.recipient_slack_id]
