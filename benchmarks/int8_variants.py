"""int8 variants of MiniLM against fp32 (issue #25): how close each one's vectors are to torch fp32's, and how fast
each engine embeds, on this CPU.

    python -m benchmarks.int8_variants [--data-dir DIR] [--collection git] [--chunks 256] [--threads 1]
        [--rounds 2] [--variants all|name,name,...]

Chunks: the first --chunks chunks (by id) of a collection in an existing data dir, read-only, as embedded
(heading path and text): by default the eval data dir's git-doc collection. Every variant is made from the same
ONNX export as the service's int8 engine (rag_service/embedders/minilm_int8.py), into a temporary folder:

- dq-*: onnxruntime.quantization.quantize_dynamic, MatMuls with constant weights only: DynamicQuantizeMatMul, one
  uint8 activation scale per call (the batch), weights int8 (s8) or uint8 (u8), per output channel (pc) or per
  tensor (pt), reduce_range (rr: 7-bit weights, no saturation on AVX2); dq-s8pc-keep3 is the first recipe (the
  second feed-forward projection of layers 0-2 kept fp32). These run in batches of 16, as that engine did, and
  at batch 1.
- nb8-bN: MatMulNBits, 8-bit symmetric weights in blocks of N along the inner dimension, accuracy_level 4 (int8
  arithmetic, activations quantised per row and block): the service's recipe is nb8-b16. One text per run.
- opt-nb8-bN: the same after onnxruntime.transformers' BERT fusions (Attention with Q, K and V in fp32,
  SkipLayerNormalization, BiasGelu), then MatMulNBits on the remaining 18 weight products.
- ort-fp32: the export itself on ONNX Runtime (default graph optimisations), one text per run.

Speed: chunks/s of each engine over the same chunks, all engines in one process, alternating round by round
(reversed every other round), torch and ONNX Runtime on --threads threads each: on a shared machine the ratios
are what count, and one thread each keeps another process's load from hitting one engine more than another.
Cosine: to torch fp32 (sentence-transformers, batch 16), minimum and mean over the chunks.

Results: benchmarks/results/int8-variants-<UTC stamp>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DATA_DIR = Path("/work/evaldata")
DQ = {  # name: quantize_dynamic options (weight type, per channel, reduce range, keep layers 0-2's 2nd FFN fp32)
    "dq-s8pc-keep3": ("s8", True, False, True),
    "dq-s8pc": ("s8", True, False, False),
    "dq-s8pc-rr": ("s8", True, True, False),
    "dq-u8pc": ("u8", True, False, False),
    "dq-s8pt": ("s8", False, False, False),
}
KEEP3 = re.compile(r"/encoder/layer\.[0-2]/output/dense/MatMul$")  # the first recipe's fp32 products
NB8 = {"nb8-b16": 16, "nb8-b32": 32, "nb8-b64": 64, "nb8-b128": 128, "opt-nb8-b16": 16, "opt-nb8-b32": 32}


def read_chunks(data_dir: Path, collection: str, limit: int) -> list[str]:
    from ingest.types import embedding_text

    with sqlite3.connect(f"file:{data_dir / 'rag.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "select heading_path, text from chunks where collection_id = "
            "(select id from collections where name = ?) order by id limit ?",
            (collection, limit),
        ).fetchall()
    return [embedding_text(heading, text) for heading, text in rows]


def build(name: str, work: Path) -> Path:
    """The variant's ONNX file in `work`, made from the export (made once)."""
    from rag_service.embedders import minilm_int8

    exported = work / "fp32.onnx"
    if not exported.exists():
        minilm_int8._export(exported)
    if name == "ort-fp32":
        return exported
    target = work / f"{name}.onnx"
    if name in DQ:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        weight, per_channel, reduce_range, keep3 = DQ[name]
        graph = onnx.load(str(exported), load_external_data=False).graph
        keep = [n.name for n in graph.node if keep3 and KEEP3.search(n.name)]
        quantize_dynamic(
            str(exported),
            str(target),
            weight_type=QuantType.QInt8 if weight == "s8" else QuantType.QUInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=keep,
            extra_options={"MatMulConstBOnly": True},
        )
    elif name.startswith("opt-"):
        from onnxruntime.transformers import optimizer

        fused = work / "fp32-fused.onnx"
        if not fused.exists():
            model = optimizer.optimize_model(str(exported), model_type="bert", num_heads=12, hidden_size=384)
            model.save_model_to_file(str(fused))
        minilm_int8._quantise(fused, target, NB8[name], products=18)  # Q, K, V are inside Attention
    else:
        minilm_int8._quantise(exported, target, NB8[name])
    return target


def onnx_engine(path: Path, threads: int, batch: int) -> Callable[[list[str]], np.ndarray]:
    """The service's int8 engine's tokenizer and session settings on `path`; batch 1 is its one-text-per-run
    path, a larger batch pads each batch of texts sorted longest first (the first recipe's engine)."""
    import onnxruntime

    from rag_service.embedders.base import normalise
    from rag_service.embedders.minilm_int8 import MiniLMInt8Embedder

    embedder = MiniLMInt8Embedder()
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    embedder.__dict__["session"] = session
    if batch == 1:
        return embedder.embed_documents
    tokenizer = embedder.tokenizer

    def embed(texts: list[str]) -> np.ndarray:
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            encodings = tokenizer.encode_batch([texts[i].strip() for i in rows])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            out[rows] = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})[0]
        tokenizer.no_padding()
        return normalise(out)

    return embed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--collection", default="git")
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default="all")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from benchmarks.run import machine
    from rag_service.embedders.minilm import MiniLMEmbedder

    torch.set_num_threads(args.threads)
    texts = read_chunks(args.data_dir, args.collection, args.chunks)
    names = ["ort-fp32", *DQ, *NB8] if args.variants == "all" else args.variants.split(",")
    engines: dict[str, Callable[[list[str]], np.ndarray]] = {
        "torch-fp32": MiniLMEmbedder(batch_size=16).embed_documents,
        "torch-bf16": MiniLMEmbedder(batch_size=16, precision="bf16").embed_documents,
    }
    with tempfile.TemporaryDirectory(prefix="int8-variants-") as folder:
        for name in names:
            path = build(name, Path(folder))
            batches = (16, 1) if name in DQ else (1,)
            for batch in batches:
                engines[name if batch == 1 else f"{name}@16"] = onnx_engine(path, args.threads, batch)
        for embed in engines.values():
            embed(texts[:16])  # load and warm up
        rates: dict[str, list[float]] = {name: [] for name in engines}
        vectors: dict[str, np.ndarray] = {}
        for round_ in range(args.rounds):
            for name in list(engines) if round_ % 2 == 0 else list(engines)[::-1]:
                started = time.perf_counter()
                vectors[name] = engines[name](texts)
                rates[name].append(len(texts) / (time.perf_counter() - started))
    reference = vectors["torch-fp32"]
    rows = {}
    for name, found in vectors.items():
        cosines = np.sum(found * reference, axis=1)
        rows[name] = {
            "chunks_per_s": round(statistics.median(rates[name]), 1),
            "runs": [round(rate, 1) for rate in rates[name]],
            "cosine_min": round(float(cosines.min()), 5),
            "cosine_mean": round(float(cosines.mean()), 5),
        }
    report = {"machine": machine(), "chunks": len(texts), "threads": args.threads, "rounds": args.rounds}
    report["engines"] = rows
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"int8-variants-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# int8 variants, {report['machine']['cpu']}, {len(texts)} chunks, {args.threads} thread(s)",
        "",
        f"flags: {' '.join(report['machine']['cpu_flags'])}",
        "",
        "| engine | chunks/s (median) | runs | cosine to torch fp32 min / mean |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        runs = " ".join(map(str, row["runs"]))
        lines.append(f"| {name} | {row['chunks_per_s']} | {runs} | {row['cosine_min']} / {row['cosine_mean']} |")
    (RESULTS / f"int8-variants-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
