"""The work-session invite run from the inbox (issue 12 review): a retry after a failure between the channel's
creation and the invitation's record reuses the channel (one channel, the proposal recorded, no false refusal);
a passing Slack failure is retried, never told as a refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from slack_bolt import Ack, BoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select

from bot import inbox as core
from bot.actors import Actor
from bot.config import Settings
from bot.errors import WieweetError
from handlers import ids
from handlers.confirmations import CONFIRM_ATTEMPTS
from handlers.errors import VERIFIED
from handlers.forms import NeedsInviteForm
from handlers.inbox import InboxWorker
from handlers.listener import listener
from handlers.needs_invite import handle_invite_submission
from handlers.services import Services
from storage.db import Database
from storage.models import AuditLog, InboxRequest, NeedProposal, ProposalStatus
from tests.needs.conftest import NOW, Network

STAFF = "USTAFF"


class Crash(BaseException):
    """A kill -9 at that point (nothing after it runs in this attempt)."""


def slack_error(method: str, error: str, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url=f"https://slack.test/api/{method}",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=status,
    )
    return SlackApiError(f"{method} failed", response)


class FakeSlack:
    """The Web API calls of an invite and its confirmations; ``fail`` maps a method to errors to raise first."""

    def __init__(self) -> None:
        self.channels: dict[str, str] = {}  # name -> id
        self.members: dict[str, set[str]] = {}
        self.posts: list[dict[str, Any]] = []
        self.creates: list[str] = []
        self.archived: list[str] = []
        self.fail: dict[str, list[BaseException]] = {}
        self.crash_after_post = False

    def _maybe_fail(self, method: str) -> None:
        if self.fail.get(method):
            raise self.fail[method].pop(0)

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        return {"user": {"id": kwargs["user"], "locale": "nl-BE"}}

    def conversations_create(self, **kwargs: Any) -> dict[str, Any]:
        self._maybe_fail("conversations.create")
        self.creates.append(kwargs["name"])
        if kwargs["name"] in self.channels:
            raise slack_error("conversations.create", "name_taken")
        channel = f"CNEW{len(self.channels):04d}"
        self.channels[kwargs["name"]] = channel
        self.members[channel] = {"UBOT"}
        return {"channel": {"id": channel}}

    def conversations_invite(self, **kwargs: Any) -> dict[str, Any]:
        self._maybe_fail("conversations.invite")
        self.members[kwargs["channel"]].update(kwargs["users"].split(","))
        return {"ok": True}

    def conversations_archive(self, **kwargs: Any) -> dict[str, Any]:
        self._maybe_fail("conversations.archive")
        self.archived.append(kwargs["channel"])
        return {"ok": True}

    def conversations_members(self, **kwargs: Any) -> dict[str, Any]:
        return {"members": sorted(self.members.get(kwargs["channel"], set()))}

    def conversations_open(self, **kwargs: Any) -> dict[str, Any]:
        return {"channel": {"id": f"D{kwargs['users']}"}}

    def conversations_history(self, **kwargs: Any) -> dict[str, Any]:
        return {"messages": [p for p in self.posts if p["channel"] == kwargs["channel"]]}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self._maybe_fail("chat.postMessage")
        ts = f"{len(self.posts) + 1}.0"
        self.posts.append({**kwargs, "ts": ts})
        if self.crash_after_post:
            self.crash_after_post = False
            raise Crash("killed once Slack had posted, before the post was noted")
        return {"channel": kwargs["channel"], "ts": ts}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True}


@pytest.fixture
def services(network: Network) -> Iterator[Services]:
    yield Services(
        settings=Settings(staff_user_ids=frozenset({STAFF})),
        db=network.database,
        knowledge=network.knowledge,
        needs=network.service,
        clock=lambda: NOW,
    )


def proposal_id(network: Network) -> int:
    with network.database.session() as session:
        return network.service.propose_sessions(session, now=NOW, worker_id="a")[0].id


def invite_body(
    proposal: int, name: str = "werksessie-leegstand", *, view_id: str | None = None, user: str = STAFF
) -> dict[str, Any]:
    """What Slack sends when the invite modal of ``proposal`` is submitted (channel ``name``, to be created)."""
    return {
        "type": "view_submission",
        "user": {"id": user, "name": "staff"},
        "view": {
            "id": view_id or f"VINVITE{proposal}",
            "hash": "h1",
            "callback_id": ids.VIEW_NEEDS_INVITE,
            "private_metadata": json.dumps({"proposal_id": proposal}),
            "blocks": [],
            "state": {
                "values": {
                    ids.BLOCK_NEEDS_CHANNEL_NAME: {
                        ids.INPUT_NEEDS_CHANNEL_NAME: {"type": "plain_text_input", "value": name}
                    }
                }
            },
        },
    }


def submit_invite(
    services: Services,
    proposal: int,
    name: str = "werksessie-leegstand",
    *,
    view_id: str | None = None,
    user: str = STAFF,
) -> None:
    body = invite_body(proposal, name, view_id=view_id, user=user)
    context = BoltContext(user_id=user)
    context[VERIFIED] = True
    ack = Ack()
    serve = listener(services, "view", handle_invite_submission, form=NeedsInviteForm, inbox=True)
    serve(ack=ack, body=body, client=FakeSlack(), context=context, respond=None)
    assert ack.response is not None and ack.response.status == 200 and not ack.response.body


def due(db: Database, *, after: timedelta) -> list[InboxRequest]:
    now = datetime.now(UTC) + after
    return core.claim_requests(db, now=now, claim=f"test/{after}", limit=10, stale_before=now - timedelta(minutes=2))


def run_once(services: Services, slack: FakeSlack, *, after: timedelta = timedelta(0)) -> bool:
    """One attempt by a worker, as after a restart (the row read back from the database)."""
    rows = due(services.db, after=after)
    assert len(rows) == 1
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        return worker.process(rows[0], claim=f"test/{after}")
    finally:
        worker.pool.shutdown()


def proposal_state(network: Network, proposal: int) -> tuple[ProposalStatus, str | None]:
    with network.database.session() as session:
        row = session.get(NeedProposal, proposal)
        assert row is not None
        return row.status, row.channel_id


def refusals(slack: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in slack.posts if str(p["channel"]).startswith("D")]


def test_an_invite_retried_after_its_record_failed_reuses_the_channel(network: Network, services: Services) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    real = network.service.record_invite
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away after the channel was made")
        return real(*args, **kwargs)

    with mock.patch.object(network.service, "record_invite", flaky):
        assert run_once(services, slack) is False  # failed, to be retried: nothing told
        assert refusals(slack) == [] and proposal_state(network, proposal)[0] == ProposalStatus.OPEN
        assert run_once(services, slack, after=timedelta(seconds=3)) is True  # after the backoff
    assert slack.creates == ["werksessie-leegstand"]  # one channel, not a second create meeting name_taken
    channel = slack.channels["werksessie-leegstand"]
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)
    assert {"ULEAD", "UGENT"} <= slack.members[channel]
    assert refusals(slack) == []  # no false "nothing saved"
    assert [p["channel"] for p in slack.posts] == [channel]  # the channel's intro, once


def test_an_invite_retried_after_a_crash_during_the_invitation_finishes_it(
    network: Network, services: Services
) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.invite"] = [slack_error("conversations.invite", "internal_error", status=500)]
    assert run_once(services, slack) is False
    assert run_once(services, slack, after=timedelta(seconds=3)) is True
    channel = slack.channels["werksessie-leegstand"]
    assert slack.creates == ["werksessie-leegstand"] and proposal_state(network, proposal)[1] == channel
    assert {"ULEAD", "UGENT", "UKORTRIJK", "ULEUVEN", "UAALST"} <= slack.members[channel]
    assert refusals(slack) == []


@pytest.mark.parametrize("error", ["ratelimited", "internal_error"])
def test_a_passing_slack_failure_is_retried_not_refused(network: Network, services: Services, error: str) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.create"] = [slack_error("conversations.create", error, status=429)]
    assert run_once(services, slack) is False  # retried later, not "given up"
    assert refusals(slack) == [] and proposal_state(network, proposal)[0] == ProposalStatus.OPEN
    assert run_once(services, slack, after=timedelta(seconds=3)) is True
    assert proposal_state(network, proposal)[0] == ProposalStatus.INVITED and refusals(slack) == []


def test_a_real_slack_refusal_is_still_told_once(network: Network, services: Services) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.create"] = [slack_error("conversations.create", "missing_scope")]
    assert run_once(services, slack) is True  # finished: the user is told
    assert len(refusals(slack)) == 1 and proposal_state(network, proposal)[0] == ProposalStatus.OPEN


@pytest.mark.parametrize("when", ["before the post", "after the post"])
def test_the_channel_intro_is_posted_once_across_a_crash_after_the_commit(
    network: Network, services: Services, when: str
) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    if when == "before the post":
        slack.fail["chat.postMessage"] = [Crash("killed between the commit and the confirmation")]
    else:
        slack.crash_after_post = True
    with pytest.raises(Crash):
        run_once(services, slack)
    assert proposal_state(network, proposal)[0] == ProposalStatus.INVITED  # committed before the crash
    assert run_once(services, slack, after=timedelta(minutes=5)) is True  # taken over once its claim is stale
    channel = slack.channels["werksessie-leegstand"]
    assert [p["channel"] for p in slack.posts] == [channel]  # the intro, once: not lost, not twice


def test_a_saved_invite_whose_confirmation_slack_keeps_refusing_is_never_told_as_not_saved(
    network: Network, services: Services
) -> None:
    """The invite commits, then the channel's intro is rate limited on every one of the worker's attempts: the
    user is not told "nothing was saved" (they would submit it again); the intro is retried on its own, longer
    budget and goes out once Slack takes it."""
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    slack.fail["chat.postMessage"] = [slack_error("chat.postMessage", "ratelimited", status=429) for _ in range(6)]
    for attempt in range(6):
        assert run_once(services, slack, after=timedelta(minutes=2 * attempt)) is False  # not given up
        assert proposal_state(network, proposal)[0] == ProposalStatus.INVITED  # saved on the first attempt
    assert refusals(slack) == []  # no "Er ging iets mis" / "Nothing was saved"
    assert run_once(services, slack, after=timedelta(minutes=20)) is True
    channel = slack.channels["werksessie-leegstand"]
    assert [p["channel"] for p in slack.posts] == [channel]  # the intro, once; no refusal DM


def test_confirmations_slack_refuses_past_their_budget_are_logged_never_told_as_not_saved(
    network: Network, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = FakeSlack()
    slack.fail["chat.postMessage"] = [slack_error("chat.postMessage", "ratelimited", status=429) for _ in range(99)]
    finished = [run_once(services, slack, after=timedelta(hours=attempt)) for attempt in range(CONFIRM_ATTEMPTS)]
    assert finished == [False] * (CONFIRM_ATTEMPTS - 1) + [True]  # given up after its own budget
    slack.fail.clear()
    assert slack.posts == [] and proposal_state(network, proposal)[0] == ProposalStatus.INVITED
    assert "was saved, its confirmations could not be sent" in caplog.text


class LostCreateSlack(FakeSlack):
    """Slack makes the channel, then the attempt dies before it hears back (kill -9, a timeout, a 5xx): the
    channel exists, nothing on the request says so but the step saved before the create."""

    def __init__(self, lose: BaseException) -> None:
        super().__init__()
        self.lose: BaseException | None = lose

    def conversations_create(self, **kwargs: Any) -> dict[str, Any]:
        made = super().conversations_create(**kwargs)
        if self.lose is not None:
            lost, self.lose = self.lose, None
            raise lost
        return made

    def auth_test(self, **kwargs: Any) -> dict[str, Any]:
        return {"user_id": "UBOT"}

    def conversations_list(self, **kwargs: Any) -> dict[str, Any]:
        channels = [{"id": cid, "name": name, "creator": "UBOT"} for name, cid in self.channels.items()]
        return {"channels": [{"id": "COTHER", "name": "elders", "creator": "UX"}, *channels]}


@pytest.mark.parametrize(
    "lost",
    [Crash("killed after Slack made the channel"), slack_error("conversations.create", "internal_error", status=500)],
    ids=["kill -9", "5xx after acting"],
)
def test_an_invite_whose_channel_was_made_before_the_attempt_died_adopts_it(
    network: Network, services: Services, lost: BaseException
) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    slack = LostCreateSlack(lost)
    if isinstance(lost, Crash):
        with pytest.raises(Crash):
            run_once(services, slack)
        after = timedelta(minutes=5)  # taken over once the dead attempt's claim is stale
    else:
        assert run_once(services, slack) is False  # a passing failure: retried
        after = timedelta(seconds=3)
    assert run_once(services, slack, after=after) is True
    channel = slack.channels["werksessie-leegstand"]
    assert slack.creates == ["werksessie-leegstand", "werksessie-leegstand"]  # the retry met name_taken …
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)  # … and adopted the channel
    assert {"ULEAD", "UGENT"} <= slack.members[channel]
    assert refusals(slack) == [] and [p["channel"] for p in slack.posts] == [channel]


def test_a_name_taken_by_someone_elses_channel_is_still_refused(network: Network, services: Services) -> None:
    proposal = proposal_id(network)
    slack = LostCreateSlack(Crash("unused"))
    slack.lose = None
    slack.channels["werksessie-leegstand"] = "CTHEIRS"  # not the bot's
    slack.conversations_list = lambda **kwargs: {  # type: ignore[method-assign]
        "channels": [{"id": "CTHEIRS", "name": "werksessie-leegstand", "creator": "UX"}]
    }
    slack.fail["conversations.create"] = [slack_error("conversations.create", "internal_error", status=500)]
    submit_invite(services, proposal)
    assert run_once(services, slack) is False  # failed before Slack acted: retried …
    assert run_once(services, slack, after=timedelta(seconds=3)) is True  # … and the name is someone else's
    assert len(refusals(slack)) == 1 and proposal_state(network, proposal)[0] == ProposalStatus.OPEN


@pytest.mark.parametrize("late", ["refused at its plan", "its record meets the first's", "its change refused"])
def test_a_copy_that_met_the_change_of_a_run_that_lost_its_claim_sends_that_runs_confirmations(
    network: Network, services: Services, late: str
) -> None:
    """Two runs of one submission race: the first recorded the invitation and then lost its claim to the second
    (presumed dead) before its confirmations; the second, which had checked the delivery before the first
    committed, meets the change (refused at its plan, its record finding the proposal invited to this very channel,
    or refused at its record). It sends the confirmations: the channel's intro is not lost, nobody is told a
    refusal, and the invitation is audited once."""
    proposal = proposal_id(network)
    with network.database.session() as session:  # what a run planning before the first committed saw
        planned = network.service.plan_invite(
            session, actor=Actor.slack(STAFF, is_staff=True), proposal_id=proposal, now=NOW
        )
    submit_invite(services, proposal)
    slack = FakeSlack()
    with (
        mock.patch("handlers.needs_invite._confirm", side_effect=Crash("claim lost before sending")),
        pytest.raises(Crash),
    ):
        run_once(services, slack)
    assert proposal_state(network, proposal)[0] == ProposalStatus.INVITED and slack.posts == []
    with ExitStack() as patched:
        seen = core.delivery_seen
        checks: list[bool] = []

        def checked_before_the_first_committed(session: Any, *, key: str) -> bool:  # then as it is
            checks.append(True)
            return False if len(checks) == 1 else seen(session, key=key)

        patched.enter_context(mock.patch.object(core, "delivery_seen", checked_before_the_first_committed))
        if late != "refused at its plan":
            patched.enter_context(mock.patch.object(network.service, "plan_invite", return_value=planned))
        if late == "its change refused":
            refused = WieweetError("proposal_closed")
            patched.enter_context(mock.patch.object(network.service, "record_invite", side_effect=refused))
        assert run_once(services, slack, after=timedelta(minutes=5)) is True
    channel = slack.channels["werksessie-leegstand"]
    assert [p["channel"] for p in slack.posts] == [channel] and refusals(slack) == []  # the intro, once
    assert slack.creates == ["werksessie-leegstand"] and invite_audits(network, proposal) == 1


def invite_audits(network: Network, proposal: int) -> int:
    with network.database.session() as session:
        query = select(AuditLog).where(
            AuditLog.entity_type == "need_proposal",
            AuditLog.entity_key == str(proposal),
            AuditLog.action == "invite",
        )
        return len(list(session.scalars(query)))
