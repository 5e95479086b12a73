"""The FAISS vector index of one collection: vectors keyed by chunk id, saved atomically.

Inner product on L2-normalised vectors, so a score is the cosine similarity. Exact search (a flat index)
up to `ivf_threshold` vectors; past it the index becomes an inverted-file index (IVF), which searches only the
`nprobe` nearest of about sqrt(n) clusters: far faster at a million vectors, at a measured recall cost
(benchmarks/). IVF, unlike HNSW, removes ids in place, which incremental re-ingest needs.

Beside the FAISS file, a small sidecar (`.hashes.npz`) records, for each id, a 64-bit prefix of the sha256 of
the text its vector was made from, and the FAISS file's size and mtime when it was written. At load the
registry compares these with the chunk rows: a vector whose text changed under the same id is found without
reading any vector (16 bytes per id; 1.6 MB at 100k chunks). The FAISS file is renamed into place first, the
sidecar second; a sidecar that does not match the FAISS file beside it (a crash between the two renames, an
old file copied back) is ignored, and then the vectors themselves are compared with the stored ones.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

TRAINING_POINTS_PER_CLUSTER = 40
SIDECAR_SUFFIX = ".hashes.npz"


def text_hashes(sha256_hex: list[str]) -> np.ndarray:
    """The 64-bit prefixes of sha256 hex digests, as int64: what the sidecar keeps per id."""
    return np.array([int(h[:16], 16) for h in sha256_hex], dtype=np.uint64).view(np.int64)


class IdHashes:
    """id → text hash, for the ids whose vector's text is known. Changes are logged and applied in one sort when
    read (at save and at repair), so ingest pays nothing per file."""

    def __init__(self, ids: np.ndarray | None = None, values: np.ndarray | None = None) -> None:
        self._ids = np.zeros(0, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        self._values = np.zeros(0, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)
        self._log: list[tuple[np.ndarray, np.ndarray | None]] = []

    def set(self, ids: np.ndarray, values: np.ndarray | None) -> None:
        """Record ids' hashes; None forgets them (a vector added without its text's hash is unverified)."""
        ids = np.asarray(ids, dtype=np.int64).copy()
        self._log.append((ids, None if values is None else np.asarray(values, dtype=np.int64).copy()))

    def forget(self, ids: np.ndarray) -> None:
        self.set(ids, None)

    def settled(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids sorted, their hashes), the log applied: for each id its last change wins."""
        if self._log:
            ids = [self._ids] + [entry[0] for entry in self._log]
            values = [self._values] + [v if v is not None else np.zeros(len(i), np.int64) for i, v in self._log]
            known = [np.ones(len(self._ids), bool)] + [np.full(len(i), v is not None) for i, v in self._log]
            order_in = [np.zeros(len(self._ids), np.int64)] + [
                np.full(len(i), n, np.int64) for n, (i, _) in enumerate(self._log, start=1)
            ]
            all_ids, all_values = np.concatenate(ids), np.concatenate(values)
            all_known, all_order = np.concatenate(known), np.concatenate(order_in)
            order = np.lexsort((all_order, all_ids))
            all_ids, all_values, all_known = all_ids[order], all_values[order], all_known[order]
            last = np.ones(len(all_ids), bool)
            last[:-1] = all_ids[1:] != all_ids[:-1]
            keep = last & all_known
            self._ids, self._values = all_ids[keep], all_values[keep]
            self._log.clear()
        return self._ids, self._values

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(known mask, hashes) for ids; hashes are meaningful where known."""
        known_ids, values = self.settled()
        ids = np.asarray(ids, dtype=np.int64)
        if not len(known_ids):
            return np.zeros(len(ids), bool), np.zeros(len(ids), np.int64)
        positions = np.clip(np.searchsorted(known_ids, ids), 0, len(known_ids) - 1)
        found = known_ids[positions] == ids
        return found, np.where(found, values[positions], 0)


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write to a temp file beside `path`, fsync, then rename: a crash leaves the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp_name)
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


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


class VectorIndex:
    def __init__(self, dimension: int, ivf_threshold: int = 200_000, nprobe: int = 32) -> None:
        self.dimension = dimension
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self.index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self.hashes = IdHashes()
        # The collection's change number this file held when saved (stores/changelog.py); None: unknown, so the
        # registry compares it with the database instead of replaying the changes after it.
        self.saved_seq: int | None = None

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

    def add(self, ids: np.ndarray, vectors: np.ndarray, hashes: np.ndarray | None = None) -> None:
        """Add vectors under ids; `hashes` (text_hashes of what was embedded) lets a later load verify them."""
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        self.hashes.set(ids, hashes)
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
        ids = np.asarray(ids, dtype=np.int64)
        self.hashes.forget(ids)
        return int(self.index.remove_ids(ids))

    def vectors_for(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ids that are in the index."""
        if not len(ids):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

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

    def save(self, path: Path, seq: int | None = None) -> None:
        """The FAISS file, then the sidecar naming it by size and mtime (and the change number it holds); each
        written atomically."""
        _atomic_write(path, lambda tmp: faiss.write_index(self.index, tmp))
        stat = path.stat()
        ids, values = self.hashes.settled()

        def write_sidecar(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    ids=ids,
                    hashes=values,
                    faiss=np.array([stat.st_size, stat.st_mtime_ns], np.int64),
                    seq=np.array([-1 if seq is None else seq], np.int64),
                )

        _atomic_write(sidecar_path(path), write_sidecar)

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
            else:
                return vector_index
            vector_index.hashes, vector_index.saved_seq = _read_sidecar(path)
        return vector_index


def _read_sidecar(path: Path) -> tuple[IdHashes, int | None]:
    """The text hashes and change number saved with this very FAISS file; none (every id unverified, number
    unknown) if the sidecar is missing, unreadable, or was written for another version of the file."""
    try:
        stat = path.stat()
        with np.load(sidecar_path(path)) as data:
            if data["faiss"].tolist() != [stat.st_size, stat.st_mtime_ns]:
                return IdHashes(), None
            seq = int(data["seq"][0]) if "seq" in data.files else -1
            return IdHashes(data["ids"], data["hashes"]), (seq if seq >= 0 else None)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return IdHashes(), None
