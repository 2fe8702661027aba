"""A digest collected before a question changed is checked again just before it is posted, with the collection's own
filters (``collect.without_gone``): a question withdrawn by its asker since, one no longer open, or one whose channel
has turned private since (another replica noted it) is not quoted; the rest of the digest is posted as collected."""

from __future__ import annotations

import pytest

from digests.collect import without_gone
from digests.model import SubscriptionView
from digests.sender import SendStatus, collect_for
from storage.db import Database
from storage.models import DigestSubscription, Question, QuestionStatus, Visibility
from tests.digests.conftest import NOW, PERIOD, add_question, local, seed_themes
from tests.digests.test_named_recheck import CHANNEL, _send

OPEN_TEXT = "Geheime vraag over de leegstandsheffing?"
ANSWERED_TEXT = "Wie kent de huurpremie al?"
KEPT_TEXT = "Hoe werkt de renovatiepremie?"


def _seed(database: Database) -> dict[str, int]:
    with database.session() as s:
        seed_themes(s)
        s.add(DigestSubscription(channel_id=CHANNEL, weekday=0, hour=9, minute=0, themes=[], language="nl"))
        done = local(2026, 11, 20, 11)
        return {
            "open": add_question(s, OPEN_TEXT, asker="U0ASK").id,
            "answered": add_question(s, ANSWERED_TEXT, answered_at=done, answers=[(None, "Ann Antwoord", None)]).id,
            "kept": add_question(s, KEPT_TEXT, asker="U0ASK2").id,
        }


@pytest.mark.parametrize(
    ("which", "change"),
    [
        ("open", "private"),
        ("open", "withdrawn"),
        ("open", "closed"),
        ("open", "not_public"),
        ("answered", "private"),
        ("answered", "not_public"),
    ],
)
def test_a_question_changed_after_collecting_is_not_quoted(database: Database, which: str, change: str) -> None:
    ids = _seed(database)
    data = collect_for(database, SubscriptionView(channel_id=CHANNEL), PERIOD, now=NOW, all_themes=True)
    for text in (OPEN_TEXT, ANSWERED_TEXT, KEPT_TEXT):
        assert text in repr(data)
    with database.session() as s:  # meanwhile (another replica, or a pass over many channels)
        question = s.get(Question, ids[which])
        assert question is not None
        if change == "private":  # its channel was found private
            question.channel_is_private = True
        elif change == "not_public":  # the collection takes public questions only
            question.visibility = Visibility.PRIVATE
        else:
            question.status = QuestionStatus.CANCELLED if change == "withdrawn" else QuestionStatus.CLOSED
    status, posted = _send(database, data)
    assert status is SendStatus.SENT
    gone = OPEN_TEXT if which == "open" else ANSWERED_TEXT
    assert gone not in posted
    assert KEPT_TEXT in posted and (ANSWERED_TEXT if which == "open" else OPEN_TEXT) in posted


def test_an_unchanged_digest_is_posted_as_collected(database: Database) -> None:
    _seed(database)
    data = collect_for(database, SubscriptionView(channel_id=CHANNEL), PERIOD, now=NOW, all_themes=True)
    with database.session() as s:
        assert without_gone(s, data) is data
