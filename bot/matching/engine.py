"""The matcher: an in-memory, incrementally updated index over experts, practices and answers.

Scoring, per document kind, is BM25F (see :mod:`bot.matching.index`) over analysed terms (:mod:`.analysis`), with
each query word a DisMax group of variants (:mod:`.query`)::

    group(d)  = max_v contrib_v(d)                                   (DisMax: a word counts once)
    contrib_v = weight_v * mean_{t in v} idf(t) * sat(t, d)
    raw(d)    = sum_groups group(d)

Experts are also found through their work: ``raw_expert += practice_evidence * agg(raw of practices they are the
contact for) + answer_evidence * agg(raw of answers they gave)``, with ``agg = max + evidence_decay * rest`` over
the ``evidence_pool`` best practices and answers of the query. For the ranking (not the gap decision), an expert's
raw score is at least ``contact_floor`` times the best such practice's normalised score, in the experts' scale.

Only documents that can still reach the top are scored (:meth:`Matcher._score`): candidates come from the rarest
variants first (MaxScore stops once nothing unseen can reach the top), a very common term contributes candidates
only from its strong postings (heavy fields), at most ``rerank_depth`` candidates per kind are completed exactly.
On small registers (every term below ``common_df_min`` documents) the top ``limit`` is exact; on large ones a
document that only mentions common words in light fields is not found. Evidence comes from the best
``evidence_pool`` of the scored practices and answers. When a kind's postings to walk are long (``_BULK_MIN``), that
walk and the completion run in bulk on arrays (:mod:`bot.matching.dense`), with the same results to the last bit.

Updates: ``upsert_*``/``remove_*`` touch only the postings of that document (IDF is computed from live document
frequencies at query time; field-length averages are running sums, re-normalised when they drift more than
``refresh_drift``, see :mod:`bot.matching.index`). New words extend the compound and typo vocabularies at once;
compound splits already cached are kept (a word that had no split is retried once the vocabulary grew).

Normalisation: ``norm = raw / ideal`` where ``ideal`` sums, per query group, the best IDF any variant of the group
reaches in the index, *without* the variant's weight — so a match found only through a synonym, a typo repair or a
compound part keeps its lower weight in the normalised score too. A word unknown to the whole register counts
``unknown_word_idf`` of the maximal IDF. A document matching every query word in a heavy field scores about 0.7.

Query-term coverage: the raw score of a document is multiplied by ``1 - coverage_weight + coverage_weight * c``,
where ``c`` is the share of the query's distinct concepts (content words; a recognised theme belongs to the words
that named it) the document matched through any variant — for experts also through the practices and answers
that are their evidence. A document matching one word of three very strongly no longer beats one matching all
three plainly. The normalisation ideal assumes full coverage.

Boosts multiply: a document of a city named in the query gets ``1 + city_boost``, one of a named organisation
``1 + organisation_boost`` — boosts never filter.

Meaning (:mod:`bot.matching.semantic`, when the matcher has a ``SemanticIndex`` with vectors): the documents closest
in meaning to the question get an additive boost on their normalised score (the experts' larger when the words cover
little of the question: ``MatchConfig.meaning_lean``); documents without a vector are ranked on their words alone.

Honesty: ``gap`` ("nobody knows") is the calibrated decision of :mod:`bot.matching.gapmodel` over features of the
best expert by *unboosted* lexical score (so naming a city cannot hide a knowledge gap) and the meaning-based
similarity; without a shipped model, the best normalised score against ``gap_threshold``. An option
(``MatchConfig.gap_levels``, off by default; :mod:`bot.matching.levels`) reads the words' features against the
register's own levels, measured in the background, where the semantic model decides. An expert is ``weak`` when
there is a gap or their score is below ``weak_ratio`` of the best score for the same question (the best as ranked,
after the contact floor). A context word of the question ("in de binnenstad", ``MatchConfig.context_words``) is left
out of the scores, coverage, "weak" and reasons, but the gap decision reads the whole question: its features are
those of the question scored with the word, as with the option off.

Staleness: experts whose profile is stale (consent pending — imported, listing not confirmed yet — or last
confirmed more than ``reconfirm_days`` before ``now``; the rule of ``bot.register.profiles.is_stale``) are ranked
as if their score were multiplied by ``stale_factor`` (0.85), on top of any availability factor, and say so in their
reasons ("profiel niet bevestigd sinds 2025-03-01"). Their score and the gap decision are unchanged.

Availability: experts who opted out, or are away (``away_until`` unset or on/after today), are returned with
``available=False`` and ranked as if their score were multiplied by ``unavailable_factor`` (0.85): they come after
available experts of similar score but before clearly weaker ones. Experts whose consent is withdrawn are never
indexed; pending consent is searchable.

Shape: this module stays one file (over 600 lines), and ``search``, ``_score`` and ``_reasons`` stay whole
functions (ruff's complexity rules are off for this file only): ``_score`` runs per candidate document and
``_reasons`` per hit, so every split adds a Python call in the innermost loop, and the scoring formula above would be
spread over several places that must change together. Query parsing, the index, analysis, the gap model and the
meaning signal, which run once per query or per update, are in their own modules.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import logging
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import compress, repeat
from operator import eq, ge, itemgetter
from typing import NamedTuple

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.matching import dense
from bot.matching.analysis import (
    _MAX_TOKEN_LEN,
    _TOKEN_RE,
    CompoundSplitter,
    Stemmer,
    fold,
    load_list,
    query_stopwords,
    question_topic,
    stopwords,
    tokenize,
)
from bot.matching.config import MatchConfig
from bot.matching.dense import Item as _Item
from bot.matching.documents import AnswerDoc, ExpertDoc, PlaceDoc, PracticeDoc, ThemeDoc, is_stale_profile
from bot.matching.embedding import content_key, document_text
from bot.matching.gapmodel import CALIBRATED_FEATURES, GapModel, shipped_models
from bot.matching.groups import THEME_PREFIX, Group, ParsedQuery, Variant
from bot.matching.index import Collection, FieldTerms
from bot.matching.levels import RegisterLevels, levels_model
from bot.matching.lexicon import Entry, Lexicon
from bot.matching.query import REAL_WORD_CONTEXT, QueryParser
from bot.matching.results import AnswerHit, ExpertHit, PracticeHit, Reason, SearchResult
from bot.matching.semantic import NO_SIMILARITY, SemanticIndex, Similarity
from bot.matching.terms import Analyzer
from bot.matching.wordlist import common_words, is_dutch_word, is_real_word

log = logging.getLogger(__name__)

# the calibrated gap features by the kind whose calibration they need
EXPERT_CALIBRATED = frozenset(
    {"semantic_rel", "semantic_part_rel", "semantic_pos", "semantic_part_pos", "semantic_whole_pos"}
)
PRACTICE_CALIBRATED = frozenset({"p_semantic_rel", "p_semantic_pos", "p_semantic_whole_pos"})

__all__ = ["MatchConfig", "Matcher"]

_HEAVY_EXPERT_FIELDS = frozenset({"expertise", "role", "themes"})
# where a title, tag or expertise item names its subject before saying more about it ("Community Land Trust: de
# grond blijft van de gemeenschap", "Lage-emissiezone (LEZ) in de binnenstad"): each part counts for acronyms
_HEAD_BREAK = re.compile(r"[:;()\[\]]|\s[-–—]\s")
_SHORT_FIELDS = frozenset({"expertise", "role", "organisation", "themes", "tags", "title", "question"})

Doc = ExpertDoc | PracticeDoc | AnswerDoc

# A kind's candidate pass walks postings in Python unless the query's lists to walk hold at least this many postings
# together: then it runs in bulk (bot.matching.dense; the same results), where NumPy's fixed cost per call pays.
_BULK_MIN = 500
# the experts ranked in the order of their bound, stopping where it is below the best ranks (False: every candidate
# ranked; a test compares the two)
_RANK_BY_BOUND = True
# per kind, the variants' scoring parts remembered for the collection's current version (at most this many)
_ITEM_MEMO_MAX = 10_000
# a variant's parts for scoring one kind: bound, (postings, coefficient) per term, where to seek, seek is full
# (bound, full, seek, complete, the postings seek holds, every coefficient positive)
_Parts = tuple[float, list[tuple[dict[int, float], float]], list[tuple[dict[int, float], float]], bool, int, bool]
_NO_ITEM: _Parts = (0.0, [], [], False, 0, True)  # not made yet (None: the variant has no postings in the kind)
# a theme's names scored as one (``Matcher._pack``): their bound, their best contribution per document and its
# bands' levels (``dense.band_of``)
_Pack = tuple[float, dense.Vec, dict[tuple[int, ...], dense.Band]]
# the theme-name vectors remembered, per kind at most this many, and at most this many postings in all (a vector
# counted twice: its bands hold at most as many entries)
_PACKS_MAX = 1024
_PACK_POSTINGS_MAX = 4_000_000


def _field_texts(doc: Doc) -> dict[str, str]:
    """The text of each indexed field of a document (``themes`` is handled separately)."""
    if isinstance(doc, ExpertDoc):
        return {
            "expertise": " ; ".join(doc.expertise),
            "role": doc.role,
            "organisation": doc.organisation,
            "bio": doc.bio,
        }
    if isinstance(doc, PracticeDoc):
        return {
            "title": doc.title,
            "tags": " ; ".join(doc.tags),
            "summary": doc.summary,
            "lessons": doc.lessons,
            "organisation": doc.organisation,
        }
    return {"question": doc.question, "answer": doc.answer}


def _name_words(doc: Doc) -> tuple[set[str], set[str]]:
    """The folded words of the people a document names, as (certain, addressed): an expert's name field is a
    person's name; the words of an e-mail address (an expert's, a practice contact's, an answerer known by address
    only) or of an answerer's display name may be a person's or a topic's ("ruimtelijke.ordening@…", "Team
    Wonen"), see ``Matcher._names_a_person``. No repair lands on a person's name: it says nothing about a topic, and
    an answer or summary may name its author ("Groeten, Koen")."""
    if isinstance(doc, ExpertDoc):
        return set(_TOKEN_RE.findall(fold(doc.name))), _address_words(doc.email)
    if isinstance(doc, AnswerDoc):
        if "@" in doc.answered_by:
            return set(), _address_words(doc.answered_by)
        return set(), set(_TOKEN_RE.findall(fold(doc.answered_by)))
    return set(), _address_words(doc.contact_email)


def _item_words(doc: Doc) -> set[str]:
    """The folded words of a document's expertise items or tags: what its owner says it is about."""
    items = doc.expertise if isinstance(doc, ExpertDoc) else doc.tags if isinstance(doc, PracticeDoc) else ()
    return {w for item in items for w in _TOKEN_RE.findall(fold(item))}


def _address_words(address: str) -> set[str]:
    """The name words of a person's e-mail address: its local part's words when it has two or more, like a name
    ("koen.verhaegen@aalst.be": koen, verhaegen), common words left out ("dienst.wonen@…"). A one-word local part
    is a shared mailbox named after its topic ("wijkwerking@…", "wonen@…"), no person's name."""
    parts = re.findall(r"[^\W\d_]+", fold(address.partition("@")[0]))
    return {w for w in parts if w not in common_words()} if len(parts) > 1 else set()


_first = itemgetter(0)
_second = itemgetter(1)

# index term -> where the question's variants use it, in their order: (position, group number, group, variant), see
# Matcher._reason_plan
_PlanEntry = tuple[int, int, Group, Variant]
_ReasonPlan = dict[str, list[_PlanEntry]]


class _Weights(NamedTuple):
    """``Matcher._weights``: per query group the most it adds to a document of each kind (an expert's with its
    practices' and answers' work counted for a group no profile has); per concept group, known and specificity."""

    expert: list[float]
    practice: list[float]
    answer: list[float]
    known: list[bool]
    specificity: list[float]


def _largest(scores: dict[int, float], n: int, least: float | None = None) -> list[tuple[int, float]]:
    """``heapq.nlargest(n, scores.items(), key=_second)``: the same items in the same order (ties in dict order,
    as a stable sort keeps them), found faster: the n-th largest value first (no key function; ``least`` when the
    caller knows it), then a stable sort of the few items that reach it, picked in C."""
    if n <= 0:
        return []
    if least is None:
        if len(scores) <= max(4 * n, 2000):
            return sorted(scores.items(), key=_second, reverse=True)[:n]
        least = heapq.nlargest(n, scores.values())[-1]
    top = [(d, scores[d]) for d in compress(scores, map(ge, scores.values(), repeat(least)))]
    top.sort(key=_second, reverse=True)
    return top[:n]


def is_available(doc: ExpertDoc, today: date) -> bool:
    """False when the expert opted out, or is away with ``away_until`` unset or on/after ``today``."""
    if doc.availability == "opted_out":
        return False
    if doc.availability == "away":
        return doc.away_until is not None and doc.away_until < today
    return True


@dataclass(slots=True)
class _Kind:
    """One document kind: its docs, index and per-document metadata."""

    name: str
    collection: Collection
    docs: dict[int, Doc]
    city: dict[int, str]
    orgs: dict[int, frozenset[str]]


class Matcher:
    """Finds experts, practices and earlier answers for a question. See the module docstring for the scoring."""

    def __init__(
        self, *, themes: Sequence[ThemeDoc], places: Sequence[PlaceDoc], config: MatchConfig | None = None
    ) -> None:
        self.config = cfg = config or MatchConfig()
        self._stem = Stemmer(cfg.stemmer)
        self._stop = stopwords()
        self._splitter = CompoundSplitter(load_list("morphemes_nl.txt"), stop=self._stop)
        self._analyzer = self._new_analyzer()
        self._lexicon = Lexicon(self._stem, themes, places)
        # generic words (data/generic_words.txt) as stems: no topical evidence as compound parts or in names
        self._generic_stems = frozenset(self._stem(w) for w in load_list("generic_words.txt"))
        self._splitter.add_words(self._lexicon.words)
        self._kinds: dict[str, _Kind] = {}
        for name, fields in (
            ("expert", cfg.expert_fields),
            ("practice", cfg.practice_fields),
            ("answer", cfg.answer_fields),
        ):
            b = {f: (cfg.b_short if f in _SHORT_FIELDS else cfg.b) for f in fields}
            if "themes" in b:
                b["themes"] = 0.0
            coll = Collection(fields, b, k1=cfg.k1, refresh_drift=cfg.refresh_drift)
            self._kinds[name] = _Kind(name, coll, {}, {}, {})
        # kind -> field -> its position in the collection's fields
        self._field_at = {name: {f: i for i, f in enumerate(k.collection.fields)} for name, k in self._kinds.items()}
        # typo-repair vocabulary: folded surface word -> number of documents containing it
        self._surface_df: Counter[str] = Counter()
        # folded words of people's names (experts, answerers, practice contacts; see _name_words) -> number of
        # documents naming them: a repair never lands on a person's name ("eolien" is no typo of "Jolien", whose bio
        # starts with her name); an address's or display name's word only when it is no concept (_names_a_person)
        self._name_words: Counter[str] = Counter()
        # the words of expert name fields only (no address, no display name) -> number of experts
        self._person_words: Counter[str] = Counter()
        # words of expertise items and tags -> number of documents; with the glossary's and themes' words
        # (_lexicon_concepts) the register's concepts, which an address or display name does not make a name
        self._item_words: Counter[str] = Counter()
        self._lexicon_concept_words: set[str] | None = None
        self._buckets: dict[tuple[int, str], list[str]] = {}  # (length, first letter) -> words
        self._bucket_rank: dict[tuple[int, str], int] = {}  # bucket -> its position in _buckets
        self._bucket_sizes: dict[int, list[tuple[int, str]]] = {}  # length -> its buckets
        self._bucketed: set[str] = set()
        self._sorted: list[str] = []  # the bucketed words in order, for prefix look-ups
        # typo pre-filter: word ids, lengths, trigram -> word ids. A word's id orders it within its bucket (both are
        # appended to together), so (bucket rank, id) is its position in the bucket scan order
        self._words: list[str] = []
        self._word_lens = array("i")
        self._grams: dict[str, array[int]] = {}
        self._common = common_words()  # real words are never "repaired"
        for w in (*self._lexicon.words, *query_stopwords()):
            self._bucket(w)
        # multi-word items of short fields by their initials ("sociaal verhuurkantoor" -> "svk")
        self._phrase_acronyms: dict[str, dict[tuple[str, ...], Entry]] = {}
        self._parser = QueryParser(
            cfg,
            stem=self._stem,
            splitter=self._splitter,
            lexicon=self._lexicon,
            known=self._known,
            in_index=self._in_index,
            repair=self._repair,
            cognate=self._cognate,
            acronyms=self._acronyms,
            df_ratio=self._df_ratio,
            generic=self._generic,
            context=self._generic_stems.__contains__,
            together=self._overlap,
            fragment=self._fragment,
            state=self._versions,
        )
        self.semantic: SemanticIndex | None = None  # the meaning-based signal, see bot.matching.semantic
        # the register's own levels of the words' gap features (bot.matching.levels; read only with the option
        # MatchConfig.gap_levels on), measured in the background and set whole (never computed in a search)
        self.gap_levels: RegisterLevels | None = None
        self._surfaces_memo: dict[str, dict[str, tuple[str, bool]]] = {}  # text -> Analyzer.surfaces (read-only)
        self._surfaces_version = -1
        self._field_orders: dict[tuple[str, ...], tuple[str, ...]] = {}  # (kind, its fields) -> heaviest first
        self._overlap_memo: dict[tuple[str, str, float], float] = {}  # (a, b, floor) -> _overlap, see there
        self._overlap_versions: tuple[int, ...] = ()
        self._collections = tuple(k.collection for k in self._kinds.values())  # never replaced (reset in place)
        self._df_ratio_memo: dict[str, float] = {}  # term -> _df_ratio at _df_ratio_versions
        self._df_ratio_versions: tuple[int, ...] = ()
        self._idfs_memo: dict[str, tuple[float | None, float | None, float | None]] = {}  # term -> _term_idfs
        self._idfs_versions: tuple[int, ...] = ()
        self._told_uncalibrated = False  # logged once that the gap model waits for a calibration
        # multi-word synonyms as posting lists, by (kind, terms, weight share), with the collection version
        self._phrases: dict[tuple[str, tuple[str, ...], float], tuple[int, tuple[dict[int, float], float] | None]] = {}
        self._phrase_postings = 0
        # per kind, of the last search: (variants, traversed, refining, candidates seen, candidates scored)
        self.last_stats: dict[str, tuple[int, int, int, int, int]] = {}
        # kind -> (collection version, common_df cut, (variant terms, share) -> (bound, full, seek, complete) or None)
        self._item_memo: dict[str, tuple[int, int, dict[tuple[tuple[str, ...], float], _Parts | None]]] = {}
        # per kind: (collection version, common df, per theme's names (terms, share) their bound and best
        # contribution per document) (``_pack``)
        self._packs: dict[str, tuple[int, int, dict[tuple[tuple[tuple[str, ...], float], ...], _Pack]]] = {}
        self._pack_postings = 0

    # ================================================================== building and updates
    def build(
        self, *, experts: Iterable[ExpertDoc], practices: Iterable[PracticeDoc], answers: Iterable[AnswerDoc]
    ) -> None:
        """Index everything from scratch (start-up). Replaces whatever was indexed before.

        The cyclic garbage collector is paused meanwhile: the index is millions of new dicts and tuples (no cycles),
        and the collections triggered by those allocations took a tenth of the build time. One collection at the end
        (a quarter of a second) settles them; without it the first collection after the build would scan them all
        in the middle of a search."""
        paused = gc.isenabled()
        gc.disable()
        try:
            self._build(experts, practices, answers)
        finally:
            if paused:
                gc.collect()
                gc.enable()

    def _build(
        self, experts: Iterable[ExpertDoc], practices: Iterable[PracticeDoc], answers: Iterable[AnswerDoc]
    ) -> None:
        for kind in self._kinds.values():
            kind.docs.clear()
            kind.city.clear()
            kind.orgs.clear()
        self._surface_df.clear()
        self._name_words.clear()
        self._person_words.clear()
        self._item_words.clear()
        for doc in experts:
            if doc.consent != "withdrawn":
                self._kinds["expert"].docs[doc.id] = doc
                self._count_names(doc, +1)
        for pdoc in practices:
            self._kinds["practice"].docs[pdoc.id] = pdoc
            self._count_names(pdoc, +1)
        for adoc in answers:
            self._kinds["answer"].docs[adoc.id] = adoc
            self._count_names(adoc, +1)
        # pass 1: vocabulary (for compound splitting and typo repair), and each kind's field lengths summed (what
        # the analysis will count: so pass 2 indexes each document as it is analysed, never holding them all)
        df = self._surface_df
        totals: dict[str, tuple[int, list[int]]] = {}
        for kind in self._kinds.values():
            sums = [0] * len(kind.collection.fields)
            for any_doc in kind.docs.values():
                df.update(self._doc_words(any_doc, sums))
            totals[kind.name] = (len(kind.docs), sums)
        self._sorted = []  # rebuilt below in one sort, not word by word
        for w in df:
            self._bucket(w)
        self._sorted = sorted(self._bucketed)
        self._splitter.add_words(df)
        for kind in self._kinds.values():
            for any_doc in kind.docs.values():
                self._learn_acronyms(any_doc)
        # pass 2: index
        for kind in self._kinds.values():
            self._reindex(kind, totals[kind.name])

    def documents(self, kind: str) -> Mapping[int, Doc]:
        """The indexed documents of one kind ("expert", "practice", "answer"), by id (read-only view)."""
        return self._kinds[kind].docs

    def _reindex(self, kind: _Kind, totals: tuple[int, list[int]] | None = None) -> None:
        # the same short text (a question asked again, a shared role or title) is analysed once per re-index: the
        # vocabulary does not change meanwhile, so its terms are the same (a long text only once it repeats: most
        # are unique, and holding every one's analysis until the end was most of a build's peak of memory)
        memo: dict[str, FieldTerms | None] = {}  # text -> its terms (None: a long text seen once)
        orgs: dict[str, FieldTerms] = {}  # organisation text -> its terms (generic words left out)
        try:
            kind.collection.reset(
                ((doc_id, self._field_terms(doc, memo, orgs)) for doc_id, doc in kind.docs.items()), totals=totals
            )
        except ValueError:  # the lengths of pass 1 were not the analysis's (a bug): index the documents held at once
            kind.collection.reset((doc_id, self._field_terms(doc, memo, orgs)) for doc_id, doc in kind.docs.items())
        for doc_id, doc in kind.docs.items():
            self._set_meta(kind, doc_id, doc)

    def upsert_expert(self, doc: ExpertDoc) -> None:
        """Add or replace one expert; a withdrawn consent removes them."""
        if doc.consent == "withdrawn":
            self.remove_expert(doc.id)
            return
        self._upsert(self._kinds["expert"], doc.id, doc)

    def remove_expert(self, expert_id: int) -> None:
        self._remove(self._kinds["expert"], expert_id)
        if self.semantic is not None:
            self.semantic.remove("expert", expert_id)

    def upsert_practice(self, doc: PracticeDoc) -> None:
        self._upsert(self._kinds["practice"], doc.id, doc)

    def remove_practice(self, practice_id: int) -> None:
        self._remove(self._kinds["practice"], practice_id)
        if self.semantic is not None:
            self.semantic.remove("practice", practice_id)

    def upsert_answer(self, doc: AnswerDoc) -> None:
        self._upsert(self._kinds["answer"], doc.id, doc)

    def remove_answer(self, answer_id: int) -> None:
        self._remove(self._kinds["answer"], answer_id)
        if self.semantic is not None:
            self.semantic.remove("answer", answer_id)

    def set_themes(self, themes: Sequence[ThemeDoc]) -> None:
        """Replace the theme vocabulary (labels, synonyms). Documents keep their theme keys; no re-indexing."""
        self._lexicon.set_themes(themes)
        self._lexicon_concept_words = None
        for w in self._lexicon.words:
            self._bucket(w)
        self._splitter.add_words(self._lexicon.words)

    def forget_erased(self) -> None:
        """After an erasure (``bot.privacy``), once its records were removed or re-read: drop everything derived from
        texts that are gone. Removing a document already takes it out of the postings and the live counts (document
        frequencies, name and concept words); what only ever grows is rebuilt from what is held now — the typo
        vocabulary (buckets, trigrams, sorted words), the compound vocabulary and its splits, the acronyms of
        phrases — and the memos of texts, words and query terms are emptied (they refill as searches come)."""
        live = self._lexicon.words | self._surface_df.keys()
        self._buckets, self._bucket_rank, self._bucket_sizes, self._bucketed = {}, {}, {}, set()
        self._words, self._word_lens, self._grams, self._sorted = [], array("i"), {}, []
        for w in (*self._lexicon.words, *self._parser.qstop, *self._surface_df):  # __init__'s order, then _build's
            self._bucket(w)
        self._sorted = sorted(self._bucketed)
        self._splitter.forget_words(live | set(load_list("morphemes_nl.txt")))  # the shipped morphemes stay parts
        self._stem.forget()
        self._analyzer = self._new_analyzer()  # its memo
        self._phrase_acronyms = {}
        for kind in (self._kinds["expert"], self._kinds["practice"]):
            for doc in kind.docs.values():
                self._learn_acronyms(doc)
        self._phrases, self._phrase_postings = {}, 0  # their arrays go with the collections' (forget_derived)
        self._packs, self._pack_postings = {}, 0
        for memo in (
            self._surfaces_memo,
            self._overlap_memo,
            self._df_ratio_memo,
            self._idfs_memo,
            self._item_memo,
            self.last_stats,
        ):
            memo.clear()
        self._parser.forget()
        for coll in self._collections:
            coll.forget_derived()
        if self.semantic is not None:
            self.semantic.wanted({name: kind.docs for name, kind in self._kinds.items()})  # drops what is gone

    def _upsert(self, kind: _Kind, doc_id: int, doc: Doc) -> None:
        self._remove(kind, doc_id)
        kind.docs[doc_id] = doc
        self._count_names(doc, +1)
        ws = self._doc_words(doc)
        self._count_words(ws, +1)
        self._splitter.add_words(ws)
        self._learn_acronyms(doc)
        kind.collection.add(doc_id, self._field_terms(doc))
        self._set_meta(kind, doc_id, doc)
        if self.semantic is not None:  # a changed text loses its vector until the background job embeds it anew
            text = document_text(doc)
            if text is None or not self.semantic.has(kind.name, doc_id, content_key(text)):
                self.semantic.remove(kind.name, doc_id)
        if kind.collection.needs_refresh():
            self._reindex(kind)

    def _count_names(self, doc: Doc, sign: int) -> None:
        """Add (+1) or take away (-1) a document's name and concept words (see _name_words, _item_words)."""
        person, addressed = _name_words(doc)
        for counter, ws in (
            (self._name_words, person | addressed),
            (self._person_words, person),
            (self._item_words, _item_words(doc)),
        ):
            for w in ws:
                counter[w] += sign
                if counter[w] <= 0:
                    del counter[w]

    def _lexicon_concepts(self) -> set[str]:
        """The words of the glossary's entries and of the themes' names and synonyms."""
        if self._lexicon_concept_words is None:
            self._lexicon_concept_words = {w for e in self._lexicon.entries() for w in e.text.split()}
        return self._lexicon_concept_words

    def _names_a_person(self, word: str) -> bool:
        """Whether ``word`` is a word of a person's name, onto which no typo is repaired. A word of an expert's
        name field always is. A word of an e-mail address or an answerer's display name is unless it is a concept
        of the register — a word of the glossary, of a theme's name or synonyms, of an expertise item or a tag —:
        a shared topic mailbox ("ruimtelijke.ordening@…", "info.duurzaamheid@…") or a team ("Team Wonen") is
        named after its topic, and a person's first name or surname is rarely a concept ("jolien", "peeters")."""
        if word not in self._name_words:
            return False
        if word in self._person_words:
            return True
        return word not in self._item_words and word not in self._lexicon_concepts()

    def _remove(self, kind: _Kind, doc_id: int) -> None:
        old = kind.docs.pop(doc_id, None)
        if old is None:
            return
        self._count_words(self._doc_words(old), -1)
        self._count_names(old, -1)
        kind.collection.remove(doc_id)
        kind.city.pop(doc_id, None)
        kind.orgs.pop(doc_id, None)

    def _set_meta(self, kind: _Kind, doc_id: int, doc: Doc) -> None:
        city = getattr(doc, "city", "")
        if city:
            kind.city[doc_id] = self._lexicon.canonical_city(city)
        orgs = self._lexicon.organisations_in(doc.organisation)
        if orgs:
            kind.orgs[doc_id] = orgs

    def _doc_words(self, doc: Doc, sums: list[int] | None = None) -> set[str]:
        """The distinct folded content words of a document. With ``sums`` (one per field of the document's
        collection), each field's length as the analysis counts it (its tokens that are no stop word, of 2 to
        _MAX_TOKEN_LEN characters; ``themes``: the theme keys) is added to it."""
        out: set[str] = set()
        at = self._field_at[_kind_name(doc)] if sums is not None else {}
        stop = self._stop
        for f, text in _field_texts(doc).items():
            tokens = _TOKEN_RE.findall(fold(text))
            out.update(tokens)
            i = at.get(f)
            if i is not None and sums is not None and tokens:  # counted in C: stop words have 2 to 60 characters
                lens = list(map(len, tokens))
                n = len(tokens) - lens.count(1) - sum(map(stop.__contains__, tokens))
                if max(lens) > _MAX_TOKEN_LEN:
                    n -= sum(1 for x in lens if x > _MAX_TOKEN_LEN)
                sums[i] += n
        i = at.get("themes")
        if i is not None and sums is not None:
            sums[i] += len(doc.themes)
        out -= stop
        return {t for t in out if 1 < len(t) <= _MAX_TOKEN_LEN}

    def _learn_acronyms(self, doc: Doc) -> None:
        if isinstance(doc, ExpertDoc):
            items: Iterable[str] = doc.expertise
        elif isinstance(doc, PracticeDoc):
            items = (*doc.tags, doc.title)
        else:
            return
        stop = self._stop
        leaves = self._splitter.leaves
        for item in dict.fromkeys(part for whole in items for part in (whole, *_HEAD_BREAK.split(whole))):
            ws = [t for t in tokenize(fold(item)) if t not in stop and t.isalpha()]
            if not 2 <= len(ws) <= 4:
                continue
            initials = "".join(p[0] for w in ws for p in leaves(w))
            if 3 <= len(initials) <= 6:
                key = tuple(self._stem(w) for w in ws)
                self._phrase_acronyms.setdefault(initials, {}).setdefault(key, Entry(key, " ".join(ws)))

    def _acronyms(self, word: str) -> list[Entry]:
        """Register phrases and compounds whose initials spell ``word`` (most frequent first, at most three)."""
        found: list[tuple[int, Entry]] = []
        for compound in self._splitter.acronyms.get(word, ()):
            df = self._surface_df.get(compound, 0)
            if df:
                found.append((df, Entry((self._stem(compound),), compound)))
        for entry in self._phrase_acronyms.get(word, {}).values():
            if all(self._in_index(t) for t in entry.stems):
                found.append((1, entry))
        found.sort(key=lambda x: (-x[0], x[1].text))
        return [e for _, e in found[:3]]

    def _count_words(self, ws: Iterable[str], delta: int) -> None:
        df = self._surface_df
        for w in ws:
            n = df.get(w, 0) + delta
            if n > 0:
                df[w] = n
                if delta > 0:
                    self._bucket(w)
            else:
                df.pop(w, None)

    def _bucket(self, w: str) -> None:
        if w not in self._bucketed and w.isalpha():
            self._bucketed.add(w)
            key = (len(w), w[0])
            ws = self._buckets.get(key)
            if ws is None:
                ws = self._buckets[key] = []
                self._bucket_rank[key] = len(self._bucket_rank)
                self._bucket_sizes.setdefault(key[0], []).append(key)
            # the typo pre-filter: the word's id and its trigrams
            ws.append(w)
            ident = len(self._words)
            self._words.append(w)
            self._word_lens.append(len(w))
            grams = self._grams
            for g in _trigrams(w):
                got = grams.get(g)
                if got is None:
                    grams[g] = array("i", (ident,))
                else:
                    got.append(ident)
            if self._sorted:
                bisect.insort(self._sorted, w)

    def _new_analyzer(self) -> Analyzer:
        return Analyzer(self._stem, self._splitter, part_weight=self.config.compound_part_tf)

    def _field_terms(
        self,
        doc: Doc,
        memo: dict[str, FieldTerms | None] | None = None,
        org_memo: dict[str, FieldTerms] | None = None,
    ) -> list[FieldTerms]:
        texts = _field_texts(doc)
        coll = self._kinds[_kind_name(doc)].collection
        out: list[FieldTerms] = []
        field_terms = self._analyzer.field_terms
        for f in coll.fields:
            if f == "themes":
                keys = doc.themes
                out.append(({THEME_PREFIX + k: 1.0 for k in keys}, len(keys)))
            elif f == "organisation":  # "Stad Gent" is found through Gent, never through "stad"
                text = texts[f]
                org = org_memo.get(text) if org_memo is not None else None
                if org is None:
                    tf, n = field_terms(text)
                    org = ({t: x for t, x in tf.items() if t not in self._generic_stems}, n)
                    if org_memo is not None:  # a few hundred organisations, shared by thousands of documents
                        org_memo[text] = org
                out.append(org)
            elif memo is None:
                out.append(field_terms(texts[f]))
            else:
                text = texts[f]
                got = memo.get(text)
                if got is None:
                    got = field_terms(text)
                    # a long text (bio, summary, answer) is remembered from its second time on: most are unique
                    if f in _SHORT_FIELDS or text in memo:
                        memo[text] = got
                    else:
                        memo[text] = None
                out.append(got)
        return out

    # ================================================================== vocabulary look-ups for the parser
    def _in_index(self, term: str) -> bool:
        return any(term in k.collection.postings for k in self._kinds.values())

    def state(self) -> tuple[int, ...]:
        """The register's state: changes whenever a document is added, changed or removed."""
        return self._versions()

    def _versions(self) -> tuple[int, ...]:
        """The collections' versions: what was computed from the postings holds while they stay the same."""
        return tuple(c.version for c in self._collections)

    def _df_ratio(self, term: str) -> float:
        """The largest share of any document kind that contains ``term`` (0 below 20 documents: too few to tell).
        Remembered while the collections stay the same: a theme's names are weighed by it question after question."""
        colls = self._collections
        versions = tuple(c.version for c in colls)
        memo = self._df_ratio_memo
        if versions != self._df_ratio_versions or len(memo) >= 16384:
            memo.clear()
            self._df_ratio_versions = versions
        got = memo.get(term)
        if got is None:
            got = memo[term] = max((c.df(term) / len(c) for c in colls if c.df(term) >= 20), default=0.0)
        return got

    def _generic(self, stem: str) -> bool:
        """A stem that says nothing about a topic on its own: a shipped generic word, or one in more than
        ``generic_df`` of a document kind."""
        return stem in self._generic_stems or self._df_ratio(stem) > self.config.generic_df

    def _known(self, word: str) -> bool:
        if word in self._surface_df or word in self._lexicon.words or not word.isalpha():
            return True
        if self._in_index(self._stem(word)):
            return True
        parts = self._splitter.split(word)
        return bool(parts) and all(self._in_index(self._stem(p)) for p in parts)

    def _repair(self, word: str) -> str | None:
        """Closest register word within a length-aware edit distance (OSA: transpositions count once)."""
        n = len(word)
        if n < 5 or not word.isalpha() or word in self._common:
            return None
        max_d = 1 if n <= 8 else 2
        found = self._typo_candidates(word, max_d)
        qstop = self._parser.qstop
        best: tuple[tuple[float, int, int], str] | None = None
        for cand, dist in found:
            df = self._surface_df.get(cand, 0)
            if df == 0 and cand not in self._lexicon.words and cand not in qstop:
                continue  # stale bucket entry
            if self._names_a_person(cand):
                continue  # a person's name says nothing about a topic
            # equal distance, first letter and frequency: alphabetical, so the result never depends on the order
            # in which words entered the vocabulary (set iteration, i.e. string hashing)
            key = (dist, 0 if cand[0] == word[0] else 1, -df)
            if best is None or (key, cand) < best:
                best = (key, cand)
        return best[1] if best else None

    def _fragment(self, stem: str) -> tuple[tuple[str, ...], ...]:
        """The multi-word phrases ``stem`` stands for when the register has it only as a word of them: a word of
        multi-word glossary entries, theme names or places only (``Lexicon.fragment_of``) that no document holds
        without the rest of one of them ("first" only in "Housing First", "aanleg" in no document). Empty when it
        is a word of the register in its own right. A typo is repaired onto such a word only where the question
        holds the whole phrase (``QueryParser._repair``)."""
        phrases = self._lexicon.fragment_of(stem)
        if not phrases:
            return ()
        for kind in self._kinds.values():
            postings = kind.collection.postings
            docs = postings.get(stem)
            if not docs:
                continue
            # a generic word of the phrase ("agentschap" of an organisation's name) may be left out of the index: the
            # phrase's other words tell; a phrase of nothing else ("vereniging" of "Vereniging van Vlaamse Steden en
            # Gemeenten") is no company the word keeps
            holding = [
                rest
                for p in phrases
                if (rest := [postings.get(t, {}) for t in p if t != stem and not self._generic(t)])
            ]
            for d in docs:
                if not any(all(d in got for got in rest) for rest in holding):
                    return ()  # a document has it on its own
        return phrases

    def _overlap(self, a: str, b: str, floor: float = REAL_WORD_CONTEXT) -> float:
        """How much the documents containing stems ``a`` and ``b`` overlap: the share of the longer list that
        both hold (``|a ∩ b| / max(|a|, |b|)``, each word in at least that share of the other's documents), best
        over the document kinds (for the repair of a real word that the rest of the question vouches for). Not the
        Dice coefficient, which averages the two directions: a rare word in one of a common word's four documents
        reached Dice 0.4 (one word visiting the other, not the two keeping company: "bereik" vouched for reading
        "aanspraak" as "afspraak"). Only whether it reaches ``floor`` matters to the caller: the value is exact
        when it does, and some value below ``floor`` when it does not.

        The work is bounded (it runs under the knowledge base's lock, for each repair and content word): a kind
        whose list sizes alone keep the share below what is needed (``min / max``) is skipped without visiting a
        posting, such as a rare word against a common one; the shorter list is walked only while the needed
        overlap can still be reached; and the results are remembered while the collections stay the same (a pair
        recurs query after query)."""
        versions = tuple(k.collection.version for k in self._kinds.values())
        if versions != self._overlap_versions or len(self._overlap_memo) >= 4096:
            self._overlap_memo.clear()
            self._overlap_versions = versions
        key = (a, b, floor)
        got = self._overlap_memo.get(key)
        if got is not None:
            return got
        best = 0.0
        for k in self._kinds.values():
            pa, pb = k.collection.postings.get(a), k.collection.postings.get(b)
            if not pa or not pb:
                continue
            if len(pa) > len(pb):
                pa, pb = pb, pa
            longer = len(pb)
            aim = max(best, floor)
            if len(pa) < aim * longer:
                continue  # even if every document of the shorter list were in the longer one
            need = aim * longer  # the shared documents needed to reach ``aim``
            both = 0
            left = len(pa)
            for d in pa:
                left -= 1
                if d in pb:
                    both += 1
                elif both + left < need:
                    break  # out of reach
            share = both / longer
            if share >= aim:
                best = share
        self._overlap_memo[key] = best
        return best

    def _typo_candidates(self, word: str, max_d: int) -> list[tuple[str, int]]:
        """The vocabulary words within OSA distance ``max_d`` of ``word`` that the repair weighs: those with the same
        first letter (most typos keep it), or, when none is in reach, all the others; the 25 nearest, ties in the
        order of the vocabulary's length/first-letter buckets.

        Pre-filter instead of a scan: an edit changes at most 3 (a transposition 4) of a word's padded trigrams, so
        a word within distance d shares at least ``|trigrams| - 4d`` distinct trigrams with it. The candidates are
        counted over the trigram posting lists (NumPy) and only they are measured. The result is the one of
        measuring every word of the lengths in reach (``_typo_candidates_scan``, kept for short words, where the
        bound says nothing)."""
        n = len(word)
        grams = _trigrams(word)
        need = len(grams) - 4 * max_d
        lists = [got for g in grams if (got := self._grams.get(g)) is not None]
        if need <= 0 or not lists:
            return self._typo_candidates_scan(word, max_d)
        counts = np.bincount(
            np.concatenate([np.frombuffer(a, dtype=np.int32) for a in lists]), minlength=len(self._words)
        )
        lens = np.frombuffer(self._word_lens, dtype=np.int32)
        hits = np.flatnonzero((counts >= need) & (lens >= n - max_d) & (lens <= n + max_d))
        words = self._words
        rank = self._bucket_rank
        first = word[0]
        for same_first in (True, False):
            near: list[tuple[int, int, int, str]] = []
            for i in hits.tolist():
                cand = words[i]
                if (cand[0] == first) == same_first:
                    d = OSA.distance(word, cand, score_cutoff=max_d)
                    if d <= max_d:
                        near.append((d, rank[len(cand), cand[0]], i, cand))  # the bucket scan order
            if near:
                near.sort()
                return [(cand, d) for d, _, _, cand in near[:25]]
        return []

    def _typo_candidates_scan(self, word: str, max_d: int) -> list[tuple[str, int]]:
        """``_typo_candidates`` by measuring every word of the lengths in reach (rapidfuzz, in bucket order)."""
        n = len(word)
        keys = sorted(
            (b for size in range(n - max_d, n + max_d + 1) for b in self._bucket_sizes.get(size, ())),
            key=self._bucket_rank.__getitem__,
        )
        for same_first in (True, False):
            choices: list[str] = []
            for bucket in keys:
                if (bucket[1] == word[0]) == same_first:
                    choices.extend(self._buckets[bucket])
            if choices:
                found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=max_d, limit=25)
                if found:
                    return [(cand, int(d)) for cand, d, _ in found]
        return []

    def _cognate(self, word: str) -> str | None:
        """A register word sharing a long prefix with an unknown word: a cognate across languages
        ("gentrification" -> "gentrificatie", "inspections" -> "inspecties"). The longest shared prefix wins (at
        least ``cognate_min_prefix`` letters and 60 % of the word), then the most frequent word."""
        n = len(word)
        shortest = max(self.config.cognate_min_prefix, -(-3 * n // 5))
        if n < shortest + 1 or not word.isalpha():
            return None
        vocab = self._sorted_vocab()
        qstop = self._parser.qstop
        for size in range(n - 1, shortest - 1, -1):
            prefix = word[:size]
            i = bisect.bisect_left(vocab, prefix)
            best: tuple[int, str] | None = None
            while i < len(vocab) and vocab[i].startswith(prefix):
                cand = vocab[i]
                i += 1
                df = self._surface_df.get(cand, 0)
                if (
                    df
                    and abs(len(cand) - n) <= 4
                    and cand not in qstop
                    and not self._names_a_person(cand)
                    and (best is None or df > best[0])
                ):
                    best = (df, cand)
            if best is not None:
                return best[1]
        return None

    def _sorted_vocab(self) -> list[str]:
        if len(self._sorted) != len(self._bucketed):
            self._sorted = sorted(self._bucketed)
        return self._sorted

    # ================================================================== analysis
    def analyse(self, text: str) -> ParsedQuery:
        """How :meth:`search` understands ``text``: framing and stop words dropped, typos repaired against the
        register's vocabulary, compound parts, glossary synonyms and themes, as weighted term groups (for grouping
        questions into topics, ``bot.needs``; gap keys). A question's context words are kept here
        (``MatchConfig.context_words_in_gap``: they are left out of the ranking only). Raises ``QueryError`` for text
        without content words."""
        pq = self._parser.parse(text)
        return pq.whole or pq

    def phrase_words(self) -> frozenset[str]:
        """Folded words that occur in a multi-word glossary entry or theme name ("vacancy" of "vacancy tax"): a
        caller analysing text word by word (``bot.needs``) analyses runs of them together, so phrases still match."""
        return frozenset(w for e in self._lexicon.entries() if len(e.stems) > 1 for w in e.text.split())

    # ================================================================== search
    def search(
        self, query: str, *, limit: int = 5, today: date | None = None, now: datetime | None = None
    ) -> SearchResult:
        """Rank experts, practices and answers for ``query``. Raises ``QueryError`` for unusable input.

        ``today`` (availability) and ``now`` (profile staleness) default to each other, then to the clock.
        """
        cfg = self.config
        if now is None:
            now = datetime.combine(today, time(12), tzinfo=UTC) if today is not None else datetime.now(UTC)
        today = today or now.date()
        pq = self._parser.parse(query)
        shown = max(limit, 0)
        limit = max(limit, 1)
        e_kind, p_kind, a_kind = self._kinds["expert"], self._kinds["practice"], self._kinds["answer"]

        boost_max = 1.0 + (cfg.city_boost if pq.cities else 0.0) + (cfg.organisation_boost if pq.organisations else 0.0)
        pool = max(limit, cfg.evidence_pool)
        n_concepts = pq.concepts
        p_mask: dict[int, int] = {}
        a_mask: dict[int, int] = {}
        e_mask: dict[int, int] = {}
        p_free = self._common_concepts(p_kind, pq.groups)
        p_raw = self._score(
            p_kind, pq.groups, k=limit, boost_max=boost_max, concepts=n_concepts, masks=p_mask, free=p_free
        )
        a_raw = self._score(a_kind, pq.groups, k=limit, boost_max=1.0, concepts=n_concepts, masks=a_mask)
        self._cover(p_raw, p_mask, n_concepts, free=p_free)
        self._cover(a_raw, a_mask, n_concepts)

        # evidence: the best practices and answers point to experts
        p_by_expert: dict[int, list[tuple[float, int]]] = {}
        for pid, s in _largest(p_raw, pool):
            pdoc = p_kind.docs[pid]
            eid = pdoc.contact_expert_id  # type: ignore[union-attr]
            if eid is not None and eid in e_kind.docs:
                p_by_expert.setdefault(eid, []).append((s, pid))
        a_by_expert: dict[int, list[tuple[float, int]]] = {}
        for aid, s in _largest(a_raw, pool):
            adoc = a_kind.docs[aid]
            eid = adoc.expert_id  # type: ignore[union-attr]
            if eid is not None and eid in e_kind.docs:
                a_by_expert.setdefault(eid, []).append((s, aid))
        e_raw = self._score(
            e_kind,
            pq.groups,
            k=limit,
            boost_max=boost_max,
            forced=p_by_expert.keys() | a_by_expert.keys(),
            concepts=n_concepts,
            masks=e_mask,
        )
        for by, weight, ev_mask in (
            (p_by_expert, cfg.practice_evidence, p_mask),
            (a_by_expert, cfg.answer_evidence, a_mask),
        ):
            for eid, items in by.items():
                scores = [s for s, _ in items]
                top = max(scores)
                e_raw[eid] = e_raw.get(eid, 0.0) + weight * (top + cfg.evidence_decay * (sum(scores) - top))
                for _, ev_id in items:  # concepts matched through their work count as covered
                    e_mask[eid] = e_mask.get(eid, 0) | ev_mask.get(ev_id, 0)
        self._cover(e_raw, e_mask, n_concepts)

        if not pq.groups:  # only a city / organisation was named
            for kind, raw in ((e_kind, e_raw), (p_kind, p_raw), (a_kind, a_raw)):
                for doc_id in kind.docs:
                    if self._boost(kind, doc_id, pq) > 1.0:
                        raw[doc_id] = 1.0

        weights = self._weights(pq)
        e_groups = weights.expert
        e_ideal = sum(e_groups) or 1.0
        p_ideal = sum(weights.practice) or 1.0
        a_ideal = sum(weights.answer) or 1.0
        e_rank = self._contact_floor(e_raw, p_by_expert, e_ideal / p_ideal)

        # the meaning-based signal, where the vectors are there (see bot.matching.semantic); the question is embedded
        # without its framing ("wie weet iets over …"): fewer tokens to embed, and only what it is about
        e_sim = p_sim = NO_SIMILARITY
        if self.semantic is not None and pq.groups:
            topic = question_topic(query)
            e_sim, p_sim = self.semantic.similarities(topic, ("expert", "practice"))  # the question embedded once

        # experts
        # the best expert by lexical score (unboosted): what the gap decision looks at, and how much of the question
        # the words cover (the less, the more the meaning boosts count: MatchConfig.meaning_lean)
        top_id = None  # the highest score, the lowest id among equals
        if e_raw:
            top_score = max(e_raw.values())
            top_id = min(compress(e_raw, map(eq, e_raw.values(), repeat(top_score))))
        best_norm = e_raw[top_id] / e_ideal if top_id is not None else 0.0
        lexical_top = {d for d, _ in _largest(e_raw, 3)}
        # explanations: the question's terms indexed once for all hits (``_reason_plan``, made for the first one);
        # an expert's remembered, as the gap features read the best one's and it is often shown
        plans: list[_ReasonPlan] = []
        e_explained: dict[int, tuple[Reason, ...]] = {}

        def explain(kind: _Kind, doc_id: int) -> tuple[Reason, ...]:
            if not plans:
                plans.append(self._reason_plan(pq))
            return self._reasons(kind, doc_id, pq, plans[0])

        def explain_expert(eid: int) -> tuple[Reason, ...]:
            got = e_explained.get(eid)
            if got is None:
                got = e_explained[eid] = explain(e_kind, eid)
            return got

        features = self._gap_features(
            pq, top_id, best_norm, weights, e_sim, p_sim, p_raw, p_ideal, lexical_top, explain_expert
        )
        # what the gap decision reads: the same, unless context words were left out of the ranking only
        # (MatchConfig.context_words_in_gap): then the whole question's, scored as with the option off
        gap_features, gap_norm = features, best_norm
        if pq.whole is not None:
            gap_features, gap_norm = self._word_features(pq.whole, limit=limit, without={}, e_sim=e_sim, p_sim=p_sim)
        sem, via_meaning = self._with_practice_meaning(e_sim.boosts, p_sim.boosts)
        if cfg.meaning_lean > 0.0 and cfg.meaning_lean_cover > 0.0 and sem:
            lean = 1.0 + cfg.meaning_lean * max(0.0, 1.0 - features["coverage"] / cfg.meaning_lean_cover)
            if lean > 1.0 and self._other_language(pq) >= cfg.meaning_lean_foreign:  # its words cover less anyway
                lean = 1.0
            sem = {d: b * lean for d, b in sem.items()}
        ranked = self._rank_experts(e_rank, sem, e_ideal, pq, limit, today, now)
        practice_top = self._top(p_kind, p_raw, p_ideal, pq, limit=shown, sim=p_sim)
        model = self._gap_model(e_sim, p_sim)
        x: Mapping[str, float] = gap_features
        if model is not None and cfg.gap_levels == "register" and self.gap_levels is not None:
            # the option (bot.matching.levels): the words' features read against the register's own levels, once
            # they are measured (in the background), and only where the semantic model decides
            by_levels = levels_model()
            if by_levels is not None and model is shipped_models().get("semantic"):
                model, x = by_levels, self.gap_levels.place(gap_features)
        if model is not None:
            gap_p = model.probability(x)
            gap = gap_p >= model.threshold
        else:  # no fitted model shipped: the raw threshold
            gap = gap_norm < cfg.gap_threshold
            gap_p = 1.0 if gap else 0.0
        # the best score for this question as the ranking read it: after the contact floor (an expert it lifts can
        # score above the best lexical score, ``best_norm``, which the gap decision keeps reading)
        best_for_weak = max(e_rank.values(), default=0.0) / e_ideal + max(sem.values(), default=0.0)
        experts: list[ExpertHit] = []
        for _, eid, score, norm, avail, stale in ranked[:shown]:
            edoc = e_kind.docs[eid]
            assert isinstance(edoc, ExpertDoc)
            reasons = explain_expert(eid)
            ev: list[Reason] = []
            if eid in p_by_expert:
                _, pid = max(p_by_expert[eid])
                pdoc = p_kind.docs[pid]
                assert isinstance(pdoc, PracticeDoc)
                ev.append(Reason("", "practice", "via", "", pdoc.title))
            if eid in a_by_expert:
                _, aid = max(a_by_expert[eid])
                adoc = a_kind.docs[aid]
                assert isinstance(adoc, AnswerDoc)
                ev.append(Reason("", "answer", "via", "", _short(adoc.question)))
            if not reasons and not ev and eid in via_meaning:  # a practice of theirs says the same thing
                ev.append(Reason("", "practice", "via", "", via_meaning[eid].title))
            elif not reasons and not ev and eid in sem:
                ev.append(Reason("", "profile", "meaning", "", ""))
            if stale:
                since = (
                    edoc.last_confirmed_at.date().isoformat()
                    if edoc.consent != "pending" and edoc.last_confirmed_at
                    else ""
                )
                ev.append(Reason("", "profile", "stale", "", since))
            reasons = _merge_reasons(reasons, ev, cfg.max_reasons)
            # weak is relative to the question: far below the best match for *this* question, or nobody fits
            weak = gap or norm + sem.get(eid, 0.0) < cfg.weak_ratio * best_for_weak
            experts.append(ExpertHit(edoc, round(score, 4), reasons, available=avail, weak=weak, stale=stale))

        practices = [
            PracticeHit(doc, score, explain(p_kind, pid) or _meaning(pid in p_sim.boosts))  # type: ignore[arg-type]
            for pid, doc, score in practice_top
        ]
        answer_top = self._top(a_kind, a_raw, a_ideal, pq, limit=shown, sim=NO_SIMILARITY)
        answers = [
            AnswerHit(doc, score, explain(a_kind, aid))  # type: ignore[arg-type]
            for aid, doc, score in answer_top
        ]
        return SearchResult(
            query=query,
            terms=pq.terms,
            themes=pq.themes,
            cities=pq.cities,
            gap=gap,
            experts=experts,
            practices=practices,
            answers=answers,
            organisations=pq.organisations,
            confidence=round(gap_norm, 4),
            gap_probability=round(gap_p, 4),
            gap_features=gap_features,
            gap_terms=(pq.whole or pq).terms,
        )

    def word_gap_features(
        self, query: str, *, limit: int = 5, without: Mapping[str, Set[int]] | None = None
    ) -> dict[str, float]:
        """The gap features that come from the words (:data:`bot.matching.levels.WORD_FEATURES`; the meaning ones
        read as without vectors) as :meth:`search` computes them, with the documents of ``without`` (kind -> ids) left
        out of every kind's candidates — as if they were not in the register, its IDFs aside. For the register's own
        levels (:func:`bot.matching.levels.measure_levels`, background work); raises ``QueryError`` as a search."""
        pq = self._parser.parse(query)
        return self._word_features(pq.whole or pq, limit=max(limit, 1), without=without or {})[0]

    def _word_features(
        self,
        pq: ParsedQuery,
        *,
        limit: int,
        without: Mapping[str, Set[int]],
        e_sim: Similarity = NO_SIMILARITY,
        p_sim: Similarity = NO_SIMILARITY,
    ) -> tuple[dict[str, float], float]:
        """The gap features of ``pq`` (:meth:`word_gap_features`; the meaning ones from ``e_sim`` and ``p_sim``) and
        the best expert's normalised lexical score, scored as :meth:`search` scores a question."""
        cfg = self.config
        gone = without
        e_kind, p_kind, a_kind = self._kinds["expert"], self._kinds["practice"], self._kinds["answer"]
        boost_max = 1.0 + (cfg.city_boost if pq.cities else 0.0) + (cfg.organisation_boost if pq.organisations else 0.0)
        pool = max(limit, cfg.evidence_pool)
        n_concepts = pq.concepts
        p_gone, a_gone, e_gone = gone.get("practice", ()), gone.get("answer", ()), gone.get("expert", ())
        p_mask: dict[int, int] = {}
        a_mask: dict[int, int] = {}
        e_mask: dict[int, int] = {}
        p_free = self._common_concepts(p_kind, pq.groups)
        # the top ``limit`` of what is left is among the top ``limit`` + (documents left out)
        p_raw = self._score(
            p_kind,
            pq.groups,
            k=limit + len(p_gone),
            boost_max=boost_max,
            concepts=n_concepts,
            masks=p_mask,
            free=p_free,
        )
        a_raw = self._score(a_kind, pq.groups, k=limit + len(a_gone), boost_max=1.0, concepts=n_concepts, masks=a_mask)
        for raw, left_out in ((p_raw, p_gone), (a_raw, a_gone)):
            for doc_id in left_out:
                raw.pop(doc_id, None)
        self._cover(p_raw, p_mask, n_concepts, free=p_free)
        self._cover(a_raw, a_mask, n_concepts)
        p_by_expert: dict[int, list[tuple[float, int]]] = {}
        for pid, s in _largest(p_raw, pool):
            eid = p_kind.docs[pid].contact_expert_id  # type: ignore[union-attr]
            if eid is not None and eid in e_kind.docs and eid not in e_gone:
                p_by_expert.setdefault(eid, []).append((s, pid))
        a_by_expert: dict[int, list[tuple[float, int]]] = {}
        for aid, s in _largest(a_raw, pool):
            eid = a_kind.docs[aid].expert_id  # type: ignore[union-attr]
            if eid is not None and eid in e_kind.docs and eid not in e_gone:
                a_by_expert.setdefault(eid, []).append((s, aid))
        e_raw = self._score(
            e_kind,
            pq.groups,
            k=limit + len(e_gone),
            boost_max=boost_max,
            forced=p_by_expert.keys() | a_by_expert.keys(),
            concepts=n_concepts,
            masks=e_mask,
        )
        for doc_id in e_gone:
            e_raw.pop(doc_id, None)
        for by, weight, ev_mask in (
            (p_by_expert, cfg.practice_evidence, p_mask),
            (a_by_expert, cfg.answer_evidence, a_mask),
        ):
            for eid, items in by.items():
                scores = [s for s, _ in items]
                top = max(scores)
                e_raw[eid] = e_raw.get(eid, 0.0) + weight * (top + cfg.evidence_decay * (sum(scores) - top))
                for _, ev_id in items:
                    e_mask[eid] = e_mask.get(eid, 0) | ev_mask.get(ev_id, 0)
        self._cover(e_raw, e_mask, n_concepts)
        if not pq.groups:  # only a city / organisation was named (as in a search)
            for kind, raw in ((e_kind, e_raw), (p_kind, p_raw), (a_kind, a_raw)):
                for doc_id in kind.docs:
                    if doc_id not in gone.get(kind.name, ()) and self._boost(kind, doc_id, pq) > 1.0:
                        raw[doc_id] = 1.0
        weights = self._weights(pq)
        e_ideal = sum(weights.expert) or 1.0
        p_ideal = sum(weights.practice) or 1.0
        top_id = None
        if e_raw:
            top_score = max(e_raw.values())
            top_id = min(compress(e_raw, map(eq, e_raw.values(), repeat(top_score))))
        best_norm = e_raw[top_id] / e_ideal if top_id is not None else 0.0
        lexical_top = {d for d, _ in _largest(e_raw, 3)}
        features = self._gap_features(pq, top_id, best_norm, weights, e_sim, p_sim, p_raw, p_ideal, lexical_top)
        return features, best_norm

    def _rank_experts(
        self,
        e_rank: Mapping[int, float],
        sem: Mapping[int, float],
        ideal: float,
        pq: ParsedQuery,
        limit: int,
        today: date,
        now: datetime,
    ) -> list[tuple[float, int, float, float, bool, bool]]:
        """The experts that can make the top ``limit``, best first: (rank, id, score, normalised lexical score,
        available, stale); at least the ``limit`` best, in the order of (-rank, id).

        The candidates (``_expert_candidates``) are ranked in the order of the most they can reach — ``norm *
        boost_max + sem``, the rank being that score or less while the availability and staleness factors are at most
        1 (0 for a negative score) — and once that bound is below the ``limit``-th best rank found, no later one
        can make the top: its profile is not read (availability, staleness, boosts)."""
        cfg = self.config
        e_kind = self._kinds["expert"]
        docs = e_kind.docs
        cands = self._expert_candidates(e_rank, sem, ideal, pq, limit)
        boost_max = 1.0 + (cfg.city_boost if pq.cities else 0.0) + (cfg.organisation_boost if pq.organisations else 0.0)
        rget, sget = e_rank.get, sem.get
        bounds: list[tuple[float, int]]
        if (
            _RANK_BY_BOUND
            and 0.0 < cfg.unavailable_factor <= 1.0
            and 0.0 < cfg.stale_factor <= 1.0
            and cfg.city_boost >= 0.0
            and cfg.organisation_boost >= 0.0
        ):
            bounds = []
            for d in cands:
                norm = rget(d, 0.0) / ideal
                bounds.append((max((norm * boost_max if norm >= 0.0 else norm) + sget(d, 0.0), 0.0), d))
            bounds.sort(key=_first, reverse=True)
        else:  # no bound: every candidate is ranked
            bounds = [(math.inf, d) for d in cands]
        boosted = bool(pq.cities or pq.organisations)
        heap: list[float] = []  # the ``limit`` best ranks so far
        ranked: list[tuple[float, int, float, float, bool, bool]] = []
        for bound, eid in bounds:
            if len(heap) >= limit and bound < heap[0] - 1e-9 * abs(heap[0]) - 1e-12:
                break
            edoc = docs.get(eid)
            if edoc is None:
                continue
            assert isinstance(edoc, ExpertDoc)
            norm = rget(eid, 0.0) / ideal
            score = (norm * self._boost(e_kind, eid, pq) if boosted else norm) + sget(eid, 0.0)
            avail = is_available(edoc, today)
            stale = is_stale_profile(edoc.consent, edoc.last_confirmed_at, now=now, reconfirm_days=cfg.reconfirm_days)
            rank = score if avail else score * cfg.unavailable_factor
            if stale:
                rank *= cfg.stale_factor
            ranked.append((rank, eid, score, norm, avail, stale))
            if len(heap) < limit:
                heapq.heappush(heap, rank)
            elif rank > heap[0]:
                heapq.heapreplace(heap, rank)
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return ranked

    def _expert_candidates(
        self, raw: Mapping[int, float], sem: Mapping[int, float], ideal: float, pq: ParsedQuery, limit: int
    ) -> Iterable[int]:
        """The experts that can reach the top ``limit`` after boosts, availability and staleness factors (the others
        are not ranked in detail). A rank lies between ``(norm + sem) * least_factor`` and ``norm * boost_max +
        sem``; an expert whose upper bound is below the ``limit``-th best lower bound cannot make the top."""
        ids = raw.keys() | sem.keys() if sem else raw.keys()
        if len(ids) <= 4 * limit + 50:
            return ids
        cfg = self.config
        if min(cfg.unavailable_factor, cfg.stale_factor, cfg.city_boost + 1, cfg.organisation_boost + 1) <= 0:
            return ids
        boost_max = 1.0 + (cfg.city_boost if pq.cities else 0.0) + (cfg.organisation_boost if pq.organisations else 0.0)
        least = min(1.0, cfg.unavailable_factor) * min(1.0, cfg.stale_factor)
        inv = 1.0 / ideal
        if not sem:  # words only: the same bounds, computed from the scores alone (in their order: see _rank_experts)
            low = (heapq.nlargest(limit, raw.values())[-1] * inv + 0.0) * least  # the limit-th best, made as below
            cut = low * (1.0 - 1e-9) - 1e-12
            return [d for d, x in raw.items() if x * inv * boost_max + 0.0 >= cut]
        rget, sget = raw.get, sem.get
        lows = heapq.nlargest(limit, ((rget(d, 0.0) * inv + sget(d, 0.0)) * least for d in ids))
        cut = lows[-1] * (1.0 - 1e-9) - 1e-12
        return [d for d in ids if rget(d, 0.0) * inv * boost_max + sget(d, 0.0) >= cut]

    def _contact_floor(
        self, e_raw: dict[int, float], p_by_expert: Mapping[int, list[tuple[float, int]]], scale: float
    ) -> dict[int, float]:
        """The experts' scores for ranking: each at least ``contact_floor`` of the normalised score of the best
        practice they are the contact for (``scale``: the experts' normalisation ideal over the practices'), so the
        person behind a practice that answers the question is not ranked below someone whose profile only mentions
        a part of it — the lexical counterpart of ``practice_meaning_evidence``. ``e_raw`` itself is left as it
        is: the gap decision reads it (the gap model was fitted on those scores)."""
        floor = self.config.contact_floor * scale
        if floor <= 0.0 or not p_by_expert:
            return e_raw
        out = dict(e_raw)
        for eid, items in p_by_expert.items():
            x = floor * max(s for s, _ in items)
            if x > out.get(eid, 0.0):
                out[eid] = x
        return out

    def _with_practice_meaning(
        self, e_boosts: dict[int, float], p_boosts: Mapping[int, float]
    ) -> tuple[dict[int, float], dict[int, PracticeDoc]]:
        """The experts' meaning boosts, each raised to ``practice_meaning_evidence`` of the best meaning boost of a
        practice they are the contact of (a paraphrase of what a practice did finds the person behind it), and for
        the experts so raised, that practice (their reason)."""
        share = self.config.practice_meaning_evidence
        if share <= 0.0 or not p_boosts:
            return e_boosts, {}
        docs = self._kinds["practice"].docs
        experts = self._kinds["expert"].docs  # a contact not in the index (consent withdrawn, removed) is no one
        out = dict(e_boosts)
        via: dict[int, PracticeDoc] = {}
        for pid, boost in sorted(p_boosts.items(), key=lambda x: (-x[1], x[0])):
            doc = docs.get(pid)
            eid = doc.contact_expert_id if isinstance(doc, PracticeDoc) else None
            if eid is not None and eid in experts and share * boost > out.get(eid, 0.0):
                out[eid] = share * boost
                via[eid] = doc  # type: ignore[assignment]
        return out, via

    def _gap_model(self, e_sim: Similarity, p_sim: Similarity) -> GapModel | None:
        models = shipped_models() if self.config.gap_model else {}
        semantic_ready = (
            self.semantic is not None
            and e_sim.top > 0.0
            and self.semantic.count("expert") >= 0.9 * len(self._kinds["expert"].docs)
        )
        model = models.get("semantic") if semantic_ready else None
        if model is not None:
            # a calibrated feature of a kind without its calibration would read 0.0, i.e. far below "nobody here"
            # (the practices' is missing while fewer than 3 of them have vectors): words alone decide instead
            uses = set(model.features) & set(CALIBRATED_FEATURES)
            missing = [
                kind
                for kind, sim, features in (
                    ("expert", e_sim, EXPERT_CALIBRATED),
                    ("practice", p_sim, PRACTICE_CALIBRATED),
                )
                if uses & features and not sim.calibrated
            ]
            if missing:
                if not self._told_uncalibrated:
                    self._told_uncalibrated = True
                    log.info("gap decision by words alone: no calibration of the %s vectors yet", "/".join(missing))
                model = None
        return model or models.get("lexical")

    def _gap_features(
        self,
        pq: ParsedQuery,
        top_id: int | None,
        best_norm: float,
        weights: _Weights,
        e_sim: Similarity,
        p_sim: Similarity,
        p_raw: Mapping[int, float],
        p_ideal: float,
        lexical_top: Set[int],
        explain: Callable[[int], tuple[Reason, ...]] | None = None,
    ) -> dict[str, float]:
        """What the gap model looks at (see :mod:`bot.matching.gapmodel`), for the best expert by lexical score.
        ``explain``: an expert's reasons (``_reasons``; the search passes its memo, the best expert is often shown)."""
        n = pq.concepts
        e_kind = self._kinds["expert"]
        # per concept (content word): is any form of it in the register, and how specific it is — the best IDF a
        # variant of the word reaches in any document kind, over that kind's largest IDF (a word the register lacks
        # entirely is as specific as a word can be; a generic word such as "plan" or "beleid" weighs little)
        known, weight = weights.known, weights.specificity
        # what a full match of each concept would add to an expert's score (the quality of a match is relative to it)
        ideal = [0.0] * n
        for g, w in zip(pq.groups, weights.expert, strict=True):
            if not g.theme:
                for i in range(n):
                    if g.concepts >> i & 1:
                        ideal[i] = max(ideal[i], w)
        total = sum(weight) or 1.0
        cover = cover_known = core = spec = heavy = 0.0
        uncovered = max(weight, default=1.0)  # the most specific concept the best expert does not match
        if top_id is not None and best_norm > 0.0 and n:
            # how well each concept is matched: the group's contribution to this expert over the concept's ideal
            quality = [0.0] * n
            for g, c in zip(pq.groups, self._group_contribs(e_kind, top_id, pq), strict=True):
                for i in range(n):
                    if g.concepts >> i & 1 and ideal[i] > 0.0 and known[i]:
                        quality[i] = max(quality[i], min(1.0, c / ideal[i]))
            cover = sum(w * q for w, q in zip(weight, quality, strict=True)) / total
            # the same over the concepts the register knows: a word no document contains weighs as the most specific
            # concept in ``coverage`` and is missed by everyone, so a question with one colloquial or rare word reads
            # as uncovered however well its known concepts are matched
            known_total = sum(w for w, k in zip(weight, known, strict=True) if k)
            if known_total:
                cover_known = sum(w * q for w, q, k in zip(weight, quality, known, strict=True) if k) / known_total
            core = quality[max(range(n), key=lambda i: (weight[i], -i))]
            spec = max((w for w, q in zip(weight, quality, strict=True) if q >= 0.25), default=0.0)
            uncovered = max((w for w, q in zip(weight, quality, strict=True) if q < 0.25), default=0.0)
            top_reasons = explain(top_id) if explain is not None else self._reasons(e_kind, top_id, pq)
            heavy_words = {r.original for r in top_reasons if r.field in _HEAVY_EXPERT_FIELDS}
            heavy = sum(w for g, w in zip(pq.groups[:n], weight, strict=True) if g.original in heavy_words) / total
        return {
            "confidence": best_norm,
            "coverage": cover,
            "coverage_known": cover_known,
            "core": core,
            "specificity": spec,
            "heavy": heavy,
            "unknown": (n - sum(known)) / n if n else 0.0,
            "practice": max(p_raw.values(), default=0.0) / p_ideal,
            "concepts": math.log1p(n),
            "uncovered": uncovered,
            "foreign": self._foreign(pq),
            "semantic": e_sim.top,
            "semantic_z": e_sim.top_z,
            "semantic_part": e_sim.top_part,
            "p_semantic": p_sim.top,
            "p_semantic_z": p_sim.top_z,
            # the same relative to this register's out-of-domain level (bot.matching.semantic: SemanticIndex.calibrate)
            "semantic_rel": e_sim.top_rel,
            "semantic_part_rel": e_sim.part_rel,
            "p_semantic_rel": p_sim.top_rel,
            # and placed between its "nobody here" (0) and "someone here" (1) levels
            "semantic_pos": e_sim.top_pos,
            "semantic_part_pos": e_sim.part_pos,
            "p_semantic_pos": p_sim.top_pos,
            # the profile closest in meaning is one the words found too
            "agree": 1.0 if e_sim.top_id is not None and e_sim.top_id in lexical_top else 0.0,
            # the same read from the whole texts' cosines alone, no parts mixed in (the ranking keeps the mix; which
            # similarity "nobody knows" reads is the shipped model's choice: bot.matching.gapmodel, WHOLE_FEATURES)
            "semantic_whole": e_sim.whole,
            "semantic_whole_z": e_sim.whole_z,
            "semantic_whole_pos": e_sim.whole_pos,
            "p_semantic_whole_z": p_sim.whole_z,
            "p_semantic_whole_pos": p_sim.whole_pos,
            "agree_whole": 1.0 if e_sim.whole_id is not None and e_sim.whole_id in lexical_top else 0.0,
        }

    @staticmethod
    def _concept_words(pq: ParsedQuery) -> list[str]:
        """The question's concepts as the asker meant them: as typed, a typo as repaired, a cognate as typed."""
        return [
            g.word if g.word != g.original and g.original not in pq.cognates else g.original
            for g in pq.groups[: pq.concepts]
        ]

    @staticmethod
    def _foreign(pq: ParsedQuery) -> float:
        """The share of the question's concepts that are no Dutch word: how far the question is in another
        language. The register is Dutch, so an English or French question reaches it through translations and
        cognates only, and its words cover less for the same match."""
        n = pq.concepts
        return sum(not is_dutch_word(w) for w in Matcher._concept_words(pq)) / n if n else 0.0

    @staticmethod
    def _other_language(pq: ParsedQuery) -> float:
        """The share of the question's concepts that are a word of another language: no Dutch word, but a real
        English or French one. Stricter than ``foreign``, which also counts what is no word at all (a name, a
        code, a word only the asker uses) — a Dutch question full of those is still Dutch."""
        n = pq.concepts
        return sum(not is_dutch_word(w) and is_real_word(w) for w in Matcher._concept_words(pq)) / n if n else 0.0

    @staticmethod
    def _group_contribs(kind: _Kind, doc_id: int, pq: ParsedQuery) -> list[float]:
        """Per query group, what it adds to one document's raw score (its best variant: DisMax)."""
        coll = kind.collection
        out: list[float] = []
        for g in pq.groups:
            best = 0.0
            for v in g.variants:
                got = 0.0
                complete = True
                for t in v.terms:
                    p = coll.postings.get(t)
                    if p is not None and doc_id in p:
                        got += coll.idf(t) * p[doc_id]
                    else:
                        complete = False
                if v.whole and not complete:
                    continue  # a fragment of a multi-word synonym
                best = max(best, v.weight * got / len(v.terms))
            out.append(best)
        return out

    def _top(
        self, kind: _Kind, raw: dict[int, float], ideal: float, pq: ParsedQuery, *, limit: int, sim: Similarity
    ) -> list[tuple[int, Doc, float]]:
        cfg = self.config
        sem = sim.boosts
        docs: Iterable[int]
        if 0 < 4 * limit < len(raw) and cfg.city_boost >= 0.0 and cfg.organisation_boost >= 0.0:
            # A score lies between raw / ideal + sem (no boost) and raw / ideal * boost_max + sem; a document whose
            # upper bound stays below the limit-th best lower bound (with a margin far above rounding error) cannot
            # make the top.
            boost_max = (
                1.0 + (cfg.city_boost if pq.cities else 0.0) + (cfg.organisation_boost if pq.organisations else 0.0)
            )
            if not sem:
                cut = heapq.nlargest(limit, raw.values())[-1] / boost_max * (1.0 - 1e-9)
                docs = list(compress(raw, map(ge, raw.values(), repeat(cut))))  # the same order, picked in C
            else:
                docs = raw.keys() | sem.keys()
                inv = 1.0 / ideal
                rget, sget = raw.get, sem.get
                low = heapq.nlargest(limit, (rget(d, 0.0) * inv + sget(d, 0.0) for d in docs))[-1]
                cut = low * (1.0 - 1e-9) - 1e-12
                docs = [d for d in docs if rget(d, 0.0) * inv * boost_max + sget(d, 0.0) >= cut]
        else:
            docs = raw.keys() | sem.keys()
        scored = [
            (raw.get(d, 0.0) / ideal * self._boost(kind, d, pq) + sem.get(d, 0.0), d) for d in docs if d in kind.docs
        ]
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [(d, kind.docs[d], round(s, 4)) for s, d in scored[:limit] if s > 0.0]

    def _score(
        self,
        kind: _Kind,
        groups: Sequence[Group],
        *,
        k: int,
        boost_max: float,
        forced: Iterable[int] = (),
        concepts: int = 1,
        masks: dict[int, int] | None = None,
        free: int = 0,
    ) -> dict[int, float]:
        """Scores of the documents that can reach the top ``k`` (plus ``forced`` ones); others are left out.

        1. Candidates. Variants are traversed from the highest upper bound (weight * IDF; saturation <= 1) down,
           accumulating per document a lower bound (its groups' best variants so far). For a *common* term (in
           more than ``common_df`` of the kind) only its strong postings (heavy fields) are traversed. Traversal
           stops (MaxScore) once the most an unseen document could still collect — per group the best untraversed
           bound, summed, times ``boost_max`` — is below the k-th best lower bound.
        2. Re-ranking depth. Only the ``rerank_depth`` candidates with the best lower bounds (and the forced ones)
           go on: a two-stage retrieval that bounds the work per query.
        3. Completion. Those are looked up in the full postings of every variant not yet fully traversed, so their
           scores are exact.

        Approximate: a document that only mentions common terms in light fields (bio, summary, answer text), or
        whose lower bound after traversal is not among the best ``rerank_depth``, is not returned. A group counts its
        best variant (DisMax). A theme tag is an ordinary (field-less) term: a common theme (theme fields carry no
        strong postings) only refines the documents found by words.

        Scores are raw (before the query-term coverage factor); with ``masks`` given, it receives per returned
        document the bit mask of the query concepts it matched. The coverage factor only lowers a score, by at most
        ``1 - coverage_low(concepts)``, so the stopping rule compares unseen documents against that lower bound;
        ``free``: the concepts every document counts as covered (``_cover``).
        """
        cfg = self.config
        coll = kind.collection
        postings = coll.postings
        strong = coll.strong_postings
        common = max(cfg.common_df_min, int(cfg.common_df * len(coll)))
        found: list[_Item] = []
        # a variant's postings, coefficients and bound, made once per collection version (a theme's other names
        # recur question after question; nothing below writes into them)
        memo = self._item_memo.get(kind.name)
        if memo is None or memo[0] != coll.version or memo[1] != common or len(memo[2]) >= _ITEM_MEMO_MAX:
            memo = self._item_memo[kind.name] = (coll.version, common, {})
        made = memo[2]
        walk = 0  # the postings the candidate pass would walk
        positive = True  # every coefficient is positive (the bulk path needs it)
        # per group, a recognised theme's other names: their items and what they are (the key of their pack)
        rings: dict[int, tuple[list[_Item], list[tuple[tuple[str, ...], float]]]] = {}
        pack = cfg.theme_names_packed
        for gi, g in enumerate(groups):
            for v in g.variants:
                share = v.weight / len(v.terms)
                if v.whole:
                    together = self._phrase(kind, v.terms, share)
                    if together is not None:
                        found.append(_Item(together[1], gi, [(together[0], 1.0)], [(together[0], 1.0)], True))
                        walk += len(together[0])
                        if pack and v.kind == "related":
                            ring = rings.setdefault(gi, ([], []))
                            ring[0].append(found[-1])
                            ring[1].append((v.terms, share))
                    continue
                got: _Parts | None = made.get((v.terms, share), _NO_ITEM)
                if got is _NO_ITEM:
                    full: list[tuple[dict[int, float], float]] = []
                    seek: list[tuple[dict[int, float], float]] = []
                    for t in v.terms:
                        p = postings.get(t)
                        if p:
                            c = share * coll.idf(t)
                            full.append((p, c))
                            seek.append((p if len(p) <= common else strong(t), c))
                    got = None
                    if full:
                        complete = all(a is b for (a, _), (b, _) in zip(full, seek, strict=True))
                        sizes = sum(len(p) for p, _ in seek)
                        got = (sum(c for _, c in full), full, seek, complete, sizes, all(c > 0.0 for _, c in full))
                    if _ITEM_MEMO_MAX:  # 0: nothing remembered (a test compares the two)
                        made[(v.terms, share)] = got
                if got is not None:
                    found.append(_Item(got[0], gi, got[1], got[2], got[3]))
                    walk += got[4]
                    positive = positive and got[5]
                    if pack and v.kind == "related":
                        ring = rings.setdefault(gi, ([], []))
                        ring[0].append(found[-1])
                        ring[1].append((v.terms, share))
        for gi, (items, names) in rings.items():
            if len(items) >= dense.PACK_MIN:
                self._pack(kind, gi, items, tuple(names), common)
        found.sort(key=lambda x: -x.bound)
        # rest[i]: the most a document unseen before item i can still collect from items i..end
        # (with coverage: times the best coverage factor the concepts of items i..end allow)
        w = self.config.coverage_weight if concepts > 1 else 0.0
        rest = [0.0] * (len(found) + 1)
        gmax: dict[int, float] = {}
        reach = free
        for i in range(len(found) - 1, -1, -1):
            gmax[found[i].group] = found[i].bound  # descending order: a group's earliest item bounds it
            reach |= groups[found[i].group].concepts
            cover = 1.0 - w + w * reach.bit_count() / concepts if w else 1.0
            rest[i] = boost_max * sum(gmax.values()) * cover
        if not w:
            masks = None
        forced = list(forced)
        if walk >= _BULK_MIN and dense.usable(coll, found, forced, concepts, positive=positive):
            out, self.last_stats[kind.name] = dense.score(
                coll,
                found,
                rest,
                [g.concepts for g in groups],
                k=k,
                depth=max(k, cfg.rerank_depth),
                forced=forced,
                concepts=concepts,
                w=w,
                masks=masks,
            )
            return out
        best: list[dict[int, float]] = [{} for _ in groups]
        low = 1.0 - w + w / concepts if w else 1.0  # the least coverage factor of a document seen
        partial: dict[int, float] = dict.fromkeys(forced, 0.0)
        forced_set = set(partial)
        stop = len(found)
        theta_at = float("inf")
        shared: dict[tuple[int, ...], dict[int, float]] = {}  # the same variant under several words: traverse once
        keys = [(*(id(p) for p, _ in it.seek), *(round(c * 1e6) for _, c in it.seek)) for it in found]
        repeated = {key for key, n in Counter(keys).items() if n > 1}
        i = 0
        while i < len(found):
            item = found[i]
            if len(partial) >= k and rest[i] < theta_at:
                # cheap bounds first: kth (with coverage) <= the k-th best partial score <= the best one
                vals = partial.values()
                if rest[i] < max(vals):
                    top = heapq.nlargest(k if low == 1.0 else 4 * k, vals)
                    kth = top[k - 1]
                    if low != 1.0 and rest[i] < kth:  # k documents whose partial score x coverage is at least kth
                        kth = self._kth_covered(partial, groups, best, k, concepts, top[-1])
                    if rest[i] < kth:
                        stop = i
                        break
                theta_at = 0.85 * rest[i]
            j = dense.run_end(found, rest, i, theta_at)
            key = keys[i]
            if j > i + 1:  # a band of a theme's names, merged level by level (``dense.run_end``)
                for level in self._band(found[i:j]):
                    self._merge(level, best[item.group], partial)
            elif key not in repeated:
                self._traverse(item.seek, best[item.group], partial)
            else:
                contrib = shared.get(key)
                if contrib is None:
                    contrib = shared[key] = self._contrib(item.seek, None)
                self._merge(contrib, best[item.group], partial)
            i = j
        todo = dense.packed([it for it in found[:stop] if not it.complete] + found[stop:])
        if not todo:
            self.last_stats[kind.name] = (len(found), stop, len(todo), len(partial), len(partial))
            if masks is not None:
                self._masks(groups, best, partial.keys(), masks)
            return partial
        keep = partial
        depth = max(k, cfg.rerank_depth)
        if len(partial) > depth:
            keep = dict(_largest(partial, depth))
            for d in forced_set:
                keep[d] = partial[d]
        done: dict[tuple[int, ...], dict[int, float]] = {}
        keys = [(*(id(p) for p, _ in it.full), *(round(c * 1e6) for _, c in it.full), id(it.vec)) for it in todo]
        repeated = {key for key, n in Counter(keys).items() if n > 1}
        kept = keep.keys()
        for key, it in zip(keys, todo, strict=True):
            gbest = best[it.group]
            if it.vec is not None:  # a theme's names, packed (``_pack``)
                self._merge(dense.pick_dict(it.vec, kept), gbest, keep)
                continue
            if len(it.full) == 1 and key not in repeated and gbest:  # _merge(_contrib(...)) without the dict
                p, c = it.full[0]
                bget = gbest.get
                for d in p.keys() & kept:
                    x = c * p[d]
                    old = bget(d, 0.0)
                    if x > old:
                        gbest[d] = x
                        keep[d] = keep[d] + x - old
                continue
            contrib = done.get(key)
            if contrib is None:
                contrib = done[key] = self._contrib(it.full, kept)
            self._merge(contrib, gbest, keep)
        self.last_stats[kind.name] = (len(found), stop, len(todo), len(partial), len(keep))
        if masks is not None:
            self._masks(groups, best, keep.keys(), masks)
        return keep

    def _pack(
        self, kind: _Kind, gi: int, items: list[_Item], names: tuple[tuple[tuple[str, ...], float], ...], common: int
    ) -> None:
        """Give a group's items of a recognised theme's other names (``names``: their terms and share) one item that
        stands for them all in the completion (``dense.packed``): per document the best of their full contributions,
        remembered per kind while the collection's version stays the same (bounded; emptied by ``forget_erased``)."""
        coll = kind.collection
        memo = self._packs.get(kind.name)
        if memo is None or memo[0] != coll.version or memo[1] != common:
            if memo is not None:
                self._drop_packs(kind.name)
            memo = self._packs[kind.name] = (coll.version, common, {})
        made = memo[2]
        got = made.get(names)
        if got is None:
            vec = dense.best_of(coll, items)
            if vec is None:  # ids that cannot index arrays: the same maximum through dicts
                best: dict[int, float] = {}
                get = best.get
                for it in items:
                    for d, x in self._contrib(it.full, None).items():
                        if x > get(d, -math.inf):
                            best[d] = x
                ids = np.fromiter(best.keys(), np.int64, len(best))
                order = np.argsort(ids, kind="stable")
                vec = ids[order], np.fromiter(best.values(), np.float64, len(best))[order]
            size = len(vec[0])
            if len(made) >= _PACKS_MAX or self._pack_postings + 2 * size > _PACK_POSTINGS_MAX:  # bounded memory
                for name in self._packs:
                    self._drop_packs(name)
                made = memo[2]
            got = made[names] = (max(it.bound for it in items), vec, {})
            self._pack_postings += 2 * size  # (its bands hold at most as many documents: ``dense.band_of``)
        one = _Item(got[0], gi, [], [], False, vec=got[1], bands=got[2] if self.config.theme_names_banded else None)
        for place, it in enumerate(items):
            it.pack = one
            it.ring = place

    def _band(self, items: Sequence[_Item]) -> list[dict[int, float]]:
        """``dense.band_of`` for the walk: the band's seek contributions in levels, per document those that raise
        the best of the band's names before it (the first level's documents in the order merging the names one by
        one makes them appear in)."""
        levels: list[dict[int, float]] = []
        best: dict[int, float] = {}
        count: dict[int, int] = {}
        get = best.get
        for it in items:
            for d, x in self._contrib(it.seek, None).items():
                if x > get(d, -math.inf):
                    best[d] = x
                    n = count.get(d, 0)
                    count[d] = n + 1
                    if n == len(levels):
                        levels.append({})
                    levels[n][d] = x
        return levels

    def _drop_packs(self, kind_name: str) -> None:
        """Forget a kind's remembered theme-name vectors."""
        memo = self._packs.get(kind_name)
        if memo is not None:
            self._pack_postings = max(0, self._pack_postings - sum(2 * len(v[1][0]) for v in memo[2].values()))
            memo[2].clear()

    def _phrase(self, kind: _Kind, terms: tuple[str, ...], share: float) -> tuple[dict[int, float], float] | None:
        """``_together``, remembered until the collection changes (a theme's other names recur query after query)."""
        coll = kind.collection
        key = (kind.name, terms, share)
        got = self._phrases.get(key)
        if got is not None and got[0] == coll.version:
            return got[1]
        if got is not None and got[1] is not None:  # replaced: its arrays must not keep the old list alive
            coll.forget_arrays(got[1][0])
        found = self._together(coll, terms, share)
        size = len(found[0]) if found else 0
        if len(self._phrases) >= 20_000 or self._phrase_postings + size > 2_000_000:  # bounded memory
            for (kind_name, _terms, _share), (_version, old) in self._phrases.items():
                if old is not None:
                    self._kinds[kind_name].collection.forget_arrays(old[0])
            self._phrases.clear()
            self._phrase_postings = 0
        self._phrases[key] = (coll.version, found)
        self._phrase_postings += size
        return found

    @staticmethod
    def _together(coll: Collection, terms: Sequence[str], share: float) -> tuple[dict[int, float], float] | None:
        """A multi-word synonym as one posting list: the documents containing all its words, each with the summed
        contribution of the words (and the most it can add); None when no document has them all."""
        lists: list[dict[int, float]] = []
        for t in terms:
            p = coll.postings.get(t)
            if not p:
                return None
            lists.append(p)
        coefs = [share * coll.idf(t) for t in terms]
        docs: Set[int] = min(lists, key=len).keys()
        for p in lists:
            docs = docs & p.keys()
            if not docs:
                return None
        # the per-document sums unrolled for two and three words (most names): the same additions in the same
        # order as sum() makes them on Python 3.11 (0 + a is a, then left to right), a third of the time
        if len(lists) == 2:
            p0, p1 = lists
            c0, c1 = coefs
            return {d: c0 * p0[d] + c1 * p1[d] for d in docs}, sum(coefs)
        if len(lists) == 3:
            p0, p1, p2 = lists
            c0, c1, c2 = coefs
            return {d: c0 * p0[d] + c1 * p1[d] + c2 * p2[d] for d in docs}, sum(coefs)
        pairs = list(zip(lists, coefs, strict=True))
        return {d: sum(c * p[d] for p, c in pairs) for d in docs}, sum(coefs)

    def _kth_covered(
        self,
        partial: dict[int, float],
        groups: Sequence[Group],
        best: list[dict[int, float]],
        k: int,
        concepts: int,
        least: float,
    ) -> float:
        """A lower bound of the k-th best final score: among the 4k best partial scores (``least``: the 4k-th), the
        k-th best partial score times the coverage factor of the concepts matched so far (those k documents reach at
        least that)."""
        w = self.config.coverage_weight
        pairs = [(g.concepts, b) for g, b in zip(groups, best, strict=True) if b]
        lows: list[float] = []
        for d, x in _largest(partial, 4 * k, least):
            m = 0
            for bits, b in pairs:
                if d in b:
                    m |= bits
            lows.append(x * (1.0 - w + w * m.bit_count() / concepts))
        return heapq.nlargest(k, lows)[-1]

    @staticmethod
    def _masks(groups: Sequence[Group], best: list[dict[int, float]], docs: Set[int], out: dict[int, int]) -> None:
        """Per document of ``docs``, the bit mask of the query concepts some group matched (OR-ed into ``out``).
        Group by group, over the documents it shares with ``docs`` (intersections taken in C)."""
        acc: dict[int, int] = {}
        get = acc.get
        for g, b in zip(groups, best, strict=True):
            bits = g.concepts
            if b and bits:
                for d in b.keys() & docs:
                    acc[d] = get(d, 0) | bits
        oget = out.get
        for d, m in acc.items():
            out[d] = oget(d, 0) | m

    def _cover(self, raw: dict[int, float], masks: dict[int, int], concepts: int, *, free: int = 0) -> None:
        """Multiply each score by ``1 - w + w * (share of the query concepts matched)`` (in place); the concepts
        of ``free`` count as matched by every document."""
        w = self.config.coverage_weight
        if concepts <= 1 or w <= 0.0:
            return
        factor = [1.0 - w + w * c / concepts for c in range(concepts + 1)]  # masks only hold word bits
        get = masks.get
        for d, x in raw.items():
            raw[d] = x * factor[(get(d, 0) | free).bit_count()]

    def _common_concepts(self, kind: _Kind, groups: Sequence[Group]) -> int:
        """The query concepts (bits) whose word is generic in ``kind``: in more than ``generic_df`` of its documents
        (20 at least). Matching one tells the documents apart no more than matching none, so for the coverage factor
        every document has them (a question's "app" against answers nearly all of which say "app")."""
        share = self.config.generic_df
        coll = kind.collection
        n = len(coll)
        if share >= 1.0 or n < 20:
            return 0
        out = 0
        for g in groups:
            if g.theme or not g.variants or not g.concepts:
                continue
            term = g.variants[0].terms[0]
            if coll.df(term) > share * n:
                out |= g.concepts
        return out

    @staticmethod
    def _traverse(
        seek: list[tuple[dict[int, float], float]], gbest: dict[int, float], partial: dict[int, float]
    ) -> None:
        """``_merge(_contrib(seek, None), gbest, partial)`` without the intermediate dict for a one-term variant
        (the same arithmetic in the same order, so the same floats)."""
        if len(seek) != 1:
            Matcher._merge(Matcher._contrib(seek, None), gbest, partial)
            return
        p, c = seek[0]
        pget = partial.get
        if gbest:
            bget = gbest.get
            for d, s in p.items():
                x = c * s
                old = bget(d, 0.0)
                if x > old:
                    gbest[d] = x
                    partial[d] = pget(d, 0.0) + x - old
        elif partial:
            for d, s in p.items():
                x = gbest[d] = c * s
                partial[d] = pget(d, 0.0) + x
        else:  # 0.0 + x == x: the first variant's contributions are the partial scores
            gbest.update({d: c * s for d, s in p.items()})
            partial.update(gbest)

    @staticmethod
    def _contrib(tc: list[tuple[dict[int, float], float]], only: Set[int] | None) -> dict[int, float]:
        """Contribution of one variant per document, optionally only for the documents in ``only``.

        A variant of several terms (compound parts, a multi-word synonym) shares its weight among them, so a
        document with one term of two earns half. (Scaling that by the share of terms present once more was
        measured: expert Recall@3 0.868 -> 0.862, so it is not done.)
        """
        if len(tc) == 1 and only is None:
            p, c = tc[0]
            return {d: c * s for d, s in p.items()}
        acc: dict[int, float] = {}
        get = acc.get
        for p, c in tc:
            if only is None:
                if not acc:  # 0.0 + x == x
                    acc = {d: c * s for d, s in p.items()}
                    get = acc.get
                    continue
                for d, s in p.items():
                    acc[d] = get(d, 0.0) + c * s
            else:  # the intersection is taken in C, over the smaller side
                for d in p.keys() & only:
                    acc[d] = get(d, 0.0) + c * p[d]
        return acc

    @staticmethod
    def _merge(contrib: dict[int, float], gbest: dict[int, float], partial: dict[int, float]) -> None:
        if not gbest:
            gbest.update(contrib)
            pget = partial.get
            for d, x in contrib.items():
                partial[d] = pget(d, 0.0) + x
            return
        bget = gbest.get
        pget = partial.get
        for d, x in contrib.items():
            old = bget(d, 0.0)
            if x > old:
                gbest[d] = x
                partial[d] = pget(d, 0.0) + x - old

    def _term_idfs(self, term: str) -> tuple[float | None, float | None, float | None]:
        """``term``'s IDF in the experts, practices and answers (None where no document has it), remembered while the
        collections stay the same (a recognised theme's other names are weighed question after question)."""
        colls = self._collections
        versions = tuple(c.version for c in colls)
        memo = self._idfs_memo
        if versions != self._idfs_versions or len(memo) >= 16384:
            memo.clear()
            self._idfs_versions = versions
        got = memo.get(term)
        if got is None:
            e, p, a = colls
            got = memo[term] = (
                e.idf(term) if term in e.postings else None,
                p.idf(term) if term in p.postings else None,
                a.idf(term) if term in a.postings else None,
            )
        return got

    def _weights(self, pq: ParsedQuery) -> _Weights:
        """In one pass over the question's variants: per query group, the most it can add to an expert (its work
        counted, see ``_Weights``), a practice and an answer — the best IDF a variant reaches, the normalisation
        ideals — and per concept group whether any of its terms is in the register and how specific it is (the
        best IDF a variant reaches in any document kind, over that kind's largest IDF; a generic word such as
        "plan" or "beleid" counts a fifth of that). The same floats as a pass per kind and per group: maxima in any
        order, each sum over a variant's terms in their order."""
        cfg = self.config
        colls = self._collections
        top_e, top_p, top_a = (c.max_idf() for c in colls)
        w_p, w_a = cfg.practice_evidence, cfg.answer_evidence
        unknown = (cfg.unknown_word_idf * top_e, cfg.unknown_word_idf * top_p, cfg.unknown_word_idf * top_a)
        versions = tuple(c.version for c in colls)
        if versions != self._idfs_versions:
            self._idfs_memo.clear()
            self._idfs_versions = versions
        memo = self._idfs_memo
        idfs = self._term_idfs
        n = pq.concepts
        out = _Weights([], [], [], [], [])
        for gi, g in enumerate(pq.groups):
            be = bp = ba = ev = spec = 0.0
            se = sp = sa = False
            fragment = False  # some term is in the register, only as a fragment of a multi-word synonym
            for v in g.variants:
                terms = v.terms
                if len(terms) == 1:  # most variants: sum((x,)) / 1 is x, the same float
                    got = memo.get(terms[0]) or idfs(terms[0])
                    xe, xp, xa = got
                    if xe is not None:
                        se = True
                        be = max(be, xe)
                        spec = max(spec, xe / top_e)
                    if xp is not None:
                        sp = True
                        bp = max(bp, xp)
                        spec = max(spec, xp / top_p)
                        ev = max(ev, w_p * xp)
                    if xa is not None:
                        sa = True
                        ba = max(ba, xa)
                        spec = max(spec, xa / top_a)
                        ev = max(ev, w_a * xa)
                    continue
                got_all = [memo.get(t) or idfs(t) for t in terms]
                k = len(terms)
                for i, top in enumerate((top_e, top_p, top_a)):
                    present = [y for x in got_all if (y := x[i]) is not None]
                    if not present:
                        continue
                    if len(present) == k:  # every term in this kind: its specificity
                        spec = max(spec, sum(present) / k / top)
                    elif v.whole:
                        fragment = True
                        continue  # a fragment of a multi-word synonym: no ideal, but the word is known
                    x = sum(present) / k
                    if i == 0:
                        se, be = True, max(be, x)
                    elif i == 1:
                        sp, bp = True, max(bp, x)
                        ev = max(ev, w_p * sum(present) / k)
                    else:
                        sa, ba = True, max(ba, x)
                        ev = max(ev, w_a * sum(present) / k)
            # an expert's ideal: a group no profile has counts the best its practices' or answers' work reaches
            out.expert.append(be if se else ev if sp or sa else 0.0 if g.theme else unknown[0])
            out.practice.append(bp if sp else 0.0 if g.theme else unknown[1])
            out.answer.append(ba if sa else 0.0 if g.theme else unknown[2])
            if gi < n:
                known = se or sp or sa or fragment
                out.known.append(known)
                if not known:
                    spec = 1.0  # a word the register lacks entirely is as specific as a word can be
                elif self._stem(g.word) in self._generic_stems:
                    spec *= 0.2
                out.specificity.append(spec)
        return out

    def _boost(self, kind: _Kind, doc_id: int, pq: ParsedQuery) -> float:
        boost = 1.0
        if pq.cities and kind.city.get(doc_id) in pq.cities:
            boost += self.config.city_boost
        if pq.organisations:
            orgs = kind.orgs.get(doc_id)
            if orgs and not orgs.isdisjoint(pq.organisations):
                boost += self.config.organisation_boost
        return boost

    # ================================================================== explanations
    def _surfaces(self, text: str) -> dict[str, tuple[str, bool]]:
        """``Analyzer.surfaces``, remembered while the vocabulary (hence compound splitting) stays the same: the
        same profiles and titles are explained query after query."""
        version = self._splitter.version
        if version != self._surfaces_version or len(self._surfaces_memo) >= 4096:
            self._surfaces_memo.clear()
            self._surfaces_version = version
        got = self._surfaces_memo.get(text)
        if got is None:
            got = self._surfaces_memo[text] = self._analyzer.surfaces(text)
        return got

    @staticmethod
    def _reason_plan(pq: ParsedQuery) -> _ReasonPlan:
        """The question's index terms, each with where its variants use it (in the order ``_reasons`` weighs them):
        made once per question, so that explaining a document looks at its own terms that the question uses only."""
        plan: _ReasonPlan = {}
        at = 0
        for gi, g in enumerate(pq.groups):
            for v in g.variants:
                for t in v.terms:
                    plan.setdefault(t, []).append((at, gi, g, v))
                    at += 1
        return plan

    def _reasons(
        self, kind: _Kind, doc_id: int, pq: ParsedQuery, plan: _ReasonPlan | None = None
    ) -> tuple[Reason, ...]:
        """Why ``doc_id`` matched: per query group its best contribution (one reason), heaviest first; then the
        city and organisation. ``plan``: ``_reason_plan(pq)``, made once for the question's hits: only the
        document's own terms that the question uses are weighed (no other term has a posting for it)."""
        doc = kind.docs[doc_id]
        coll = kind.collection
        texts = _field_texts(doc)
        fields = (kind.name, *texts)
        by_weight = self._field_orders.get(fields)
        if by_weight is None:  # a kind's fields, heaviest first (a stable sort: equal weights in the texts' order)
            weights = dict(zip(coll.fields, coll.weights, strict=True))
            by_weight = self._field_orders[fields] = tuple(sorted(texts, key=lambda f: -weights[f]))
        order = [f for f in by_weight if texts[f]]
        analysed: dict[str, dict[str, tuple[str, bool]]] = {}

        generic = self._generic_stems

        def locate(term: str) -> tuple[str, str, bool] | None:
            """The heaviest field containing ``term``, with the word it came from (fields analysed lazily). A generic
            word is never found in the organisation field, as the index leaves it out there ("Stad Gent")."""
            for f in order:
                if f == "organisation" and term in generic:
                    continue
                m = analysed.get(f)
                if m is None:
                    m = analysed[f] = self._surfaces(texts[f])
                if term in m:
                    return f, *m[term]
            return None

        if plan is None:
            plan = self._reason_plan(pq)
        # the (group, variant, term) places of this document's terms, in the groups' and variants' order: the others
        # have no posting for it. The terms both have, found from the smaller side (a short question's few terms, or
        # a long question's many against the document's own)
        postings = coll.postings
        own = coll.doc_terms.get(doc_id, ())
        common: set[str] = (
            {t for t in plan if doc_id in postings.get(t, ())} if len(plan) < len(own) else plan.keys() & own
        )
        hits = [(at, gi, g, v, t) for t in common for at, gi, g, v in plan[t]]
        hits.sort(key=_first)
        scored: list[tuple[float, Reason]] = []
        repaired = dict(pq.repairs)
        best: tuple[float, Reason] | None = None
        current = -1
        for _, gi, g, v, t in hits:
            if gi != current:
                if best is not None:
                    scored.append(best)
                best, current = None, gi
            if v.whole and not common.issuperset(v.terms):  # every term of v is one of the question's
                continue  # a fragment of a multi-word synonym is no evidence
            p = postings[t]
            contrib = v.weight * coll.idf(t) * p[doc_id] / len(v.terms)
            if best is not None and contrib <= best[0]:
                continue
            if v.kind == "theme":
                theme = self._lexicon.themes.get(g.theme)
                label_en = theme.label_en if theme else ""
                best = (contrib, Reason(t, "themes", "theme", g.original, v.target, label_en))
                continue
            where = locate(t)
            if where is None:
                continue
            fname, surface, from_part = where
            if g.original in repaired:
                rkind = "cognate" if g.original in pq.cognates else "typo"
                reason = Reason(t, fname, rkind, g.original, repaired[g.original])
            elif v.rough:  # a lone word of a glossary phrase ("centre" of "knowledge centre")
                reason = Reason(t, fname, "translation", g.original, v.target if v.whole else surface)
            elif v.kind == "synonym" and from_part and not v.whole:
                # the synonym is only a part of the document's compound ("begroting" of burgerbegroting)
                reason = Reason(t, fname, "synonym_part", v.source or g.original, surface)
            elif v.kind in ("synonym", "related"):  # a multi-word synonym is shown whole, as it matched
                reason = Reason(t, fname, v.kind, v.source or g.original, v.target if v.whole else surface)
            elif v.kind == "compound" or from_part:
                reason = Reason(t, fname, "compound", g.original, surface)
            else:
                reason = Reason(t, fname, "exact" if surface == g.word else "stem", g.original, surface)
            best = (contrib, reason)
        if best is not None:
            scored.append(best)
        scored.sort(key=lambda x: -x[0])
        reasons: list[Reason] = []
        seen: set[tuple[str, str]] = set()
        for _, r in scored:
            key = (r.field, r.target)
            if key not in seen:  # one word or phrase in one field is one reason, however many query words reach it
                seen.add(key)
                reasons.append(r)
        city = kind.city.get(doc_id)
        if city and city in pq.cities:
            reasons.append(Reason(fold(city), "city", "city", city, city))
        orgs = kind.orgs.get(doc_id)
        if orgs:
            reasons.extend(Reason(fold(o), "organisation", "organisation", o, o) for o in pq.organisations if o in orgs)
        return tuple(reasons[: self.config.max_reasons])


def _trigrams(word: str) -> set[str]:
    """The distinct trigrams of ``word`` padded with two marks on each side ("##wo", …)."""
    padded = f"##{word}##"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _kind_name(doc: Doc) -> str:
    if isinstance(doc, ExpertDoc):
        return "expert"
    if isinstance(doc, PracticeDoc):
        return "practice"
    return "answer"


def _meaning(found: bool) -> tuple[Reason, ...]:
    """The reason of a document found by meaning only (no word of the question in it)."""
    return (Reason("", "profile", "meaning", "", ""),) if found else ()


def _merge_reasons(own: tuple[Reason, ...], evidence: list[Reason], limit: int) -> tuple[Reason, ...]:
    if not evidence:
        return own
    keep = max(limit - len(evidence), 1)
    return (*own[:keep], *evidence)[:limit]


def _short(text: str, size: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"
