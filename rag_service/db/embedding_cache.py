"""Reading and writing the embedding cache: vectors by (model, sha256 of the embedded text)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rag_service.db.models import EmbeddingCache

SQL_BATCH = 500  # values per IN (...) or INSERT: well inside SQLite's and PostgreSQL's parameter limits


def load_cached_vectors(session: Session, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), SQL_BATCH):
        rows = session.execute(
            select(EmbeddingCache.sha256, EmbeddingCache.vector).where(
                EmbeddingCache.model == model_id, EmbeddingCache.sha256.in_(unique[start : start + SQL_BATCH])
            )
        )
        for sha, blob in rows:
            found[sha] = np.frombuffer(blob, dtype=np.float32)
    return found


def store_cached_vectors(session: Session, model_id: str, vectors: dict[str, np.ndarray], engine: str) -> None:
    """Insert vectors not cached yet, naming the engine that made them; one already there (another file, another
    run, another engine of the same vector space) is left as it is."""
    if not vectors:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"model": model_id, "sha256": sha, "vector": np.asarray(vector, dtype=np.float32).tobytes(), "engine": engine}
        for sha, vector in vectors.items()
    ]
    for start in range(0, len(rows), SQL_BATCH):
        statement = insert(EmbeddingCache).values(rows[start : start + SQL_BATCH])
        session.execute(statement.on_conflict_do_nothing(index_elements=["model", "sha256"]))
