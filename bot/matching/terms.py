"""Index terms of a document field: the stems of its words and of their compound parts, counted (see
:mod:`bot.matching.analysis` for the pipeline)."""

from __future__ import annotations

from collections import Counter

from bot.matching.analysis import _MAX_TOKEN_LEN, _TOKEN_RE, CompoundSplitter, Stemmer, fold, stopwords, tokenize

# an Analyzer cache entry of a token that is no term
_SKIP: tuple[str, tuple[str, ...], int, tuple[float, ...]] = ("", (), -1, ())


class Analyzer:
    """Turns field text into index terms (stems of words and of compound parts)."""

    _CACHE_MAX = 500_000

    def __init__(
        self,
        stemmer: Stemmer,
        splitter: CompoundSplitter,
        *,
        part_weight: float = 0.5,
        modifier_weight: float | None = None,
    ) -> None:
        self.stem = stemmer
        self.splitter = splitter
        self.stop = stopwords()
        self.part_weight = part_weight
        # a part that is no head of the compound (kind- of kinderopvang); None: as much as any part
        self.modifier_weight = part_weight if modifier_weight is None else modifier_weight
        # word -> (stem, stems of its other parts, vocabulary version when it had no parts, else -1, each part's
        # term frequency); a stop word or a token of the wrong length maps to _SKIP
        self._cache: dict[str, tuple[str, tuple[str, ...], int, tuple[float, ...]]] = {}
        # word -> the stems of its compound heads (``modifier_only``; emptied with ``_cache``)
        self._heads: dict[str, frozenset[str]] = {}

    def _entry(self, tok: str) -> tuple[str, tuple[str, ...], int, tuple[float, ...]]:
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
            self._heads.clear()
        if tok in self.stop or len(tok) < 2 or len(tok) > _MAX_TOKEN_LEN:
            self._cache[tok] = _SKIP
            return _SKIP
        s = self.stem(tok)
        parts = tuple(dict.fromkeys(ps for p in self.splitter.split(tok) if (ps := self.stem(p)) != s))
        pw, mw = self.part_weight, self.modifier_weight
        if parts and mw != pw:
            heads = {self.stem(p) for p in self.splitter.heads(tok)}
            weights = tuple(pw if ps in heads else mw for ps in parts)
        else:
            weights = (pw,) * len(parts)
        entry = self._cache[tok] = (s, parts, -1 if parts else self.splitter.version, weights)
        return entry

    def field_terms(self, text: str) -> tuple[dict[str, float], int]:
        """Term frequencies of a field's text (compound parts count ``part_weight``, a part that is no head of its
        compound ``modifier_weight``) and its length in words."""
        version = self.splitter.version
        tf: dict[str, float] = {}
        get = tf.get
        cache = self._cache
        n = 0
        for tok, count in Counter(_TOKEN_RE.findall(fold(text))).items():  # counted in C; stop words collapse
            entry = cache.get(tok)
            if entry is None or (entry[2] >= 0 and entry[2] != version):
                entry = self._entry(tok)
            s, parts, _, weights = entry
            if not s:  # _SKIP: a stop word, too short or too long
                continue
            n += count
            tf[s] = get(s, 0.0) + count
            if parts:
                for ps, pw in zip(parts, weights, strict=True):
                    tf[ps] = get(ps, 0.0) + pw * count
        return tf, n

    def modifier_only(self, text: str) -> tuple[set[str], set[str]]:
        """The terms of ``text`` met as a word or a compound's head (at any level: ``CompoundSplitter.heads``), and
        those met as a part that only modifies a head (kind- of kinderopvang). A term of the second set that is not
        in the first says only which kind of thing the text's compound is, not what it is about."""
        version = self.splitter.version
        cache = self._cache
        heads_of = self._heads
        full: set[str] = set()
        modifier: set[str] = set()
        for tok in set(_TOKEN_RE.findall(fold(text))):
            entry = cache.get(tok)
            if entry is None or (entry[2] >= 0 and entry[2] != version):
                entry = self._entry(tok)
            s, parts = entry[0], entry[1]
            if not s:  # a stop word, too short or too long
                continue
            full.add(s)
            if parts:
                heads = heads_of.get(tok)
                if heads is None:
                    heads = heads_of[tok] = frozenset(self.stem(p) for p in self.splitter.heads(tok))
                for ps in parts:
                    (full if ps in heads else modifier).add(ps)
        return full, modifier

    def content_words(self, text: str) -> list[str]:
        """Folded, non-stop word tokens of ``text``."""
        stop = self.stop
        return [t for t in tokenize(fold(text)) if t not in stop]

    def surfaces(self, text: str) -> dict[str, tuple[str, bool]]:
        """For explanations: term -> (surface word it came from, came from a compound part)."""
        out: dict[str, tuple[str, bool]] = {}
        version = self.splitter.version
        cache = self._cache
        for tok in _TOKEN_RE.findall(fold(text)):
            entry = cache.get(tok)  # the analysis the index used: (stem, stems of the other parts, version)
            if entry is None or (entry[2] >= 0 and entry[2] != version):
                entry = self._entry(tok)
            s = entry[0]
            if not s:  # a stop word, too short or too long
                continue
            if s not in out or out[s][1]:
                out[s] = (tok, False)
            for ps in entry[1]:
                if ps not in out:
                    out[ps] = (tok, True)
        return out
