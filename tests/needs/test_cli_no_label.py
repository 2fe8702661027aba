"""The command line's text for a topic without a label that may be shown says what is true in every case — only
private questions, or its label's question withdrawn, closed unanswered, moved to a private channel or erased —
"(no label may be shown)", in the operator's language (Dutch unless WIEWEET_LANGUAGE says English), not "(private
questions only)"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from tests.cli import wieweet, wieweet_in
from tests.needs.conftest import Network
from tests.needs.test_recruit_claims import _rats
from tests.needs.test_recruit_label_gone import _closed_unanswered, _erased, _withdrawn

DUTCH, ENGLISH = "(geen label dat getoond mag worden)", "(no label may be shown)"


@pytest.mark.parametrize("change", [_withdrawn, _closed_unanswered, _erased])
def test_a_topic_whose_label_went_says_no_label_may_be_shown(
    network: Network, change: Callable[[Session, int], None]
) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        change(session, topic_id)
    for run, text, topic in [
        (lambda *a: wieweet(network.database, *a), DUTCH, "onderwerp"),
        (lambda *a: wieweet_in(network.database, "en", *a), ENGLISH, "topic"),
    ]:
        recruit = run("needs", "recruit", str(topic_id))
        assert recruit.exit_code == 0, recruit.output
        assert f"{topic} {topic_id}: {text} — expertise:" in recruit.output
        assert "private questions only" not in recruit.output
        overview = run("needs", "--period", "2026-01-01..2026-12-31")
        assert overview.exit_code == 0, overview.output
        line = next(line for line in overview.output.splitlines() if line.split()[:1] == [str(topic_id)])
        assert text[:-1] in line and "private questions only" not in line  # "; themes: klimaat)" follows
