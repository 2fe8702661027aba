"""An escalated question the triage channel never got: each staff member is told by DM, once per escalation, as
every other staff post the channel never got is (``bot.staffdm``: one kind, one key rule).

Through the real routing service, outbox and sender (Slack itself is not called: the failures are recorded as the
sender records them). The end-to-end runs are in ``tests/e2e/test_staff_told.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.actors import Actor
from bot.config import Settings
from bot.outbox import claim_outbox
from bot.routing.policy import RoutingPolicy
from bot.staffdm import staff_dm_key, tell_staff
from handlers.outbox import OutboxSender, render_message
from handlers.services import Services
from storage.models import OutboxKind, OutboxMessage, Question, QuestionStatus, Visibility
from tests.routing.conftest import NOW, World, seed_housing

K = OutboxKind
LATER = NOW + timedelta(minutes=5)
TRIAGE = "C0TRIAGE1"
STAFF = ("USTAFF001", "USTAFF002")
STAFF_ACTOR = Actor.slack("USTAFF001", is_staff=True)
BREAD = "Wie kent de beste recepten voor zuurdesembrood met spelt?"  # nobody in the register matches


def _sender(
    world: World, *, staff: tuple[str, ...] = STAFF, channel: str | None = TRIAGE, attempts: int = 8
) -> OutboxSender:
    settings = Settings(staff_user_ids=frozenset(staff), triage_channel_id=channel)
    services = Services(settings=settings, db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service)
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
    return OutboxSender(services, client, policy=RoutingPolicy(max_attempts=attempts))


def _fail_triage(world: World, sender: OutboxSender, error: str, *, permanent: bool = True) -> int:
    failed = 0
    for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
        if message.kind is K.TRIAGE:
            sender._failed(message, error, permanent=permanent)
            failed += 1
    return failed


def _alerts(world: World, qid: int) -> list[OutboxMessage]:
    return world.outbox(K.STAFF_DM, question_id=qid)


def _triage_post(world: World, qid: int) -> OutboxMessage:
    (post,) = world.outbox(K.TRIAGE, question_id=qid)
    return post


@pytest.mark.parametrize("error", ["not_in_channel", "is_archived", "channel_not_found"])
def test_each_staff_member_is_told_once_per_question(world: World, error: str) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    sender = _sender(world)
    assert _fail_triage(world, sender, error) == 1
    alerts = _alerts(world, qid)
    assert sorted(m.recipient_slack_id or "" for m in alerts) == list(STAFF)
    assert {m.payload["error"] for m in alerts} == {error}
    assert {m.payload["triage_channel_id"] for m in alerts} == {TRIAGE}
    assert {m.payload["original_kind"] for m in alerts} == {"triage"}
    post = _triage_post(world, qid)
    assert {m.dedupe_key for m in alerts} == {staff_dm_key(post.dedupe_key, user) for user in STAFF}
    # the same failure noticed again (another replica, a restart): nobody is told twice
    with world.db.session() as s:
        again = tell_staff(s, message_id=post.id, staff=STAFF, channel_id=TRIAGE, error=error, now=LATER)
    assert again == "staff told: 0 of 2"
    assert len(_alerts(world, qid)) == 2


def test_the_dm_names_the_channel_and_the_reason_in_plain_words_and_keeps_a_private_question_private(
    world: World,
) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[], visibility=Visibility.PRIVATE)
    _fail_triage(world, _sender(world), "not_in_channel")
    message = _alerts(world, qid)[0]
    nl = render_message(message.kind, message.payload, "nl")
    en = render_message(message.kind, message.payload, "en")
    assert f"#{qid}" in nl.text and f"<#{TRIAGE}>" in nl.text and "geen lid van het kanaal" in nl.text
    assert "not a member of the channel" in en.text
    shown = str(nl.blocks) + str(en.blocks)
    assert "zuurdesembrood" not in shown and "UASKER" not in shown  # private: no text, no asker
    assert message.payload["original"]["text"] is None and message.payload["original"]["redacted"] is True


def test_rate_limited_beyond_every_retry_tells_staff_only_when_the_post_is_given_up(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    _fail_triage(world, _sender(world, attempts=2), "ratelimited", permanent=False)
    assert _alerts(world, qid) == []  # it will be tried again: nobody is bothered yet
    with world.db.session() as s:  # the retry is due
        s.get(OutboxMessage, world.outbox(K.TRIAGE, question_id=qid)[0].id).next_attempt_at = LATER  # type: ignore[union-attr]
    _fail_triage(world, _sender(world, attempts=2), "ratelimited", permanent=False)
    alerts = _alerts(world, qid)
    assert len(alerts) == 2
    assert "te veel berichten tegelijk" in render_message(alerts[0].kind, alerts[0].payload, "nl").text


def test_without_a_triage_channel_staff_get_the_question_by_dm(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    sender = _sender(world, channel=None)
    for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
        if message.kind is K.TRIAGE:
            assert sender.send_one(message) is False  # nowhere to post: given up at once
    alerts = _alerts(world, qid)
    assert len(alerts) == 2 and alerts[0].payload["triage_channel_id"] is None
    assert "geen triagekanaal ingesteld" in render_message(alerts[0].kind, alerts[0].payload, "nl").text


def test_nobody_is_told_when_staff_took_it_up_meanwhile_or_no_staff_are_configured(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    with world.db.session() as s:
        world.service.cancel(s, question_id=qid, actor_slack_id="UASKER001", now=LATER)  # the asker withdrew it
    _fail_triage(world, _sender(world), "not_in_channel")
    assert _alerts(world, qid) == []
    other = world.ask(text="Wie kent recepten voor zuurdesembrood met rogge?", theme_keys=[])
    _fail_triage(world, _sender(world, staff=()), "not_in_channel")
    assert _alerts(world, other) == []
    assert "no staff are configured" in caplog.text
    with world.db.session() as s:
        q = s.get(Question, other)
        assert q is not None and q.status is QuestionStatus.ESCALATED  # still listed for staff


class ChannelClient:
    """Slack for the sender: ``conversations.info`` answers ``channel`` (or fails with ``error``); posts recorded."""

    def __init__(self, channel: dict[str, object] | None = None, error: str | None = None) -> None:
        self.channel, self.error, self.posts = channel, error, []  # type: list[dict[str, object]]

    def conversations_info(self, **_kwargs: object) -> dict[str, object]:
        if self.error:
            data = {"ok": False, "error": self.error}
            headers = {"Retry-After": "90"} if self.error == "ratelimited" else {}
            status = 429 if self.error == "ratelimited" else 200
            response = SlackResponse(
                client=None, http_verb="POST", api_url="", req_args={}, data=data, headers=headers, status_code=status
            )
            raise SlackApiError(self.error, response)
        return {"channel": self.channel}

    def chat_postMessage(self, **kwargs: object) -> dict[str, object]:
        self.posts.append(kwargs)
        return {"ok": True, "channel": kwargs["channel"], "ts": "1.2"}


def _send_triage(world: World, client: ChannelClient) -> OutboxMessage:
    sender = _sender(world)
    sender.client = client  # type: ignore[assignment]
    (message,) = [m for m in claim_outbox(world.db, now=LATER, worker_id="w1") if m.kind is K.TRIAGE]
    sender.send_one(message)
    (after,) = [m for m in world.outbox(K.TRIAGE) if m.id == message.id]
    return after


def test_a_triage_channel_shared_with_another_organisation_gets_no_post_and_staff_are_told_why(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[], visibility=Visibility.PRIVATE)
    client = ChannelClient({"id": TRIAGE, "is_private": True, "is_ext_shared": True})
    after = _send_triage(world, client)
    assert client.posts == [] and after.failed_at is not None and after.last_error == "shared_outside"
    alerts = _alerts(world, qid)
    assert sorted(m.recipient_slack_id or "" for m in alerts) == list(STAFF)
    en = render_message(alerts[0].kind, alerts[0].payload, "en").text
    assert "shared with another organisation" in en and BREAD not in en


def test_a_triage_channel_slack_cannot_describe_now_is_tried_again_no_earlier_than_slack_asked(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    client = ChannelClient(error="ratelimited")
    after = _send_triage(world, client)
    assert client.posts == [] and after.failed_at is None and _alerts(world, qid) == []
    assert after.next_attempt_at.replace(tzinfo=LATER.tzinfo) >= LATER + timedelta(seconds=90)
    shared_org_only = ChannelClient({"id": TRIAGE, "is_shared": True, "is_org_shared": True})  # one organisation
    with world.db.session() as s:
        s.get(OutboxMessage, after.id).next_attempt_at = LATER  # type: ignore[union-attr]
    assert _send_triage(world, shared_org_only).sent_at is not None
    assert [p["channel"] for p in shared_org_only.posts] == [TRIAGE]


def test_nobody_is_told_of_a_question_assigned_meanwhile_and_each_new_escalation_is_told(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=BREAD, theme_keys=[])
    with world.db.session() as s:  # staff assign someone before the post is given up (from the Home tab, the CLI)
        rid = world.service.staff_assign(s, question_id=qid, to_slack_id="UHELPER1", actor=STAFF_ACTOR, now=LATER).id
    sender = _sender(world)
    _fail_triage(world, sender, "not_in_channel")
    assert _alerts(world, qid) == []  # no longer escalated: nothing waits
    with world.db.session() as s:  # the one assigned declines: it is staff's again, a new triage post
        world.service.decline(s, routing_id=rid, actor_slack_id="UHELPER1", now=LATER)
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is QuestionStatus.ESCALATED
    assert _fail_triage(world, sender, "not_in_channel") == 1
    alerts = _alerts(world, qid)
    assert sorted(m.recipient_slack_id or "" for m in alerts) == list(STAFF)  # this escalation waits: told
