"""What a search returns: hits with scores and structured, translatable reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.i18n import DEFAULT_LANGUAGE, N_, t
from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc

# Field names used in reasons, with the catalogue key of their label.
FIELD_LABEL_KEYS: dict[str, str] = {
    "expertise": N_("reason.field_expertise"),
    "themes": N_("reason.field_themes"),
    "role": N_("reason.field_role"),
    "organisation": N_("reason.field_organisation"),
    "bio": N_("reason.field_bio"),
    "city": N_("reason.field_city"),
    "practice": N_("reason.field_practice"),
    "answer": N_("reason.field_answer"),
    "question": N_("reason.field_question"),
    "title": N_("reason.field_title"),
    "summary": N_("reason.field_summary"),
    "tags": N_("reason.field_tags"),
    "lessons": N_("reason.field_lessons"),
    "profile": N_("reason.field_profile"),
}

# The line for each kind of reason (placeholders: ``original``, ``target``, ``field``; a text uses those it needs).
# Any other kind (exact, stem) is "reason.match"; "stale" has its own two texts.
REASON_KEYS = {
    "typo": N_("reason.typo"),
    "cognate": N_("reason.cognate"),
    "meaning": N_("reason.meaning"),  # found by meaning: no word of the question, the same subject
    "via": N_("reason.via"),
    "city": N_("reason.place"),
    "organisation": N_("reason.place"),
    "theme": N_("reason.theme"),
    "theme_only": N_("reason.theme_only"),  # a practice's or answer's theme is its only link to the question
    "synonym": N_("reason.synonym"),
    "synonym_part": N_("reason.synonym_part"),  # a synonym found as a part of the document's compound
    "translation": N_("reason.translation"),  # a lone word of a glossary phrase: a rough translation
    "related": N_("reason.related"),  # another name of the theme the question's word names
    "compound": N_("reason.compound"),
}
MATCH_KEY = N_("reason.match")


def field_label(name: str, lang: str) -> str:
    key = FIELD_LABEL_KEYS.get(name)
    return t(key, lang) if key else name


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a document matched, in structured form.

    ``term``: the analysed query term (stem) that matched; ``field``: where it matched (``expertise``, ``themes``,
    ``role``, ``organisation``, ``bio``, ``city``, ``practice``, ``answer``, ``title``, ``summary``, ``tags``,
    ``lessons``, ``question``, ``profile``); ``kind``: how (``exact``, ``stem``, ``compound``, ``synonym`` (a glossary
    synonym; a multi-word one only when all its words matched, and shown whole), ``synonym_part`` (a synonym that is
    only a part of the document's compound word), ``translation`` (a rough
    translation of a lone word of a multi-word glossary entry), ``related`` (another name of a
    theme the question names), ``typo``, ``cognate``, ``theme``, ``meaning`` (found by the meaning-based signal
    only), ``city``, ``organisation``, ``via``; ``stale``: not a match but why the expert ranks lower, ``target``
    the last confirmation date or empty); ``original``: the word (or phrase) as the asker typed it
    (folded); ``target``: the word it matched or was repaired to, or the title/label shown (``target_en`` is the
    English label where one differs).
    """

    term: str
    field: str
    kind: str
    original: str
    target: str
    target_en: str = ""

    def render(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """One short line for people: "leegstandsheffing — expertise", "typo: wijkwerkng → wijkwerking"."""
        target = self.target_en if lang == "en" and self.target_en else self.target
        if self.kind == "stale":  # target: the date of the last confirmation (ISO), empty when never confirmed
            return t("reason.stale_since", lang, date=self.target) if self.target else t("reason.stale_never", lang)
        key = REASON_KEYS.get(self.kind, MATCH_KEY)
        if self.kind == "compound" and not (self.original and self.original != target):
            key = MATCH_KEY  # a compound part shown as the word itself
        return t(key, lang, original=self.original, target=target, field=field_label(self.field, lang))


def render_linked(reasons: Sequence[Reason], lang: str = DEFAULT_LANGUAGE) -> tuple[str, ...]:
    """A practice's or earlier answer's reasons for people: when its theme is its only link to the question, the
    reason says so ("alleen het thema: Wonen en woonbeleid"), since it names no word of the question. (An expert
    linked by a theme alone is marked weak instead.)"""
    if reasons and all(r.kind == "theme" for r in reasons):
        reasons = [replace(r, kind="theme_only") for r in reasons]
    return tuple(r.render(lang) for r in reasons)


@dataclass(frozen=True, slots=True)
class ExpertHit:
    doc: ExpertDoc
    score: float
    reasons: tuple[Reason, ...]
    available: bool = True
    weak: bool = False
    stale: bool = False  # consent pending or not re-confirmed in time: ranked lower, see MatchConfig.stale_factor


@dataclass(frozen=True, slots=True)
class PracticeHit:
    doc: PracticeDoc
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class AnswerHit:
    doc: AnswerDoc
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The outcome of one search.

    ``terms`` lists the query words that were searched for, after framing, stop words and place names were taken
    out (folded; a repaired word as ``typed→used``; synonyms and compound parts are not listed), ``themes`` the
    recognised theme keys, ``cities`` the recognised cities (they boost, never filter), ``organisations`` the
    recognised organisations (they boost too). ``gap`` is True when the calibrated gap model says nobody in the
    register fits (``gap_probability`` reaches the model's threshold; ``gap_features`` are what it looked at;
    ``confidence`` is the best unboosted normalised expert score); every expert hit is then weak. ``gap_terms`` are
    the whole question's terms, context words included (as ``analyse`` reads it): a knowledge gap keys on them.
    Scores are normalised per query: about 0.7 means every query word matched a heavy field of the document.
    """

    query: str
    terms: tuple[str, ...]
    themes: tuple[str, ...]
    cities: tuple[str, ...]
    gap: bool
    experts: list[ExpertHit] = field(default_factory=list)
    practices: list[PracticeHit] = field(default_factory=list)
    answers: list[AnswerHit] = field(default_factory=list)
    organisations: tuple[str, ...] = ()
    confidence: float = 0.0  # best unboosted normalised expert score
    gap_probability: float = 0.0  # the calibrated probability that nobody in the register fits (see gapmodel)
    gap_features: dict[str, float] = field(default_factory=dict)  # what the gap model looked at
    gap_terms: tuple[str, ...] = ()  # the whole question's terms (context words included): the gap key's

    def best_theme(self) -> str | None:
        """The theme this query is most likely about: the first theme recognised in its words, else the theme
        the matching experts, practices and answered questions share most (each hit votes its score, split over
        its themes). None when nothing points anywhere — or nobody fits (a gap): then weak hits do not vote."""
        if self.themes:
            return self.themes[0]
        if self.gap:
            return None
        votes: dict[str, float] = {}
        hits: list[ExpertHit | PracticeHit | AnswerHit] = [h for h in self.experts if not h.weak]
        hits += [*self.practices, *self.answers]
        for hit in hits:
            keys = list(dict.fromkeys(hit.doc.themes))
            for key in keys:
                votes[key] = votes.get(key, 0.0) + max(hit.score, 0.0) / len(keys)
        if not votes or max(votes.values()) <= 0:
            return None
        return min(votes, key=lambda key: (-votes[key], key))
