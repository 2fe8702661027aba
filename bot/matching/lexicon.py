"""Controlled vocabulary: themes, places (cities and organisations) and the synonym glossary.

Everything is keyed on *stem sequences* of content words, so "sociale huisvesting" and "Sociale Huisvesting!" or
"huurwoningen"/"huurwoning" look the same. Theme triggers are a theme's key, its labels, the comma/"en"/"and"
separated parts of its labels ("Klimaat, energie en milieu" -> klimaat, energie, milieu) and its synonyms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.matching.analysis import fold, load_list, stopwords, tokenize
from bot.matching.documents import PlaceDoc, ThemeDoc

Phrase = tuple[str, ...]
# A place alias made only of these words ("'t Stad" for Antwerpen) would turn every "stad" into a city: skipped.
_GENERIC_PLACE_WORDS = frozenset({"stad", "steden", "city", "ville", "gemeente", "commune", "ocmw", "cpas", "dorp"})
_LABEL_SPLIT = re.compile(r"\s*(?:,|;|/|&|\+|\ben\b|\band\b|\bet\b)\s*")


@dataclass(frozen=True, slots=True)
class Entry:
    """One phrase of a synonym group: its stems and how to show it."""

    stems: Phrase
    text: str


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    start: int
    end: int
    place: PlaceDoc


class Lexicon:
    def __init__(
        self,
        stem: Callable[[str], str],
        themes: Sequence[ThemeDoc],
        places: Sequence[PlaceDoc],
        glossary: Iterable[str] | None = None,
    ) -> None:
        self._stem = stem
        self._stop = stopwords()
        self.words: set[str] = set()  # folded surface words, for typo repair
        # places
        self.places: dict[Phrase, PlaceDoc] = {}
        self.city_names: dict[str, str] = {}  # folded name or alias -> canonical city name
        self.org_places: dict[Phrase, PlaceDoc] = {}
        for p in places:
            for name in (p.name, *p.aliases):
                key = self.key(name)
                if not key or all(w in _GENERIC_PLACE_WORDS for w in words_of(name) if len(w) > 1):
                    continue
                # a city wins over an organisation with the same name
                if key not in self.places or p.kind == "city":
                    self.places[key] = p
                if p.kind == "city":
                    self.city_names[" ".join(words_of(name))] = p.name
                else:
                    self.org_places[key] = p
        self._place_max = max((len(k) for k in self.places), default=0)
        # glossary
        self.groups: list[tuple[Entry, ...]] = []
        self.group_index: dict[Phrase, list[int]] = {}
        self.word_groups: dict[str, list[int]] = {}  # stem -> groups with a multi-word entry containing it
        for line in load_list("synonyms.txt") if glossary is None else glossary:
            self._add_group([x for x in line.split("|") if x.strip()])
        self.themes: dict[str, ThemeDoc] = {}
        self.theme_index: dict[Phrase, set[str]] = {}
        self.theme_triggers: dict[str, tuple[Entry, ...]] = {}
        self.theme_names: set[tuple[Phrase, str]] = set()  # (trigger, key) where the trigger names the theme itself
        self._fragments: dict[str, tuple[Phrase, ...]] | None = None  # see fragment_of
        self.set_themes(themes)

    # ------------------------------------------------------------------ building
    def key(self, text: str) -> Phrase:
        """Stem sequence of the content words of ``text``."""
        ws = [w for w in tokenize(fold(text)) if w not in self._stop]
        self.words.update(ws)
        return tuple(self._stem(w) for w in ws)

    def _add_group(self, entries: Sequence[str]) -> None:
        group: list[Entry] = []
        seen: set[Phrase] = set()
        for raw in entries:
            key = self.key(raw)
            if key and key not in seen:
                seen.add(key)
                group.append(Entry(key, " ".join(words_of(raw))))
        if len(group) < 2:
            return
        gid = len(self.groups)
        self.groups.append(tuple(group))
        for e in group:
            self.group_index.setdefault(e.stems, []).append(gid)
            if len(e.stems) > 1:
                for st in e.stems:
                    ids = self.word_groups.setdefault(st, [])
                    if gid not in ids:
                        ids.append(gid)

    def set_themes(self, themes: Sequence[ThemeDoc]) -> None:
        self.themes = {t.key: t for t in themes}
        self.theme_index = {}
        self.theme_triggers = {}
        self.theme_names = set()
        for t in themes:
            names = [t.key.replace("-", " "), t.label_nl, t.label_en]
            for label in (t.label_nl, t.label_en):
                names.extend(x for x in _LABEL_SPLIT.split(fold(label)) if x.strip())
            entries: list[Entry] = []
            seen: set[Phrase] = set()
            for i, text in enumerate([*names, *t.synonyms]):
                key = self.key(text)
                if i < len(names) and key:
                    self.theme_names.add((key, t.key))
                if key and key not in seen:
                    seen.add(key)
                    entries.append(Entry(key, " ".join(words_of(text))))
                    self.theme_index.setdefault(key, set()).add(t.key)
            self.theme_triggers[t.key] = tuple(entries)
        self._max_phrase = max([len(k) for k in self.theme_index] + [len(k) for k in self.group_index] + [1])
        self._fragments = None

    def entries(self) -> list[Entry]:
        """Every glossary entry and every theme's name and synonyms."""
        return [e for group in self.groups for e in group] + [e for ring in self.theme_triggers.values() for e in ring]

    def fragment_of(self, stem: str) -> tuple[Phrase, ...]:
        """The multi-word phrases (glossary entries, theme names, places) holding ``stem`` when it is a word of such
        phrases only, no phrase of its own ("first" of "housing first", "aanleg" of "bijzonder plan van aanleg");
        empty otherwise. Such a word stands for its phrase, not for a topic of its own."""
        if self._fragments is None:
            phrases = [*self.group_index, *self.theme_index, *self.places]
            single = {p[0] for p in phrases if len(p) == 1}
            found: dict[str, list[Phrase]] = {}
            for p in phrases:
                if len(p) > 1:
                    for st in dict.fromkeys(p):
                        if st not in single:
                            found.setdefault(st, []).append(p)
            self._fragments = {st: tuple(dict.fromkeys(ps)) for st, ps in found.items()}
        return self._fragments.get(stem, ())

    # ------------------------------------------------------------------ matching
    def match_places(self, stems: Sequence[str]) -> list[PlaceMatch]:
        """Greedy longest-first, non-overlapping place mentions in a stem sequence."""
        out: list[PlaceMatch] = []
        i, n = 0, len(stems)
        while i < n:
            for size in range(min(self._place_max, n - i), 0, -1):
                p = self.places.get(tuple(stems[i : i + size]))
                if p is not None:
                    out.append(PlaceMatch(i, i + size, p))
                    i += size
                    break
            else:
                i += 1
        return out

    def match_themes(self, stems: Sequence[str]) -> list[tuple[int, int, str]]:
        """Every (start, end, theme key) where a theme trigger occurs (overlaps allowed)."""
        out: list[tuple[int, int, str]] = []
        n = len(stems)
        for i in range(n):
            for size in range(1, min(self._max_phrase, n - i) + 1):
                keys = self.theme_index.get(tuple(stems[i : i + size]))
                if keys:
                    out.extend((i, i + size, k) for k in sorted(keys))
        return out

    def match_groups(self, stems: Sequence[str]) -> list[tuple[int, int, list[int]]]:
        """Greedy longest-first synonym phrases: (start, end, group ids)."""
        out: list[tuple[int, int, list[int]]] = []
        i, n = 0, len(stems)
        while i < n:
            for size in range(min(self._max_phrase, n - i), 0, -1):
                gids = self.group_index.get(tuple(stems[i : i + size]))
                if gids:
                    out.append((i, i + size, gids))
                    i += size
                    break
            else:
                i += 1
        return out

    def canonical_city(self, city: str) -> str:
        """The register's name for a city as written in a document ("Ghent" -> "Gent"); folded text otherwise."""
        folded = " ".join(words_of(city))
        return self.city_names.get(folded, folded)

    def organisations_in(self, text: str) -> frozenset[str]:
        """Names of the organisations (places of kind organisation) mentioned in ``text``."""
        if not text or not self.org_places:
            return frozenset()
        stems = [self._stem(w) for w in tokenize(fold(text)) if w not in self._stop]
        found = {m.place.name for m in self.match_places(stems) if m.place.kind != "city"}
        # an organisation written exactly like its name but shadowed by a city alias
        key = tuple(stems)
        if key in self.org_places:
            found.add(self.org_places[key].name)
        return frozenset(found)


def words_of(text: str) -> list[str]:
    return tokenize(fold(text))
