"""Common words of Dutch, English and French, so typo repair leaves real words alone.

A query word the register does not contain is repaired to the closest register word ("wijkwerkng" ->
"wijkwerking") — unless it is a common word of one of the three languages: "leven" must not become "Leuven".
The word frequencies come from the ``pyspellchecker`` package (MIT; frequency lists built from OpenSubtitles),
when it is installed; without it the set is empty and every unknown word may be repaired.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources

from bot.matching.analysis import fold

LANGUAGES = ("nl", "en", "fr")
MIN_FREQUENCY = 500  # pyspellchecker counts; rarer entries are mostly names, typos and noise


@cache
def common_words(min_frequency: int = MIN_FREQUENCY) -> frozenset[str]:
    """Folded words with at least ``min_frequency`` occurrences in any of the three languages' lists."""
    found: set[str] = set()
    for lang in LANGUAGES:
        try:
            raw = resources.files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            continue
        counts: dict[str, int] = json.loads(gzip.decompress(raw))
        found.update(fold(w) for w, n in counts.items() if n >= min_frequency)
    return frozenset(found)
