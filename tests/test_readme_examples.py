"""The README's "Using it" examples that run offline are accepted as written, so the examples cannot drift from
what the commands accept (a channel id the digest commands refuse, a renamed option).

Each such line runs against a database holding the demo register, in the README's order (the digest is
subscribed before it is listed and unsubscribed). Lines that need Slack, a file, a shell redirection or a person
or record of another database are left out; a line counts as accepted when it exits 0.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.text import is_slack_channel_id
from storage.db import Database

README = Path(__file__).resolve().parents[1] / "README.md"

# the commands whose examples run offline on the demo register (the digest ones at least: their channel ids)
OFFLINE = (
    "digest --channel",
    "digest subscribe",
    "digest list",
    "digest unsubscribe",
    "ask ",
    "register list",
    "audit ",
    "escalated",
    "needs --period",
    "db status",
)


def using_it_examples() -> list[str]:
    """The ``wieweet`` lines of the README's "Using it" code block, as the shell splits them (comments dropped)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## Using it", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.join(shlex.split(line, comments=True)) for line in block.splitlines() if line.startswith("wieweet ")]


def offline_examples() -> list[str]:
    return [
        line
        for line in using_it_examples()
        if line.removeprefix("wieweet ").startswith(OFFLINE) and not re.search(r"[<>|]", line)
    ]


def test_the_examples_are_found() -> None:
    found = offline_examples()
    assert sum(line.startswith("wieweet digest") for line in found) >= 4, found
    assert any(line.startswith("wieweet ask") for line in found), found


def test_the_readme_examples_that_run_offline_are_accepted(database: Database) -> None:
    assert CliRunner().invoke(main, ["--database", database.url, "demo", "--no-console"]).exit_code == 0
    for line in offline_examples():
        result = CliRunner().invoke(main, ["--database", database.url, *shlex.split(line)[1:]])
        assert result.exit_code == 0, f"{line}\n{result.output}"


@pytest.mark.parametrize("line", [line for line in using_it_examples() if "--channel" in line])
def test_every_example_channel_id_is_one_the_commands_accept(line: str) -> None:
    for channel in re.findall(r"--channel (\S+)", line):
        assert is_slack_channel_id(channel), line  # the commands' own rule, not a copy of it
