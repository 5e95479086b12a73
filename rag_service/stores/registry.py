"""Loaded indexes per collection, checked against the database at load and repaired when out of step.

The database is the source of truth (chunk rows, and their vectors in the embedding cache); the FAISS file is
a saved copy that may lag behind after a crash, and the BM25 index is built from chunk texts on first use.
Another process (the CLI beside a server) may save a newer FAISS file: it is picked up on the next `get`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.types import embedding_text
from rag_service.db.embedding_cache import load_cached_vectors, store_cached_vectors
from rag_service.db.models import Chunk, Collection
from rag_service.embedders import Embedder
from rag_service.stores.lexical_index import LexicalIndex
from rag_service.stores.vector_index import VectorIndex, sidecar_path, text_hashes

log = logging.getLogger(__name__)
# A vector counts as the stored one when every component is this close (float32 round trips are exact).
VECTOR_TOLERANCE = 1e-5


@dataclass
class CollectionIndexes:
    collection_id: int
    embedder: Embedder
    vectors: VectorIndex
    lexical: LexicalIndex
    file_version: tuple[int, int] | None = None
    # Writers hold it while they change the in-memory indexes; searches hold it while they read.
    lock: threading.RLock = field(default_factory=threading.RLock)


@dataclass
class RepairReport:
    removed: int = 0
    restored: int = 0
    re_embedded: int = 0
    replaced: int = 0  # ids whose vector was made from other text than the chunk's (ids reused, stale file)
    compared: int = 0  # vectors checked against the stored ones, for want of a matching sidecar

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.restored or self.re_embedded or self.replaced)


class IndexRegistry:
    def __init__(
        self,
        faiss_dir: Path,
        sessions: sessionmaker[Session],
        embedder_for: Callable[[str, str | None], Embedder],
        ivf_threshold: int = 200_000,
        nprobe: int = 32,
    ):
        self.faiss_dir = faiss_dir
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self.sessions = sessions
        self.embedder_for = embedder_for
        self._loaded: dict[int, CollectionIndexes] = {}
        self._lock = threading.Lock()

    def path_for(self, collection_id: int) -> Path:
        return self.faiss_dir / f"collection-{collection_id}.faiss"

    def _file_version(self, collection_id: int) -> tuple[int, int] | None:
        try:
            stat = self.path_for(collection_id).stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def get(self, collection: Collection) -> CollectionIndexes:
        with self._lock:
            indexes = self._loaded.get(collection.id)
            if indexes is not None and indexes.file_version == self._file_version(collection.id):
                return indexes
            indexes = self._load(collection)
            self._loaded[collection.id] = indexes
            return indexes

    def _load(self, collection: Collection) -> CollectionIndexes:
        embedder = self.embedder_for(collection.embedder, collection.vector_space)
        path = self.path_for(collection.id)
        indexes = CollectionIndexes(
            collection_id=collection.id,
            embedder=embedder,
            vectors=VectorIndex.load(path, embedder.dimension, self.ivf_threshold, self.nprobe),
            lexical=LexicalIndex(),
            file_version=self._file_version(collection.id),
        )
        report = self.repair(indexes)
        if report.changed:
            log.warning(
                "collection %s: FAISS index was out of step with the database; removed %d stale vectors, "
                "replaced %d made from other text, restored %d from stored vectors, re-embedded %d",
                collection.name,
                report.removed,
                report.replaced,
                report.restored,
                report.re_embedded,
            )
        if report.compared:
            log.info("collection %s: %d vectors checked against the stored ones", collection.name, report.compared)
        return indexes

    def repair(self, indexes: CollectionIndexes) -> RepairReport:
        """Make the vector index hold exactly the collection's chunks in the database, each with its own vector.

        Ids are compared as sets; vectors present under a chunk's id are checked by the hash of their text (the
        sidecar), or, where the sidecar does not know an id, against the stored vector itself."""
        report = RepairReport()
        with self.sessions() as session, indexes.lock:
            rows = session.execute(
                select(Chunk.id, Chunk.sha256).where(Chunk.collection_id == indexes.collection_id)
            ).all()
            sha_by_id = {row.id: row.sha256 for row in rows}
            have = set(indexes.vectors.ids().tolist())
            report.removed = indexes.vectors.remove(sorted(have - sha_by_id.keys()))
            present = np.array(sorted(have & sha_by_id.keys()), dtype=np.int64)
            wrong = self._wrong_vectors(session, indexes, present, sha_by_id, report)
            if len(wrong):
                indexes.vectors.remove(wrong)
                report.replaced = len(wrong)
            absent_from_index = set(sha_by_id) - (have - set(wrong.tolist()))
            missing = [row for row in rows if row.id in absent_from_index]
            if not missing:
                return report
            model_id = indexes.embedder.model_id
            cached = load_cached_vectors(session, model_id, [row.sha256 for row in missing])
            replaced = set(wrong.tolist())
            report.restored = sum(1 for row in missing if row.sha256 in cached and row.id not in replaced)
            absent = [row.id for row in missing if row.sha256 not in cached]
            if absent:
                texts = session.execute(
                    select(Chunk.sha256, Chunk.heading_path, Chunk.text).where(Chunk.id.in_(absent))
                ).all()
                vectors = indexes.embedder.embed_documents([embedding_text(t.heading_path, t.text) for t in texts])
                fresh = {t.sha256: vector for t, vector in zip(texts, vectors, strict=True)}
                store_cached_vectors(session, model_id, fresh, indexes.embedder.engine)
                session.commit()
                cached.update(fresh)
                report.re_embedded = len(absent)
            ids = np.array([row.id for row in missing], dtype=np.int64)
            shas = [row.sha256 for row in missing]
            indexes.vectors.add(ids, np.stack([cached[sha] for sha in shas]), text_hashes(shas))
        return report

    def _wrong_vectors(
        self,
        session: Session,
        indexes: CollectionIndexes,
        ids: np.ndarray,
        sha_by_id: dict[int, str],
        report: RepairReport,
    ) -> np.ndarray:
        """Ids whose vector in the index was not made from the chunk's current text."""
        if not len(ids):
            return ids
        expected = text_hashes([sha_by_id[i] for i in ids.tolist()])
        known, recorded = indexes.vectors.hashes.lookup(ids)
        wrong = ids[known & (recorded != expected)]
        unverified = ids[~known]
        if not len(unverified):
            return wrong
        # No sidecar for this file (an old one, a crash between the two renames): compare the vectors themselves.
        report.compared = len(unverified)
        shas = [sha_by_id[i] for i in unverified.tolist()]
        cached = load_cached_vectors(session, indexes.embedder.model_id, shas)
        stored = indexes.vectors.vectors_for(unverified)
        differs = np.array(
            [
                sha not in cached or not np.allclose(vector, cached[sha], atol=VECTOR_TOLERANCE)
                for sha, vector in zip(shas, stored, strict=True)
            ],
            dtype=bool,
        )
        same = unverified[~differs]
        indexes.vectors.hashes.set(same, text_hashes([sha_by_id[i] for i in same.tolist()]))
        return np.concatenate([wrong, unverified[differs]])

    def ensure_lexical(self, indexes: CollectionIndexes) -> None:
        """Build the BM25 index from the chunk texts in the database, on the first lexical search."""
        if indexes.lexical.loaded:
            return
        with self.sessions() as session, indexes.lock:
            if indexes.lexical.loaded:
                return
            rows = session.execute(
                select(Chunk.id, Chunk.heading_path, Chunk.text).where(Chunk.collection_id == indexes.collection_id)
            )
            indexes.lexical.load([(row.id, embedding_text(row.heading_path, row.text)) for row in rows])

    def save(self, indexes: CollectionIndexes) -> None:
        with indexes.lock:
            indexes.vectors.save(self.path_for(indexes.collection_id))
            indexes.file_version = self._file_version(indexes.collection_id)

    def loaded(self) -> dict[int, CollectionIndexes]:
        with self._lock:
            return dict(self._loaded)

    def forget(self, collection_id: int) -> None:
        with self._lock:
            self._loaded.pop(collection_id, None)
        self.path_for(collection_id).unlink(missing_ok=True)
        sidecar_path(self.path_for(collection_id)).unlink(missing_ok=True)
