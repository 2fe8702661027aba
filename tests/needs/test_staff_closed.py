"""A question staff close (from the triage channel or ``wieweet question close``) is, for the knowledge needs, what
a withdrawal is when nobody answered it in wieweet: counted, no longer quoted, its asker no longer named, and the
live proposals quoting it recorded in that transaction so the job runner renders their posts again (the bot may be
stopped, Slack unreachable). One closed after an answer was a need met: still quoted, nothing to render again."""

from __future__ import annotations

from unittest import mock

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.privacy.channels import REFRESH_DELAY
from handlers.forms import TriageCloseForm
from handlers.needs_refresh import ProposalRefresher
from handlers.routing import handle_triage_close_submission
from storage.models import NeedProposalRefresh, Question, QuestionStatus
from tests.clock import Clock
from tests.needs.conftest import NOW, Network
from tests.needs.test_queued_proposal import _queued
from tests.needs.test_refresh_durable import LATER, FlakySlack, _posted, _services


def _close(network: Network, question: Question) -> None:
    cli = ["--database", network.database.url, "--by", "anna", "question", "close", str(question.id)]
    done = CliRunner().invoke(main, [*cli, "--reason", "Niet meer nodig", "--now", LATER.isoformat()])
    assert done.exit_code == 0, done.output


def _pending(network: Network) -> list[int]:
    with network.database.session() as session:
        return list(session.scalars(select(NeedProposalRefresh.proposal_id)))


def test_a_question_staff_closed_unanswered_is_counted_but_no_longer_quoted(network: Network) -> None:
    proposal_id, question = _queued(network)  # vacancy1, Kortrijk's, never answered
    clock = Clock(LATER)
    _posted(network, clock)
    _close(network, question)
    with network.database.session() as session:
        closed = session.get(Question, question.id)
        assert closed is not None and closed.status is QuestionStatus.CLOSED
    assert _pending(network) == [proposal_id]  # recorded with the close: the job runner renders its posts again
    slack = FlakySlack(down=False)
    clock.now = LATER + REFRESH_DELAY
    assert ProposalRefresher(_services(network, clock), slack).refresh_due() == 1  # type: ignore[arg-type]
    (update,) = slack.updates
    shown = repr(update["blocks"]) + str(update["text"])
    assert question.text not in shown and "UKORTRIJK" not in shown
    with network.database.session() as session:
        [again] = network.service.live_views_quoting(session, question_ids=[question.id], now=NOW)
    assert question.text not in again.quoted and again.not_quoted >= 1  # still counted


def test_a_question_staff_closed_after_its_answer_is_still_quoted(network: Network) -> None:
    proposal_id, _ = _queued(network)
    answered = network.questions["vacancy0"]  # answered by an expert, then closed by staff: a need met
    with network.database.session() as session:
        [before] = network.service.live_views_quoting(session, question_ids=[answered.id], now=NOW)
    assert answered.text in before.quoted
    _close(network, answered)
    assert _pending(network) == []  # nothing changes in the posts
    with network.database.session() as session:
        [after] = network.service.live_views_quoting(session, question_ids=[answered.id], now=NOW)
    assert after.id == proposal_id and answered.text in after.quoted and after.quoted == before.quoted


@pytest.mark.parametrize("answered", [False, True])
def test_the_triage_close_renders_the_proposals_quoting_an_unanswered_question_at_once(answered: bool) -> None:
    """From the triage channel the posts are rendered again once the close commits (the turn's effects), besides
    the record the service made for the job runner; a question closed after its answer changes no proposal."""
    turn = mock.MagicMock()
    turn.lang, turn.user_id = "nl", "U0STAFF01"
    routing = turn.services.routing_service.return_value
    routing.staff_close.return_value = Question(
        id=7, status=QuestionStatus.CLOSED, answered_at=NOW if answered else None
    )
    with (
        mock.patch("handlers.routing.show_proposal_updates") as shown,
        mock.patch("handlers.routing.update_staff_posts"),
    ):
        handle_triage_close_submission(turn, TriageCloseForm(question_id=7, note="Dubbel gesteld."))
    if answered:
        shown.assert_not_called()
    else:
        shown.assert_called_once_with(turn, question_ids=[7], now=turn.now)
