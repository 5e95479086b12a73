"""The FAISS vector index of one collection: vectors keyed by chunk id, saved atomically.

Inner product on L2-normalised vectors, so a score is the cosine similarity. Exact search (a flat index)
up to `ivf_threshold` vectors; past it the index becomes an inverted-file index (IVF), which searches only the
`nprobe` nearest of about sqrt(n) clusters: far faster at a million vectors, at a measured recall cost
(benchmarks/). IVF, unlike HNSW, removes ids in place, which incremental re-ingest needs.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import faiss
import numpy as np

TRAINING_POINTS_PER_CLUSTER = 40


class VectorIndex:
    def __init__(self, dimension: int, ivf_threshold: int = 200_000, nprobe: int = 32) -> None:
        self.dimension = dimension
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self.index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    def ids(self) -> np.ndarray:
        if not isinstance(self.index, faiss.IndexIVF):
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self.index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(self.index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if not isinstance(self.index, faiss.IndexIVF) and self.size + len(ids) > self.ivf_threshold:
            self._become_ivf(vectors, ids)
            return
        self.index.add_with_ids(vectors, ids)

    def _become_ivf(self, new_vectors: np.ndarray, new_ids: np.ndarray) -> None:
        flat = faiss.downcast_index(self.index.index)
        stored = faiss.rev_swig_ptr(flat.get_xb(), self.size * self.dimension).reshape(self.size, self.dimension)
        vectors = np.vstack([stored, new_vectors])
        ids = np.concatenate([self.ids(), new_ids])
        nlist = max(1, int(math.sqrt(len(ids))))
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFFlat(quantizer, self.dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(
            len(vectors), min(len(vectors), nlist * TRAINING_POINTS_PER_CLUSTER), replace=False
        )
        ivf.train(vectors[np.sort(sample)])
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # removals by id without scanning every list
        ivf.add_with_ids(vectors, ids)
        self.index = ivf

    def remove(self, ids: np.ndarray | list[int]) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, vector: np.ndarray, k: int, selector: faiss.IDSelector | None = None) -> list[tuple[int, float]]:
        """The k nearest (chunk id, cosine) pairs; `selector` limits the search to some ids (path filters)."""
        if self.size == 0 or k <= 0:
            return []
        if isinstance(self.index, faiss.IndexIVF):
            params: faiss.SearchParameters | None = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        scores, ids = self.index.search(query, min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Write to a temp file beside `path`, fsync, then rename: a crash leaves the old file or the new."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            faiss.write_index(self.index, tmp_name)
            with open(tmp_name, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    @classmethod
    def load(cls, path: Path, dimension: int, ivf_threshold: int = 200_000, nprobe: int = 32) -> VectorIndex:
        """The saved index, or an empty one when the file is missing, unreadable or of another dimension."""
        vector_index = cls(dimension, ivf_threshold, nprobe)
        if path.exists():
            try:
                loaded = faiss.read_index(str(path))
            except RuntimeError:
                return vector_index
            if isinstance(loaded, faiss.IndexIVF) and loaded.d == dimension:
                loaded.set_direct_map_type(faiss.DirectMap.Hashtable)
                vector_index.index = loaded
            elif isinstance(loaded, faiss.IndexIDMap2) and loaded.d == dimension:
                vector_index.index = loaded
        return vector_index
