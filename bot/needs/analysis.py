"""Questions as weighted concept vectors, through the matcher's own query understanding.

A question (or knowledge gap) is read exactly as "who knows" reads it (``Matcher.analyse``): question framing and
stop words dropped, words folded and stemmed, typos repaired against the register's vocabulary, compounds split
into their parts, glossary synonyms and translations added, themes recognised, city names set aside. Each term
of that analysis becomes a dimension of a sparse vector: the word's own stem counts fully, its compound parts,
synonyms, typo repairs and theme less (``VectorWeights``). Two questions in other words ("leegstandsheffing" and
"vacancy tax on empty homes") share the glossary's terms; a typo ("leegstandsheffnig") is repaired first.

Nothing here touches the database or Slack; the vectors are cached per text (the same wording is analysed once).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from bot.errors import QueryError
from bot.matching.analysis import CompoundSplitter, Stemmer, fold, load_list, query_stopwords, stopwords
from bot.matching.query import THEME_PREFIX, ParsedQuery
from bot.matching.query import Group as QueryGroup

Analyse = Callable[[str], ParsedQuery]
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class VectorWeights:
    """How much each kind of term counts in a question's vector (the word itself counts 1)."""

    compound: float = 0.7  # each part of a compound word
    synonym: float = 0.6  # each word of a glossary synonym or translation
    typo: float = 0.9  # a repaired word (its repair is the word)
    cognate: float = 0.8  # a word matched to a register word by a shared prefix (gentrification -> gentrificatie)
    theme: float = 0.5  # a recognised theme
    # a word that says nothing about a topic on its own (the matcher's generic words: "stad", "beleid", "plan",
    # "city", "policy"): all its terms count this much
    generic: float = 0.3
    # Expansions the matcher weighs below this (a recognised theme's other names, a word found inside a longer
    # glossary phrase) are left out: they are broad (a theme has dozens of names) and blur topics together.
    min_expansion: float = 0.5
    share_expansions: float = 0.1  # a word's expansions are scaled by 1 / (their number) ** share_expansions


@dataclass(frozen=True, slots=True)
class Concepts:
    """One text's analysis: term weights (before IDF), its content words in order (readable), its themes."""

    terms: dict[str, float]
    words: tuple[str, ...]
    themes: tuple[str, ...]
    folded: tuple[str, ...] = ()  # the content words as analysed (folded, repaired)
    # per content word (concept): the word (folded), its own stem, and every term it stands for with its weight
    groups: tuple[tuple[str, str, tuple[tuple[str, float], ...]], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms


EMPTY = Concepts({}, (), ())


def generic_stems() -> frozenset[str]:
    """Stems of the matcher's generic words (``bot/matching/data/generic_words.txt``)."""
    stem = Stemmer()
    return frozenset(stem(w) for w in load_list("generic_words.txt"))


def readable_words(text: str, parsed_words: list[str]) -> tuple[str, ...]:
    """The content words as the asker wrote them (case and accents kept), or as repaired when misspelt."""
    surface: dict[str, str] = {}
    for raw in _WORD.findall(text):
        surface.setdefault(fold(raw), raw)
    return tuple(surface.get(w, w) for w in parsed_words)


class Vectoriser:
    """Turns texts into ``Concepts`` with the matcher's analysis (cached by text).

    ``per_word``: instead of analysing each text as a whole, analyse each distinct content word once (cached) and
    join the words' concepts — what makes 50,000 questions affordable (a whole-text analysis costs about a
    millisecond; a text of known words then costs a few microseconds). Multi-word glossary phrases ("vacancy
    tax") are then only found through their single words.
    """

    _CACHE_MAX = 400_000

    def __init__(
        self,
        analyse: Analyse,
        *,
        weights: VectorWeights | None = None,
        per_word: bool = True,
        phrase_words: frozenset[str] = frozenset(),
    ) -> None:
        self._analyse = analyse
        self._phrase_words = phrase_words
        self.weights = weights or VectorWeights()
        self.per_word = per_word
        self._cache: dict[str, Concepts] = {}
        self._words: dict[str, Concepts] = {}
        self._stop = query_stopwords()
        self._generic = generic_stems()

    def forget(self) -> None:
        """Drop every remembered analysis (an erasure: texts are keys; a text is analysed again when asked)."""
        self._cache = {}
        self._words = {}

    def _cached_word(self, key: str) -> Concepts:
        part = self._words.get(key)
        if part is None:
            part = self.concepts_of_text(key)
            if len(self._words) >= self._CACHE_MAX:
                self._words.clear()
            self._words[key] = part
        return part

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        """The text's content words once each, in order: (as written, folded)."""
        stop = self._stop
        tokens: list[tuple[str, str]] = []
        seen: set[str] = set()
        for raw in _WORD.findall(text):
            token = fold(raw)
            if len(token) >= 2 and token not in stop and token not in seen:
                seen.add(token)
                tokens.append((raw, token))
        return tokens

    def _phrases(self, tokens: list[tuple[str, str]]) -> list[tuple[Concepts, str]]:
        """Runs of words that occur in glossary phrases, analysed together ("vacancy tax", "housing first")."""
        phrase = self._phrase_words
        parts: list[tuple[Concepts, str]] = []
        run: list[str] = []
        for _, token in [*tokens, ("", "")]:
            if token and token in phrase:
                run.append(token)
                continue
            if len(run) > 1:
                parts.append((self._cached_word(" ".join(run)), ""))
            run = []
        return parts

    def _joined(self, text: str) -> Concepts:
        terms: dict[str, float] = {}
        readable: list[str] = []
        themes: list[str] = []
        groups: list[tuple[str, str, tuple[tuple[str, float], ...]]] = []
        tokens = self._tokens(text)
        parts = [(self._cached_word(token), raw) for raw, token in tokens]
        parts += self._phrases(tokens)
        for part, raw in parts:
            if part.empty:
                continue
            for t, w in part.terms.items():
                if w > terms.get(t, 0.0):
                    terms[t] = w
            if raw:
                readable.extend(raw if len(part.words) == 1 else r for r in part.words)
            themes.extend(k for k in part.themes if k not in themes)
            groups.extend(g for g in part.groups if g not in groups)
        folded = tuple(dict.fromkeys(g[0] for g in groups))
        return Concepts(terms, tuple(readable), tuple(themes), folded, tuple(groups))

    def concepts(self, text: str) -> Concepts:
        got = self._cache.get(text)
        if got is not None:
            return got
        if self.per_word:
            got = self._joined(text)
            if len(self._cache) >= self._CACHE_MAX:
                self._cache.clear()
            self._cache[text] = got
            return got
        return self.concepts_of_text(text)

    def concepts_of_text(self, text: str) -> Concepts:
        got = self._cache.get(text)
        if got is not None:
            return got
        try:
            parsed = self._analyse(text)
        except QueryError:
            got = EMPTY
        else:
            got = self._from_parsed(text, parsed)
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[text] = got
        return got

    def _from_parsed(self, text: str, parsed: ParsedQuery) -> Concepts:
        w = self.weights
        factor = {"exact": 1.0, "compound": w.compound, "synonym": w.synonym, "typo": w.typo, "cognate": w.cognate}
        terms: dict[str, float] = {}
        words: list[str] = []
        groups: list[tuple[str, str, tuple[tuple[str, float], ...]]] = []
        for group in parsed.groups:
            if group.theme:
                key = THEME_PREFIX + group.theme
                terms[key] = max(terms.get(key, 0.0), w.theme)
                continue
            if group.word not in words:
                words.append(group.word)
            scaled = self._group_terms(group, factor)
            for term, weight in scaled:
                if weight > terms.get(term, 0.0):
                    terms[term] = weight
            if scaled and group.variants:
                groups.append((group.word, group.variants[0].terms[0], tuple(scaled)))
        return Concepts(terms, readable_words(text, words), tuple(parsed.themes), tuple(words), tuple(groups))

    def _group_terms(self, group: QueryGroup, factor: Mapping[str, float]) -> list[tuple[str, float]]:
        """One content word's terms and weights. A word's expansions share one budget: a glossary group with ten
        translations is still one concept; a generic word counts little whatever it expands to."""
        w = self.weights
        own: dict[str, float] = {}
        for variant in group.variants:
            if variant.kind == "related" or (variant.kind == "synonym" and variant.weight < w.min_expansion):
                continue  # a recognised theme's other names, a word inside a longer phrase: too broad
            weight = factor.get(variant.kind, w.synonym)
            for term in variant.terms:
                if weight > own.get(term, 0.0):
                    own[term] = weight
        expansions = sum(1 for x in own.values() if x < 1.0)
        scale = expansions**-w.share_expansions if expansions > 1 else 1.0
        generic = w.generic if group.variants and group.variants[0].terms[0] in self._generic else 1.0
        return [(term, (raw if raw >= 1.0 else raw * scale) * generic) for term, raw in own.items()]


DICTIONARY_MIN_FREQUENCY = 100  # pyspellchecker counts (OpenSubtitles); rarer entries are mostly names and noise
DICTIONARY_MIN_LENGTH = 4


@cache
def dutch_words(
    min_frequency: int = DICTIONARY_MIN_FREQUENCY, min_length: int = DICTIONARY_MIN_LENGTH
) -> frozenset[str]:
    """Folded common Dutch words (``pyspellchecker``'s frequency list, as ``bot.matching.wordlist`` reads it): the
    parts compounds of everyday words are split into. Empty when the list cannot be read."""
    try:
        raw = resources.files("spellchecker").joinpath("resources", "nl.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return frozenset()
    counts: dict[str, int] = json.loads(gzip.decompress(raw))
    return frozenset(
        folded
        for word, n in counts.items()
        if n >= min_frequency and len(word) >= min_length and (folded := fold(word)).isalpha()
    )


LANGUAGES = ("nl", "en", "fr")
LANGUAGE_MIN_FREQUENCY = 1000  # the words the language guess knows: ~9,000 Dutch, ~19,000 English, ~9,500 French


@cache
def _language_words(min_frequency: int = LANGUAGE_MIN_FREQUENCY) -> dict[str, tuple[float, ...]]:
    """Folded word -> log relative frequency in each of ``LANGUAGES`` (pyspellchecker's lists); a language that
    does not list the word gets a value just below its rarest listed word."""
    logs: dict[str, list[float]] = {}
    floors: list[float] = []
    for i, lang in enumerate(LANGUAGES):
        try:
            raw = resources.files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            return {}
        counts: dict[str, int] = json.loads(gzip.decompress(raw))
        total = float(sum(counts.values())) or 1.0
        floor = math.log(min_frequency / total) - 1.0
        floors.append(floor)
        folded: dict[str, int] = {}
        for word, n in counts.items():
            if n >= min_frequency:
                key = fold(word)
                folded[key] = folded.get(key, 0) + n
        for word, n in folded.items():
            logs.setdefault(word, [math.nan] * len(LANGUAGES))[i] = math.log(n / total)
    return {w: tuple(floors[i] if math.isnan(x) else x for i, x in enumerate(v)) for w, v in logs.items()}


def detect_language(text: str, *, default: str = "nl") -> str:
    """The language ``text`` is most likely written in, of Dutch, English and French: the product of its known
    words' frequencies in each language (words no list knows — most Dutch compounds, codes — say nothing); the
    default when no word is known or two languages tie."""
    table = _language_words()
    if not table:
        return default
    scores = [0.0] * len(LANGUAGES)
    known = False
    for raw in _WORD.findall(text):
        row = table.get(fold(raw))
        if row is None:
            continue
        known = True
        for i, x in enumerate(row):
            scores[i] += x
    if not known:
        return default
    best = max(scores)
    winners = [lang for lang, score in zip(LANGUAGES, scores, strict=True) if score == best]
    return default if default in winners or len(winners) > 1 else winners[0]


class QuestionVocabulary:
    """Compound parts the register does not know but the questions and everyday Dutch do.

    The matcher splits compounds against the register's words; questions bring words of their own
    ("circulatieplan", "burgerbudget", "opendata", "hondenlosloopweide"). The matcher's ``CompoundSplitter`` is run
    once more with the words that stand alone in the questions of the run and with common Dutch words
    (``dutch_words``), so "opendataportaal" meets "open data", "kinderopvangplaatsen" meets "kinderopvang" and
    "bewonersparkeerkaart" meets "parkeerkaart". Parts found this way count as compound parts. The vocabulary is
    made anew for every run from the same inputs, so the same questions are always split the same way.
    """

    def __init__(
        self, texts: list[Concepts], *, weight: float, stemmer: Stemmer | None = None, dictionary: bool = True
    ) -> None:
        stop = stopwords()
        self._stem = stemmer or Stemmer()
        self._weight = weight
        self._splitter = CompoundSplitter(load_list("morphemes_nl.txt"), stop=stop)
        if dictionary:
            self._splitter.add_words(dutch_words())
        self._splitter.add_words(w for c in texts for w in c.folded)

    def extend(self, concepts: Concepts) -> Concepts:
        if not concepts.folded:
            return concepts
        extra: dict[str, float] = {}
        groups = list(concepts.groups)
        for i, (word, head, terms) in enumerate(groups):
            added: list[tuple[str, float]] = []
            for part in self._splitter.split(word):
                stem = self._stem(part)
                if stem not in concepts.terms and stem not in extra:
                    extra[stem] = self._weight
                    added.append((stem, self._weight))
            if added:
                groups[i] = (word, head, (*terms, *added))
        if not extra:
            return concepts
        return Concepts(
            {**concepts.terms, **extra},
            concepts.words,
            concepts.themes,
            concepts.folded,
            tuple(groups),
        )
