"""A withdrawn question's words are quoted nowhere: not through the knowledge gap routing recorded for it either."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.needs.core import may_be_quoted
from digests.collect import collect_digest_data
from storage import needs_repo
from storage.models import KnowledgeGap
from tests.routing.conftest import NOW, World, seed_housing

DRONES = "Wie heeft ervaring met drones voor dakinspecties?"


def _quoted_gaps(world: World) -> list[str]:
    with world.db.session() as s:
        data = collect_digest_data(
            s,
            themes=None,
            period_start=NOW - timedelta(days=7),
            period_end=NOW + timedelta(days=1),
            now=NOW + timedelta(hours=1),
        )
    return [g.query for theme in data.themes for g in theme.gaps]


def _shareable_gap_texts(world: World) -> list[str]:
    with world.db.session() as s:
        sources = needs_repo.list_need_sources(s)
    return [src.text for src in sources if src.key.startswith("g:") and may_be_quoted(src)]


def test_withdrawing_a_question_nobody_fitted_makes_its_gap_quoted_nowhere(world: World) -> None:
    seed_housing(world)
    asked = [world.ask(text=DRONES, theme_keys=["wonen"], asker_slack_id=u) for u in ("UASKER1", "UASKER2")]
    with world.db.session() as s:
        gaps = list(s.scalars(select(KnowledgeGap).order_by(KnowledgeGap.id)))
    assert [g.question_id for g in gaps] == asked and not any(g.channel_is_private for g in gaps)
    assert _quoted_gaps(world) and _shareable_gap_texts(world) == [DRONES, DRONES]  # two askers: quoted

    for qid, asker in zip(asked, ("UASKER1", "UASKER2"), strict=True):
        with world.db.session() as s:
            world.service.cancel(s, question_id=qid, actor_slack_id=asker, now=NOW + timedelta(minutes=5))

    assert _quoted_gaps(world) == []
    assert _shareable_gap_texts(world) == []
    with world.db.session() as s:
        assert len(needs_repo.list_need_sources(s)) == 4  # the questions and their gaps are still counted
