"""A sub-command of ``/wieweet`` mistyped (``behoefte``, ``rapportt``, ``helpp``, ``help me``, ``praktijken``): the
person meant the sub-command, so they are asked "did you mean …" instead of getting a "who knows" search of the
word (which, matching nobody, would also be recorded as a knowledge gap).

Only a short text that looks like a command is taken for one: at most three words, no question mark, its first
word(s) within a small edit distance of a sub-command and everything after them a sub-command's argument (a
period, ``uit``, ``voorbeeld``) or a filler (``me``, ``aub``). A real question that starts with a word close to a
sub-command ("praktijken rond zwerfkatten", "vragen over de leegstandsheffing?", "beheer van begraafplaatsen")
is a question. Pure: decided from the text before the ack, like ``is_question``.
"""

from __future__ import annotations

from collections.abc import Collection

from rapidfuzz.distance import Levenshtein

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
        distance = Levenshtein.distance(head, command, score_cutoff=limit)
        if distance <= limit:  # also the exact word with a filler ("help me") or punctuation ("help!")
            found.append((distance, -size, command))
    return min(found)[2] if found else None
