"""A proposed work session still waiting in the outbox when a question of its topic is withdrawn, or its channel
turns private, goes out as the stored state shows it then, not as it was queued: the question counted, not quoted,
its asker not named. Through the real needs service, outbox and sender (Slack's answers recorded, not called)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import Settings
from bot.outbox import claim_outbox
from bot.privacy import mark_channel_private
from bot.staffdm import tell_staff
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import OutboxKind, OutboxMessage, Question, QuestionStatus
from tests.needs.conftest import NOW, Network

LATER = NOW + timedelta(minutes=5)
TRIAGE = "C0TRIAGE1"
STAFF = "USTAFF001"


class Slack:
    """The triage channel is the network's alone; posts recorded."""

    def __init__(self) -> None:
        self.posts: list[dict[str, object]] = []

    def conversations_info(self, **_kwargs: object) -> dict[str, object]:
        return {"channel": {"id": TRIAGE, "is_private": True}}

    def users_info(self, **_kwargs: object) -> dict[str, object]:
        return {"ok": True, "user": {"locale": "nl-NL"}}

    def conversations_open(self, **kwargs: object) -> dict[str, object]:
        return {"channel": {"id": f"D{kwargs['users']}"}}

    def chat_postMessage(self, **kwargs: object) -> dict[str, object]:
        self.posts.append(kwargs)
        return {"ok": True, "channel": kwargs["channel"], "ts": f"1.{len(self.posts)}"}


def _sender(network: Network, slack: Slack) -> OutboxSender:
    settings = Settings(staff_user_ids=frozenset({STAFF}), triage_channel_id=TRIAGE)
    services = Services(
        settings=settings, db=network.database, knowledge=network.knowledge, clock=lambda: LATER, needs=network.service
    )
    return OutboxSender(services, slack)  # type: ignore[arg-type]


def _queued(network: Network) -> tuple[int, Question]:
    """The vacancy-tax proposal queued (not sent) while it quotes Kortrijk's question."""
    with network.database.session() as session:
        proposed = network.service.propose_sessions(session, now=NOW, worker_id="a")
    view = next(v for v in proposed if "eegstand" in v.label)
    question = network.questions["vacancy1"]  # UKORTRIJK
    assert question.text in view.quoted and "UKORTRIJK" in {a.slack_user_id for a in view.askers}
    return view.id, question


def _send(network: Network, slack: Slack, kind: OutboxKind) -> None:
    sender = _sender(network, slack)
    for message in claim_outbox(network.database, now=LATER, worker_id="w1"):
        if message.kind is kind:
            assert sender.send_one(message)


def _posted(slack: Slack) -> str:
    (post,) = slack.posts
    return repr(post["blocks"]) + str(post["text"])


def test_a_question_withdrawn_while_the_proposal_waited_is_not_quoted_when_it_goes_out(network: Network) -> None:
    _, withdrawn = _queued(network)
    with network.database.session() as session:
        question = session.get(Question, withdrawn.id)
        assert question is not None
        question.status = QuestionStatus.CANCELLED  # withdrawn by its asker before the sender's pass
    slack = Slack()
    _send(network, slack, OutboxKind.NEEDS_PROPOSAL)
    shown = _posted(slack)
    assert slack.posts[0]["channel"] == TRIAGE
    assert withdrawn.text not in shown and "UKORTRIJK" not in shown
    assert network.questions["vacancy0"].text in shown  # the others are still quoted


def test_a_channel_turned_private_while_the_proposal_waited_is_not_quoted_in_staff_dm_copies(
    network: Network,
) -> None:
    _, question = _queued(network)
    (queued,) = claim_outbox(network.database, now=LATER, worker_id="w0")
    assert queued.kind is OutboxKind.NEEDS_PROPOSAL
    with network.database.session() as session:  # the triage channel was never reached: staff get DM copies
        message = session.get(OutboxMessage, queued.id)
        assert message is not None
        message.failed_at, message.claimed_by = LATER, None
        tell_staff(session, message_id=message.id, staff=[STAFF], channel_id=TRIAGE, error="x", now=LATER)
        assert question.channel_id
        mark_channel_private(session, channel_id=question.channel_id)
    slack = Slack()
    _send(network, slack, OutboxKind.STAFF_DM)
    shown = _posted(slack)
    assert question.text not in shown and "UKORTRIJK" not in shown


class ChangedWhilePosting(Slack):
    """The asker withdraws the quoted question (or its channel turns private), committed after the sender rendered
    the post and before it is marked sent: that change finds no sent post to update (``handlers.needs_refresh``)."""

    def __init__(self, network: Network, proposal_id: int, question_id: int, *, private: bool) -> None:
        super().__init__()
        self.network, self.proposal_id, self.question_id, self.private = network, proposal_id, question_id, private
        self.updates: list[dict[str, object]] = []

    def chat_postMessage(self, **kwargs: object) -> dict[str, object]:
        with self.network.database.session() as session:
            question = session.get(Question, self.question_id)
            assert question is not None and question.channel_id
            if self.private:
                mark_channel_private(session, channel_id=question.channel_id)
            else:
                question.status = QuestionStatus.CANCELLED
            assert self.network.service.proposal_message_refs(session, proposal_id=self.proposal_id) == []
        return super().chat_postMessage(**kwargs)

    def chat_update(self, **kwargs: object) -> dict[str, object]:
        self.updates.append(kwargs)
        return {"ok": True}


@pytest.mark.parametrize("private", [False, True], ids=["withdrawn", "channel_private"])
def test_a_question_withdrawn_while_the_proposal_was_being_posted_is_taken_out_of_the_post(
    network: Network, private: bool
) -> None:
    proposal_id, question = _queued(network)
    slack = ChangedWhilePosting(network, proposal_id, question.id, private=private)
    _send(network, slack, OutboxKind.NEEDS_PROPOSAL)
    assert question.text in _posted(slack)  # rendered before the change
    (update,) = slack.updates
    assert (update["channel"], update["ts"]) == (TRIAGE, "1.1")
    shown = repr(update["blocks"]) + str(update["text"])
    assert question.text not in shown and "UKORTRIJK" not in shown
    if not private:  # (the others were asked in the same channel)
        assert network.questions["vacancy0"].text in shown  # the others are still quoted


def test_a_proposal_unchanged_while_it_was_posted_is_not_updated(network: Network) -> None:
    _queued(network)
    slack = ChangedWhilePosting(network, 0, 0, private=False)
    slack.chat_postMessage = super(ChangedWhilePosting, slack).chat_postMessage  # type: ignore[method-assign]
    _send(network, slack, OutboxKind.NEEDS_PROPOSAL)
    assert len(slack.posts) == 1 and slack.updates == []
