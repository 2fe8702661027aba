"""What a search returns: hits with scores and structured, translatable reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc

# Field names used in reasons, with their Dutch and English labels.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "expertise": ("expertise", "expertise"),
    "themes": ("thema", "theme"),
    "role": ("functie", "role"),
    "organisation": ("organisatie", "organisation"),
    "bio": ("bio", "bio"),
    "city": ("stad", "city"),
    "practice": ("praktijk", "practice"),
    "answer": ("antwoord", "answer"),
    "question": ("vraag", "question"),
    "title": ("titel", "title"),
    "summary": ("samenvatting", "summary"),
    "tags": ("tags", "tags"),
    "lessons": ("lessen", "lessons"),
    "profile": ("profiel", "profile"),
}

# Kinds of evidence, from strongest to weakest.
KINDS = (
    "exact",
    "stem",
    "compound",
    "synonym",
    "related",
    "typo",
    "cognate",
    "theme",
    "meaning",
    "city",
    "organisation",
    "via",
    "stale",
)


def field_label(name: str, lang: str) -> str:
    nl, en = FIELD_LABELS.get(name, (name, name))
    return en if lang == "en" else nl


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a document matched, in structured form.

    ``term``: the analysed query term (stem) that matched; ``field``: where it matched (``expertise``, ``themes``,
    ``role``, ``organisation``, ``bio``, ``city``, ``practice``, ``answer``, ``title``, ``summary``, ``tags``,
    ``lessons``, ``question``, ``profile``); ``kind``: how (``exact``, ``stem``, ``compound``, ``synonym`` (a glossary
    synonym; a multi-word one only when all its words matched, and shown whole), ``related`` (another name of a
    theme the question names), ``typo``, ``cognate``, ``theme``, ``meaning`` (found by the meaning-based signal
    only), ``city``, ``organisation``, ``via``; ``stale``: not a match but why the expert ranks lower, ``target``
    the last confirmation date or empty); ``original``: the word as the asker typed it
    (folded); ``target``: the word it matched or was repaired to, or the title/label shown (``target_en`` is the
    English label where one differs).
    """

    term: str
    field: str
    kind: str
    original: str
    target: str
    target_en: str = ""

    def render(self, lang: str = "nl") -> str:
        """One short line for people: "leegstandsheffing — expertise", "typo: wijkwerkng → wijkwerking"."""
        en = lang == "en"
        target = self.target_en if en and self.target_en else self.target
        label = field_label(self.field, lang)
        if self.kind == "typo":
            return f"typo: {self.original} → {target}"
        if self.kind == "cognate":
            return f"{self.original} ≈ {target} — {label}"
        if self.kind == "stale":  # target: the date of the last confirmation (ISO), empty when never confirmed
            if not self.target:
                return "profile not confirmed yet" if en else "profiel nog niet bevestigd"
            return f"profile not confirmed since {self.target}" if en else f"profiel niet bevestigd sinds {self.target}"
        if self.kind == "meaning":  # found by meaning: no word of the question, the same subject
            return "same subject (meaning)" if en else "zelfde onderwerp (betekenis)"
        if self.kind == "via":
            return f"via {label}: {target}"
        if self.kind in ("city", "organisation"):
            return f"{target} — {label}"
        if self.kind == "theme":
            return f"{'theme' if en else 'thema'}: {target}"
        if self.kind == "synonym":
            return f"{target} — {label} ({'synonym of' if en else 'synoniem van'} {self.original})"
        if self.kind == "related":  # another name of the theme the question's word names
            return f"{target} — {label} ({'related to' if en else 'verwant met'} {self.original})"
        if self.kind == "compound" and self.original and self.original != target:
            return f"{self.original} → {target} — {label}"
        return f"{target} — {label}"


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
    ``confidence`` is the best unboosted normalised expert score); every expert hit is then weak. Scores are
    normalised per query: about 0.7 means every query word matched a heavy field of the document.
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
