"""The FAISS vector index of one collection: vectors keyed by chunk id, saved atomically.

Inner product on L2-normalised vectors, so a score is the cosine similarity.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.index: faiss.IndexIDMap2 = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray | list[int]) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, vector: np.ndarray, k: int, selector: faiss.IDSelector | None = None) -> list[tuple[int, float]]:
        """The k nearest (chunk id, cosine) pairs; `selector` limits the search to some ids (path filters)."""
        if self.size == 0 or k <= 0:
            return []
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
    def load(cls, path: Path, dimension: int) -> VectorIndex:
        """The saved index, or an empty one when the file is missing, unreadable or of another dimension."""
        vector_index = cls(dimension)
        if path.exists():
            try:
                loaded = faiss.read_index(str(path))
            except RuntimeError:
                return vector_index
            if isinstance(loaded, faiss.IndexIDMap2) and loaded.d == dimension:
                vector_index.index = loaded
        return vector_index
