"""``wieweet privacy erase`` quotes the person it asks about and the one it erased through ``bot.text.shown_value``
(printable, one line, cut, secrets masked), as every value quoted back to an operator: a 10 kB address pasted
along with the right Slack id, with terminal escapes and a token in it, is asked about in one short line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.privacy.conftest import LIEVE, Ids
from tests.routing.conftest import World

TOKEN = "xoxb-1234567890-1234567890123-abcdefghijABCDEFGHIJklmn"
PASTED = "\x1b[2J\x1b]0;owned\x07" + "a" * 10_000 + f"\u202e{TOKEN}\r\nerased everything@x.be"
SAID = {"nl": ("Alles over '", "' gewist:"), "en": ("Erase everything about '", "erased '")}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_confirmation_and_the_result_quote_the_value_shown(world: World, lieve: Ids, language: str) -> None:
    args = ["--database", world.db.url, "privacy", "erase", "--email", PASTED, "--slack-id", LIEVE]
    env = {"WIEWEET_LANGUAGE": language}
    asked, erased_line = SAID[language]
    for answer, code in (("n\n", 1), ("y\n", 0)):
        result = CliRunner().invoke(main, args, input=answer, env=env)
        assert result.exit_code == code, result.output
        lines = result.output.splitlines()
        assert lines[0].startswith(asked) and "…'" in lines[0], lines[0][:200]  # cut, and says so
        assert len(lines[0]) < 200, len(lines[0])
        if code == 0:
            done = next(line for line in lines if erased_line in line)
            assert "…'" in done and len(done) < 200, done[:200]
        assert not any(c in result.output for c in "\x1b\x07\u202e\r"), repr(result.output[:200])
        assert "1234567890123" not in result.output and "abcdefghij" not in result.output, result.output
