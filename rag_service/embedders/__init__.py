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


class EmbedderPool:
    """Loads each embedder once per process, on first use (loading a model takes seconds)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Embedder:
        if name not in EMBEDDERS:
            raise UnknownEmbedderError(f"unknown embedder {name!r}; known: {', '.join(sorted(EMBEDDERS))}")
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = EMBEDDERS[name](self.settings)
            return self._loaded[name]


__all__ = ["EMBEDDERS", "Embedder", "EmbedderPool", "UnknownEmbedderError"]
