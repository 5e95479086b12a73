"""The embedder interface: everything ingest and retrieval need from a text-embedding model."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str  # the registry name recorded on each collection
    # The vector space: the embedding cache key and each collection's record. Engines with one model_id make
    # vectors that may be mixed (measured equivalent); any other model or engine has its own.
    model_id: str
    precision: str  # fp32, bf16 or int8
    engine: str  # what made the vectors (torch-fp32, torch-bf16, onnxruntime-int8, ...), recorded per vector
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


def normalise(vectors: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
