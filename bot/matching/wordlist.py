"""Real words of Dutch, English and French, so typo repair leaves them alone.

A query word the register does not contain is repaired to the closest register word ("wijkwerkng" ->
"wijkwerking") — unless it is a real word: "leven" must not become "Leuven", nor "lichtvervuiling"
"luchtvervuiling", nor "werving" "werking". A word the register lacks is a gap in the register, not a typo, and
repairing it invents a match (a question about light pollution answered with an air-quality expert).

The word lists come from the ``pyspellchecker`` package (MIT; frequency lists built from OpenSubtitles, completed
with a dictionary's words at the lowest count), when it is installed; without it nothing counts as real and every
unknown word may be repaired. A word is real (:func:`is_real_word`) when

* it is a **common** word (:func:`common_words`: at least ``MIN_FREQUENCY`` occurrences in one language's list);
* it is **in a list at all** and long enough that a chance typo is unlikely to land on a listed word: a random
  single edit (insertion, deletion, substitution, transposition) of a register word of 7+ letters is a listed
  Dutch word about 1 % of the time (0.6 % at 8 letters), of a 6-letter word 3 % — 1 % when only the words seen
  ``MIN_FREQUENCY_SHORT`` times count; 5-letter words stay at ``MIN_FREQUENCY`` (measured on the demo register's
  and a second register's vocabulary);
* it is a Dutch **compound of real words**: it splits fully into common Dutch words of 4+ letters and the shipped
  policy morphemes (with linking -s-/-en-/-e-), e.g. "stadsbos" = stad + bos, "weesfietsen" = wees + fietsen.

A word that is in a list at all but too short or rare to be trusted on its own (:func:`in_a_list`: "aanval",
"weert", "maires", but also the lists' noise such as "frist") is repaired into another word only when the rest of
the question vouches for the repair, like a real word.

A real word may still meet a register word through a *related form* (:func:`related_form`): "digitaliseren" ->
"digitalisering", "aanpakt" -> "aanpak"; through an edit that changes its meaning only when the rest of the question
vouches for it ("ontharing pleinen" -> "ontharding", see ``QueryParser._fix`` in ``bot.matching.query``).
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from bot.matching.analysis import CompoundSplitter, fold, load_list, stopwords

LANGUAGES = ("nl", "en", "fr")
MIN_FREQUENCY = 500  # pyspellchecker counts; rarer short entries include names, typos and noise
MIN_FREQUENCY_SHORT = 200  # a 6-letter word counts as real from this count on
MIN_LISTED_LENGTH = 7  # from this length on, any listed word is real (chance typos rarely land on one)
MIN_COMPOUND_PART = 4  # common words shorter than this are no compound parts ("een", "het" …)


def _counts(lang: str) -> dict[str, int]:
    """One language's words and their counts (not folded), or nothing without the package."""
    try:
        raw = resources.files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return {}
    counts: dict[str, int] = json.loads(gzip.decompress(raw))
    return counts


class _Lists:
    """Common words of any language and of Dutch, and the hashes of the other listed words long or frequent enough
    to count as real, Dutch and other (sorted arrays: half a million words take 4 MB instead of 50 as strings;
    ``hash`` is stable within the process, and a collision among 2**64 values is negligible)."""

    def __init__(self) -> None:
        common: set[str] = set()
        common_nl: set[str] = set()
        listed: dict[bool, list[int]] = {True: [], False: []}
        rare: dict[bool, list[int]] = {True: [], False: []}  # the other listed words: short and seen rarely
        short = MIN_LISTED_LENGTH - 1
        for lang in LANGUAGES:
            nl = lang == "nl"
            for w, n in _counts(lang).items():
                if n >= MIN_FREQUENCY:
                    f = fold(w)
                    common.add(f)
                    if nl:
                        common_nl.add(f)
                elif len(w) > short or (len(w) == short and n >= MIN_FREQUENCY_SHORT):
                    listed[nl].append(hash(w.lower() if w.isascii() else fold(w)))
                else:
                    rare[nl].append(hash(w.lower() if w.isascii() else fold(w)))
        self.common = frozenset(common)
        self.common_nl = frozenset(common_nl)
        self.listed_nl = np.unique(np.array(listed[True], dtype=np.int64))  # sorted
        self.listed_other = np.unique(np.array(listed[False], dtype=np.int64))
        self.rare_nl = np.unique(np.array(rare[True], dtype=np.int64))
        self.rare_other = np.unique(np.array(rare[False], dtype=np.int64))

    @staticmethod
    def has(hashes: npt.NDArray[np.int64], word: str) -> bool:
        h = hash(word)
        i = int(np.searchsorted(hashes, h))
        return i < len(hashes) and int(hashes[i]) == h


@cache
def _lists() -> _Lists:
    return _Lists()


def common_words() -> frozenset[str]:
    """Folded words with at least ``MIN_FREQUENCY`` occurrences in any of the three languages' lists."""
    return _lists().common


def listed_word(word: str) -> bool:
    """``word`` (folded) is in a language's list and long or frequent enough to be no chance typo."""
    lists = _lists()
    return word in lists.common or lists.has(lists.listed_nl, word) or lists.has(lists.listed_other, word)


def in_a_list(word: str, *, dutch: bool = False) -> bool:
    """``word`` (folded) is in a language's list at all (only Dutch's with ``dutch``), however short or rare: a
    word that may be real, so repairing it into another word needs the rest of the question to vouch for the repair
    ("aanval" is no typo of "aantal", nor "pacht" of "acht", "weert" of "weegt" or "maires" of "aires"), although
    it may be noise of the lists ("frist" for "first")."""
    lists = _lists()
    if dutch:
        return is_dutch_word(word) or lists.has(lists.rare_nl, word)
    return is_real_word(word) or lists.has(lists.rare_nl, word) or lists.has(lists.rare_other, word)


@cache
def _splitter() -> CompoundSplitter:
    """A compound splitter over common Dutch words and the shipped policy morphemes only: the register's own words
    play no part, so whether a word is real does not depend on who is in the register."""
    parts = [w for w in _lists().common_nl if len(w) >= MIN_COMPOUND_PART and w.isalpha()]
    return CompoundSplitter((*load_list("morphemes_nl.txt"), *parts), stop=stopwords())


def real_compound(word: str) -> tuple[str, ...]:
    """The smallest parts of ``word`` in order when it splits fully into common Dutch words and policy morphemes
    (the last one as written, plural and all), else ``()``."""
    parts = _splitter().leaves(word)
    return tuple(parts) if len(parts) > 1 else ()


def is_dutch_word(word: str) -> bool:
    """``word`` (folded) is a real Dutch word: listed (see :func:`listed_word`) or a compound of real words."""
    lists = _lists()
    return word in lists.common_nl or lists.has(lists.listed_nl, word) or bool(real_compound(word))


def is_real_word(word: str) -> bool:
    """``word`` (folded) is a real word of Dutch, English or French: never a typo to repair."""
    return word.isalpha() and (listed_word(word) or bool(real_compound(word)))


# inflection and derivation endings of Dutch, French and English that a word and another form of it may differ in
# (digitaliser|en ~ digitaliser|ing, aanpak|t ~ aanpak, subsid|es ~ subsid|ies, gentrificati|on ~ gentrificati|e)
RELATED_ENDINGS = frozenset(
    {
        *("", "e", "s", "t", "d", "n", "en", "es", "de", "te", "den", "ten", "er", "ers", "eren", "ing", "ingen"),
        *("ie", "ies", "ien", "ion", "ions", "on", "atie", "aties", "ation", "ations", "ed", "ing", "ings"),
    }
)
MIN_RELATED_ROOT = 4  # the shared beginning of two forms: at least this long and half the word


def related_form(word: str, other: str) -> bool:
    """``other`` is another form of ``word``: the two share a root (at least half of ``word``) and differ only in
    their endings. "verdringen" and "verdrinken", "buurtwegen" and "buurtwerk", "stadsbos" and "stadsbussen" are
    different words however close they are."""
    shared = 0
    for a, b in zip(word, other, strict=False):
        if a != b:
            break
        shared += 1
    least = max(MIN_RELATED_ROOT, (len(word) + 1) // 2)
    return any(_ending(word, k) and _ending(other, k) for k in range(shared, least - 1, -1))


def _ending(word: str, k: int) -> bool:
    """``word[k:]`` is an ending after the root ``word[:k]``, also with the root's last consonant doubled (uitleg|gen)
    or a final s/f voiced to z/v (ziekenhui|s ~ ziekenhui|zen, wegwij|s ~ wegwij|zer)."""
    rest = word[k:]
    if rest in RELATED_ENDINGS:
        return True
    return len(rest) > 1 and (rest[0] == word[k - 1] or rest[0] in "zv") and rest[1:] in RELATED_ENDINGS


_VOWELS = frozenset("aeiou")
MIN_VERB_STEM = 4  # "krijg", "stuur", "meld": shorter stems ("zie", "ga") are mostly stop words or ambiguous


def verb_forms(word: str) -> tuple[str, ...]:
    """The other present-tense form of a Dutch verb: the first person's stem and the second and third person's stem
    + t ("krijg" ~ "krijgt", "verwijder" ~ "verwijdert", "stuur" ~ "stuurt"), which the stemmer keeps apart. Only
    when both forms are listed Dutch words and the stem has a listed infinitive (krijg|en, stur|en, zett|en, lez|en),
    so a noun that ends in t ("kaart", "markt") or meets another noun with a t ("plan" ~ "plant": no "planen") is
    left alone. ``()`` otherwise."""
    if not word.isalpha():
        return ()
    stem_form = word[:-1] if word.endswith("t") else word
    other = word[:-1] if word.endswith("t") else word + "t"
    if len(stem_form) < MIN_VERB_STEM or stem_form.endswith("t") or stem_form[-1] in _VOWELS:
        return ()
    if not (is_dutch_word(word) and is_dutch_word(other)):
        return ()
    return (other,) if any(is_dutch_word(inf) for inf in _infinitives(stem_form)) else ()


def _infinitives(stem: str) -> tuple[str, ...]:
    """Spellings the infinitive of a verb with this present-tense stem can have: stem + en (krijg|en), a long vowel
    written once in the open syllable (stuur ~ sturen), a short vowel's consonant doubled (stop ~ stoppen), a final
    f/s voiced (leef ~ leven, lees ~ lezen)."""
    out = [stem + "en"]
    body, last = stem[:-1], stem[-1]
    if len(body) >= 2 and body[-1] == body[-2] and body[-1] in _VOWELS:
        body = body[:-1]  # stuur -> stur
    voiced = {"f": "v", "s": "z"}.get(last, last)
    out.append(body + voiced + "en")
    if stem[-2] in _VOWELS and (len(stem) < 3 or stem[-3] not in _VOWELS):
        out.append(stem + last + "en")  # stop -> stoppen
    return tuple(dict.fromkeys(out))
