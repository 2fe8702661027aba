"""The public gap list counts distinct askers, quotes a wording only when two people share it, and never shows
a query that came from no Slack channel (an operator's ``wieweet ask`` / console)."""

from datetime import UTC, datetime, timedelta

from bot.demo import load_demo
from bot.knowledge import KnowledgeBase
from digests.collect import collect_digest_data
from digests.model import DigestData, GapItem, SubscriptionView, ThemeDigest, ThemeInfo, is_public_content
from handlers.blocks.digest import build_digest
from storage.db import Database
from tests.digests.conftest import blocks_json

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)
TROLL = "wie weet waarom schepen Janssens fraudeert?"
SHARED = "wie weet iets over bijenkasten op het dak van het stadhuis?"


def _digest(database: Database):
    with database.session() as s:
        return collect_digest_data(
            s,
            themes=None,
            period_start=NOW - timedelta(days=7),
            period_end=NOW + timedelta(hours=1),
            now=NOW + timedelta(hours=1),
        )


def _ask(database: Database, kb: KnowledgeBase, query: str, **where: str) -> None:
    with database.session() as s:
        kb.ask(s, query=query, now=NOW, **where)


def test_one_member_repeating_a_question_is_counted_once_and_not_quoted(database: Database) -> None:
    with database.session() as s:
        load_demo(s, now=NOW - timedelta(days=30))
    kb = KnowledgeBase(database)
    kb.load()
    try:
        for _ in range(8):  # one member, the same text, a public channel
            _ask(database, kb, TROLL, source="slack", user_id="U0TROLL01", channel_id="C0PUBLIC1")
        for user in ("U0CITY001", "U0CITY002", "U0CITY002"):  # two members share this one
            _ask(database, kb, SHARED, source="slack", user_id=user, channel_id="C0PUBLIC1")
    finally:
        kb.close()
    data = _digest(database)
    quoted = [(g.query, g.count) for t in data.themes for g in t.gaps]
    assert not any("Janssens" in q for q, _ in quoted), quoted  # one asker: counted, never quoted
    assert [c for q, c in quoted if "bijenkasten" in q] == [2]  # two people, not three rows
    assert sum(t.unquoted_gaps for t in data.themes) >= 1  # the troll's question is still counted, once


def test_a_query_from_no_channel_never_reaches_the_public_digest(database: Database) -> None:
    with database.session() as s:
        load_demo(s, now=NOW - timedelta(days=30))
    kb = KnowledgeBase(database)
    kb.load()
    try:
        for _ in range(3):  # an operator trying the console / `wieweet ask` on the server
            _ask(database, kb, "wie weet iets over de tuchtprocedure tegen Jan Peeters?", source="console")
    finally:
        kb.close()
    data = _digest(database)
    assert not any("Peeters" in g.query for t in data.themes for g in t.gaps)
    assert sum(t.unquoted_gaps for t in data.themes) == 0  # not even counted: nothing public about it


def test_the_public_rule_needs_a_public_channel() -> None:
    assert not is_public_content(visibility="public", channel_id=None, channel_is_private=False)
    assert not is_public_content(visibility="public", channel_id="", channel_is_private=False)
    assert is_public_content(visibility="public", channel_id="C0PUBLIC1", channel_is_private=False)
    assert not is_public_content(
        visibility="public", channel_id="C0PUBLIC1", channel_is_private=False, private_channel=lambda c: True
    )


def test_the_digest_counts_unquoted_gaps_in_a_line_of_their_own() -> None:
    theme = ThemeInfo("wonen", "Wonen", "Housing")
    gaps = (GapItem("bijenkasten", 2), GapItem("schepen Janssens fraudeert", 1))  # a count of 1 is never quoted
    data = DigestData(NOW - timedelta(days=7), NOW, (ThemeDigest(theme, gaps=gaps, unquoted_gaps=2),))
    view = SubscriptionView(channel_id="C0DIGEST1")
    text = blocks_json(build_digest(data, subscription_view=view, period="2026-W49", now=NOW, lang="nl"))
    assert "“bijenkasten” — 2×" in text
    assert "Janssens" not in text
    assert "nog 3 vragen zonder antwoord, elk door één persoon gesteld (niet geciteerd)" in text
