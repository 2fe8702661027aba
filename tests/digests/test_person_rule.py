"""Whether a digest names an answer's person is decided by the same function as whether search names them
(``bot.matching.loader.is_unnamed``): one rule, not two copies that may drift apart."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.matching import loader
from digests import collect
from storage.models import Answer, Availability, Consent, Expert


def _answer(expert: Expert | None = None, slack_id: str | None = "UANSWER01") -> Answer:
    return Answer(
        text="De heffing geldt na twaalf maanden.",
        answered_by_name="Bram",
        answered_by_slack_id=slack_id,
        expert=expert,
        organisation="Stad Gent",
    )


def test_the_digest_asks_the_search_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[Answer, Mapping[str, Expert]]] = []

    def rule(answer: Answer, by_slack: Mapping[str, Expert]) -> bool:
        asked.append((answer, by_slack))
        return True

    monkeypatch.setattr(loader, "is_unnamed", rule)
    answer = _answer()
    person = collect._person(answer, {})
    assert person.hidden and not person.name and person.slack_user_id is None
    assert asked == [(answer, {})]


@pytest.mark.parametrize(
    ("consent", "availability", "hidden"),
    [
        (Consent.CONFIRMED, Availability.AVAILABLE, False),
        (Consent.WITHDRAWN, Availability.AVAILABLE, True),
        (Consent.CONFIRMED, Availability.OPTED_OUT, True),
    ],
)
def test_digest_and_search_agree(consent: Consent, availability: Availability, hidden: bool) -> None:
    """Tied by Slack id alone (an answer given in the thread has no expert): both find the register entry."""
    other = Expert(
        name="Bram", email="bram@example.org", slack_user_id="UANSWER01", consent=consent, availability=availability
    )
    by_slack = {"UANSWER01": other}
    answer = _answer()
    assert collect._person(answer, by_slack).hidden is hidden
    assert loader.is_unnamed(answer, by_slack) is hidden
