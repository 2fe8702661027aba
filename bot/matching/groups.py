"""A parsed question: its weighted term groups, and each index term counted for one group only.

:class:`bot.matching.query.QueryParser` makes a :class:`ParsedQuery` of a chat question: a :class:`Group` per content
word (plus one per recognised theme), each holding *variants* — the word's stem, its compound parts, its typo repair,
its synonyms — with a weight. A document's score for a group is its best variant's contribution (DisMax), and
:func:`count_once` keeps an index term reached through several words' expansions with one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.matching.lexicon import Entry

THEME_PREFIX = "§"  # theme keys are indexed as "§wonen" in the themes field; no token can start with it


@dataclass(frozen=True, slots=True)
class Variant:
    terms: tuple[str, ...]  # index terms; several terms share the weight (compound parts, multi-word synonyms)
    weight: float
    kind: str  # exact | compound | synonym | related (another name of a recognised theme) | typo | cognate | theme
    target: str  # what the variant stands for, for explanations (repaired word, synonym text, theme label)
    # a multi-word synonym matches a document only with all its words: "lokaal woonbeleid" is no evidence for a
    # document that merely says "lokale"
    whole: bool = False
    # the question's words the variant came from when they are more than the group's own word (a glossary phrase
    # "social rental agency", the words of a rough translation): what a reason names as its origin
    source: str = ""
    # a rough translation of a lone word found inside a multi-word glossary entry: named so in reasons
    rough: bool = False


@dataclass(slots=True)
class Group:
    original: str  # the query word (folded) or the theme trigger
    word: str  # the word used (repaired if it was a typo)
    variants: list[Variant] = field(default_factory=list)
    theme: str = ""  # theme key for a theme group
    concepts: int = 0  # bit mask of the query words (concepts) this group stands for, for query-term coverage

    def add(self, v: Variant) -> None:
        for i, old in enumerate(self.variants):
            if old.terms == v.terms:
                if v.weight > old.weight:
                    self.variants[i] = v
                return
        self.variants.append(v)

    def add_all(self, vs: Iterable[Variant]) -> None:
        """``add`` each of ``vs`` in turn (a theme's ~60 other names: one look-up each instead of a scan)."""
        variants = self.variants
        at: dict[tuple[str, ...], int] = {}
        for i, old in enumerate(variants):
            at.setdefault(old.terms, i)
        for v in vs:
            j = at.get(v.terms)
            if j is None:
                at[v.terms] = len(variants)
                variants.append(v)
            elif v.weight > variants[j].weight:
                variants[j] = v


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    groups: tuple[Group, ...]
    cities: tuple[str, ...]
    organisations: tuple[str, ...]
    themes: tuple[str, ...]
    terms: tuple[str, ...]
    repairs: tuple[tuple[str, str], ...]
    cognates: frozenset[str] = frozenset()  # originals of repairs that are cognates, not typos
    concepts: int = 0  # number of distinct query concepts (content words left after places), for coverage
    # the question with its context words when they were left out of this one (MatchConfig.context_words and
    # context_words_in_gap): parsed as with the option off, for the gap decision's features
    whole: ParsedQuery | None = None


def synonym(entry: Entry, weight: float, kind: str = "synonym", source: str = "") -> Variant:
    """A glossary synonym (``synonym``) or another name of a recognised theme (``related``); ``source``: the
    question's words it came from when more than one."""
    return Variant(entry.stems, weight, kind, entry.text, whole=len(entry.stems) > 1, source=source)


def _term_owners(groups: list[Group]) -> tuple[dict[str, int], dict[tuple[str, ...], set[int]]]:
    """For ``count_once``: the group each index term stays with, and the groups each expansion appears in."""
    owner: dict[str, tuple[tuple[bool, float], int]] = {}
    seen_in: dict[tuple[str, ...], set[int]] = {}
    for gi, g in enumerate(groups):
        for v in g.variants:
            seen_in.setdefault(v.terms, set()).add(gi)
            rank = (v.kind == "exact", v.weight / len(v.terms))
            for t in v.terms:
                got = owner.get(t)
                if got is None or rank > got[0]:
                    owner[t] = (rank, gi)
    return {t: gi for t, (_, gi) in owner.items()}, seen_in


def count_once(groups: list[Group]) -> None:
    """An index term reached through the expansions of several query words counts for one of them only.

    "schuldhulp energieschulden": both words split into parts containing "schuld"; a document that only says
    "schuld" would otherwise earn it twice (and cover two concepts). Each term stays with the group where it weighs
    most (a word's own stem beats any expansion; then the highest weight per term; then the earlier word) and is
    taken out of the other groups' expansions (a multi-term variant keeps its per-term share). The same expansion
    attached to every word of a recognised phrase (a glossary phrase's synonyms) stands for the phrase and is kept.
    """
    if len(groups) < 2:
        return
    owner, seen_in = _term_owners(groups)
    for gi, g in enumerate(groups):
        kept: list[Variant] = []
        for v in g.variants:
            if v.kind == "exact" or len(seen_in[v.terms]) > 1:
                kept.append(v)
                continue
            mine = tuple(t for t in v.terms if owner[t] == gi)
            if len(mine) == len(v.terms):
                kept.append(v)
            elif mine and not v.whole:  # a multi-word synonym is all or nothing
                kept.append(Variant(mine, v.weight * len(mine) / len(v.terms), v.kind, v.target))
        g.variants = kept
