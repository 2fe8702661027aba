"""Tunable weights and limits of the matcher (a handful of global numbers, no per-query knowledge)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.matching.analysis import DEFAULT_STEMMER

MAX_QUERY_CHARS = 1000
"""Longest accepted query, in characters after trimming. A Slack question is a sentence or two; 1,000 characters
leaves room for a pasted paragraph while keeping query analysis bounded. Longer input raises
``QueryError("too_long")``."""


def _expert_fields() -> dict[str, float]:
    return {"expertise": 3.0, "role": 1.5, "organisation": 1.0, "bio": 0.7, "themes": 1.0}


def _practice_fields() -> dict[str, float]:
    return {"title": 3.0, "tags": 2.0, "summary": 1.0, "lessons": 0.6, "organisation": 0.5, "themes": 1.0}


def _answer_fields() -> dict[str, float]:
    return {"question": 2.0, "answer": 1.0, "themes": 1.0}


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Weights and thresholds. Defaults were set on the evaluation set as *global* numbers (see the report)."""

    stemmer: str = DEFAULT_STEMMER
    # BM25F
    k1: float = 1.2
    b: float = 0.75
    b_short: float = 0.3  # for short list fields (expertise, tags, themes, role, organisation, title)
    expert_fields: dict[str, float] = field(default_factory=_expert_fields)
    practice_fields: dict[str, float] = field(default_factory=_practice_fields)
    answer_fields: dict[str, float] = field(default_factory=_answer_fields)
    common_df: float = 0.02  # a term in more than this share of a kind (and at least common_df_min documents) is
    common_df_min: int = 200  # "common": candidates come only from its strong postings (heavy fields)
    rerank_depth: int = 300  # candidates per kind scored exactly after the first (bounded) pass
    refresh_drift: float = 0.25  # re-normalise a collection when an average field length drifts this much
    # query term variants (multiplied with the term's BM25F contribution)
    compound_part_tf: float = 0.5  # a compound part counts this much of a whole word at index time
    query_part_weight: float = 0.6  # query compound parts when the whole word is known to the index
    query_part_weight_unknown: float = 0.9  # ... when the whole word is not in the index
    synonym_weight: float = 0.6  # glossary synonyms and abbreviations
    partial_synonym_factor: float = 0.5  # unknown word found inside a multi-word glossary entry
    max_partial_groups: int = 3
    theme_synonym_weight: float = 0.35  # other names of a recognised theme
    # Most theme names used for that (rarest first). Caps below the whole list cost expert Recall@3 on the eval set
    # (10: 0.856, 20/30: 0.863, all: 0.878); the cap only guards against a huge staff-made vocabulary. Measured again
    # in round 19: 30 or 20 cost the demo register's expert and practice MRR@10 (0.957 -> 0.949, 0.954 -> 0.946).
    max_theme_expansions: int = 60
    # A theme named by a phrase of several words (or named twice) expands once a question, under the phrase's rarest
    # word, instead of under each of its words (round 19: fewer variants scored, the same or better figures on the
    # development and the unseen sets; on by default since then, False is the way before it)
    theme_names_once: bool = True
    # The completion (``Matcher._score``) scores a recognised theme's other names as one vector remembered per theme,
    # kind and collection version: per document the names' best contribution, merged into the group once (round 17
    # of docs/speed.md: scores move in the last bits only; False: name by name, as before)
    theme_names_packed: bool = True
    # With it, the candidate pass takes a theme's names a band at a time where no MaxScore test falls between them:
    # per band the names' raising contributions in levels, remembered with the pack, merged level by level (round 18
    # of docs/speed.md: the stop is tested where it was, every score to the last bit as name by name; False: name by
    # name)
    theme_names_banded: bool = True
    # a context word of a question that names a topic besides ("in de binnenstad", "in onze stad", "our city"): a
    # shipped generic word, or a compound of them only, outside a glossary phrase and naming no theme, is left out of
    # the ranking when another word the register knows remains — it no longer scores, counts for coverage or "weak",
    # or shows as a reason (round 20; on by default since round 21, with the next option: it lifts expert MRR@10 on
    # the development sets with the "nobody knows" figures unchanged)
    context_words: bool = True
    # ... and the gap decision ("nobody knows") still reads the whole question, context words included: its features
    # are computed as with the option off, so it sees the same question as before (round 21's C). False: the context
    # words are left out of the gap features too (round 20's A, which cost "nobody knows" precision on paraphrases
    # whose generic word is the topic, "autoverkeer uit het centrum weren")
    context_words_in_gap: bool = True
    typo_weight: float = 0.7  # a repaired word
    verb_form_weight: float = 1.0  # the other present-tense form of a Dutch verb (krijg ~ krijgt: wordlist.verb_forms)
    cognate_weight: float = 0.6  # an unknown word matched to a register word with a long shared prefix
    cognate_min_prefix: int = 6
    theme_weight: float = 0.8  # a document tagged with a recognised theme
    # a stem in more than this share of a document kind is generic (see engine._generic); a practice query concept
    # that generic counts as covered by every practice (engine._common_concepts)
    generic_df: float = 0.25
    max_trigger_df: float = 0.25  # a single word in more than this share of a document kind triggers no theme
    # people are found through their work
    practice_evidence: float = 0.2
    answer_evidence: float = 0.15
    # a practice found by meaning is evidence for its contact expert too: this share of its meaning boost (a
    # paraphrase often says what a practice did rather than what its contact's profile lists)
    practice_meaning_evidence: float = 1.0
    # the experts' meaning boosts count up to 1 + meaning_lean times as much when the words say little: the factor
    # falls linearly from 1 + meaning_lean (the best expert by words covers none of the question's concepts, the gap
    # feature ``coverage``) to 1 (it covers meaning_lean_cover of them, or more) — a paraphrase shares few words
    # with anyone, so the ranking among the few it does share is noise that meaning should outweigh
    meaning_lean: float = 1.0
    meaning_lean_cover: float = 0.3
    # ... but not for a question mostly in another language (at least this share of its concepts a real English or
    # French word that is no Dutch one: engine.Matcher._other_language): its words reach the Dutch register through
    # translations and cognates only and cover less of it for the same true match, so a low coverage there does not
    # mean that the words matched are noise
    meaning_lean_foreign: float = 0.5
    # ... and an expert's lexical score (for ranking) is at least this share of the normalised score of the best
    # practice they are the contact for: a practice answering the question makes its contact a match as good as it
    contact_floor: float = 1.0
    evidence_decay: float = 0.3  # second and further practices/answers add this fraction
    evidence_pool: int = 50  # evidence comes from the query's best practices and answers
    # query-term coverage: a score is multiplied by 1 - w + w * (share of the distinct query concepts matched), so
    # a document matching more of the question beats one matching a single word strongly
    coverage_weight: float = 0.5
    # boosts (multiplicative, never filters)
    city_boost: float = 0.3
    organisation_boost: float = 0.2
    unavailable_factor: float = 0.85  # opted-out/away experts rank as if their score were this much lower
    # stale profiles (consent pending, or last confirmed more than reconfirm_days ago) likewise; reconfirm_days is
    # Settings.reconfirm_days (WIEWEET_RECONFIRM_DAYS), passed in by bot.knowledge
    stale_factor: float = 0.85
    reconfirm_days: int = 182
    # honesty
    # Normalised expert score (after the coverage factor, before boosts) below which a hit is weak; no expert above
    # it -> gap. Calibrated on the dev part of bench/eval (`bench/eval_matching.py`, see the README for the numbers):
    # with the coverage factor the gap-F1 optimum on dev lies between 0.125 and 0.14.
    gap_threshold: float = 0.135  # used only when no fitted gap model is shipped (see bot.matching.gapmodel)
    gap_model: bool = True  # decide gaps with the calibrated model (data/gap_model.json)
    # "register": the semantic model's words' features read against the register's own levels (bot.matching.levels,
    # data/gap_model_levels.json) once they are measured in the background; "off" (default): as shipped
    gap_levels: str = "off"
    # an expert is weak when their score (lexical + semantic boost) is below this share of the best one for the
    # same question: adding a context word lowers everyone's normalised score, not who covers the question's core
    weak_ratio: float = 0.4
    unknown_word_idf: float = 0.5  # a query word unknown to the register counts this fraction of a max IDF
    # limits
    max_query_chars: int = MAX_QUERY_CHARS
    max_query_words: int = 40
    max_typo_repairs: int = 8
    max_reasons: int = 6
