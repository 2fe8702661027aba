"""Typing slips: which letters a writer may strike for one another (keys next to each other on QWERTY or AZERTY,
letters that sound alike), so that the typo repair can tell a slip ("wonrn" for "wonen") from another word ("padel"
for "panel")."""

from __future__ import annotations

from collections.abc import Sequence

# QWERTY's and AZERTY's letter rows (Flemish writers use either): a slip strikes a key next to the one meant
QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
AZERTY = ("azertyuiop", "qsdfghjklm", "wxcvbn")
# letters that sound alike, which a misspelling swaps however far apart their keys are: any two vowels, and the
# consonant pairs of Dutch spelling doubts ("beleit", "kultuur", "fervoer", "reizen" ~ "reisen")
_SOUND_ALIKE = ("aeiouy", "dt", "sz", "fv", "ck", "cs", "bp")


def keys_next_to(layouts: Sequence[Sequence[str]] = (QWERTY, AZERTY)) -> dict[str, frozenset[str]]:
    """Letter -> the letters next to it (in its row or the row above or below, at most one key aside; rows taken as
    straight) on any of the keyboard ``layouts``."""
    near: dict[str, set[str]] = {}
    for rows in layouts:
        at = {c: (r, i) for r, row in enumerate(rows) for i, c in enumerate(row)}
        for a, (ra, ia) in at.items():
            near.setdefault(a, set()).update(
                b for b, (rb, ib) in at.items() if b != a and abs(ra - rb) <= 1 and abs(ia - ib) <= 1
            )
    return {c: frozenset(n) for c, n in near.items()}


def _keys_near() -> dict[str, frozenset[str]]:
    """Letter -> the letters a slip may put for it: a key next to it, or a letter that sounds alike."""
    near = {c: set(n) for c, n in keys_next_to().items()}
    for group in _SOUND_ALIKE:
        for a in group:
            near.setdefault(a, set()).update(b for b in group if b != a)
    return {c: frozenset(n) for c, n in near.items()}


_KEYS_NEAR = _keys_near()


def keyboard_slip(typed: str, fixed: str) -> bool:
    """Whether ``typed`` may be a slip for ``fixed``: a letter left out, added or two swapped, a key struck for one
    next to it ("wonrn" for "wonen") or a letter for one that sounds alike ("beleit" for "beleid", "pleen" for
    "plein"). Only a letter replaced by an unrelated one far from it on the keyboard (on QWERTY and AZERTY: "padel"
    for "panel") is no slip but more likely another word."""
    if len(typed) != len(fixed):
        return True
    diff = [i for i, (a, b) in enumerate(zip(typed, fixed, strict=True)) if a != b]
    if len(diff) != 1:
        return True  # a transposition, or more than one edit (long words)
    a, b = typed[diff[0]], fixed[diff[0]]
    return b in _KEYS_NEAR.get(a, frozenset()) or a not in _KEYS_NEAR or b not in _KEYS_NEAR
