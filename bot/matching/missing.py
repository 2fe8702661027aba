"""Is a concept of the question no expert matches the topic, or another wording of one the register holds?

The gap decision's words read a word the best expert misses the same whether it is the question's topic (``radon``
beside ``scholen``: nobody knows) or a paraphrase of a topic the register has (``bazen`` for employers: someone
knows). The meaning can tell them apart: the missed words are embedded as a question of their own and compared with
the register's short texts — every expertise item, practice title and tag (``SemanticIndex``'s parts, their vectors
as the index holds them: nothing is embedded again) — and the nearest says how close the register comes to what the
words missed.

``missing_near_rel``  the best cosine between the missed words and one part of the register, in standard deviations
                      above the register's "nobody here" level of a best part cosine (the experts' calibration,
                      ``Calibration.part``, as ``semantic_part_rel`` reads the question's own best part): a raw cosine
                      has a level that depends on the register's wording, this carries from one register to another

Without vectors or without the experts' calibration nothing is computed (the feature is left out; a model reading it
waits for the calibration, as for the other calibrated features, and the words decide meanwhile).
"""

from __future__ import annotations

from typing import Any

from bot.matching.calibration import Calibration
from bot.matching.semantic import SemanticIndex

MISSING_FEATURES = ("missing_near_rel",)


class PartMatrix:
    """The register's part vectors as one matrix, rebuilt when the parts change."""

    def __init__(self) -> None:
        self._stamp: tuple[int, ...] | None = None
        self._matrix: Any = None

    def of(self, index: SemanticIndex) -> Any:
        stamp = tuple(index._part_stamp.values())
        if self._stamp != stamp or self._matrix is None:
            parts = list(index._parts.values())
            np = index._np
            self._matrix = np.stack(parts, dtype=np.float32) if len(parts) >= 3 else None
            self._stamp = stamp
        return self._matrix


def missing_features(index: SemanticIndex, parts: PartMatrix, calib: Calibration, text: str) -> dict[str, float]:
    """``missing_near_rel`` of ``text`` (the missed words, or the question's topic); empty when the register has fewer
    than 3 part vectors."""
    matrix = parts.of(index)
    if matrix is None:
        return {}
    np = index._np
    cos = matrix @ np.asarray(index.embedder.query(text), dtype=np.float32)
    return {"missing_near_rel": calib.part(float(cos.max()))}
