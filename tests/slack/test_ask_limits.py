"""The ask form and the hourly limit, in process (the inbox worker runs the submitted form): the limit and the
recording are one decision made before the question is posted in its channel, so a question is either refused
with nothing posted or recorded and posted, never posted and refused. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot import inbox as core
from bot.config import Settings
from handlers import ids
from handlers import inbox as handlers_inbox
from handlers.errors import VERIFIED
from handlers.forms import AskForm
from handlers.inbox import InboxWorker
from handlers.listener import listener
from handlers.requestspec import Kind
from handlers.routing import ASK_KIND, handle_ask_submission
from handlers.services import Services
from storage.db import Database
from storage.models import InboxRequest, Question
from tests.routing.conftest import ASKER, NOW, World, seed_housing, seed_themes

CHANNEL = "C0WONEN01"
TEXT = "Wie weet iets over de leegstandsheffing op winkelpanden?"


class FakeSlack:
    """What the worker calls: channel posts and DMs are kept; ``on_channel_post`` runs before a channel post."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.on_channel_post: Callable[[], None] | None = None

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        return {"user": {"id": kwargs["user"], "locale": "nl-BE", "name": "griet", "real_name": "Griet"}}

    def conversations_open(self, **kwargs: Any) -> dict[str, Any]:
        return {"channel": {"id": "D0ASKER"}}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs["channel"] == CHANNEL and self.on_channel_post is not None:
            self.on_channel_post()
        self.posts.append(kwargs)
        return {"channel": kwargs["channel"], "ts": f"1700000001.{len(self.posts):06d}"}

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True}

    def channel_posts(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["channel"] == CHANNEL]

    def dms(self) -> list[str]:
        return [str(p.get("text")) for p in self.posts if p["channel"] == "D0ASKER"]


@pytest.fixture
def world(database: Database) -> Iterator[World]:
    w = World(database)
    with database.session() as s:
        seed_themes(s)
    seed_housing(w)
    w.with_policy(max_questions_per_hour=1, max_open_per_asker=0)
    yield w
    w.kb.close()


def _services(world: World, monkeypatch: pytest.MonkeyPatch, settings: Settings | None = None) -> Services:
    services = Services(
        settings=settings or Settings(), db=world.db, knowledge=world.kb, routing=world.service, clock=lambda: NOW
    )
    monkeypatch.setattr(services.channels, "is_private", lambda **_: False)
    monkeypatch.setattr(services.channels, "is_member", lambda **_: True)
    return services


def _asked_before(world: World, text: str = "een eerdere vraag over leegstandsheffing") -> int:
    with world.db.session() as s:
        question = Question(asker_slack_id=ASKER, text=text, language="nl", created_at=NOW, updated_at=NOW)
        s.add(question)
        s.flush()
        return question.id


def _run_submitted(services: Services, slack: FakeSlack, view_id: str = "V1") -> None:
    handlers_inbox.record(
        services,
        request_key=f"view:{view_id}",
        kind_name=ASK_KIND,
        payload={"text": TEXT, "context": "", "theme": "wonen", "visibility": "public", "channel_id": CHANNEL},
        user_id=ASKER,
    )
    now = datetime.now(UTC)
    (row,) = core.claim_requests(services.db, now=now, claim="test/1", limit=10, stale_before=now - timedelta(hours=1))
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(row, claim="test/1")
    finally:
        worker.pool.shutdown()


def _questions(world: World) -> list[Question]:
    with world.db.session() as s:
        return list(s.scalars(select(Question).where(Question.text == TEXT)))


def test_a_question_asked_while_another_is_recorded_is_never_posted_and_then_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another question of the same asker is recorded while this one is being posted (another request, another
    replica): this one was decided before its post, so it stands, posted and recorded."""
    services, slack = _services(world, monkeypatch), FakeSlack()
    slack.on_channel_post = lambda: _asked_before(world, "tegelijk gesteld, elders")
    _run_submitted(services, slack)
    (question,) = _questions(world)  # recorded ...
    (post,) = slack.channel_posts()  # ... and posted, its answers go to that thread
    assert question.thread_ts == f"1700000001.{slack.posts.index(post) + 1:06d}"
    assert not [d for d in slack.dms() if "vragen" in d and "uur" in d]  # not told it was refused


def test_over_the_hourly_limit_nothing_is_posted_or_recorded_and_the_asker_gets_the_question_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, slack = _services(world, monkeypatch), FakeSlack()
    _asked_before(world)
    _run_submitted(services, slack)
    assert _questions(world) == [] and slack.channel_posts() == []
    (told,) = slack.dms()
    assert "leegstandsheffing op winkelpanden" in told  # quoted back: nothing is lost


# --- the ask form itself -----------------------------------------------------------------------------------------


def _form(view_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": ASKER, "name": "griet"},
        "view": {
            "id": view_id,
            "hash": "h1",
            "callback_id": ids.VIEW_ASK,
            "private_metadata": '{"channel_id": "' + CHANNEL + '", "thread_ts": null}',
            "state": {
                "values": {
                    ids.BLOCK_ASK_TEXT: {ids.INPUT_ASK_TEXT: {"type": "plain_text_input", "value": TEXT}},
                    ids.BLOCK_ASK_VISIBILITY: {
                        ids.INPUT_ASK_VISIBILITY: {"type": "radio_buttons", "selected_option": {"value": "public"}}
                    },
                }
            },
        },
    }


def _submit(services: Services, view_id: str, client: Any = None) -> Ack:
    ack = Ack()
    serve = listener(services, Kind.VIEW, handle_ask_submission, form=AskForm, inbox=True)
    context = BoltContext(user_id=ASKER)
    context[VERIFIED] = True
    client = client or WebClient(token="xoxb-test")
    serve(ack=ack, body=_form(view_id), client=client, context=context, respond=None)
    return ack


class StaffGroup:
    """Slack's answer for the staff user group (``usergroups.users.list``): its members, or an error."""

    def __init__(self, members: list[str], *, error: str | None = None) -> None:
        self.members, self.error, self.calls = members, error, 0

    def usergroups_users_list(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.error:
            raise SlackApiError(
                self.error,
                SlackResponse(
                    client=None,
                    http_verb="GET",
                    api_url="",
                    req_args={},
                    data={"ok": False, "error": self.error},
                    headers={},
                    status_code=503,
                ),
            )
        return {"users": self.members}


def _staff_services(world: World, monkeypatch: pytest.MonkeyPatch) -> Services:
    # staff only through the user group, whose members are not cached yet
    return _services(world, monkeypatch, Settings(staff_usergroup_id="S0STAFF"))


class StaffSlack(FakeSlack, StaffGroup):
    """The worker's Slack with a staff user group."""

    def __init__(self, members: list[str]) -> None:
        FakeSlack.__init__(self)
        StaffGroup.__init__(self, members)


class CountingAck(Ack):
    """An ack that notes how many times Slack was asked for the staff group before it was sent."""

    def __init__(self, group: StaffGroup) -> None:
        super().__init__()
        self.group = group
        self.calls_before: int | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls_before = self.group.calls
        return super().__call__(*args, **kwargs)


@pytest.mark.parametrize("members", [[ASKER], ["U0OTHER"]], ids=["in-the-group", "not-in-it"])
def test_the_ask_form_over_the_limit_acks_before_asking_slack_who_is_staff_when_the_cache_is_cold(
    world: World, monkeypatch: pytest.MonkeyPatch, members: list[str]
) -> None:
    """Nothing before the ack waits on Slack: with the staff group's members not cached, the form is recorded and the
    worker decides (staff are not limited; anyone else gets the question back by DM)."""
    services = _staff_services(world, monkeypatch)
    _asked_before(world)
    slack = StaffSlack(members)
    ack = CountingAck(slack)
    serve = listener(services, Kind.VIEW, handle_ask_submission, form=AskForm, inbox=True)
    context = BoltContext(user_id=ASKER)
    context[VERIFIED] = True
    serve(ack=ack, body=_form("V6"), client=slack, context=context, respond=None)
    assert ack.calls_before == 0 and ack.response is not None and not ack.response.body
    assert len(_recorded(services)) == 1
    now = datetime.now(UTC)
    (row,) = core.claim_requests(services.db, now=now, claim="test/1", limit=10, stale_before=now - timedelta(hours=1))
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(row, claim="test/1")
    finally:
        worker.pool.shutdown()
    assert slack.calls == 1  # asked of Slack after the ack
    if ASKER in members:
        assert len(_questions(world)) == 1 and len(slack.channel_posts()) == 1
    else:
        assert _questions(world) == [] and slack.channel_posts() == []
        (told,) = slack.dms()
        assert "leegstandsheffing op winkelpanden" in told


def test_the_ask_form_knows_staff_from_the_cached_user_group_without_asking_slack(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _staff_services(world, monkeypatch)
    _asked_before(world)
    group = StaffGroup([ASKER])
    services.staff.members(settings=services.settings, client=group, now=NOW)  # cached (e.g. by the Home tab)
    ack = _submit(services, "V9", client=group)
    assert group.calls == 1 and ack.response is not None and not ack.response.body  # staff: not limited
    services = _staff_services(world, monkeypatch)  # another process, its cache without the asker
    other = StaffGroup(["U0OTHER"])
    services.staff.members(settings=services.settings, client=other, now=NOW)
    ack = _submit(services, "V10", client=other)
    assert other.calls == 1 and ack.response is not None
    assert json.loads(str(ack.response.body))["response_action"] == "errors"


def test_the_ask_form_asks_nothing_of_slack_for_someone_under_the_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _staff_services(world, monkeypatch)
    group = StaffGroup([])
    ack = _submit(services, "V7", client=group)
    assert ack.response is not None and not ack.response.body and group.calls == 0


def test_the_ask_form_leaves_the_decision_to_the_recording_when_slack_cannot_say_who_is_staff(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _staff_services(world, monkeypatch)
    _asked_before(world)
    ack = _submit(services, "V8", client=StaffGroup([], error="service_unavailable"))
    # not refused on a guess: recorded, and ``ask_question`` decides (with the same staff check, retried)
    assert ack.response is not None and not ack.response.body and len(_recorded(services)) == 1


def _recorded(services: Services) -> list[InboxRequest]:
    with services.db.inbox_session() as session:
        return list(session.scalars(select(InboxRequest)))


def test_the_ask_form_over_the_hourly_limit_stays_open_with_the_reason_under_the_question(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _services(world, monkeypatch)
    _asked_before(world)
    ack = _submit(services, "V2")
    assert ack.response is not None
    body = json.loads(str(ack.response.body))
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [ids.BLOCK_ASK_TEXT] and "1" in body["errors"][ids.BLOCK_ASK_TEXT]
    assert _recorded(services) == []  # the modal keeps the text; nothing is recorded to be refused later


def test_the_ask_form_under_the_limit_closes_and_is_recorded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    services = _services(world, monkeypatch)
    ack = _submit(services, "V3")
    assert ack.response is not None and not ack.response.body
    assert len(_recorded(services)) == 1


def test_the_form_check_waits_for_no_connection_the_workers_may_hold(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers waiting on a lock can hold every pooled connection of the main database: the check before the ack
    reads on connections of its own (an ack once waited 20 s for a pooled one)."""
    services = _services(world, monkeypatch)
    _asked_before(world)
    monkeypatch.setattr(world.db.engine.pool, "_timeout", 0.05)
    held = []
    try:
        with pytest.raises(PoolTimeout):
            while len(held) < 100:  # every pooled connection taken
                held.append(world.db.engine.connect())
        ack = _submit(services, "V5")
    finally:
        for connection in held:
            connection.close()
    assert ack.response is not None and json.loads(str(ack.response.body))["response_action"] == "errors"
