"""A digest modal whose day or time cannot be posted at is refused on the form in the Slack user's language (Dutch
by default, English for an English locale), the value quoted masked and cut (``bot.text.shown_value``), never the
English line the command line's log keeps."""

from __future__ import annotations

from datetime import date

import pytest

from handlers import ids
from handlers.digests import check_digest_form
from handlers.forms import DigestForm, Draft

TOKEN = "xoxb-" + "1234567890-" * 3 + "abcdefABCDEF"


def form(*, day: str = "mon", time: str = "09:00") -> DigestForm:
    return DigestForm(channel_id="C0123ABCD", themes=[], day=day, time=time, language="nl", post_empty=False)


def draft(lang: str) -> Draft:
    return Draft(lang=lang, today=date(2026, 12, 7), user_id="U0ONE")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("nl", "ongeldig tijdstip '25:00': gebruik UU:MM"), ("en", "invalid time '25:00': use HH:MM")],
)
def test_a_time_refused_in_the_users_language(lang: str, expected: str) -> None:
    errors = check_digest_form(form(time="25:00"), draft(lang))
    assert list(errors) == [ids.BLOCK_DIGEST_TIME]
    assert errors[ids.BLOCK_DIGEST_TIME].startswith(expected)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("nl", "onbekende dag 'someday': gebruik ma, di"), ("en", "invalid day 'someday': use one of mon, tue")],
)
def test_a_day_refused_in_the_users_language(lang: str, expected: str) -> None:
    errors = check_digest_form(form(day="someday"), draft(lang))
    assert errors[ids.BLOCK_DIGEST_TIME].startswith(expected)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_value_quoted_is_masked_and_cut(lang: str) -> None:
    shown = check_digest_form(form(time=TOKEN), draft(lang))[ids.BLOCK_DIGEST_TIME]
    assert TOKEN not in shown and "abcdefABCDEF" not in shown
    long = check_digest_form(form(day="x" * 5000), draft(lang))[ids.BLOCK_DIGEST_TIME]
    assert "x" * 200 not in long and len(long) < 500


def test_a_day_and_time_that_can_be_posted_pass() -> None:
    assert check_digest_form(form(day="vr", time="16:30"), draft("en")) == {}
