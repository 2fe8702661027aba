"""How far a question is in another language than the register's Dutch (the gap model's ``foreign`` feature).

A question's concept counts as *foreign* only when it is positively another language's word: in the English or
French word list (:func:`bot.matching.wordlist.is_other_language_word`) and neither a Dutch word nor a compound of
Dutch words (:func:`bot.matching.wordlist.is_dutch_word`; a typo judged as repaired). What is no word of any language
says nothing about the question's language and is left out of the share altogether (neither foreign nor Dutch):

* numbers, years and codes with a digit ("begroting 2025", "co2", "a12");
* tokens of one or two letters ("eu", "ai", "bv");
* acronyms: written in capitals in the question ("EU", "OCMW", "AI") or known to the register as one (initials of a
  register phrase or compound);
* names: places and organisations of the register, and words written with a capital inside a sentence ("Gent",
  "Airbnb" in "wie kent Airbnb in Gent?").

So "begroting 2025" reads 0.0, not 0.5, and "who knows about Airbnb in Ghent?" is judged by the words that carry a
language. A word that is in no list at all (a name the register does not know, a typo nothing repairs) is left out
too: an unknown word is no evidence of English or French.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.matching.analysis import fold
from bot.matching.wordlist import is_dutch_word, is_other_language_word

_RAW_TOKEN = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?]\s*$")
MAX_SHORT = 2  # tokens this short are initials or particles, no language's word


def written_as_names(text: str) -> frozenset[str]:
    """The folded tokens of ``text`` written as acronyms (two or more letters, every letter a capital: "EU",
    "OCMW", "CO2") or as names (a capital letter inside a sentence, not at its start: "Gent", "Airbnb")."""
    out: set[str] = set()
    for m in _RAW_TOKEN.finditer(text):
        tok = m.group()
        if not tok[0].isupper():
            continue
        acronym = len(tok) > 1 and tok.isupper()
        before = text[: m.start()].rstrip()
        inside = bool(before) and not _SENTENCE_END.search(before)
        if acronym or inside:
            out.add(fold(tok))
    return frozenset(out)


def carries_language(typed: str, *, name: Callable[[str], bool]) -> bool:
    """The concept ``typed`` (folded, as typed) can tell a language at all: no number or code, no one- or two-letter
    token, no acronym or name (``name``: the caller's knowledge of the question's capitals and the register)."""
    return len(typed) > MAX_SHORT and typed.isalpha() and not name(typed)


def foreign_share(words: Sequence[tuple[str, str]], *, name: Callable[[str], bool]) -> float:
    """The share of the concepts that are another language's word, among those that carry a language at all (0.0
    when none does). ``words``: per concept (as typed, as judged) — as judged is the repair of a typo, else as
    typed; ``name``: whether a typed concept is an acronym or a name (see :func:`carries_language`)."""
    judged = [w for typed, w in words if carries_language(typed, name=name)]
    if not judged:
        return 0.0
    return sum(1 for w in judged if is_other_language_word(w) and not is_dutch_word(w)) / len(judged)
