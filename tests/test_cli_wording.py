"""How the command line writes a state, a marker and a moment (``bot.cli.wording``): a state always with its code in
brackets, in every language, also where the English word is the code, so a script finds it the same way whatever
``WIEWEET_LANGUAGE`` is; a marker ("NOT POSTED") once where the words are the marker; a moment as
``YYYY-MM-DD HH:MM`` in the network's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.cli.queued_cmds import digest_state_text
from bot.cli.register_view import AVAILABILITY_KEYS, CONSENT_KEYS, STATUS_KEYS
from bot.cli.wording import local_time, marker, state
from bot.i18n import LANGUAGES, t

BRUSSELS = ZoneInfo("Europe/Brussels")


def test_a_state_always_has_its_code_beside_it() -> None:
    assert state("mislukt", "failed") == "mislukt (failed)"
    assert state("failed", "failed") == "failed (failed)"  # English: the word is the code, the code still there


def test_every_state_register_show_and_digest_list_write_ends_with_its_code_in_every_language() -> None:
    for lang in LANGUAGES:
        for table in (AVAILABILITY_KEYS, CONSENT_KEYS, STATUS_KEYS):
            for value, key in table.items():
                assert state(t(key, lang), value.value).endswith(f" ({value.value})"), (lang, key)
        for code in ("claimed", "sent", "empty", "failed"):
            assert digest_state_text(code, lang).endswith(f" ({code})"), (lang, code)
    assert digest_state_text("failed", "nl") == "mislukt (failed)"
    assert digest_state_text("failed", "en") == "failed (failed)"
    assert digest_state_text("unheard_of", "en") == "unheard_of"  # a state without words: its code


def test_a_marker_is_shown_once_where_the_words_are_the_marker() -> None:
    assert marker("NIET GEPOST", "NOT POSTED") == "NIET GEPOST (NOT POSTED)"
    assert marker("NOT POSTED", "NOT POSTED") == "NOT POSTED"


def test_a_moment_is_local_to_the_minute() -> None:
    assert local_time(datetime(2026, 11, 23, 10, 0, 59, tzinfo=UTC), BRUSSELS) == "2026-11-23 11:00"
    assert local_time(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), BRUSSELS) == "2026-07-02 00:30"  # summer time
    assert local_time(None, BRUSSELS) == "-"
