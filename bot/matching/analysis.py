"""Text analysis for Dutch (Flemish) policy text, with English and French alongside.

The pipeline, used for documents and queries alike:

1. :func:`fold` — Unicode compatibility decomposition, case folding, accents removed ("Financiën" -> "financien",
   "ĳ" -> "ij", "œ" -> "oe"); lone surrogates and control characters disappear.
2. :func:`tokenize` — runs of letters/digits of any script; one-character tokens are dropped.
3. Stop words — Dutch, English and French lists shipped as module data (``data/stopwords_*.txt``); queries also drop
   question framing (``data/framing.txt``) and question-only words (``data/query_stopwords.txt``).
4. Compound splitting (:class:`CompoundSplitter`) — a compound is indexed as itself *and* its parts, found against a
   vocabulary of words that stand alone in the register plus a shipped list of policy morphemes
   (``data/morphemes_nl.txt``), with linking -s-/-en-/-e-.
5. Stemming (:class:`Stemmer`) — Snowball via PyStemmer. Which algorithm is used was decided by measurement on the
   evaluation set (``bench/eval_matching.py --stemmers``); see ``DEFAULT_STEMMER`` below for the numbers.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import Stemmer as PyStemmerModule

# Chosen by measurement: `python bench/eval_matching.py --stemmers` (150 queries, 103 experts; expert MRR@10 /
# Recall@3 / nDCG@5, practices MRR@10, all other settings at their defaults):
#   dutch_porter (the original Porter-style Dutch algorithm)   0.949 / 0.878 / 0.876   practices 0.920
#   dutch (Snowball 3: strips ge-, so gemeente -> "meen",      0.954 / 0.874 / 0.876   practices 0.918
#         kwaliteit -> "kwaal", gezondheid -> "zon", gebied -> "bied")
#   none                                                       0.944 / 0.859 / 0.860   practices 0.917
# The two Snowball variants tie on ranking; dutch_porter wins on Recall@3 and on gap detection (leave-one-out
# precision 0.92 vs 0.79), and it does not conflate unrelated words (gemeente/meen "to mean", gezondheid/zon "sun",
# kwaliteit/kwaal "ailment"), which the small evaluation set cannot show but a larger register would.
DEFAULT_STEMMER = "dutch_porter"
STEMMERS = ("dutch_porter", "dutch", "none")

_FOLD_TABLE = str.maketrans(
    {
        "œ": "oe",
        "Œ": "oe",
        "æ": "ae",
        "Æ": "ae",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "’": "'",
        "‘": "'",
    }
)
_TOKEN_RE = re.compile(r"[^\W_]+")
_MAX_TOKEN_LEN = 60

# the standard library's own regular expression parser (``_framing_starts``)
_re: Any = importlib.import_module("re._constants")
_re_parser: Any = importlib.import_module("re._parser")

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_FOLDED_CHARS: dict[str, str] = {}


def _fold_char(match: re.Match[str]) -> str:
    ch = match.group()
    got = _FOLDED_CHARS.get(ch)
    if got is None:
        decomposed = unicodedata.normalize("NFKD", ch.translate(_FOLD_TABLE).casefold())
        got = "".join(c for c in decomposed if not unicodedata.combining(c) and not "\ud800" <= c <= "\udfff")
        if len(_FOLDED_CHARS) < 100_000:
            _FOLDED_CHARS[ch] = got
    return got


def fold(text: str) -> str:
    """Lower-case, accent-free, compatibility-normalised form of ``text``.

    Character by character (NFKD, case folding, combining marks and surrogates dropped), with a cache per
    character, so the usual Dutch text with a few accents costs little more than ``str.lower``.
    """
    if text.isascii():
        return text.lower()
    return _NON_ASCII.sub(_fold_char, text).lower()


def tokenize(folded: str) -> list[str]:
    """Word tokens of already folded text (letters and digits of any script, at least two characters)."""
    return [t for t in _TOKEN_RE.findall(folded) if 1 < len(t) <= _MAX_TOKEN_LEN]


def words(text: str) -> list[str]:
    """``tokenize(fold(text))``."""
    return tokenize(fold(text))


@cache
def load_list(name: str) -> tuple[str, ...]:
    """Lines of a shipped data file (``bot/matching/data/<name>``), without comments and blank lines."""
    raw = resources.files("bot.matching").joinpath("data", name).read_text(encoding="utf-8")
    out: list[str] = []
    for raw_line in raw.splitlines():
        line = raw_line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return tuple(out)


@cache
def stopwords() -> frozenset[str]:
    """Stop words for documents and queries: Dutch, English and French."""
    found: set[str] = set()
    for name in ("stopwords_nl.txt", "stopwords_en.txt", "stopwords_fr.txt"):
        for line in load_list(name):
            found.update(words(line))
    return frozenset(found)


@cache
def query_stopwords() -> frozenset[str]:
    """Stop words plus words that only frame a question ("weet", "anyone", "expérience")."""
    found = set(stopwords())
    for line in load_list("query_stopwords.txt"):
        found.update(words(line))
    return frozenset(found)


@cache
def _framing_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(line) for line in load_list("framing.txt"))


@cache
def _framing_starts() -> tuple[tuple[frozenset[str], tuple[str, ...]] | None, ...]:
    """For each framing pattern, the words a match can start with: (whole first words, starts of a first word), or
    None when the pattern does not say (then it is always run). A pattern none of whose first words is among the
    tokens cannot match them, so ``_framing_mask`` skips it without running it."""
    return tuple(_match_starts(pattern.pattern) for pattern in _framing_patterns())


def _match_starts(pattern: str) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """The literal starts of the matches of ``pattern``, cut at the first space (a whole word) or at the first
    element that is not a literal character (the start of a word); None unless every match starts at a word
    boundary with at least one such character (and no flag of the whole pattern, "(?i)", changes what matches)."""
    parsed: Any = _re_parser.parse(pattern)
    items: list[Any] = list(parsed)
    if not items or items[0] != (_re.AT, _re.AT_BOUNDARY) or parsed.state.flags & ~_re.SRE_FLAG_UNICODE:
        return None
    whole: set[str] = set()
    partial: set[str] = set()
    paths: list[tuple[str, list[Any]]] = [("", items[1:])]
    while paths:
        if len(paths) > 1000:
            return None
        prefix, rest = paths.pop()
        following = _following(prefix, rest)
        if following is not None:
            paths.extend(following)
        elif not prefix:
            return None
        else:
            (whole if rest and rest[0] == (_re.LITERAL, ord(" ")) else partial).add(prefix)
    return frozenset(whole), tuple(sorted(partial))


def _following(prefix: str, rest: list[Any]) -> list[tuple[str, list[Any]]] | None:
    """``_match_starts``: the paths one parsed element further, or None where the literal start ends (a space, the
    end, any element that is not a literal character, a group, an alternative or a repeat)."""
    element: tuple[Any, Any] = rest[0] if rest else (None, None)
    op, av = element
    if op is _re.LITERAL and chr(av) != " ":
        return [(prefix + chr(av), rest[1:])]
    if op is _re.SUBPATTERN and not av[1] and not av[2]:  # a group without flags of its own
        return [(prefix, [*av[3], *rest[1:]])]
    if op is _re.BRANCH:
        return [(prefix, [*alt, *rest[1:]]) for alt in av[1]]
    if op in (_re.MAX_REPEAT, _re.MIN_REPEAT):
        low, high, sub = av
        after = rest[1:] if high == 1 else [(None, None)]  # a second repeat may follow: not followed further
        return [(prefix, [*sub, *after]), *([(prefix, rest[1:])] if low == 0 else [])]
    if op is _re.AT and prefix:
        return [(prefix, rest[1:])]
    return None


def _framing_mask(tokens: Sequence[str]) -> list[bool]:
    """For each folded token: True when it is question framing (``data/framing.txt``), else False.

    The patterns run in order on the tokens joined by single spaces, each on what the ones before it left; a
    pattern's matches start and end at word boundaries, so a token is framing when a match covers it.
    """
    framing = [False] * len(tokens)
    if not tokens:
        return framing
    kept = list(range(len(tokens)))
    text, starts = _spaced(tokens, kept)
    present = set(tokens)
    # a match starts at a token's start only when every token is word characters (``tokenize``); a token folded on
    # its own (``bot.needs.meaning``: "ŀ" -> "l·", "⑴" -> "(1)") may hold a word start inside: then every pattern runs
    skip = all(map(str.isalnum, tokens))
    for pattern, first in zip(_framing_patterns(), _framing_starts(), strict=True):
        if (
            skip
            and first is not None
            and first[0].isdisjoint(present)
            and not (first[1] and any(t.startswith(first[1]) for t in present))
        ):
            continue  # no token a match could start with: the pattern cannot match (``_framing_starts``)
        matches = list(pattern.finditer(text))
        if not matches:  # most patterns match nothing: the joined text is kept for the next one
            continue
        for match in matches:
            for position, i in enumerate(kept):
                start = starts[position]
                if start >= match.start() and start + len(tokens[i]) <= match.end():
                    framing[i] = True
        kept = [i for i, is_framing in enumerate(framing) if not is_framing]
        if not kept:
            break
        text, starts = _spaced(tokens, kept)
        present = {tokens[i] for i in kept}
    return framing


def _spaced(tokens: Sequence[str], kept: Sequence[int]) -> tuple[str, list[int]]:
    """The tokens at ``kept`` joined by single spaces, and where each starts in that text."""
    starts: list[int] = []
    offset = 0
    for i in kept:
        starts.append(offset)
        offset += len(tokens[i]) + 1
    return " ".join(tokens[i] for i in kept), starts


def strip_framing(tokens: list[str]) -> list[str]:
    """Remove question framing ("wie weet iets over", "does anyone know", "qui connaît") from folded tokens."""
    if not tokens:
        return tokens
    return [token for token, is_framing in zip(tokens, _framing_mask(tokens), strict=True) if not is_framing]


_OPENING = "\"'“‘«(["
_CLOSING = "\"'”’»)]"


def question_topic(text: str) -> str:
    """What a question is about, in the asker's own words: the question framing the matcher strips
    ("wie weet iets over", "does anyone know", "quelqu'un a de l'expérience avec") cut from the original text.

    The topic runs from the first to the last word that is neither framing nor, at its edges, a word that only
    frames a question (``query_stopwords``: "een", "ervaring", "les"; an acronym in capitals stays), with its
    original case, accents and punctuation ("Wie weet iets over leegstandsheffing?" -> "leegstandsheffing").
    Text without framing, or with nothing but framing, is returned as it was (trimmed).
    """
    original = unicodedata.normalize("NFC", text).strip()
    spans: list[tuple[int, int]] = []
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(original):
        for token in tokenize(fold(match.group())):
            spans.append((match.start(), match.end()))
            tokens.append(token)
    framing = _framing_mask(tokens)
    if not any(framing):
        return original
    content = [i for i, is_framing in enumerate(framing) if not is_framing]
    qstop = query_stopwords()

    def framing_word(i: int) -> bool:
        start, end = spans[i]
        return tokens[i] in qstop and not original[start:end].isupper()

    first = next((i for i in content if not framing_word(i)), None)
    last = next((i for i in reversed(content) if not framing_word(i)), None)
    if first is None or last is None:  # only question words left: keep them
        first, last = (content[0], content[-1]) if content else (None, None)
    if first is None or last is None or (first, last) == (0, len(tokens) - 1):
        return original
    start, end = spans[first][0], spans[last][1]
    while start > 0 and original[start - 1] in _OPENING:  # "Housing First" keeps its quotes
        start -= 1
    while end < len(original) and original[end] in _CLOSING:
        end += 1
    return original[start:end].strip() or original


class Stemmer:
    """Cached Snowball stemmer. ``algorithm`` is a PyStemmer algorithm name or ``"none"``.

    Only plain ASCII letter words are stemmed (numbers, codes and non-Latin words pass through unchanged).
    """

    _CACHE_MAX = 300_000

    def __init__(self, algorithm: str = DEFAULT_STEMMER) -> None:
        if algorithm not in STEMMERS:
            raise ValueError(f"unknown stemmer {algorithm!r}; expected one of {STEMMERS}")
        self.algorithm = algorithm
        self._impl = None if algorithm == "none" else PyStemmerModule.Stemmer(algorithm)
        if self._impl is not None:
            self._impl.maxCacheSize = 0  # cached below; PyStemmer's own cache makes a miss four times slower
        self._cache: dict[str, str] = {}

    def forget(self) -> None:  # an erasure: the words seen are keys (stems are made again, the same)
        self._cache.clear()

    def __call__(self, word: str) -> str:
        got = self._cache.get(word)
        if got is not None:
            return got
        if self._impl is not None and word.isascii() and word.isalpha() and len(word) > 3:
            stem: str = self._impl.stemWord(word)
            got = stem if len(stem) >= 2 else word
        else:
            got = word
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[word] = got
        return got


class CompoundSplitter:
    """Splits Dutch compounds into known parts.

    A part is a word that stands alone somewhere in the register (at least ``min_register_part`` letters) or a
    shipped policy morpheme (at least ``min_part`` letters); parts may be joined by a linking -s-, -en- or -e- (and
    -er-/-eren- after the few nouns that take it: kinderopvang, goederenvervoer), and the last part may carry a
    plural/inflection ending (-s, -en, -n, -e); a plural whose stem differs from the singular's (straten, huizen,
    brieven) is returned as the singular, so it meets the singular's stem in the index. Among all splits the one
    with the fewest parts, then the fewest linking elements, wins; each part is split again, so every level is
    returned.

    >>> s = CompoundSplitter(["woning", "kwaliteit", "controle", "leegstand", "heffing"])
    >>> s.split("woningkwaliteitscontrole")
    ('woning', 'kwaliteit', 'controle')
    >>> s.split("leegstandsheffingen")
    ('leegstand', 'heffingen')
    """

    LINKERS = ("", "s", "en", "e")
    ENDINGS = ("s", "en", "n", "e")
    # the few nouns that link (and form their plural) with -er-/-eren-: kinderopvang, eierdoos, goederenvervoer
    ER_HEADS = frozenset({"kind", "ei", "lied", "rund", "kalf", "blad", "goed", "volk", "been"})
    _LONG_VOWEL = re.compile(r"^(.*[^aeiou])([aeou])([^aeiouy])$")

    def __init__(
        self,
        morphemes: Iterable[str] = (),
        *,
        stop: frozenset[str] = frozenset(),
        min_part: int = 3,
        min_register_part: int = 4,
        min_word: int = 7,
        max_word: int = 40,
    ) -> None:
        self._stop = stop
        self._parts = {m for m in morphemes if len(m) >= min_part and m not in stop}
        self._max_part = max((len(m) for m in self._parts), default=0)
        self._min_part = min_part
        self._min_register_part = min_register_part
        self._min_word = min_word
        self._max_word = max_word
        # word -> (all parts, vocabulary version); word -> (best split one level deep, version). A split found is
        # kept; "no split" is retried once the vocabulary has grown, so updates never clear the caches.
        self._cache: dict[str, tuple[tuple[str, ...], int]] = {}
        self._top: dict[str, tuple[tuple[str, ...], int]] = {}
        self.version = 0  # bumped whenever the vocabulary grows
        # initials of the parts of every compound split so far -> the compounds ("wgc" -> wijkgezondheidscentrum)
        self.acronyms: dict[str, set[str]] = {}

    def add_words(self, new_words: Iterable[str]) -> bool:
        """Add standalone register words to the vocabulary; True when something new was learnt."""
        parts = self._parts
        before = len(parts)
        min_len = self._min_register_part
        stop = self._stop
        longest = self._max_part
        for w in new_words:
            if len(w) >= min_len and w not in parts and w.isalpha() and w not in stop:
                parts.add(w)
                longest = max(longest, len(w))
        self._max_part = longest
        if len(parts) == before:
            return False
        self.version += 1
        return True

    def forget_words(self, keep: set[str]) -> None:
        """An erasure: the parts and the cached splits of words not in ``keep`` go, and the splits into such parts."""
        gone = self._parts - keep
        self._parts -= gone
        for name in ("_cache", "_top"):
            held = getattr(self, name).items()
            setattr(self, name, {w: e for w, e in held if w in keep and gone.isdisjoint(e[0])})
        self.acronyms = {i: ws for i, found in self.acronyms.items() if (ws := found & keep)}

    def is_part(self, w: str) -> bool:
        return w in self._parts

    def leaves(self, word: str) -> list[str]:
        """The smallest parts of ``word`` in order (the word itself when it is no compound)."""
        top = self._top_split(word)
        if not top:
            return [word]
        out: list[str] = []
        for p in top:
            out.extend(self._top_split(p) or (p,))
        return out

    def split(self, word: str) -> tuple[str, ...]:
        """All parts (at every level) of ``word``, or ``()`` when it is not a known compound."""
        got = self._cache.get(word)
        if got is not None and (got[0] or got[1] == self.version):
            return got[0]
        parts: tuple[str, ...] = ()
        top = self._top_split(word)
        if top:
            found: list[str] = []
            leaves: list[str] = []
            for p in top:
                found.append(p)
                inner = self._top_split(p)
                found.extend(x for x in inner if x not in found)
                leaves.extend(inner or (p,))
            parts = tuple(found)
            for seq in (top, leaves):
                if 3 <= len(seq) <= 6:
                    self.acronyms.setdefault("".join(x[0] for x in seq), set()).add(word)
        if len(self._cache) > 300_000:
            self._cache.clear()
        self._cache[word] = (parts, self.version)
        return parts

    def _top_split(self, word: str) -> tuple[str, ...]:
        got = self._top.get(word)
        if got is not None and (got[0] or got[1] == self.version):
            return got[0]
        top: tuple[str, ...] = ()
        if self._min_word <= len(word) <= self._max_word and word.isalpha():
            best = self._best(word, 0, {})
            if best is not None and len(best[1]) >= 2:
                top = tuple(best[1])
        if len(self._top) > 300_000:
            self._top.clear()
        self._top[word] = (top, self.version)
        return top

    def _last_part(self, w: str) -> str | None:
        """``w`` as the last part of a compound: itself (the stemmer handles a plain -s/-en/-n/-e ending), its
        singular where the plural changes the stem (huizen -> huis), or None."""
        parts = self._parts
        if w in parts:
            return w
        for end in self.ENDINGS:
            if w.endswith(end) and len(w) - len(end) >= self._min_part and w[: -len(end)] in parts:
                return w
        if w.endswith("en") and len(w) > self._min_part + 2:
            for single in self.singulars(w):
                if single in parts:
                    return single
        return None

    @classmethod
    def singulars(cls, plural: str) -> list[str]:
        """Singular candidates of a Dutch -en/-eren plural beyond plain suffix removal: straten -> straat,
        huizen -> huis, brieven -> brief, kinderen -> kind."""
        out: list[str] = []
        base = plural[:-2]
        if plural.endswith("eren") and plural[:-4] in cls.ER_HEADS:
            out.append(plural[:-4])
        if base.endswith("z"):
            base = base[:-1] + "s"
        elif base.endswith("v"):
            base = base[:-1] + "f"
        out.append(base)
        m = cls._LONG_VOWEL.match(base)
        if m:  # an open syllable's single vowel is written double in the singular: strat(en) -> straat
            out.append(m.group(1) + m.group(2) * 2 + m.group(3))
        return out

    def _best(
        self, w: str, i: int, memo: dict[int, tuple[tuple[int, int, int], list[str]] | None]
    ) -> tuple[tuple[int, int, int], list[str]] | None:
        if i in memo:
            return memo[i]
        n = len(w)
        mp = self._min_part
        parts = self._parts
        best: tuple[tuple[int, int, int], list[str]] | None = None
        last = self._last_part(w[i:]) if i > 0 else None
        if last is not None:
            best = ((1, 0, 0), [last])
        for j in range(i + mp, min(n - mp, i + self._max_part) + 1):
            head = w[i:j]
            if head not in parts:
                continue
            links = self.LINKERS if head not in self.ER_HEADS else (*self.LINKERS, "er", "eren")
            for link in links:
                k = j + len(link)
                if (link and not w.startswith(link, j)) or n - k < mp:
                    continue
                sub = self._best(w, k, memo)
                if sub is None:
                    continue
                cost = (sub[0][0] + 1, sub[0][1] + (1 if link else 0), -len(head))
                if best is None or cost < best[0]:
                    best = (cost, [head, *sub[1]])
        memo[i] = best
        return best


@dataclass(frozen=True, slots=True)
class Token:
    """One analysed word: its folded surface form and its stem."""

    surface: str
    stem: str
