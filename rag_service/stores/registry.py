"""Loaded indexes per collection, kept current from the database's change log.

The database is the source of truth (chunk rows, and their vectors in the embedding cache); the FAISS file is
a saved copy (a snapshot) that names the change number it holds, and the BM25 index is built from chunk texts
on first use. A collection is loaded from its snapshot plus the changes logged after it (stores/changelog.py),
or, for a file that names no number (an old one, none at all), checked against the chunk rows and repaired.
From then on every `get` (every search) compares the collection's change number with the one applied and
applies what is missing, reading vectors from the database: whatever process wrote them (this one, the CLI,
a worker on another machine), a search serves what is committed. The follower (stores/follower.py) does the
same in the background, so that searches rarely have anything left to apply.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.types import embedding_text
from rag_service.db.embedding_cache import SQL_BATCH, load_cached_vectors, store_cached_vectors
from rag_service.db.models import Chunk, Collection, EmbeddingCache, utcnow
from rag_service.embedders import Embedder
from rag_service.stores.changelog import LogPrunedError, changes_after, current_seqs, oldest_change_after
from rag_service.stores.lexical_index import LexicalIndex
from rag_service.stores.vector_index import VectorIndex, sidecar_path, text_hashes

log = logging.getLogger(__name__)
# A vector counts as the stored one when every component is this close (float32 round trips are exact).
VECTOR_TOLERANCE = 1e-5
WHOLE_COLLECTION_READ = 5000  # more chunk ids than this are read in one pass over the collection


@dataclass(frozen=True)
class _ChunkRow:
    id: int
    sha256: str
    heading_path: str
    text: str


@dataclass
class CollectionIndexes:
    collection_id: int
    embedder: Embedder
    vectors: VectorIndex
    lexical: LexicalIndex
    seq: int = 0  # the collection's change number these indexes hold
    # Writers hold it while they change the in-memory indexes; searches hold it while they read.
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Held from reading the database to applying what was read, so that two catch-ups (a search's and the
    # follower's) never apply an older read over a newer one.
    sync_lock: threading.RLock = field(default_factory=threading.RLock)


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

    def get(self, collection: Collection) -> CollectionIndexes:
        """The collection's indexes, holding at least the change number of `collection` as it was read (a row
        read just now, by the caller, so a search serves what is committed)."""
        with self._lock:
            indexes = self._loaded.get(collection.id)
            if indexes is None:
                indexes = self._load(collection)
                self._loaded[collection.id] = indexes
        if indexes.seq < collection.change_seq:
            self.catch_up(indexes)
        return indexes

    def peek(self, collection_id: int) -> CollectionIndexes | None:
        """The collection's indexes if this process has them loaded (a worker has none)."""
        with self._lock:
            return self._loaded.get(collection_id)

    def _load(self, collection: Collection) -> CollectionIndexes:
        embedder = self.embedder_for(collection.embedder, collection.vector_space)
        path = self.path_for(collection.id)
        vectors = VectorIndex.load(path, embedder.dimension, self.ivf_threshold, self.nprobe)
        indexes = CollectionIndexes(
            collection_id=collection.id, embedder=embedder, vectors=vectors, lexical=LexicalIndex()
        )
        if vectors.saved_seq is not None and collection.change_log_floor <= vectors.saved_seq <= collection.change_seq:
            indexes.seq = vectors.saved_seq  # a snapshot: apply the changes after it
            self.catch_up(indexes)
            with self.sessions() as session:
                rows = session.scalar(
                    select(func.count()).select_from(Chunk).where(Chunk.collection_id == collection.id)
                )
            if rows == vectors.size:
                return indexes
            log.warning("collection %s: snapshot does not match the database; checking it", collection.name)
        # No number (an old file, or none) or one from another database: compare with the rows. The number is
        # read first, so that whatever commits during the comparison is applied again after it (idempotent).
        with self.sessions() as session:
            indexes.seq = current_seqs(session, [collection.id]).get(collection.id, 0)
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
        with indexes.sync_lock, self.sessions() as session, indexes.lock:
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
            found = self._chunk_vectors(session, indexes, [row.id for row in missing])
            cached = {sha: vector for _, sha, vector in found if vector is not None}
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
        with indexes.sync_lock, self.sessions() as session, indexes.lock:
            if indexes.lexical.loaded:
                return
            rows = session.execute(
                select(Chunk.id, Chunk.heading_path, Chunk.text).where(Chunk.collection_id == indexes.collection_id)
            )
            indexes.lexical.load([(row.id, embedding_text(row.heading_path, row.text)) for row in rows])

    def catch_up(self, indexes: CollectionIndexes) -> int:
        """Apply the collection's changes logged after the number the indexes hold; returns how many chunk ids
        they touched. Idempotent: each touched id is removed, then added back from its row if it still has one,
        so applying a change twice, or over a state that already has it, ends where the database is."""
        with indexes.sync_lock:
            with self.sessions() as session:
                try:
                    changes = changes_after(session, indexes.collection_id, indexes.seq)
                except LogPrunedError:  # asleep for longer than the log keeps: compare with the rows
                    indexes.seq = current_seqs(session, [indexes.collection_id]).get(indexes.collection_id, 0)
                    self._reset_lexical(indexes)
                    report = self.repair(indexes)
                    return report.removed + report.restored + report.re_embedded + report.replaced
                if changes is None:
                    return 0
                rows, vectors = self._rows_and_vectors(session, indexes, changes.touched)
            with indexes.lock:
                indexes.vectors.remove(changes.touched)
                indexes.lexical.remove(changes.touched)
                if rows:
                    ids = np.array([row.id for row in rows], dtype=np.int64)
                    shas = [row.sha256 for row in rows]
                    indexes.vectors.add(ids, np.stack([vectors[sha] for sha in shas]), text_hashes(shas))
                    indexes.lexical.add([(row.id, embedding_text(row.heading_path, row.text)) for row in rows])
                indexes.seq = changes.last_seq
            return len(changes.touched)

    def _reset_lexical(self, indexes: CollectionIndexes) -> None:
        """Forget the BM25 index, so that the next lexical search builds it from the rows."""
        with indexes.lock:
            indexes.lexical = LexicalIndex()

    def _chunk_vectors(
        self, session: Session, indexes: CollectionIndexes, chunk_ids: list[int], *, texts: bool = False
    ) -> list:
        """(id, sha256, vector or None[, heading_path, text]) of those of `chunk_ids` that still exist, the vector
        joined from the embedding cache. Many ids are read in one pass over the collection: a run of IN lookups
        is planned as one table scan each where the statistics are stale, as they are after a bulk load (100k
        chunks: 21.6 s that way, 3.5 s once analysed)."""
        columns = [Chunk.id, Chunk.sha256, EmbeddingCache.vector]
        if texts:
            columns += [Chunk.heading_path, Chunk.text]
        query = (
            select(*columns)
            .outerjoin(
                EmbeddingCache,
                and_(EmbeddingCache.model == indexes.embedder.model_id, EmbeddingCache.sha256 == Chunk.sha256),
            )
            .where(Chunk.collection_id == indexes.collection_id)
        )
        if len(chunk_ids) > WHOLE_COLLECTION_READ:
            wanted = set(chunk_ids)
            rows = [row for row in session.execute(query) if row.id in wanted]
        else:
            rows = []
            for start in range(0, len(chunk_ids), SQL_BATCH):
                rows.extend(session.execute(query.where(Chunk.id.in_(chunk_ids[start : start + SQL_BATCH]))).all())
        return [
            (row[0], row[1], None if row[2] is None else np.frombuffer(row[2], dtype=np.float32), *row[3:])
            for row in rows
        ]

    def _rows_and_vectors(
        self, session: Session, indexes: CollectionIndexes, chunk_ids: list[int]
    ) -> tuple[list, dict[str, np.ndarray]]:
        """The chunk rows that still exist among `chunk_ids`, and their vectors from the database (embedded here
        only if the cache lacks one, which a writer never leaves)."""
        found = self._chunk_vectors(session, indexes, chunk_ids, texts=True)
        rows = [_ChunkRow(id, sha, heading_path, text) for id, sha, _, heading_path, text in found]
        vectors = {sha: vector for _, sha, vector, _, _ in found if vector is not None}
        absent = [row for row in rows if row.sha256 not in vectors]
        if absent:
            made = indexes.embedder.embed_documents([embedding_text(r.heading_path, r.text) for r in absent])
            vectors.update({row.sha256: vector for row, vector in zip(absent, made, strict=True)})
        return rows, vectors

    def apply_own(
        self,
        indexes: CollectionIndexes,
        seq: int | None,
        removed: list[int],
        added: list[tuple[int, np.ndarray, str, str]],
    ) -> None:
        """A writer's own committed change (number `seq`), applied from what it has in memory when it is the very
        next one; otherwise (another writer's change came between) the log is applied instead, from the
        database, so that an older change is never applied over a newer one. `added`: (id, vector, text
        hash, text) per new chunk."""
        if seq is None:
            return
        with indexes.sync_lock:
            if indexes.seq == seq - 1:
                with indexes.lock:
                    indexes.vectors.remove(removed)
                    indexes.lexical.remove(removed)
                    if added:
                        indexes.vectors.add(
                            np.array([a[0] for a in added], dtype=np.int64),
                            np.stack([a[1] for a in added]),
                            text_hashes([a[2] for a in added]),
                        )
                        indexes.lexical.add([(a[0], a[3]) for a in added])
                    indexes.seq = seq
                return
        if indexes.seq < seq:
            self.catch_up(indexes)

    def refresh(self) -> int:
        """Bring every loaded collection up to its newest change, and drop the ones deleted meanwhile (the
        follower's round). Returns the chunk ids applied."""
        loaded = self.loaded()
        with self.sessions() as session:
            newest = current_seqs(session, list(loaded))
        applied = 0
        for collection_id, indexes in loaded.items():
            if collection_id not in newest:
                self.forget(collection_id)  # deleted on another replica: its snapshot goes too
                continue
            if indexes.seq < newest[collection_id]:
                applied += self.catch_up(indexes)
        return applied

    def lag(self) -> dict[str, float | int]:
        """How far this process's indexes are behind the database: the changes not applied yet, and the age of
        the oldest of them."""
        loaded = self.loaded()
        behind, oldest = 0, None
        with self.sessions() as session:
            newest = current_seqs(session, list(loaded))
            for collection_id, indexes in loaded.items():
                if newest.get(collection_id, 0) <= indexes.seq:
                    continue
                behind += newest[collection_id] - indexes.seq
                first = oldest_change_after(session, collection_id, indexes.seq)
                if first is not None and (oldest is None or first < oldest):
                    oldest = first
        seconds = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
        return {"changes_behind": behind, "seconds_behind": round(seconds, 3)}

    def save(self, indexes: CollectionIndexes) -> None:
        with indexes.lock:
            indexes.vectors.save(self.path_for(indexes.collection_id), indexes.seq)

    def loaded(self) -> dict[int, CollectionIndexes]:
        with self._lock:
            return dict(self._loaded)

    def forget(self, collection_id: int) -> None:
        with self._lock:
            self._loaded.pop(collection_id, None)
        self.path_for(collection_id).unlink(missing_ok=True)
        sidecar_path(self.path_for(collection_id)).unlink(missing_ok=True)
