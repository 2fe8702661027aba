"""A mistyped sub-command of ``/wieweet`` gets "did you mean …", not a "who knows" search (nor a knowledge gap);
a real question that starts with a word close to a sub-command is still a question."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from handlers.commands import is_question, mistyped_command
from handlers.slack_text import question_from_slack
from handlers.typos import meant_command

ALL = SimpleNamespace(needs=object(), routing=object())  # a process offering every feature
BASIC = SimpleNamespace(needs=None, routing=None)


def services(kind: SimpleNamespace = ALL) -> Any:
    return kind


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("behoefte", "behoeften"),
        ("rapportt", "rapport"),
        ("Rapportt 2026-Q4", "rapport"),
        ("helpp", "help"),
        ("hlep", "help"),  # a transposition is one edit
        ("help me", "help"),
        ("Help me aub!", "help"),
        ("praktijken", "praktijk"),
        ("diegst", "digest"),
        ("digets uit", "digest"),
        ("profiell", "profiel"),
        ("mijn gegevns", "mijn gegevens"),
        ("vergeet mij aub", "vergeet mij"),
        ("mijn vragn", "mijn vragen"),
    ],
)
def test_a_mistyped_sub_command_is_no_question(text: str, meant: str) -> None:
    assert mistyped_command(services(), text) == meant
    assert not is_question(services(), text)


@pytest.mark.parametrize(
    "text",
    [
        "Vragen over de leegstandsheffing op winkelpanden?",
        "Hulp gezocht bij de aanbesteding van een warmtenet",
        "praktijken rond zwerfkatten",
        "Rapporten over kinderarmoede in centrumsteden",
        "beheer van begraafplaatsen",
        "Behoefte aan kennis over participatief budgetteren",
        "Heeft iemand ervaring met een leegstandsheffing voor winkels?",
        "Mijn dienst zoekt iemand die het kotlabel kent",
        "Profiel van een goede wijkregisseur?",
        "rapportering BBC",
        "kotlabel",
        "wijkregisseur",
        "brede school",
        "LOP en aanmeldingen",
        "Needs assessment for social housing",
    ],
)
def test_a_real_question_starting_near_a_sub_command_is_a_question(text: str) -> None:
    assert mistyped_command(services(), text) is None
    assert is_question(services(), text)


def test_the_sub_commands_themselves_are_not_typos() -> None:
    for text in ("help", "behoeften", "rapport 2026-Q4", "digest uit", "praktijk", "mijn gegevens", "profiel"):
        assert mistyped_command(services(), text) is None
        assert not is_question(services(), text)


def test_only_the_features_this_process_offers_are_suggested() -> None:
    assert mistyped_command(services(BASIC), "behoefte") is None  # no knowledge needs here: a question
    assert is_question(services(BASIC), "behoefte")
    assert mistyped_command(services(BASIC), "helpp") == "help"


@pytest.mark.parametrize(
    ("text", "meant"),
    [("behoefte", "behoeften"), ("hlep", "help"), ("help", "help"), ("behoeften", "behoeften"), ("Help me!", "help")],
)
def test_a_mention_or_dm_that_is_a_sub_command_or_near_one_is_pointed_to_the_command(text: str, meant: str) -> None:
    assert meant_command(services(), text) == meant  # a mention has no sub-commands: the exact word is pointed too


@pytest.mark.parametrize(
    "text", ["Behoefte aan kennis over participatief budgetteren", "kotlabel", "hulp bij aanbesteding warmtenet?"]
)
def test_a_mention_that_is_a_real_question_is_searched(text: str) -> None:
    assert meant_command(services(), text) is None


def test_a_mention_with_an_invisible_character_is_still_pointed_to_the_command() -> None:
    assert meant_command(services(), question_from_slack("<@U0BOT0001> behoefte\u200b")) == "behoeften"
    hidden = "<@U0BOT0001> \u200bbe\u2060hoef\u200bten\u200d 2026-Q4"  # three edits away as typed
    assert meant_command(services(), question_from_slack(hidden)) == "behoeften"
