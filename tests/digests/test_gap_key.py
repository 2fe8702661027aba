"""One way to count knowledge gaps — once per asker and wording, the wording folded (case, spaces, punctuation) —
shared by the weekly digest, the knowledge needs and the needs report."""

from __future__ import annotations

from datetime import timedelta

from bot.needs.core import count_needs
from digests.collect import collect_digest_data
from storage import needs_repo, question_repo
from storage.db import Database
from storage.schema.search import gap_key
from tests.digests.conftest import IN_WEEK, NOW, WINDOW_END, WINDOW_START, seed_themes

ASKED = [  # (asker, normalised key as stored): the same wording folded differently, and askers asking again
    ("U0CITY001", "bijenkasten dak"),
    ("U0CITY001", "Bijenkasten  Dak"),
    ("U0CITY001", "bijenkasten, dak!"),
    ("U0CITY002", " BIJENKASTEN DAK "),
    (None, "bijenkasten dak."),
    ("U0CITY003", "Één loket"),  # not ASCII: the database's lower() folds only A-Z on SQLite
    ("U0CITY003", "één loket"),
    ("U0CITY004", "ÉÉN LOKET"),
    ("U0CITY004", "leegstand"),
]


def test_the_key_folds_case_spaces_and_punctuation() -> None:
    assert gap_key("Bijenkasten,  Dak!", "x") == gap_key(" bijenkasten dak ", "y") == "bijenkasten dak"
    assert gap_key("ÉÉN loket", "") == gap_key("één loket", "") == "één loket"
    assert gap_key("", "Wie weet iets over Leegstand?") == "wie weet iets over leegstand"


def test_digest_needs_and_report_count_the_same_gaps(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        for i, (asker, normalized) in enumerate(ASKED):
            question_repo.create_knowledge_gap(
                s,
                query=f"wie weet iets over {normalized}?",
                normalized=normalized,
                themes=["wonen"],
                asker_slack_id=asker,
                channel_id="C0PUBLIC1",
                channel_is_private=False,
                source="slack",
                now=IN_WEEK + timedelta(minutes=i),
            )
    expected = 6  # city1, city2, unknown on beehives; city3, city4 on the one-stop shop; city4 on vacancy
    with database.session() as s:
        data = collect_digest_data(s, themes=["wonen"], period_start=WINDOW_START, period_end=WINDOW_END, now=NOW)
        (theme,) = data.themes
        digest = sum(g.count for g in theme.gaps) + theme.unquoted_gaps
        assert sorted(g.count for g in theme.gaps) == [2, 3]
        needs = count_needs(needs_repo.list_need_sources(s, since=WINDOW_START))
        report = question_repo.count_knowledge_gaps(s, start=WINDOW_START, end=WINDOW_END)
    assert (digest, needs, report) == (expected, expected, expected)
