"""The embedder registry: a collection records its embedder's name, and every query uses that embedder.

A new embedder is one module with a class following `Embedder` plus one line in EMBEDDERS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rag_service.embedders.base import Embedder
from rag_service.embedders.minilm import MiniLMEmbedder
from rag_service.embedders.multilingual import MultilingualEmbedder
from rag_service.settings import Settings

EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "minilm": lambda settings: MiniLMEmbedder(batch_size=settings.embed_batch_size),
    "multilingual": lambda settings: MultilingualEmbedder(batch_size=settings.embed_batch_size),
}


class UnknownEmbedderError(ValueError):
    pass


# Models are shared by every runtime of the process: loading one takes seconds and ~100 MB.
_LOADED: dict[tuple[str, int], Embedder] = {}
_LOCK = threading.Lock()


class EmbedderPool:
    """Hands out each embedder, created once per process on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, name: str) -> Embedder:
        if name not in EMBEDDERS:
            raise UnknownEmbedderError(f"unknown embedder {name!r}; known: {', '.join(sorted(EMBEDDERS))}")
        key = (name, self.settings.embed_batch_size)
        with _LOCK:
            if key not in _LOADED:
                _LOADED[key] = EMBEDDERS[name](self.settings)
            return _LOADED[key]


__all__ = ["EMBEDDERS", "Embedder", "EmbedderPool", "UnknownEmbedderError"]
