"""``wieweet needs recruit`` and ``needs proposals`` speak the operator's language (``WIEWEET_LANGUAGE``, Dutch
unless set): who was asked or asked before, the topic's line with its coverage, who is suggested and why there are
none; ``--json`` stays the same in both."""

from __future__ import annotations

import json

from storage.models import Expert
from tests.cli import wieweet, wieweet_in
from tests.needs.conftest import Network
from tests.needs.test_recruit_claims import _rats


def _els(network: Network) -> int:
    with network.database.session() as session:
        return next(e.id for e in session.query(Expert) if e.name == "Els Jacobs")


def test_recruit_in_dutch_and_english(network: Network) -> None:
    topic_id, els = _rats(network), _els(network)
    plan = wieweet(network.database, "needs", "recruit", str(topic_id))
    assert plan.exit_code == 0, plan.output
    first, *candidates = plan.output.splitlines()
    assert first.startswith(f"onderwerp {topic_id}: ") and first.endswith(" — expertise: geen")
    assert any(line.split()[0] == str(els) and "Els Jacobs" in line for line in candidates), plan.output
    # why she is suggested, in words with the stored code beside it (she answered a private question: not quoted)
    why = "beantwoordde een vraag over dit onderwerp (answered a question on this topic)"
    assert any(line.endswith(f" — {why}") for line in candidates if "Els Jacobs" in line), plan.output
    english = wieweet_in(network.database, "en", "needs", "recruit", str(topic_id))
    why = "answered a question on this topic (answered a question on this topic)"
    assert any(line.endswith(f" — {why}") for line in english.output.splitlines() if "Els" in line), english.output
    assert english.output.splitlines()[0].startswith(f"topic {topic_id}: ")
    assert english.output.splitlines()[0].endswith(" — expertise: none")
    as_json = [wieweet_in(network.database, lang, "needs", "recruit", str(topic_id), "--json") for lang in ("nl", "en")]
    assert as_json[0].output == as_json[1].output and json.loads(as_json[0].output)["coverage"] == "none"

    asked = wieweet(network.database, "needs", "recruit", str(topic_id), "--ask", str(els))
    assert asked.exit_code == 0 and asked.output.strip().endswith(": gevraagd"), asked.output
    again = wieweet(network.database, "needs", "recruit", str(topic_id), "--ask", str(els))
    assert again.output.strip().endswith(": al eerder gevraagd"), again.output
    again = wieweet_in(network.database, "en", "needs", "recruit", str(topic_id), "--ask", str(els))
    assert again.output.strip().endswith(": asked before"), again.output
    ask_json = [
        wieweet_in(network.database, lang, "needs", "recruit", str(topic_id), "--ask", str(els), "--json")
        for lang in ("nl", "en")
    ]
    assert ask_json[0].exit_code == 0 and ask_json[0].output == ask_json[1].output, ask_json[0].output
    with network.database.session() as session:
        expert = session.get(Expert, els)
        assert expert is not None
        slack_id = expert.slack_user_id
    expected = {"topic_id": topic_id, "expert_id": els, "slack_user_id": slack_id, "queued": False, "unreachable": ""}
    assert json.loads(ask_json[0].output) == [expected]  # the stored codes, as every --json


def test_no_proposals(network: Network) -> None:
    assert wieweet(network.database, "needs", "proposals").output == "geen voorstellen\n"
    assert wieweet_in(network.database, "en", "needs", "proposals").output == "no proposals\n"


def test_a_topic_proposal_or_candidate_that_does_not_exist_in_both_languages(network: Network) -> None:
    """A record given on the command line that does not exist: said in the operator's language, exit code 2."""
    topic_id = _rats(network)
    cases = [
        (["needs", "recruit", "999999"], "geen onderwerp #999999", "no topic #999999"),
        (
            ["needs", "recruit", str(topic_id), "--ask", "999999"],
            f"niet voorgesteld voor onderwerp #{topic_id}, dus niet te vragen: 999999",
            f"not a candidate for topic #{topic_id}: 999999",
        ),
        (
            ["needs", "dismiss", "999999"],
            "geen voorstel voor een werksessie #999999",
            "no work session proposal #999999",
        ),
    ]
    for args, dutch, english in cases:
        said = wieweet(network.database, *args)
        assert said.exit_code == 2 and f"error: {dutch}\n" in said.output, said.output
        said = wieweet_in(network.database, "en", *args)
        assert said.exit_code == 2 and f"error: {english}\n" in said.output, said.output
