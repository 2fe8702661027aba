"""Index terms of a document field: the stems of its words and of their compound parts, counted (see
:mod:`bot.matching.analysis` for the pipeline)."""

from __future__ import annotations

from collections import Counter

from bot.matching.analysis import _MAX_TOKEN_LEN, _TOKEN_RE, CompoundSplitter, Stemmer, fold, stopwords, tokenize

# an Analyzer cache entry of a token that is no term
_SKIP: tuple[str, tuple[str, ...], int] = ("", (), -1)


class Analyzer:
    """Turns field text into index terms (stems of words and of compound parts)."""

    _CACHE_MAX = 500_000

    def __init__(self, stemmer: Stemmer, splitter: CompoundSplitter, *, part_weight: float = 0.5) -> None:
        self.stem = stemmer
        self.splitter = splitter
        self.stop = stopwords()
        self.part_weight = part_weight
        # word -> (stem, stems of its other parts, vocabulary version when it had no parts, else -1); a stop word or
        # a token of the wrong length maps to _SKIP
        self._cache: dict[str, tuple[str, tuple[str, ...], int]] = {}

    def _entry(self, tok: str) -> tuple[str, tuple[str, ...], int]:
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        if tok in self.stop or len(tok) < 2 or len(tok) > _MAX_TOKEN_LEN:
            self._cache[tok] = _SKIP
            return _SKIP
        s = self.stem(tok)
        parts = tuple(dict.fromkeys(ps for p in self.splitter.split(tok) if (ps := self.stem(p)) != s))
        entry = self._cache[tok] = (s, parts, -1 if parts else self.splitter.version)
        return entry

    def field_terms(self, text: str) -> tuple[dict[str, float], int]:
        """Term frequencies of a field's text (compound parts count ``part_weight``) and its length in words."""
        version = self.splitter.version
        tf: dict[str, float] = {}
        get = tf.get
        cache = self._cache
        pw = self.part_weight
        n = 0
        for tok, count in Counter(_TOKEN_RE.findall(fold(text))).items():  # counted in C; stop words collapse
            entry = cache.get(tok)
            if entry is None or (entry[2] >= 0 and entry[2] != version):
                entry = self._entry(tok)
            s, parts, _ = entry
            if not s:  # _SKIP: a stop word, too short or too long
                continue
            n += count
            tf[s] = get(s, 0.0) + count
            if parts:
                for ps in parts:
                    tf[ps] = get(ps, 0.0) + pw * count
        return tf, n

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
