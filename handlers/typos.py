"""A sub-command of ``/wieweet`` mistyped (``behoefte``, ``rapportt``, ``helpp``, ``hlep``, ``help me``,
``praktijken``): the person meant the sub-command, so they are asked "did you mean …" instead of getting a "who
knows" search of the word (which, matching nobody, would also be recorded as a knowledge gap). The same holds for a
mention or a DM (``@wieweet behoefte``, ``@wieweet help``): it has no sub-commands of its own, so a sub-command
typed there, exactly or nearly, is pointed to ``/wieweet`` (``meant_command``) rather than searched.

Only a short text that looks like a command is taken for one: at most three words, no question mark, its first
word(s) within a small edit distance of a sub-command and everything after them a sub-command's argument (a
period, ``uit``, ``voorbeeld``) or a filler (``me``, ``aub``). A real question that starts with a word close to a
sub-command ("praktijken rond zwerfkatten", "vragen over de leegstandsheffing?", "beheer van begraafplaatsen")
is a question. A transposition (``hlep``, ``diegst``) is one edit. Pure: decided from the text alone.
"""

from __future__ import annotations

from collections.abc import Collection

from rapidfuzz.distance import OSA

from handlers.digests import DIGEST_WORDS, OFF_WORDS, PREVIEW_WORDS, is_digest_command
from handlers.needs import NEEDS_WORDS, REPORT_WORDS, is_needs_command
from handlers.practices import PRACTICE_WORDS, is_practice_command
from handlers.privacy import EXPORT_WORDS, FORGET_WORDS, is_privacy_command
from handlers.profiles import PROFILE_WORDS, parse_profile_command
from handlers.routing import ASK_WORDS, MINE_WORDS, is_routing_command
from handlers.services import Services

HELP_WORDS = frozenset({"", "help", "hulp", "?", "aide"})
MAX_WORDS = 3
FILLERS = frozenset({"me", "mij", "mee", "please", "pls", "aub", "a.u.b", "svp", "graag", "nu", "now", "moi"})
PUNCTUATION = ".,:;!'\"`*_"


def distance_limit(command: str) -> int:
    """Edits allowed: none for a word shorter than 4 letters, 1 up to 5 letters, 2 for longer ones."""
    if len(command) < 4:
        return 0
    return 1 if len(command) <= 5 else 2


def _argument(word: str, arguments: Collection[str]) -> bool:
    """A sub-command's argument word, a filler, or a short token with a digit (a period: ``2026-Q4``, ``q3``)."""
    return word in arguments or word in FILLERS or (len(word) <= 10 and any(c.isdigit() for c in word))


def suggest_command(text: str, commands: Collection[str], *, arguments: Collection[str] = ()) -> str | None:
    """The sub-command ``text`` most likely meant (one of ``commands``, lower case, one or more words), or None
    when ``text`` does not look like a command (then it is a question). Asked only of a text that is no
    sub-command itself."""
    if "?" in text:
        return None
    words = [w.strip(PUNCTUATION) for w in text.casefold().split()]
    words = [w for w in words if w]
    if not words or len(words) > MAX_WORDS:
        return None
    found: list[tuple[int, int, str]] = []
    for command in commands:
        size = len(command.split())
        if size > len(words):
            continue
        head, rest = " ".join(words[:size]), words[size:]
        if not all(_argument(w, arguments) for w in rest):
            continue
        limit = distance_limit(command)
        distance = OSA.distance(head, command, score_cutoff=limit)
        if distance <= limit:  # also the exact word with a filler ("help me") or punctuation ("help!")
            found.append((distance, -size, command))
    return min(found)[2] if found else None


def is_subcommand(services: Services, text: str) -> bool:
    """Whether ``text`` is a sub-command of ``/wieweet`` among the features this process offers."""
    if text.casefold() in HELP_WORDS:
        return True
    subcommands = [is_digest_command, is_practice_command, is_privacy_command]
    subcommands.append(lambda text: parse_profile_command(text) is not None)
    if services.needs is not None:
        subcommands.append(is_needs_command)
    if services.routing is not None:
        subcommands.append(is_routing_command)
    return any(sub(text) for sub in subcommands)


def meant_command(services: Services, text: str) -> str | None:
    """The sub-command (of the features this process offers) that ``text`` is, or is a typo of, when ``text``
    looks like a command (``suggest_command``): ``help`` for ``help``, ``helpp`` and ``hlep``."""
    commands = {"help", "hulp", "aide", *DIGEST_WORDS, *PRACTICE_WORDS, *EXPORT_WORDS, *FORGET_WORDS}
    commands |= {*PROFILE_WORDS, "beheer", "admin"}
    arguments = {*OFF_WORDS, *PREVIEW_WORDS, "delen", "share"}
    if services.needs is not None:
        commands |= NEEDS_WORDS | REPORT_WORDS
    if services.routing is not None:
        commands |= ASK_WORDS | MINE_WORDS
    return suggest_command(text, commands, arguments=arguments)


def mistyped_command(services: Services, text: str) -> str | None:
    """The sub-command that ``text``, no sub-command itself, looks like a typo of (``behoefte``, ``helpp``,
    ``help me``). Pure, like ``handlers.commands.is_question``."""
    return None if is_subcommand(services, text) else meant_command(services, text)
