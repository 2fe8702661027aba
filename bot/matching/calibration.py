"""A register measured against itself: the levels the meaning-based gap features are read relative to.

Two levels per document kind, both computed from the register alone (``SemanticIndex.calibrate``, in the background
fill): "nobody here" — the best cosines a fixed set of out-of-domain questions (``data/probes.txt``) reaches, their
mean and spread — and "someone here" — how close a document's nearest other document of the kind comes, on average
(``near_mean``). A raw cosine has a level that depends on the register (on how alike its profiles are, on the
embedding model); read as standard deviations above "nobody here" (``top``, ``part``) or as a position between the
two levels (``top_pos``, ``part_pos``: 0 at "nobody here", 1 at "someone here") it carries from one register to
another. The "someone here" level is measured on whole texts, the mixed "nobody here" level on whole texts and parts
(as a search mixes them): ``whole_pos`` places a whole text's cosine between two levels measured on the same
similarity (``whole_mean``: the probes' mean best whole-text cosine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CALIBRATION_MIN_STD = 0.01  # a spread (or span) below this is taken as this
NEAR_SAMPLE = 500  # documents whose nearest neighbour the in-domain level is measured on (at most)


@dataclass(frozen=True, slots=True)
class Calibration:
    """One document kind of one register against the out-of-domain probes: mean and spread of the best cosine
    (mixed with the parts, as a search computes it) and of the best part cosine alone; and the register's in-domain
    level: the mean cosine of a document to its nearest other document of the kind (whole texts)."""

    top_mean: float
    top_std: float
    part_mean: float
    part_std: float
    near_mean: float = 0.0
    whole_mean: float = 0.0  # the probes' mean best cosine of a whole text alone (no parts mixed in)

    def top(self, cos: float) -> float:
        return (cos - self.top_mean) / self.top_std

    def part(self, cos: float) -> float:
        return (cos - self.part_mean) / self.part_std

    def _span(self) -> float:
        return max(self.near_mean - self.top_mean, CALIBRATION_MIN_STD)

    def top_pos(self, cos: float) -> float:
        """``cos`` between "nobody here" (0.0, the probes' mean top cosine) and "someone here" (1.0, ``near_mean``)."""
        return (cos - self.top_mean) / self._span()

    def whole_pos(self, cos: float) -> float:
        """A whole text's cosine between the probes' mean best whole-text cosine (0.0) and ``near_mean`` (1.0)."""
        return (cos - self.whole_mean) / max(self.near_mean - self.whole_mean, CALIBRATION_MIN_STD)

    def part_pos(self, cos: float) -> float:
        """A part's cosine over the same span, from the probes' mean best part cosine."""
        return (cos - self.part_mean) / self._span()


def near_mean(np: Any, matrix: Any) -> float:
    """The in-domain level of one kind (``matrix``: its documents' unit vectors, one a row): the mean cosine of a
    document to its nearest other document, over at most ``NEAR_SAMPLE`` evenly spaced documents (bounded work)."""
    n = len(matrix)
    if n < 2:
        return 0.0
    rows = np.unique(np.linspace(0, n - 1, min(n, NEAR_SAMPLE)).astype(np.int64))
    sims = matrix[rows] @ matrix.T
    sims[np.arange(len(rows)), rows] = -1.0  # not the document itself
    return float(sims.max(axis=1).mean())


def measure(np: Any, probes: Sequence[Any], matrix: Any, mix: Callable[[Any, Any], tuple[Any, float]]) -> Calibration:
    """One kind (``matrix``: its documents' unit vectors, one a row) against the probes' vectors: its calibration.
    ``mix``: a probe's whole-text cosines and its vector -> the cosines as a search mixes them with the parts, and the
    best part cosine."""
    tops: list[float] = []
    parts: list[float] = []
    wholes: list[float] = []
    for p in probes:
        q = np.asarray(p, dtype=np.float32)
        cos = matrix @ q
        wholes.append(float(cos.max()))
        cos, top_part = mix(cos, q)
        tops.append(float(cos.max()))
        parts.append(top_part)
    return Calibration(
        float(np.mean(tops)),
        max(float(np.std(tops)), CALIBRATION_MIN_STD),
        float(np.mean(parts)),
        max(float(np.std(parts)), CALIBRATION_MIN_STD),
        near_mean(np, matrix),
        float(np.mean(wholes)),
    )
