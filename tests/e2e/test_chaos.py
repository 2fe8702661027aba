"""Chaos, small: the bot is killed with SIGKILL during a burst of mentions and modal submissions; after the
restart every acked request has exactly one outcome (``bench/chaos.py`` runs it large, with the numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import chaos


@pytest.mark.parametrize(
    ("database", "mode"), [("sqlite", "http"), pytest.param("postgresql", "socket", marks=pytest.mark.postgres)]
)
def test_kill_9_during_a_burst_loses_and_doubles_nothing(
    database: str, mode: str, tmp_path: Path, demo_template: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        chaos.sqlite_demo(tmp_path, demo_template)
        if database == "sqlite"
        else str(request.getfixturevalue("postgres_demo_url"))
    )
    result = chaos.kill_run(url=url, mode=mode, workdir=tmp_path, mentions=24, modals=6, seed=12, gap=0.15)
    assert result.kills == 1
    assert (result.mentions.lost, result.mentions.duplicated) == (0, 0), result
    assert (result.modals.lost, result.modals.duplicated) == (0, 0), result
    # every mention was acked in the end (Slack redelivers what was not), and so was answered
    assert result.mentions.answered == result.mentions.sent, result
