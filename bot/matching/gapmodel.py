"""The calibrated "nobody knows" decision: a small logistic model over what a person would look at.

A person deciding whether anyone in the register can answer a question asks: how much of the question's meaning
does the best candidate cover, through how specific a concept, in which part of their profile, does anything in
the register *mean* the same thing — and are the question's words known to the register at all. Those are the
features (computed per search by ``Matcher.search``, returned in ``SearchResult.gap_features``):

``confidence``   the best normalised expert score (lexical, before boosts)
``coverage``     the share of the question's meaning the best expert covers: per concept (content word) how fully it is
                 matched (its contribution over its ideal), weighted by how specific the concept is (the best IDF a
                 variant of the word reaches; a word the register lacks entirely counts as the most specific)
``coverage_known`` the same share over the concepts the register knows at all (some document contains a form of
                 them): how well the best expert covers what the register could cover; a word no document contains
                 is missed by everyone and, as the most specific concept, dominates ``coverage``
``uncovered``    the most specific concept the best expert does not match (its specificity, as below)
``core``         how fully the question's most specific concept is matched by the best expert
``specificity``  the most specific concept the best expert matches: its IDF over the register's largest IDF
``heavy``        the share of the question's meaning the best expert matches in a heavy field (expertise, role,
                 themes) rather than in a bio or through their practices and answers
``unknown``      the share of the question's concepts no document of the register contains in any form
``practice``     the best normalised practice score
``semantic``     the best cosine similarity between the question and an expert profile (multilingual-e5-small)
``semantic_z``   that similarity's z-score over all experts (how much the best stands out)
``semantic_part`` the best cosine similarity between the question and one expertise item of an expert alone
``p_semantic``   the best cosine similarity between the question and a practice (``p_semantic_z``: its z-score)
``agree``        1 when the profile closest in meaning is among the three best by words (meaning and words agree)
``semantic_rel``, ``semantic_part_rel``, ``p_semantic_rel``  ``semantic``, ``semantic_part`` and ``p_semantic``
                 relative to this register's "nobody here" level: standard deviations above the best cosines that
                 out-of-domain questions reach in the same register (``SemanticIndex.calibrate``, computed from the
                 register alone). Raw cosines have a register-dependent level; these carry from one register to
                 another.
``semantic_pos``, ``semantic_part_pos``, ``p_semantic_pos``  the same cosines placed between two levels of this
                 register: 0 at its "nobody here" level (the probes' mean best cosine) and 1 at its "someone here"
                 level (how close a profile's nearest other profile comes, on average; ``Calibration.near_mean``).
                 Both levels come from the register alone; registers whose profiles are more alike (a higher
                 in-domain level) no longer read every question as closer than it is.
``semantic_whole``, ``semantic_whole_z``, ``semantic_whole_pos``, ``p_semantic_whole_z``, ``p_semantic_whole_pos``,
``agree_whole``  the same as ``semantic``, ``semantic_z``, ``semantic_pos``, ``p_semantic_z``, ``p_semantic_pos`` and
                 ``agree``, read from the whole texts' cosines alone. The ranking mixes each document's best part
                 into its similarity (0.7 whole + 0.3 best part); which of the two "nobody knows" reads is the
                 similarity source of the shipped model (``WHOLE_FEATURES``, ``with_source``): ``mix``, ``whole`` or
                 ``both``. ``semantic_whole_pos`` is placed between two levels measured on whole texts alike (the
                 probes' mean best whole-text cosine and ``near_mean``); ``semantic_pos`` reads the mixed cosine
                 from the probes' mixed level up to the whole-text ``near_mean``
``concepts``     log(1 + number of concepts in the question)
``foreign``      the share of the question's concepts that are no Dutch word (``bot.matching.wordlist.is_dutch_word``;
                 a typo as repaired): how far the question is in another language. The registers are Dutch: an English
                 or French question reaches them through translations and cognates only, so its word coverage is lower
                 for the same true match, and the model reads the other features accordingly

``P(gap) = 1 / (1 + exp(-(b + sum_i w_i * (x_i - mean_i) / scale_i)))``; "nobody knows" when ``P(gap)`` reaches the
model's threshold (chosen leave-one-register-out on dev: on the probabilities each dev register gets from a model
fitted without it, the best F1 among thresholds with precision >= 0.85 — the threshold for a register nobody tuned
on).
Two models are shipped: ``semantic`` when the experts' vectors are there, ``lexical`` (no meaning-based feature)
while they are missing; each uses the subset of the features above that cross-validation on dev chose (fewer
features carry better to a register nobody tuned on). The coefficients (``data/gap_model.json``) are fitted by
``bench/fit_gap_model.py`` on the *dev* queries only (``bench/eval``: the sets over the demo register and the
tuning sets with a register of their own, dev4, dev5 and dev6), with the feature set (and so the similarity its
meaning features read: ``with_source``) chosen leave-one-register-out over those four registers and the
regularisation by cross-validation; held-out, blind and real-text queries are never used to fit or choose anything.
The shipped semantic model reads the whole texts' cosines and was fitted on the demo register, dev4 and dev5 (round
12); a refit on four registers that read both similarities (round 13: pooled leave-one-register-out F1 0.822 ->
0.836) was reverted when the registers nobody tuned on read it worse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEXICAL_FEATURES = ("confidence", "coverage", "core", "specificity", "heavy", "unknown", "practice", "concepts")
SEMANTIC_FEATURES = (*LEXICAL_FEATURES, "semantic", "semantic_z", "agree")
POSITION_FEATURES = ("semantic_pos", "semantic_part_pos", "p_semantic_pos")
# each meaning feature read from the mixed similarity (whole text and best part, as the ranking reads it) -> the same
# read from the whole texts' cosines alone
WHOLE_FEATURES = {
    "semantic": "semantic_whole",
    "semantic_z": "semantic_whole_z",
    "semantic_pos": "semantic_whole_pos",
    "p_semantic_z": "p_semantic_whole_z",
    "p_semantic_pos": "p_semantic_whole_pos",
    "agree": "agree_whole",
}
SIMILARITY_SOURCES = ("mix", "whole", "both")
# features that need the register's calibration (a model using one is not used until the calibration is there)
CALIBRATED_FEATURES = (
    "semantic_rel",
    "semantic_part_rel",
    "p_semantic_rel",
    *POSITION_FEATURES,
    "semantic_whole_pos",
    "p_semantic_whole_pos",
)
# everything ``Matcher.search`` computes; a shipped model uses a subset (chosen by cross-validation on dev)
ALL_FEATURES = (
    *LEXICAL_FEATURES,
    "coverage_known",
    "uncovered",
    "foreign",
    "semantic",
    "semantic_z",
    "semantic_part",
    "p_semantic",
    "p_semantic_z",
    "agree",
    "semantic_whole",
    "semantic_whole_z",
    "p_semantic_whole_z",
    "agree_whole",
    *CALIBRATED_FEATURES,
)
THRESHOLD = 0.5


def with_source(features: tuple[str, ...], source: str) -> tuple[str, ...]:
    """``features`` with their meaning features read from the similarity ``source``: ``mix`` as given (the mixed
    similarity the ranking reads), ``whole`` each replaced by its whole-text counterpart, ``both`` the counterparts
    added after them."""
    if source == "mix":
        return features
    if source == "whole":
        return tuple(WHOLE_FEATURES.get(f, f) for f in features)
    if source == "both":
        return (*features, *(WHOLE_FEATURES[f] for f in features if f in WHOLE_FEATURES))
    raise ValueError(f"similarity source {source!r}: one of {', '.join(SIMILARITY_SOURCES)}")


@dataclass(frozen=True, slots=True)
class GapModel:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = THRESHOLD  # "nobody knows" when the probability reaches it

    def __post_init__(self) -> None:
        n = len(self.features)
        if not len(self.coef) == len(self.mean) == len(self.scale) == n:
            raise ValueError(
                f"gap model: {n} features but {len(self.coef)} coefficients, {len(self.mean)} means and "
                f"{len(self.scale)} scales"
            )

    def probability(self, x: Mapping[str, float]) -> float:
        z = self.intercept
        for name, w, m, s in zip(self.features, self.coef, self.mean, self.scale, strict=True):
            z += w * (x.get(name, 0.0) - m) / (s or 1.0)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> GapModel:
        def floats(key: str) -> tuple[float, ...]:
            value = d[key]
            assert isinstance(value, list)
            return tuple(float(v) for v in value)

        features = d["features"]
        assert isinstance(features, list)
        intercept = d["intercept"]
        assert isinstance(intercept, int | float)
        threshold = d.get("threshold", THRESHOLD)
        assert isinstance(threshold, int | float)
        return cls(
            tuple(str(f) for f in features),
            floats("coef"),
            float(intercept),
            floats("mean"),
            floats("scale"),
            float(threshold),
        )


@cache
def shipped_models() -> dict[str, GapModel]:
    """The fitted models by name ("lexical", "semantic"); empty when none is shipped (a raw threshold is used)."""
    try:
        raw = resources.files("bot.matching").joinpath("data", "gap_model.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    data = json.loads(raw)
    return {name: validated(name, GapModel.from_json(d)) for name, d in data.get("models", {}).items()}


def validated(name: str, model: GapModel) -> GapModel:
    """A shipped model may only name features ``Matcher.search`` computes: an unknown one (a typo, a model file newer
    than the engine) would silently read as 0 and skew every decision, so it fails at load instead."""
    unknown = [f for f in model.features if f not in ALL_FEATURES]
    if unknown:
        raise ValueError(f"gap model {name!r} names features the matcher does not compute: {', '.join(unknown)}")
    return model
