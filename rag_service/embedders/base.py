"""The embedder interface: everything ingest and retrieval need from a text-embedding model."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str  # the registry name recorded on each collection
    model_id: str  # the embedding cache key: a different model never reuses another's vectors
    dimension: int
    max_tokens: int  # the model's input limit, special tokens included

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dimension), L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """float32 vector (dimension,), L2-normalised."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without special tokens, as the model's own tokenizer counts them."""
        ...
