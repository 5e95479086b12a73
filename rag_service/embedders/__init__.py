"""The embedder registry: a collection records its embedder's name and its vector space, and every query uses an
engine of that embedder that makes vectors of that space.

Each embedder has one engine per precision it runs at. Engines with the same `model_id` make interchangeable
vectors (MiniLM fp32 and bf16); any other engine has a model_id of its own (MiniLM int8), so its vectors never
meet another's in a collection or in the embedding cache.

A collection's vector space is that of the engine RAG_EMBED_PRECISION chooses when it is created. Later, when
the setting chooses an engine of another space for it (int8 on a collection embedded at fp32, or the other way
round), the collection's own space wins: an engine of that space is used, with a warning in the log, so a
collection is never searched with vectors it was not made with. A space no engine makes any more
(RETIRED_SPACES: MiniLM's first int8 recipe) is refused with the reason and a request to re-ingest.

A new embedder is one module with a class following `Embedder` plus one line in EMBEDDERS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rag_service.embedders.base import Embedder
from rag_service.embedders.minilm import MiniLMEmbedder
from rag_service.embedders.minilm_int8 import MiniLMInt8Embedder
from rag_service.embedders.multilingual import MultilingualEmbedder
from rag_service.embedders.precision import PrecisionChoice, choose_precision, cpu
from rag_service.errors import ConflictError
from rag_service.settings import Settings

log = logging.getLogger(__name__)

EMBEDDERS: dict[str, dict[str, Callable[[Settings], Embedder]]] = {
    "minilm": {
        "fp32": lambda settings: MiniLMEmbedder(batch_size=settings.embed_batch_size),
        "bf16": lambda settings: MiniLMEmbedder(batch_size=settings.embed_batch_size, precision="bf16"),
        "int8": lambda settings: MiniLMInt8Embedder(settings.embed_batch_size, settings.model_cache_path),
    },
    "multilingual": {"fp32": lambda settings: MultilingualEmbedder(batch_size=settings.embed_batch_size)},
}


class UnknownEmbedderError(ValueError):
    pass


class IncompatibleVectorsError(ConflictError):
    """A collection's vectors are of a space that no engine here makes."""


# Spaces no engine makes any more, and why. MiniLM's first int8 recipe quantised each batch's activations with
# one scale, and on CPUs without VNNI its kernel saturated: its vectors differed by CPU class (issue #25), so a
# collection of them cannot be queried reliably anywhere but on the CPU class that made it.
RETIRED_SPACES = {
    "all-MiniLM-L6-v2+int8": "made by the first int8 engine, whose vectors differed from one CPU class to another",
}


# Models are shared by every runtime of the process: loading one takes seconds and ~100 MB. The model cache dir
# is not part of the key: the int8 file is the same wherever it is kept, and the first one found is used.
_LOADED: dict[tuple[str, str, int], Embedder] = {}
_LOCK = threading.Lock()
_LOGGED: set[tuple[str, ...]] = set()


def _log_once(level: int, message: str, *args: object) -> None:
    key = (message, *map(str, args))
    with _LOCK:
        if key in _LOGGED:
            return
        _LOGGED.add(key)
    log.log(level, message, *args)


class EmbedderPool:
    """Hands out each engine, created once per process on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cpu_model, flags = cpu()
        self.choice: PrecisionChoice = choose_precision(settings.embed_precision, flags, self.cpu_model)
        _log_once(logging.INFO, "embedding precision: %s", self.choice.describe())

    def precision_for(self, name: str) -> str:
        """The precision this process embeds `name`'s new collections at: the chosen one where it runs it."""
        engines = self._engines(name)
        if self.choice.precision in engines:
            return self.choice.precision
        _log_once(logging.INFO, "%s runs at %s only, not %s", name, ", ".join(engines), self.choice.precision)
        return "fp32"

    def get(self, name: str, precision: str | None = None) -> Embedder:
        """`name`'s engine at `precision`, by default the one new collections get."""
        precision = precision or self.precision_for(name)
        engines = self._engines(name)
        if precision not in engines:
            raise UnknownEmbedderError(f"embedder {name!r} has no {precision} engine; it has {', '.join(engines)}")
        key = (name, precision, self.settings.embed_batch_size)
        with _LOCK:
            if key not in _LOADED:
                _LOADED[key] = engines[precision](self.settings)
            return _LOADED[key]

    def space_for(self, name: str) -> str:
        """The vector space a collection of `name` created now gets."""
        return self.get(name).model_id

    def for_collection(self, name: str, vector_space: str | None) -> Embedder:
        """The engine for a collection of embedder `name` whose vectors are of `vector_space`."""
        preferred = self.get(name)
        if vector_space is None or preferred.model_id == vector_space:
            return preferred
        compatible = [p for p in self._engines(name) if self.get(name, p).model_id == vector_space]
        if not compatible:
            why = f", {RETIRED_SPACES[vector_space]}" if vector_space in RETIRED_SPACES else ""
            raise IncompatibleVectorsError(
                f"the collection's vectors are {vector_space!r}{why}, which no {name!r} engine here makes "
                f"(this one makes {preferred.model_id!r}); re-ingest it into a new collection"
            )
        # Of the engines of its space, the one the CPU runs best: the hardware's own choice, then fp32.
        model, flags = cpu()
        hardware = choose_precision("auto", flags, model).precision
        precision = next((p for p in (hardware, "fp32") if p in compatible), compatible[0])
        _log_once(
            logging.WARNING,
            "a %s collection's vectors are %r; RAG_EMBED_PRECISION=%s would embed %r, so it uses %s",
            name,
            vector_space,
            self.settings.embed_precision,
            preferred.model_id,
            precision,
        )
        return self.get(name, precision)

    @staticmethod
    def _engines(name: str) -> dict[str, Callable[[Settings], Embedder]]:
        if name not in EMBEDDERS:
            raise UnknownEmbedderError(f"unknown embedder {name!r}; known: {', '.join(sorted(EMBEDDERS))}")
        return EMBEDDERS[name]


__all__ = [
    "EMBEDDERS",
    "RETIRED_SPACES",
    "Embedder",
    "EmbedderPool",
    "IncompatibleVectorsError",
    "UnknownEmbedderError",
]
