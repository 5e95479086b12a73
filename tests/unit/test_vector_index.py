"""The FAISS index wrapper: exact below the threshold, IVF above it, ids kept through both and through saves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag_service.stores.vector_index import VectorIndex


def clustered(n: int, dimension: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dimension))
    points = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dimension))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_flat_index_becomes_ivf_past_threshold_and_keeps_ids(tmp_path: Path) -> None:
    vectors = clustered(3000)
    ids = np.arange(1000, 4000, dtype=np.int64)
    index = VectorIndex(32, ivf_threshold=1000, nprobe=16)
    index.add(ids[:800], vectors[:800])
    assert index.kind == "flat"
    index.add(ids[800:], vectors[800:])
    assert index.kind == "ivf" and index.size == 3000
    assert set(index.ids().tolist()) == set(ids.tolist())
    exact = VectorIndex(32, ivf_threshold=10**9)
    exact.add(ids, vectors)
    queries = clustered(50, seed=1)
    recall = np.mean(
        [len({i for i, _ in index.search(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10 for q in queries]
    )
    assert recall >= 0.9
    assert index.remove(ids[:100]) == 100 and index.size == 2900
    assert not set(ids[:100].tolist()) & {i for i, _ in index.search(vectors[0], 20)}
    path = tmp_path / "c.faiss"
    index.save(path)
    loaded = VectorIndex.load(path, 32, ivf_threshold=1000)
    assert loaded.kind == "ivf" and set(loaded.ids().tolist()) == set(ids[100:].tolist())
    assert loaded.remove(ids[100:110]) == 10
    assert VectorIndex.load(path, 64).size == 0  # another dimension: not this collection's index
