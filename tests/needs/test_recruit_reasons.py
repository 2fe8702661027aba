"""Why ``needs recruit`` suggests someone: the reason is stored as English text starting with its code (in the DM's
payload and ``--json``, unchanged); the command line reads it back and says it in the operator's words with that code
beside it. A reason without a known code (an older release's) is shown as stored."""

from __future__ import annotations

import pytest

from bot.cli.needs_cmds import _reason
from bot.needs import recruit_reasons


def test_the_stored_reasons_keep_their_form() -> None:
    assert recruit_reasons.answered("  Wie kent de huurpremie?  ") == "answered: Wie kent de huurpremie?"
    assert recruit_reasons.practice_contact("Leegstandsheffing") == "contact for the practice: Leegstandsheffing"
    assert recruit_reasons.ANSWERED_PRIVATE == "answered a question on this topic"
    assert len(recruit_reasons.answered("x" * 200)) == len("answered: ") + 80  # the question cut, as before


@pytest.mark.parametrize(
    ("reason", "code", "detail"),
    [
        ("answered: Wie kent de huurpremie?", "answered", "Wie kent de huurpremie?"),
        ("answered: a: b", "answered", "a: b"),
        ("contact for the practice: Leegstandsheffing", "contact for the practice", "Leegstandsheffing"),
        ("answered a question on this topic", "answered a question on this topic", ""),
        ("answered a question on this topic: x", "", "answered a question on this topic: x"),
        ("knows: something", "", "knows: something"),
        ("", "", ""),
    ],
)
def test_a_stored_reason_is_read_back_as_its_code_and_detail(reason: str, code: str, detail: str) -> None:
    assert recruit_reasons.parse(reason) == (code, detail)


def test_the_command_line_says_it_in_the_operators_words_with_the_code_beside_it() -> None:
    answered = recruit_reasons.answered("Wie kent de huurpremie?")
    assert _reason(answered, "nl") == "beantwoordde (answered): Wie kent de huurpremie?"
    assert _reason(answered, "en") == "answered (answered): Wie kent de huurpremie?"
    contact = recruit_reasons.practice_contact("Leegstandsheffing")
    assert _reason(contact, "nl") == "contactpersoon voor de praktijk (contact for the practice): Leegstandsheffing"
    assert _reason(contact, "en") == "contact for the practice (contact for the practice): Leegstandsheffing"
    private = recruit_reasons.ANSWERED_PRIVATE
    assert _reason(private, "nl") == "beantwoordde een vraag over dit onderwerp (answered a question on this topic)"
    assert _reason("knows: something", "nl") == "knows: something"  # no known code: as stored
