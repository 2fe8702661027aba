"""``/wieweet`` sub-commands are read after invisible format characters (zero-width space, bidi marks) are dropped
and whitespace (tabs, no-break spaces, repeated spaces) is collapsed, once, where the command text is read; periods
and dates take only ASCII digits (``٢٠٢٦-Q1`` is no period, but text to search)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.needs.periods import InvalidPeriod, parse_period
from digests.period import InvalidPeriod as InvalidWeek
from digests.period import parse_period as parse_week
from digests.subscriptions import InvalidSchedule, parse_time
from handlers.commands import command_text, is_change, is_question, mistyped_command
from handlers.needs import is_needs_command
from handlers.routing import is_away_command

ALL: Any = SimpleNamespace(needs=object(), routing=object())


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("afwezig\u200b tot 2026-12-15", "afwezig tot 2026-12-15"),
        ("rapport\t2026-Q1", "rapport 2026-Q1"),
        ("rapport  2026-Q1", "rapport 2026-Q1"),
        ("mijn\u00a0gegevens", "mijn gegevens"),
        ("vergeet  mij", "vergeet mij"),
        ("\u202ebeheer", "beheer"),
        ("digest uit\u200b", "digest uit"),
        ("\ufeffhelp\u2060", "help"),
        ("a question\nwith two lines", "a question\nwith two lines"),
        ("een vraag over 👩\u200d💻 werk", "een vraag over 👩\u200d💻 werk"),
    ],
)
def test_the_command_text_is_normalised_once(sent: str, read: str) -> None:
    assert command_text({"text": sent}) == read


@pytest.mark.parametrize("sent", ["afwezig\u200b tot 2026-12-15", "digest uit\u200b", "afwezig\ttot\u00a02026-12-15"])
def test_a_change_with_invisible_characters_is_a_change_not_a_question(sent: str) -> None:
    text = command_text({"text": sent})
    assert is_change(ALL, text)
    assert not is_question(ALL, text)


@pytest.mark.parametrize("sent", ["rapport\t2026-Q1", "mijn\u00a0gegevens", "vergeet  mij", "\u202ebeheer"])
def test_a_sub_command_with_odd_whitespace_is_no_typo_nor_question(sent: str) -> None:
    text = command_text({"text": sent})
    assert mistyped_command(ALL, text) is None
    assert not is_question(ALL, text)


@pytest.mark.parametrize("text", ["behoeften ٢٠٢٦-Q1", "rapport ٢٠٢٦-١٠"])
def test_non_ascii_digits_are_no_period(text: str) -> None:
    assert not is_needs_command(text)


def test_non_ascii_digits_are_no_date() -> None:
    assert not is_away_command("afwezig tot ٢٠٢٦-١٢-١٥")
    assert is_away_command("afwezig tot 2026-12-15")


@pytest.mark.parametrize("period", ["٢٠٢٦-Q1", "٢٠٢٦-10", "٢٠٢٦-W10", "٢٠٢٦-١٠-٠١..2026-12-31"])
def test_the_period_parser_takes_ascii_digits_only(period: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(period)


def test_the_digest_week_takes_ascii_digits_only() -> None:
    with pytest.raises(InvalidWeek):
        parse_week("٢٠٢٦-W10")
    with pytest.raises(InvalidSchedule):
        parse_time("٠٩:٠٠")
