"""Query understanding: from a chat question to weighted term groups.

A query becomes a list of :class:`Group` s, one per content word (plus one per recognised theme). A group holds
*variants* — the word's stem, its compound parts, its typo repair, its synonyms — each with a weight; a document's
score for the group is the best variant's contribution (DisMax), so expanding a word never lets one word count
many times over. The groups themselves, and how an index term reached from several words counts once, are
:mod:`bot.matching.groups`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from bot.errors import QueryError
from bot.matching.analysis import CompoundSplitter, Stemmer, fold, query_stopwords, strip_framing, tokenize
from bot.matching.config import MatchConfig
from bot.matching.groups import THEME_PREFIX, Group, ParsedQuery, Variant, count_once, synonym
from bot.matching.keyboard import keyboard_slip
from bot.matching.lexicon import Entry, Lexicon
from bot.matching.wordlist import common_words, in_a_list, is_real_word, related_form, verb_forms

# the term groups are named here too, where their callers have always found them
__all__ = ["REAL_WORD_CONTEXT", "SHORT_WORD", "THEME_PREFIX", "Group", "ParsedQuery", "QueryParser", "Variant"]

# a real word is repaired only when another word of the question and the repair share this much of each one's
# documents (of the longer list: each is in at least this share of the other's documents)
REAL_WORD_CONTEXT = 0.4
# up to this length, a word no list holds that is one key struck for another far from it ("padel" for "panel": d and n
# are far apart) is read as a word the lists lack, not a typo, unless the rest of the question vouches for the repair
SHORT_WORD = 6


class QueryParser:
    def __init__(
        self,
        config: MatchConfig,
        *,
        stem: Stemmer,
        splitter: CompoundSplitter,
        lexicon: Lexicon,
        known: Callable[[str], bool],
        in_index: Callable[[str], bool],
        repair: Callable[[str], str | None],
        cognate: Callable[[str], str | None],
        acronyms: Callable[[str], list[Entry]],
        df_ratio: Callable[[str], float],
        generic: Callable[[str], bool] = lambda _stem: False,
        context: Callable[[str], bool] = lambda _stem: False,  # a shipped generic word (a context word)
        together: Callable[[str, str], float] = lambda _a, _b: 0.0,
        fragment: Callable[[str], tuple[tuple[str, ...], ...]] = lambda _stem: (),
        state: Callable[[], object] = lambda: None,
    ) -> None:
        self.config = config
        self.stem = stem
        self.splitter = splitter
        self.lexicon = lexicon
        self.known = known
        self.in_index = in_index
        self.repair = repair
        self.cognate = cognate
        self.acronyms = acronyms
        self.df_ratio = df_ratio
        self.generic = generic
        self.context = context
        self.together = together
        self.fragment = fragment
        # what ``in_index`` and ``df_ratio`` answer from (None: unknown, nothing remembered); while it and the
        # themes stay the same, a theme's expansion ring is remembered (a theme recurs question after question)
        self.state = state
        self._rings: dict[tuple[tuple[str, ...], str], list[Variant] | None] = {}
        self._rings_at: tuple[object, object] | None = None
        self.qstop = query_stopwords()

    def forget(self) -> None:
        """Drop the remembered theme expansions (an erasure empties every memo of query terms)."""
        self._rings.clear()
        self._rings_at = None

    def parse(self, query: str) -> ParsedQuery:
        """The query's term groups, one per content word and one per recognised theme, in these steps: words (typo
        repair), places (taken out), each word's own group, glossary synonyms, rough translations, acronyms, themes.
        """
        content = self._content_words(query)
        words, repairs, cognates = self._repair(content)
        if not words:
            raise QueryError("only_stopwords", "the query has no content words")
        stems = [self.stem(w) for _, w in words]
        cities, orgs, consumed = self._places(stems)
        keep = [i for i in range(len(words)) if i not in consumed]
        words = [words[i] for i in keep]
        stems = [stems[i] for i in keep]

        is_typo = {i for i, (orig, used) in enumerate(words) if orig != used}
        groups, terms = self._word_groups(words, stems, is_typo, cognates)
        covered = self._add_synonyms(groups, words, stems, is_typo)
        self._add_translations(groups, words, stems, covered)
        self._add_acronyms(groups, words, stems, covered, _capitals(query))
        themes, hits = self._themes(groups, words, stems)
        whole = None
        if self.config.context_words:
            # the groups as they stand, copied: leaving a word out renumbers the others' concepts
            before = [replace(g, variants=list(g.variants)) for g in groups], words, terms, hits
            groups, words, terms, hits = self._drop_context(groups, words, terms, hits, stems)
            if self.config.context_words_in_gap and len(words) < len(before[1]):
                whole = self._parsed(*before, themes, cities, orgs, repairs, cognates)
        return self._parsed(groups, words, terms, hits, themes, cities, orgs, repairs, cognates, whole)

    def _parsed(
        self,
        groups: list[Group],
        words: list[tuple[str, str]],
        terms: list[str],
        hits: list[tuple[int, int, str]],
        themes: list[str],
        cities: list[str],
        orgs: list[str],
        repairs: list[tuple[str, str]],
        cognates: set[str],
        whole: ParsedQuery | None = None,
    ) -> ParsedQuery:
        count_once(groups)
        groups.extend(self._theme_groups(themes, hits, words))
        return ParsedQuery(
            groups=tuple(groups),
            cities=tuple(cities),
            organisations=tuple(orgs),
            themes=tuple(themes),
            terms=tuple(dict.fromkeys(terms)),
            repairs=tuple(repairs),
            cognates=frozenset(cognates),
            concepts=len(words),
            whole=whole,
        )

    def _drop_context(
        self,
        groups: list[Group],
        words: list[tuple[str, str]],
        terms: list[str],
        hits: list[tuple[int, int, str]],
        stems: list[str],
    ) -> tuple[list[Group], list[tuple[str, str]], list[str], list[tuple[int, int, str]]]:
        """The question without its context words when a topical word the register knows remains: a shipped generic
        word ("stad", "city") or a compound of them only ("binnenstad"), not in a glossary phrase, naming no theme."""
        phrases = [(s, e) for s, e, _ in self.lexicon.match_groups(stems) if e - s > 1]
        named = {i for s, e in [*phrases, *((s, e) for s, e, _ in hits)] for i in range(s, e)}

        def context(i: int) -> bool:
            if i in named:
                return False
            used = words[i][1]
            gen, stem = self.context, self.stem
            if gen(stem(used)):
                return True
            parts = self.splitter.split(used)
            if len(parts) > 1:
                return all(gen(stem(p)) for p in parts)
            # a compound the register knows as a word, so not split ("binnenstad"): two generic words
            return any(gen(stem(used[:k])) and gen(stem(used[k:])) for k in range(4, len(used) - 3))

        keep = [i for i in range(len(words)) if not context(i)]
        # only beside a topical word the register knows: a question whose other words it lacks ("gemeenten die
        # samensmelten") keeps its context word, else it would read as about nothing
        known = (v for i in keep for v in groups[i].variants)
        if len(keep) == len(words) or not any(all(map(self.in_index, v.terms)) for v in known):
            return groups, words, terms, hits
        at = {old: new for new, old in enumerate(keep)}
        for new, old in enumerate(keep):
            groups[old].concepts = 1 << new
        moved = [(at[s], at[e - 1] + 1, k) for s, e, k in hits]
        return [groups[i] for i in keep], [words[i] for i in keep], [terms[i] for i in keep], moved

    def _content_words(self, query: str) -> list[str]:
        """The folded words of ``query`` without framing ("wie weet iets over") and stop words; refused when empty,
        too long or wordless."""
        cfg = self.config
        text = query.strip()
        if not text:
            raise QueryError("empty", "the query is empty")
        if len(text) > cfg.max_query_chars:
            raise QueryError(
                "too_long",
                f"the query is longer than {cfg.max_query_chars} characters",
                values={"length": len(text), "limit": cfg.max_query_chars},
            )
        tokens = tokenize(fold(text))
        if not tokens:
            raise QueryError("no_words", "the query contains no words")
        tokens = strip_framing(tokens)
        return [t for t in tokens if t not in self.qstop][: cfg.max_query_words]

    def _repair(self, content: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]], set[str]]:
        """Typo repair against the register's vocabulary: the words (as typed, as used), the repairs, and the
        typed words whose repair is a cognate (another language's word), not a typo."""
        cfg, qstop = self.config, self.qstop
        words: list[tuple[str, str]] = []  # (as typed, as used)
        repairs: list[tuple[str, str]] = []
        cognates: set[str] = set()
        for at, t in enumerate(content):
            if self.known(t) or len(repairs) >= cfg.max_typo_repairs or (len(t) <= 6 and self.acronyms(t)):
                words.append((t, t))
                continue
            fixed, kind = self._fix(t, content)
            if fixed in qstop:
                continue  # "iemnd" -> "iemand": a misspelt stop word
            if fixed is None or self.generic(self.stem(fixed)) or not self._whole(fixed, at, content):
                # never repaired into a generic word ("weren" -> "werken", "programmes" -> "programma") or into a
                # mere word of a multi-word phrase the question does not hold ("frist" -> "first" of "housing
                # first"): no topical evidence, only a nonsense reason; the word stays as typed (unknown, as any
                # word the register lacks)
                words.append((t, t))
            else:
                repairs.append((t, fixed))
                if kind == "cognate":
                    cognates.add(t)
                words.append((t, fixed))
        return words, repairs, cognates

    def _fix(self, t: str, content: list[str]) -> tuple[str | None, str]:
        """The register word standing for the unknown word ``t`` of the question ``content``, and how: ``typo`` or
        ``cognate`` (another language's word, or another form of a real word).

        A word that may be real — in a language's list at all, however short or rare — is no typo ("lichtvervuiling"
        is not "luchtvervuiling", "aanval" not "aantal") unless the rest of the question vouches for the repair; it
        meets another form of itself ("digitaliseren" ≈ "digitalisering"), shown as such; another language's word
        still meets its cognate ("historique" ≈ "historische"). A short word no list holds is a typo when a slip
        explains it (``keyboard_slip``) or the question vouches for it: "padel" is no "panel"."""
        fixed = self.repair(t)
        if not in_a_list(t):
            if fixed is None:
                return self.cognate(t), "cognate"
            if len(t) <= SHORT_WORD and not keyboard_slip(t, fixed) and not self._vouched(fixed, t, content):
                return None, "typo"  # "padel" is no "panel": a short word the lists lack, one far key away
            return fixed, "typo"
        if fixed is not None and related_form(t, fixed):
            return fixed, "cognate"
        if fixed is not None and self._vouched(fixed, t, content):
            return fixed, "typo"
        fixed = self.cognate(t)
        if fixed is not None and in_a_list(t, dutch=True) and not related_form(t, fixed):
            return None, "cognate"
        return fixed, "cognate"

    def _vouched(self, fixed: str, typed: str, content: list[str]) -> bool:
        """The rest of the question vouches for repairing the real word ``typed`` to ``fixed``: another specific
        content word of it (no place, no generic word) keeps company with ``fixed`` in the register — each is in at
        least ``REAL_WORD_CONTEXT`` of the other's documents. "ontharing pleinen" is a typo
        of "ontharding" (squares are unsealed, not depilated); "lichtvervuiling door straatverlichting" is not one
        of "luchtvervuiling". This is how a reader tells a real-word error from a word the register lacks."""
        target = self.stem(fixed)
        for other in content:
            if other == typed or not self.known(other):
                continue
            s = self.stem(other)
            if self.generic(s) or self.lexicon.match_places([s]):
                continue
            if self.together(target, s) >= REAL_WORD_CONTEXT:
                return True
        return False

    def _whole(self, fixed: str, at: int, content: list[str]) -> bool:
        """Repairing the word at ``at`` of the question ``content`` to ``fixed`` gives evidence of a topic: ``fixed``
        is a word of the register in its own right, or the question holds the other words of a phrase it is only a
        word of, in any order and form ("housing frist" -> "housing first", "agences immobilières sociales" ≈
        "agence immobilière sociale"); "frist aid" is not "first aid" when the register has "first" only in "Housing
        First", nor are "agences immobilières" (estate agents) an "agence immobilière sociale"."""
        target = self.stem(fixed)
        phrases = self.fragment(target)
        if fixed not in common_words() and self.in_index(target):
            # a rare word the documents hold names its topic on its own ("verhuurkantoor" of "sociaal
            # verhuurkantoor"), unless it is a word of a place's name only ("binnenlands" of "Agentschap Binnenlands
            # Bestuur"): no topic at all
            phrases = tuple(p for p in phrases if p in self.lexicon.places)
        if not phrases:
            return True
        others = [self.stem(w) for i, w in enumerate(content) if i != at]
        return any(all(o == target or any(s == o or related_form(s, o) for s in others) for o in p) for p in phrases)

    def _places(self, stems: list[str]) -> tuple[list[str], list[str], set[int]]:
        """Cities and organisations named, and the word positions they consume: cities are consumed (they boost,
        never filter); an organisation of a city likewise."""
        cities: list[str] = []
        orgs: list[str] = []
        consumed: set[int] = set()
        for m in self.lexicon.match_places(stems):
            p = m.place
            if p.kind == "city":
                if p.name not in cities:
                    cities.append(p.name)
                consumed.update(range(m.start, m.end))
            else:
                if p.name not in orgs:
                    orgs.append(p.name)
                if p.city:
                    if p.city not in cities:
                        cities.append(p.city)
                    consumed.update(range(m.start, m.end))
        return cities, orgs, consumed

    def _word_groups(
        self, words: list[tuple[str, str]], stems: list[str], is_typo: set[int], cognates: set[str]
    ) -> tuple[list[Group], list[str]]:
        """One group per word: its stem (weighed down when repaired) and its compound parts; and the terms shown."""
        cfg, stem, split = self.config, self.stem, self.splitter.split
        groups = [Group(original=orig, word=used, concepts=1 << i) for i, (orig, used) in enumerate(words)]
        terms: list[str] = []
        for i, (orig, used) in enumerate(words):
            g = groups[i]
            factor = (cfg.cognate_weight if orig in cognates else cfg.typo_weight) if i in is_typo else 1.0
            s = stems[i]
            kind = ("cognate" if orig in cognates else "typo") if i in is_typo else "exact"
            g.add(Variant((s,), factor, kind, used))
            # the other present-tense form of a Dutch verb, which the stemmer keeps apart: a question says "ik
            # krijg", an answer "je krijgt" (and the other way round)
            if cfg.verb_form_weight > 0.0:
                for form in verb_forms(used):
                    if form not in self.qstop and (fs := stem(form)) != s and self.in_index(fs):
                        g.add(Variant((fs,), cfg.verb_form_weight * factor, kind, used))
            terms.append(f"{orig}→{used}" if i in is_typo else used)
            # generic parts ("beleid" of jeugdbeleid, "stad" of stadsvernieuwing) are no evidence of the topic
            parts = tuple(dict.fromkeys(ps for p in split(used) if (ps := stem(p)) != s and not self.generic(ps)))
            if parts:
                w = cfg.query_part_weight if self.in_index(s) else cfg.query_part_weight_unknown
                g.add(Variant(parts, w * factor, "compound", used))
        return groups, terms

    def _add_synonyms(
        self, groups: list[Group], words: list[tuple[str, str]], stems: list[str], is_typo: set[int]
    ) -> set[int]:
        """Glossary synonyms: a phrase's synonyms are attached to every word of the phrase (and name the phrase
        as their origin). Returns the word positions inside a glossary phrase."""
        cfg, lex = self.config, self.lexicon
        for start, end, gids in lex.match_groups(stems):
            phrase = tuple(stems[start:end])
            source = " ".join(orig for orig, _ in words[start:end]) if end - start > 1 else ""
            for gid in gids:
                for entry in lex.groups[gid]:
                    if entry.stems == phrase:
                        continue
                    for i in range(start, end):
                        f = cfg.typo_weight if i in is_typo else 1.0
                        groups[i].add(synonym(entry, cfg.synonym_weight * f, source=source))
        return {i for start, end, _ in lex.match_groups(stems) for i in range(start, end)}

    def _add_translations(
        self, groups: list[Group], words: list[tuple[str, str]], stems: list[str], covered: set[int]
    ) -> None:
        """A word the register does not know at all, found inside multi-word glossary entries ("inoccupés" in
        "immeubles inoccupés"), borrows those groups' entries at a reduced weight: a rough translation. With another
        word of the question inside the same entry ("taxe" in "taxe sur les immeubles inoccupés") it is named after
        those words as a synonym; alone it is only a fragment of the entry ("centre" of "knowledge centre") and its
        reasons say "rough translation" (``Variant.rough``)."""
        cfg, lex = self.config, self.lexicon
        for i, s in enumerate(stems):
            if i in covered or self.in_index(s):
                continue
            for gid in lex.word_groups.get(s, [])[: cfg.max_partial_groups]:
                entries = lex.groups[gid]
                # the question's words inside one entry that holds this word
                inside = max(
                    ([j for j in range(len(stems)) if stems[j] in e.stems] for e in entries if s in e.stems),
                    key=len,
                    default=[],
                )
                lone = len({stems[j] for j in inside}) < 2
                source = "" if lone else " ".join(words[j][0] for j in inside)
                for entry in entries:
                    if s not in entry.stems:
                        v = synonym(entry, cfg.synonym_weight * cfg.partial_synonym_factor, source=source)
                        groups[i].add(replace(v, rough=True) if lone else v)

    def _add_acronyms(
        self,
        groups: list[Group],
        words: list[tuple[str, str]],
        stems: list[str],
        covered: set[int],
        capitals: frozenset[str],
    ) -> None:
        """Acronyms learnt from the register ("WGC" -> wijkgezondheidscentrum: initials of compound parts; "CLT" ->
        community land trust: initials of a title's words). A word the register contains is expanded too when the
        asker typed it in capitals (``capitals``, folded): a register that writes "CLT" in one summary and "Community
        Land Trust" in the title of the practice about it must find that practice's contact for "CLT"."""
        for i, (_, used) in enumerate(words):
            if i in covered or not 3 <= len(used) <= 6 or (self.in_index(stems[i]) and used not in capitals):
                continue
            for expansion in self.acronyms(used):
                groups[i].add(synonym(expansion, self.config.synonym_weight))

    def _themes(
        self, groups: list[Group], words: list[tuple[str, str]], stems: list[str]
    ) -> tuple[list[str], list[tuple[int, int, str]]]:
        """Themes recognised from words, phrases and single compound parts (in order, and where each was named);
        a theme's name expands the words that named it to the theme's other names."""
        cfg, lex = self.config, self.lexicon
        # a single word used all over the register ("stad") names no theme, however a label reads
        theme_hits = [
            (start, end, key)
            for start, end, key in lex.match_themes(stems)
            if end - start > 1 or self.df_ratio(stems[start]) <= cfg.max_trigger_df
        ]
        part_hits: list[tuple[int, int, str]] = []
        for i, (_, used) in enumerate(words):
            for part in self.splitter.split(used):
                if self.generic(self.stem(part)):
                    continue  # "stad" of stadsvernieuwing names no theme
                for key in sorted(lex.theme_index.get((self.stem(part),), ())):
                    part_hits.append((i, i + 1, key))
        themes: list[str] = []
        for _, _, key in theme_hits + part_hits:
            if key not in themes:
                themes.append(key)
        self._expand_themes(groups, stems, theme_hits)
        return themes, theme_hits + part_hits

    def _expand_themes(self, groups: list[Group], stems: list[str], theme_hits: list[tuple[int, int, str]]) -> None:
        """Each phrase naming a theme expands its words to the theme's other names; with ``theme_names_once``, a
        theme's names come once a question, under the rarest word of the first phrase that expands."""
        expanded: set[str] = set()
        for start, end, key in theme_hits:
            if not self.config.theme_names_once:
                self._expand_theme(groups, tuple(stems[start:end]), key, range(start, end))
            elif key not in expanded:
                at = min(range(start, end), key=lambda i: (self.df_ratio(stems[i]), i))
                if self._expand_theme(groups, tuple(stems[start:end]), key, range(at, at + 1)):
                    expanded.add(key)

    def _expand_theme(self, groups: list[Group], phrase: tuple[str, ...], key: str, positions: range) -> bool:
        """The words at ``positions`` (``phrase``, naming theme ``key``) get the theme's other names as variants
        (False: the phrase expands to none); the names are remembered per phrase while the index and the themes stay
        the same (``state``)."""
        at = self.state()
        if at is None:
            ring = self._ring(phrase, key)
        else:
            rings, last, triggers = self._rings, self._rings_at, self.lexicon.theme_triggers
            if last is None or last[0] != at or last[1] is not triggers or len(rings) > 4096:
                rings.clear()
                self._rings_at = (at, triggers)
            ring = rings.get((phrase, key), _NO_RING)
            if ring is _NO_RING:
                ring = rings[(phrase, key)] = self._ring(phrase, key)
        if not ring:
            return False
        for i in positions:
            groups[i].add_all(ring)
        return True

    def _ring(self, phrase: tuple[str, ...], key: str) -> list[Variant] | None:
        """The variants ``phrase`` (naming theme ``key``) expands to; None: it expands to none."""
        lex = self.lexicon
        unknown = not any(self.in_index(s) for s in phrase)
        if (phrase, key) not in lex.theme_names and not unknown:
            # a specific term the register knows ("LEZ") only boosts its theme; the theme's name ("klimaat")
            # expands to the theme's other names, and so does a term the register lacks ("marchands de sommeil")
            return None
        ring = [e for e in lex.theme_triggers.get(key, ()) if e.stems != phrase and any(map(self.in_index, e.stems))]
        # the most specific names first (rarest in the register), at most max_theme_expansions of them
        ring.sort(key=lambda e: sum(self.df_ratio(t) for t in e.stems) / len(e.stems))
        cfg = self.config
        return [synonym(entry, cfg.theme_synonym_weight, "related") for entry in ring[: cfg.max_theme_expansions]]

    def _theme_groups(
        self, themes: list[str], hits: list[tuple[int, int, str]], words: list[tuple[str, str]]
    ) -> list[Group]:
        """One group per recognised theme. A theme is no concept of its own: it belongs to the words that named it."""
        out: list[Group] = []
        for key in themes:
            theme = self.lexicon.themes[key]
            trigger = next((" ".join(words[i][1] for i in range(s, e)) for s, e, k in hits if k == key), key)
            mask = 0
            for s_, e_, k in hits:
                if k == key:
                    mask |= sum(1 << i for i in range(s_, e_))
            tg = Group(original=trigger, word=trigger, theme=key, concepts=mask)
            tg.add(Variant((THEME_PREFIX + key,), self.config.theme_weight, "theme", theme.label_nl))
            out.append(tg)
        return out


_NO_RING: list[Variant] = []  # (a sentinel: not remembered yet)

_CAPITALS = re.compile(r"\b[A-Z]{3,6}\b")


def _capitals(query: str) -> frozenset[str]:
    """The words of ``query`` typed in capitals, 3 to 6 letters ("CLT", "OCMW"), folded as the parser reads them. In a
    question typed all in capitals ("WIE WEET IETS OVER GAS") capitals single out no word: only those that are no real
    word ("CLT") count, or "gas" would be read as "gemeentelijke administratieve sancties"."""
    words = frozenset(fold(m) for m in _CAPITALS.findall(query))
    if words and not any(c.islower() for c in query):
        return frozenset(w for w in words if not is_real_word(w))
    return words
